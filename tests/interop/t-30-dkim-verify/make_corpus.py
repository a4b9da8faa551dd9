#!/usr/bin/python3
"""Writes the tricky-message corpus for t-30-dkim-verify into OUTDIR, one NN-name.eml each.

Some messages arrive already signed by another domain or with an ARC chain of 1 or 3 sets;
dkimpy produces those, with keys given on the command line:
  make_corpus.py OUTDIR OTHER_KEY HOP_KEY
OTHER_KEY signs d=other.example s=o1; HOP_KEY seals the ARC sets as d=hop.example s=h1.
"""
import sys
import dkim

out, other_key, hop_key = sys.argv[1], open(sys.argv[2], 'rb').read(), open(sys.argv[3], 'rb').read()
T = 1764000000  # fixed t= for the pre-existing ARC sets (in the past: no x=)


def msg(headers, body):
    return ('\r\n'.join(headers) + '\r\n\r\n').encode('utf-8') + body


base = [
    'From: Joe Sender <joe@example.com>',
    'To: Suzie <suzie@example.net>',
    'Subject: Is dinner ready?',
    'Date: Tue, 24 Nov 2026 21:00:37 +0000',
    'Message-ID: <t30.1@example.com>',
]
long_value = ' '.join('word%d' % i for i in range(180))
corpus = {
    '01-plain': msg(base, b'Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n'),
    '02-folded-long-headers': msg(
        base[:2] + [
            'Subject: a subject folded\r\n over three\r\n\tlines',
            'X-Long: ' + long_value[:70] + '\r\n ' + long_value[70:800] + '\r\n ' + long_value[800:],
            'References: <a@example.com>\r\n <b@example.com>\r\n   <c@example.com>',
            'Reply-To:   spaced    out   <r@example.com>   ',
        ] + base[3:], b'body\r\n'),
    '03-empty-body': msg(base, b''),
    '04-no-final-crlf': msg(base, b'first line\r\nlast line without a line end'),
    '05-trailing-blank-lines': msg(base, b'text\r\n\r\n\r\n\r\n\r\n'),
    '06-trailing-whitespace': msg(base, b'a  \t\r\n  b   c \r\n\t\r\n \r\n'),
    '07-utf8-headers': msg([
        'From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>',
        'To: Zoë Ångström <zoe@example.net>',
        'Subject: Grüße aus Köln ☕ — naïve café',
        'Date: Tue, 24 Nov 2026 21:00:37 +0000',
        'Message-ID: <t30.7@example.com>',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
    ], 'Grüße, schöne Grüße — 日本語\r\n'.encode('utf-8')),
    '08-long-lines': msg(base, (b'x' * 998 + b'\r\n') * 3 + b'y' * 5000 + b'\r\n'),
    '09-multiple-to-cc': msg(base[:2] + [
        'To: second@example.net, third@example.org',
        'Cc: c1@example.net',
        'CC: c2@example.net',
        'cc: c3@example.net',
    ] + base[2:], b'many recipients\r\n'),
    '10-mime-multipart': msg(base + [
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative;\r\n\tboundary="b1"',
    ], b'--b1\r\nContent-Type: text/plain\r\n\r\nplain\t text \r\n--b1\r\n'
       b'Content-Type: text/html\r\n\r\n<p>html</p>\r\n--b1--\r\n'),
    '11-subdomain': msg(['From: news@news.example.com'] + base[1:], b'from a subdomain\r\n'),
}

# Already signed by another domain (an ESP, a list): its signature must survive ours.
presigned = msg(base[:4] + ['Message-ID: <t30.12@example.com>'], b'signed upstream\r\n')
sig = dkim.sign(presigned, b'o1', b'other.example', other_key,
                include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
corpus['12-signed-by-other'] = sig + presigned


def seal(message, hop, arc_result):
    """One ARC set added by dkimpy as hop N of hop.example, after its Authentication-Results."""
    srv = ('hop%d.example' % hop).encode()
    ar = b'Authentication-Results: ' + srv + b'; arc=' + arc_result + b'\r\n'
    m = ar + message
    headers = dkim.arc_sign(m, b'h1', b'hop.example', hop_key, srv, timestamp=T + hop,
                            include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
    if not headers:
        raise SystemExit('dkimpy did not seal hop %d' % hop)
    return b''.join(headers) + m


arc1 = msg(base[:4] + ['Message-ID: <t30.13@example.com>'], b'one ARC set\r\n')
corpus['13-arc-chain-1'] = seal(arc1, 1, b'none')
arc3 = msg(base[:4] + ['Message-ID: <t30.14@example.com>'], b'three ARC sets\r\n')
arc3 = seal(arc3, 1, b'none')
arc3 = seal(arc3, 2, b'pass')
corpus['14-arc-chain-3'] = seal(arc3, 3, b'pass')
# A chain broken on the way (the body changed after hop 1 sealed it): we must seal cv=fail.
broken = seal(msg(base[:4] + ['Message-ID: <t30.15@example.com>'], b'sealed once\r\n'), 1, b'none')
corpus['15-arc-chain-broken'] = broken.replace(b'sealed once', b'SEALED ONCE')

for name, data in corpus.items():
    with open('%s/%s.eml' % (out, name), 'wb') as f:
        f.write(data)
