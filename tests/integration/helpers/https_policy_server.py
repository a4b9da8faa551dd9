#!/usr/bin/python3
"""An HTTPS server on loopback that serves MTA-STS policy files (RFC 8461 §3.3).

Usage: https_policy_server.py --address 127.0.0.x --port PORT --cert PEM --key PEM --dir DIR
                              --log FILE
GET /.well-known/mta-sts.txt answers 200 with Content-Type text/plain and the file DIR/HOST as
its body, HOST being the request's Host header without a port (mta-sts.example.test); when
DIR/HOST.redirect exists instead, 301 to the URL it holds (RFC 8461 §3.3: not to be followed); a
host with neither, any other path or any other method gets 404. Files are read on each request,
so a test may change a policy while the server runs. Every request appends one line
"HOST PATH STATUS" to the log file. Prints "ready PORT" once it listens; serves until SIGTERM.
"""
import argparse
import os
import re
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POLICY_PATH = "/.well-known/mta-sts.txt"
HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


class Handler(BaseHTTPRequestHandler):
    server_version = "https_policy_server"
    timeout = 10  # a client that stalls (in the handshake too) cannot hold a thread for ever

    def log_message(self, format, *args):  # the log file below is the record; stderr stays quiet
        pass

    def record(self, host, status):
        with self.server.log_lock, open(self.server.args.log, "a") as f:
            f.write(f"{host or '-'} {self.path} {status}\n")

    def answer(self, status, body, host):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.record(host, status)

    def do_GET(self):
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):
            host = host.split("]", 1)[0] + "]"
        else:
            host = host.split(":", 1)[0]
        host = host.rstrip(".")
        path = os.path.join(self.server.args.dir, host)
        redirect = path + ".redirect"
        if self.path == POLICY_PATH and HOST_NAME.match(host) and os.path.isfile(redirect):
            with open(redirect) as f:
                location = f.read().strip()
            body = b"moved\n"
            self.send_response(301)
            self.send_header("Location", location)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.record(host, 301)
            return
        if self.path != POLICY_PATH or not HOST_NAME.match(host) or not os.path.isfile(path):
            self.answer(404, b"not found\n", host)
            return
        with open(path, "rb") as f:
            self.answer(200, f.read(), host)

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        self.answer(404, b"not found\n", "")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args, context):
        self.args = args
        self.context = context
        self.log_lock = threading.Lock()
        super().__init__((args.address, args.port), Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the request's thread, not in the accepting loop.
        request.settimeout(Handler.timeout)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.log_lock, open(self.args.log, "a") as f:
                f.write(f"- - handshake-failed {type(e).__name__}\n")
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    server = Server(args, context)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # leaves serve_forever, closes below
    print(f"ready {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
