#!/usr/bin/env python3
"""Reads an sslscan --xml report and fails on any protocol below TLS 1.2 or any weak cipher:
NULL, EXPORT, RC4, DES/3DES, MD5 MACs, anonymous key exchange, or under 128 bits.
Usage: check_scan.py REPORT.xml LABEL   Exit 0 when clean, 1 with one line per problem."""
import re
import sys
import xml.etree.ElementTree as ET

WEAK_NAME = re.compile(
    r"NULL|EXP|RC4|RC2|DES|MD5|IDEA|SEED|ADH|AECDH|anon|PSK|SRP", re.IGNORECASE)
WEAK_STRENGTH = {"null", "anonymous", "weak", "medium"}


def main():
    path, label = sys.argv[1], sys.argv[2]
    root = ET.parse(path).getroot()
    problems = []
    enabled = []
    for p in root.iter("protocol"):
        name = "%s %s" % (p.get("type"), p.get("version"))
        if p.get("enabled") != "1":
            continue
        enabled.append(name)
        if p.get("type") == "ssl" or p.get("version") in ("1.0", "1.1"):
            problems.append("protocol %s is enabled" % name)
    ciphers = list(root.iter("cipher"))
    for c in ciphers:
        name, version, bits = c.get("cipher", ""), c.get("sslversion", ""), int(c.get("bits", "0"))
        why = []
        if WEAK_NAME.search(name):
            why.append("weak algorithm")
        if bits < 128:
            why.append("%d bits" % bits)
        if c.get("strength") in WEAK_STRENGTH:
            why.append("sslscan says %s" % c.get("strength"))
        if version not in ("TLSv1.2", "TLSv1.3"):
            why.append("offered over %s" % version)
        if why:
            problems.append("cipher %s %s (%s)" % (version, name, ", ".join(why)))
    # A scan that could not talk TLS at all finds nothing weak: that is a failure too.
    if not ciphers or not any(v in enabled for v in ("tls 1.2", "tls 1.3")):
        problems.append("the scan negotiated nothing (protocols %s, %d ciphers)" % (enabled, len(ciphers)))
    for p in problems:
        print("%s: %s" % (label, p))
    if not problems:
        print("%s: clean: protocols %s; %d ciphers: %s" % (
            label, ", ".join(enabled), len(ciphers),
            " ".join("%s/%s" % (c.get("sslversion"), c.get("cipher")) for c in ciphers)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
