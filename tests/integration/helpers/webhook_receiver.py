#!/usr/bin/python3
"""An HTTPS webhook receiver on loopback for the event tests.

Each POST is checked against X-Outpost-Signature ("t=UNIX,v1=HEX", HMAC-SHA256 of "UNIX.BODY"
with the secret) and, when valid, each event of the JSON array body is appended to --out as one
line. While --fail-file exists, every request is answered 503 (a receiver outage). Every request
is counted in --requests (one line: status). Prints "ready PORT" once listening.
"""
import argparse
import hashlib
import hmac
import http.server
import json
import os
import ssl
import threading
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--secret-file", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--requests", required=True)
    p.add_argument("--fail-file", required=True)
    args = p.parse_args()
    secret = open(args.secret_file, "rb").read().splitlines()[0]
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status):
            with lock, open(args.requests, "a") as r:
                r.write(f"{status}\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if os.path.exists(args.fail_file):
                return self.answer(503)
            sig = dict(part.split("=", 1) for part in self.headers.get("X-Outpost-Signature", "").split(",") if "=" in part)
            want = hmac.new(secret, sig.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
            fresh = abs(time.time() - int(sig.get("t", "0") or 0)) < 300
            if not (fresh and hmac.compare_digest(want, sig.get("v1", ""))):
                return self.answer(401)
            if self.headers.get("Content-Type") != "application/json":
                return self.answer(415)
            events = json.loads(body)
            with lock, open(args.out, "a") as out:
                for e in events:
                    e["_webhook"] = self.headers.get("X-Outpost-Webhook")
                    out.write(json.dumps(e) + "\n")
            self.answer(200)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"ready {args.port}", flush=True)
    server.serve_forever()


main()
