#!/usr/bin/python3
"""A DNS server on loopback for answers dnsmasq cannot give: null MX (RFC 7505) and SERVFAIL.

Usage: dns_server.py --port PORT [--null-mx DOMAIN]... [--servfail DOMAIN]...
                     [--mx DOMAIN=PREF:HOST]... [--a HOST=IP]...
Names not listed get NXDOMAIN. Prints "ready PORT" once it listens (UDP and TCP), then serves
until killed.
"""
import argparse
import sys

from dnslib import A, MX, QTYPE, RCODE, RR, DNSLabel
from dnslib.server import BaseResolver, DNSServer


class Resolver(BaseResolver):
    def __init__(self, args):
        self.null_mx = {d.lower().rstrip(".") for d in args.null_mx}
        self.servfail = {d.lower().rstrip(".") for d in args.servfail}
        self.mx = {}
        for spec in args.mx:
            domain, rest = spec.split("=", 1)
            pref, host = rest.split(":", 1)
            self.mx.setdefault(domain.lower(), []).append((int(pref), host))
        self.a = {}
        for spec in args.a:
            host, ip = spec.split("=", 1)
            self.a.setdefault(host.lower(), []).append(ip)

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).lower().rstrip(".")
        qtype = QTYPE[request.q.qtype]
        known = qname in self.null_mx or qname in self.mx or qname in self.a
        if qname in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
        elif qtype == "MX" and qname in self.null_mx:
            # RFC 7505 §3: preference 0 and the root as exchange.
            reply.add_answer(RR(request.q.qname, QTYPE.MX, ttl=300, rdata=MX(DNSLabel("."), 0)))
        elif qtype == "MX" and qname in self.mx:
            for pref, host in self.mx[qname]:
                reply.add_answer(RR(request.q.qname, QTYPE.MX, ttl=300, rdata=MX(host, pref)))
        elif qtype == "A" and qname in self.a:
            for ip in self.a[qname]:
                reply.add_answer(RR(request.q.qname, QTYPE.A, ttl=300, rdata=A(ip)))
        elif not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--null-mx", action="append", default=[])
    p.add_argument("--servfail", action="append", default=[])
    p.add_argument("--mx", action="append", default=[])
    p.add_argument("--a", action="append", default=[])
    args = p.parse_args()
    resolver = Resolver(args)
    udp = DNSServer(resolver, port=args.port, address="127.0.0.1", logger=Quiet())
    tcp = DNSServer(resolver, port=args.port, address="127.0.0.1", tcp=True, logger=Quiet())
    udp.start_thread()
    tcp.start_thread()
    print(f"ready {args.port}", flush=True)
    try:
        while udp.isAlive():
            udp.thread.join(1)
    except KeyboardInterrupt:
        pass


class Quiet:
    def __getattr__(self, name):
        return lambda *a, **k: None


if __name__ == "__main__":
    sys.exit(main())
