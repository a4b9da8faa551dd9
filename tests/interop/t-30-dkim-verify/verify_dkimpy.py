#!/usr/bin/python3
"""Verifies every DKIM signature and the ARC chain of a message with dkimpy, keys from a table.

verify_dkimpy.py KEYS MESSAGE DKIM_COUNT ARC
  KEYS: lines "NAME RECORD"; DKIM_COUNT: how many DKIM-Signature fields must be present and pass;
  ARC: "pass" (chain must validate), "fail", "none" (no chain), or "-" (not checked).
Prints one line per result; exits 0 when everything is as expected, 1 otherwise.
With DKIM_COUNT "fail", every signature must FAIL (the negative control).
"""
import sys
import dkim

keys = {}
for line in open(sys.argv[1]):
    name, _, record = line.rstrip('\n').partition(' ')
    keys[name.lower()] = record.encode()


def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    return keys.get(name.lower().rstrip('.'))


message = open(sys.argv[2], 'rb').read()
want, want_arc = sys.argv[3], sys.argv[4]
d = dkim.DKIM(message, minkey=1024)
sigs = [v for (k, v) in d.headers if k.lower() == b'dkim-signature']
ok = True
passed = 0
for i in range(len(sigs)):
    try:
        good = dkim.DKIM(message, minkey=1024).verify(idx=i, dnsfunc=dnsfunc)
        why = ''
    except dkim.DKIMException as e:
        good, why = False, str(e)
    tags = dict(t.strip().split(b'=', 1) for t in sigs[i].split(b';') if b'=' in t)
    print('dkimpy: dkim %s d=%s s=%s a=%s %s' % ('pass' if good else 'FAIL', tags[b'd'].decode(),
          tags[b's'].decode(), tags[b'a'].decode(), why))
    passed += bool(good)
if want == 'fail':
    if passed or not sigs:
        print('dkimpy: expected every signature to fail, %d of %d passed' % (passed, len(sigs)))
        ok = False
else:
    if len(sigs) != int(want) or passed != len(sigs):
        print('dkimpy: expected %s signatures to pass, %d of %d passed' % (want, passed, len(sigs)))
        ok = False
if want_arc != '-':
    cv, results, reason = dkim.arc_verify(message, dnsfunc=dnsfunc)
    # None: the newest seal says cv=fail, so the chain has ended; that is a failed chain.
    cv = (cv or b'fail').decode()
    print('dkimpy: arc %s (%s) instances=%d' % (cv, reason, len(results)))
    if cv != want_arc:
        print('dkimpy: expected arc %s' % want_arc)
        ok = False
sys.exit(0 if ok else 1)
