#!/usr/bin/python3
"""free_port.py [COUNT]: prints COUNT (default 1) loopback ports, each free for both TCP and UDP and that no other test was given.

Asking the kernel for port 0 and closing the socket is not enough: the kernel may hand the same
port to the next caller (two sinks of one test once got the same one), and ephemeral ports are
also what outgoing connections use. So ports come at random from below the ephemeral range and
each one is claimed with an exclusive file under /tmp/outpost-test-ports for ten minutes, longer
than any test, so tests running side by side never share one.
"""
import os
import random
import socket
import sys
import time

CLAIMS = "/tmp/outpost-test-ports"
CLAIM_SECONDS = 600


def ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def claim(port):
    path = os.path.join(CLAIMS, str(port))
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        return True
    except FileExistsError:
        try:
            if time.time() - os.stat(path).st_mtime < CLAIM_SECONDS:
                return False
            os.utime(path)  # a stale claim: take it over
            return True
        except OSError:
            return False


def one_port(low):
    for _ in range(10000):
        port = random.randrange(10000, low)
        if bindable(port) and claim(port):
            return port
    raise SystemExit("free_port: no free loopback port found")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    os.makedirs(CLAIMS, mode=0o1777, exist_ok=True)
    try:
        os.chmod(CLAIMS, 0o1777)  # another user's test run may share /tmp
    except OSError:
        pass
    low = max(ephemeral_low(), 12000)
    print(" ".join(str(one_port(low)) for _ in range(count)))


main()
