#!/usr/bin/python3
"""Verifies every DKIM-Signature of a message with dkimpy, keys from DNS (a loopback dnsmasq).

verify.py DNS_PORT MESSAGE SELECTOR...
Every signature must pass, and the signatures' selectors must be exactly SELECTOR... (any order).
Prints one line per signature; exits 0 when all is as expected, 1 otherwise.
"""
import sys

import dkim
import dns.resolver

port, path, want = int(sys.argv[1]), sys.argv[2], sorted(sys.argv[3:])
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = port


def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    try:
        answer = resolver.resolve(name.rstrip("."), "TXT", lifetime=timeout)
    except Exception:
        return None
    return b"".join(answer[0].strings)


message = open(path, "rb").read()
sigs = [v for (k, v) in dkim.DKIM(message).headers if k.lower() == b"dkim-signature"]
ok = True
got = []
for i, sig in enumerate(sigs):
    tags = dict(t.strip().split(b"=", 1) for t in sig.split(b";") if b"=" in t)
    selector = tags[b"s"].decode()
    got.append(selector)
    try:
        good = dkim.DKIM(message, minkey=1024).verify(idx=i, dnsfunc=dnsfunc)
        why = ""
    except dkim.DKIMException as e:
        good, why = False, str(e)
    print("dkimpy: %s s=%s a=%s %s" % ("pass" if good else "FAIL", selector, tags[b"a"].decode(), why))
    ok = ok and good
if sorted(got) != want:
    print("dkimpy: signed with selectors %s, want %s" % (sorted(got), want))
    ok = False
sys.exit(0 if ok else 1)
