#!/usr/bin/env python3
"""Outpost next to Postfix + OpenDKIM, same load, one run (scripts/bench --peer postfix).

For each message size, Postfix's smtp-source sends MESSAGES messages over SESSIONS sessions to a
relay on loopback, which relays them ([[route]] / relayhost) to Postfix's smtp-sink. The relays:

  postfix    Debian's Postfix with OpenDKIM as a milter (RSA-2048), a private instance (its own
             config, queue and data directories under build/, chroot off), fsync as shipped
  rsa        outpostd, DKIM RSA-2048            ed25519   outpostd, DKIM Ed25519
  none       outpostd, no signing               rsa+arc   outpostd, DKIM RSA-2048 + ARC RSA-2048

Measured per run: end to end (first byte sent to the relay's queue being empty again, every
message handed to the sink), accepted (smtp-source's own time), relay CPU per message (user +
system of the relay's processes, children and OpenDKIM included), how busy the machine was, and
the relay's peak RSS (summed over its processes for Postfix). Needs root (Postfix's master runs
as root), postfix, opendkim (installed with apt-get when missing) and a quiet machine: never run
it next to a build or another benchmark. Not part of CI.

--queue-scale N measures the queue instead: N messages accepted for a destination that is down
(accept rate, RSS while queued and after a restart, time to recover them at start, time to the
first delivery once the destination is back).

--destinations N sends 10 messages to each of N recipient domains (interleaved, as real traffic
is) plus 10 to a destination whose server greets and then never answers, and measures how long
the N destinations take to be delivered while that one holds its connections (none of theirs
should wait for it).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
SOURCE = "/usr/sbin/smtp-source"
SINK = "/usr/sbin/smtp-sink"
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"bench: nothing listens on 127.0.0.1:{port}")


def proc_stat(pid):
    """(utime+stime, cutime+cstime) in seconds, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK


def children(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def tree(pids):
    seen, todo = [], list(pids)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo += children(p)
    return seen


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_times():
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return sum(cpu), idle


class Meter:
    """CPU and RSS of a process tree, sampled while the run goes on."""

    def __init__(self, roots):
        self.roots = roots
        self.peak_rss = 0
        self.live = {}  # pid -> last own cpu seen (for children that exit before the end)
        self.start_cpu = self.cpu()
        self.start_machine = machine_times()

    def cpu(self):
        total = 0.0
        for root in self.roots:
            s = proc_stat(root)
            if s:
                total += s[0] + s[1]  # children reaped by the root are in its cutime
        for p in tree(self.roots):
            if p in self.roots:
                continue
            s = proc_stat(p)
            if s:
                total += s[0]
        return total

    def sample(self):
        self.peak_rss = max(self.peak_rss, sum(rss_kib(p) for p in tree(self.roots)))

    def finish(self):
        total, idle = machine_times()
        t0, i0 = self.start_machine
        busy = 1 - (idle - i0) / max(1, total - t0)
        return self.cpu() - self.start_cpu, busy


def message_file(directory, size):
    path = os.path.join(directory, f"message-{size}")
    import base64
    body = base64.encodebytes(os.urandom(max(1, size * 3 // 4))).decode()
    with open(path, "w") as f:
        f.write("From: bench@example.com\nTo: sink@example.net\nSubject: bench\n\n" + body)
    return path


def run_load(port, message, messages, sessions, queue_empty, meter):
    """smtp-source, then wait for the queue to empty. (accepted_s, end_to_end_s)."""
    start = time.time()
    src = subprocess.Popen(
        [SOURCE, "-c", "-s", str(sessions), "-m", str(messages), "-F", message,
         "-f", "bench@example.com", "-t", "sink@example.net", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL)
    while src.poll() is None:
        meter.sample()
        time.sleep(0.2)
    accepted = time.time() - start
    if src.returncode != 0:
        raise SystemExit(f"bench: smtp-source failed ({src.returncode})")
    deadline = time.time() + 600
    while not queue_empty():
        meter.sample()
        if time.time() > deadline:
            raise SystemExit("bench: the relay did not empty its queue in 10 minutes")
        time.sleep(0.05)
    return accepted, time.time() - start


def keygen(directory, selector, algorithm):
    path = os.path.join(directory, f"{selector}.pem")
    subprocess.run([os.path.join(BUILD, "outpostctl"), "dkim", "keygen", "--domain", "example.com",
                    "--selector", selector, "--algorithm", algorithm, "--out", path],
                   check=True, stdout=subprocess.DEVNULL)
    return path


class Outpost:
    def __init__(self, work, mode, sink_port, log_level="warn", routes=""):
        self.dir = tempfile.mkdtemp(prefix=f"outpost-{mode}.", dir=work)
        self.port = free_port()
        toml = f"""[server]
hostname = "bench.test"
spool_dir = "{self.dir}/spool"
[[listener]]
address = "127.0.0.1:{self.port}"
tls = "none"
auth = "none"
[relay]
allowed_networks = ["127.0.0.0/8"]
[log]
level = "{log_level}"
[admin]
address = "{self.dir}/admin.sock"
[delivery]
max_connections = 100
max_connections_per_destination = 20
retry = ["1s"]
{routes}[[route]]
domains = ["*"]
next_hop = "127.0.0.1:{sink_port}"
"""
        if mode in ("rsa", "rsa+arc"):
            toml += dkim(self.dir, "bench-rsa", "rsa-sha256")
        if mode == "ed25519":
            toml += dkim(self.dir, "bench-ed", "ed25519-sha256")
        if mode == "rsa+arc":
            toml += f"""[arc]
authserv_id = "bench.test"
domain = "example.com"
selector = "bench-arc"
algorithm = "rsa-sha256"
private_key = "{keygen(self.dir, 'bench-arc', 'rsa-sha256')}"
"""
        self.config = os.path.join(self.dir, "outpost.toml")
        with open(self.config, "w") as f:
            f.write(toml)
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "outpostd.log"), "a")
        self.proc = subprocess.Popen([os.path.join(BUILD, "outpostd"), "--config", self.config],
                                     stderr=self.log, stdout=self.log)
        wait_port(self.port)

    def queued(self):
        try:
            return len(os.listdir(os.path.join(self.dir, "spool", "queue")))
        except OSError:
            return 0

    def queue_empty(self):
        return self.queued() == 0

    def roots(self):
        return [self.proc.pid]

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(60)
        self.log.close()


def dkim(directory, selector, algorithm):
    return f"""[[dkim]]
domain = "example.com"
selector = "{selector}"
algorithm = "{algorithm}"
private_key = "{keygen(directory, selector, algorithm)}"
"""


MASTER_CF = """{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


class Postfix:
    """A private Postfix instance with OpenDKIM (RSA-2048) as its milter."""

    def __init__(self, work, sink_port):
        self.dir = tempfile.mkdtemp(prefix="postfix.", dir=work)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        milter = free_port()
        etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        for d in (etc, self.queue, os.path.join(self.dir, "data")):
            os.makedirs(d)
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = peer.bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{sink_port}
smtpd_milters = inet:127.0.0.1:{milter}
non_smtpd_milters = $smtpd_milters
milter_default_action = tempfail
default_process_limit = 100
default_destination_concurrency_limit = 20
smtp_destination_concurrency_limit = 20
alias_maps =
alias_database =
local_recipient_maps =
smtpd_tls_security_level = none
smtp_tls_security_level = none
maillog_file_prefixes = {self.dir}
maillog_file = {self.dir}/maillog
""")
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=f"127.0.0.1:{self.port}"))
        key = keygen(self.dir, "bench-pf", "rsa-sha256")
        shutil.chown(key, "opendkim")
        os.chmod(key, 0o600)
        self.dkim_conf = os.path.join(self.dir, "opendkim.conf")
        with open(self.dkim_conf, "w") as f:
            f.write(f"""Syslog no
Background no
Socket inet:{milter}@127.0.0.1
Domain example.com
Selector bench-pf
KeyFile {key}
Mode s
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
UserID opendkim
""")
        self.dkim_log = open(os.path.join(self.dir, "opendkim.log"), "w")
        self.opendkim = subprocess.Popen(["opendkim", "-x", self.dkim_conf, "-f"],
                                         stdout=self.dkim_log, stderr=self.dkim_log)
        wait_port(milter)
        subprocess.run(["postfix", "-c", etc, "start"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.etc = etc
        wait_port(self.port)
        with open(os.path.join(self.queue, "pid", "master.pid")) as f:
            self.master = int(f.read().split()[0])

    def queue_empty(self):
        for d in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.queue, d)):
                if files:
                    return False
        return True

    def roots(self):
        return [self.master, self.opendkim.pid]

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        self.opendkim.terminate()
        self.opendkim.wait(30)
        self.dkim_log.close()


def measure(relay, message, args):
    meter = Meter(relay.roots())
    accepted, end_to_end = run_load(relay.port, message, args.messages, args.sessions,
                                    relay.queue_empty, meter)
    cpu, busy = meter.finish()
    return {
        "e2e": args.messages / end_to_end,
        "accepted": args.messages / accepted,
        "cpu_ms": cpu * 1000 / args.messages,
        "busy": busy * 100,
        "rss_mib": meter.peak_rss / 1024,
    }


def table(size, rows, args):
    print(f"\n{args.messages} messages of {size} bytes, {args.sessions} sessions, "
          f"{os.cpu_count()} cores")
    head = f"{'relay':<26} {'end to end/s':>12} {'accepted/s':>11} {'ratio':>6} " \
           f"{'CPU ms/msg':>10} {'busy':>5} {'peak RSS':>9}"
    print(head)
    print("-" * len(head))
    base = rows.get("postfix", {}).get("e2e")
    names = {"sink": "smtp-source -> smtp-sink", "postfix": "Postfix + OpenDKIM, RSA",
             "rsa": "Outpost, RSA DKIM", "ed25519": "Outpost, Ed25519 DKIM",
             "none": "Outpost, no signing", "rsa+arc": "Outpost, RSA DKIM + ARC"}
    for mode, r in rows.items():
        ratio = f"{r['e2e'] / base:.1f}x" if base and mode != "sink" else "-"
        cpu = f"{r['cpu_ms']:.2f}" if mode != "sink" else "-"
        rss = f"{r['rss_mib']:.0f} MiB" if mode != "sink" else "-"
        print(f"{names[mode]:<26} {r['e2e']:>12,.0f} {r['accepted']:>11,.0f} {ratio:>6} "
              f"{cpu:>10} {r['busy']:>4.0f}% {rss:>9}")


def sink_only(port, message, args):
    """smtp-source straight into smtp-sink: the harness's own ceiling."""
    meter = Meter([])
    start = time.time()
    subprocess.run([SOURCE, "-c", "-s", str(args.sessions), "-m", str(args.messages), "-F", message,
                    "-f", "bench@example.com", "-t", "sink@example.net", f"127.0.0.1:{port}"],
                   check=True, stdout=subprocess.DEVNULL)
    secs = time.time() - start
    _, busy = meter.finish()
    return {"e2e": args.messages / secs, "accepted": args.messages / secs, "cpu_ms": 0,
            "busy": busy * 100, "rss_mib": 0}


def queue_scale(work, sink_port, args):
    n = args.queue_scale
    down = free_port()  # nothing listens here until the end
    relay = Outpost(work, "none", down, log_level="info")
    message = message_file(work, 4096)
    time.sleep(1)
    idle = rss_kib(relay.proc.pid)  # before any message: what the daemon costs empty
    meter = Meter(relay.roots())
    start = time.time()
    subprocess.run([SOURCE, "-c", "-s", str(args.sessions), "-m", str(n), "-F", message,
                    "-f", "bench@example.com", "-t", "sink@example.net", f"127.0.0.1:{relay.port}"],
                   check=True, stdout=subprocess.DEVNULL)
    accept = n / (time.time() - start)
    meter.sample()
    running = meter.peak_rss
    relay.stop()
    log = os.path.join(relay.dir, "outpostd.log")
    recoveries = open(log).read().count("event=queue_recovered")
    t = time.time()
    relay.start()
    ready = time.time() - t
    while open(log).read().count("event=queue_recovered") == recoveries:
        if time.time() - t > 600:
            raise SystemExit("bench: the queue was not recovered in 10 minutes")
        time.sleep(0.05)
    recovered = time.time() - t
    time.sleep(1)
    after = rss_kib(relay.proc.pid)
    # The destination comes back: how long until the first message arrives there.
    out = os.path.join(work, "back.log")
    with open(out, "w") as log:
        sink = subprocess.Popen([SINK, "-c", "-u", "nobody", f"127.0.0.1:{down}", "1000"],
                                stdout=log, stderr=log)
        back = time.time()
        first = None
        while time.time() - back < 120:
            if relay.queued() < n:
                first = time.time() - back
                break
            time.sleep(0.01)
        sink.terminate()
    relay.stop(signal.SIGKILL)
    print(f"\nqueue scale: {n} messages for a destination that is down")
    print(f"  accepted at {accept:,.0f}/s (no signing)")
    print(f"  RSS empty {idle / 1024:.1f} MiB; with the queue {running / 1024:.1f} MiB while "
          f"accepting, {after / 1024:.1f} MiB after a restart: "
          f"{(running - idle) * 1024 / n:.0f} and {(after - idle) * 1024 / n:.0f} B/message beyond "
          f"the empty daemon")
    print(f"  restart: listening after {ready:.2f} s, every queued message scheduled again after "
          f"{recovered:.2f} s (event=queue_recovered)")
    print("  first delivery after the destination came back: "
          + (f"{first:.2f} s" if first is not None else "none within 120 s (retry schedule)"))


class StallingServer:
    """Greets, then reads and never answers: a receiver that holds every connection it gets."""

    def __init__(self):
        import threading
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self.accepted = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.sendall(b"220 slow.test ESMTP\r\n")
            self.connections.append(conn)  # kept open, never read, never answered

    def close(self):
        self.sock.close()
        for c in self.connections:
            c.close()


def send_interleaved(port, domains, per_domain, sessions, extra):
    """per_domain messages to each of d0.test .. d{domains-1}.test, in turns, plus `extra`
    recipients first, over `sessions` SMTP sessions kept open. Returns the seconds it took."""
    import smtplib
    import threading
    rcpts = list(extra) + [f"user{k // domains}@d{k % domains}.test"
                           for k in range(domains * per_domain)]
    body = ("From: bench@example.com\r\nSubject: bench\r\n\r\n" + ("x" * 76 + "\r\n") * 13)
    lock = threading.Lock()
    position = [0]
    failures = []

    def worker():
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    if position[0] >= len(rcpts):
                        break
                    rcpt = rcpts[position[0]]
                    position[0] += 1
                smtp.sendmail("bench@example.com", [rcpt], body)
        except Exception as e:  # noqa: BLE001 - reported below, the bench stops
            failures.append(repr(e))
        finally:
            try:
                smtp.quit()
            except Exception:  # noqa: BLE001
                pass

    start = time.time()
    threads = [threading.Thread(target=worker) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"bench: sending failed: {failures[0]}")
    return time.time() - start


def destinations(work, sink_port, args):
    n, per = args.destinations, 10
    slow = StallingServer()
    routes = f"""[[route]]
domains = ["slow.test"]
next_hop = "127.0.0.1:{slow.port}"
"""
    relay = Outpost(work, "none", sink_port, routes=routes)
    try:
        held = [f"held{i}@slow.test" for i in range(per)]
        start = time.time()
        sent = send_interleaved(relay.port, n, per, args.sessions, held)
        deadline = time.time() + 900
        while relay.queued() > len(held):
            if time.time() > deadline:
                raise SystemExit("bench: the other destinations were not delivered in 15 minutes")
            time.sleep(0.05)
        done = time.time() - start
        left = relay.queued()
    finally:
        relay.stop(signal.SIGKILL)
        slow.close()
    total = n * per
    print(f"\ndestinations: {n} domains x {per} messages of ~1 KB, interleaved, {args.sessions} "
          f"sessions, plus {per} to slow.test (greets, then never answers)")
    print(f"  sent in {sent:.1f} s ({total / sent:,.0f}/s); every one of the {total} delivered "
          f"after {done:.1f} s ({total / done:,.0f}/s end to end)")
    print(f"  slow.test meanwhile: {slow.accepted} connections held open, {left} messages "
          f"still queued for it")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--peer", default="postfix", choices=["postfix"])
    p.add_argument("--messages", type=int, default=10000)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--sizes", default="4096", help="comma-separated message sizes in bytes")
    p.add_argument("--modes", default="postfix,rsa,ed25519,none,rsa+arc")
    p.add_argument("--queue-scale", type=int, metavar="N",
                   help="instead: N messages queued for a destination that is down")
    p.add_argument("--destinations", type=int, metavar="N",
                   help="instead: 10 messages to each of N domains beside one that stalls")
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: --peer postfix needs root (Postfix's master runs as root)")
    if not os.path.exists(os.path.join(BUILD, "outpostd")):
        subprocess.run([os.path.join(ROOT, "scripts", "setup")], check=True)
    if not shutil.which("opendkim") or not os.path.exists(SOURCE):
        subprocess.run(["apt-get", "install", "-y", "-qq", "postfix", "opendkim"], check=True)
    work = tempfile.mkdtemp(prefix="peer.", dir=BUILD)
    os.chmod(work, 0o755)
    sink_port = free_port()
    sink = subprocess.Popen([SINK, "-u", "nobody", f"127.0.0.1:{sink_port}", "1000"])
    wait_port(sink_port)
    try:
        if args.queue_scale:
            queue_scale(work, sink_port, args)
            return
        if args.destinations:
            destinations(work, sink_port, args)
            return
        for size in (int(s) for s in args.sizes.split(",")):
            message = message_file(work, size)
            rows = {"sink": sink_only(sink_port, message, args)}
            for mode in args.modes.split(","):
                relay = Postfix(work, sink_port) if mode == "postfix" else \
                    Outpost(work, mode, sink_port)
                try:
                    rows[mode] = measure(relay, message, args)
                finally:
                    relay.stop()
                print(f"  {mode}: {rows[mode]['e2e']:,.0f}/s end to end", file=sys.stderr)
            table(size, rows, args)
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
