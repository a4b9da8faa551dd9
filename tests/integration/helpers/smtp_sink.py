#!/usr/bin/python3
"""A receiving SMTP server on loopback (aiosmtpd) that records what it receives.

Usage: smtp_sink.py --port PORT [--address 127.0.0.x] --out DIR [--tls-cert PEM --tls-key PEM]
                    [--reject-prefix P] [--defer-prefix P] [--plain-esmtp] [--greeting CODE]
                    [--defer-first N] [--drop-first N] [--data-delay SECONDS]
Each accepted message becomes DIR/NNNN.json: mail_from, mail_options, rcpt_tos, peer_port, the DSN
parameters as sent (RET, ENVID, and NOTIFY/ORCPT per recipient), ehlo, tls, data. RCPT for an
address starting with the reject prefix gets 550 5.1.1, the defer prefix 451 4.2.1.
--drop-after-dot records each message and then drops the connection instead of answering.
--defer-first N answers 451 4.2.1 to the first N RCPTs of each address, then accepts it.
--drop-first N behaves as --drop-after-dot for the first N messages, then answers normally.
--data-delay SECONDS records each message, then waits that long before answering the dot.
--greeting CODE answers every connection with "CODE ..." and closes; --silent never greets.
--plain-esmtp leaves out the PIPELINING and DSN this sink adds to aiosmtpd's EHLO.
--tls-cert/--tls-key offer STARTTLS; --tls-broken offers it but allows only TLS 1.0.
--reply-at STAGE=REPLY answers that stage (ehlo, mail, rcpt, data or dot) with REPLY, e.g.
  "rcpt=421 4.7.28 unusual rate"; a 421 also closes the connection, as RFC 5321 §3.8 has it.
  A message refused at the dot is not recorded.
Prints "ready PORT" once it listens; serves until killed.
"""
import argparse
import asyncio
import json
import time
import os
import re
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

DSN_MAIL = re.compile(r"^(RET|ENVID)=", re.I)
DSN_RCPT = re.compile(r"^(NOTIFY|ORCPT)=", re.I)


def split_dsn(arg, pattern):
    """Removes the DSN parameters (which aiosmtpd does not know) from a MAIL/RCPT argument."""
    kept, dsn = [], {}
    for i, token in enumerate(arg.split(" ")):
        if i > 0 and pattern.match(token):
            key, value = token.split("=", 1)
            dsn[key.upper()] = value
        else:
            kept.append(token)
    return " ".join(kept), dsn


def stage_reply(server, stage):
    """The reply --reply-at sets for this stage, or None; schedules the close after a 421."""
    reply = server.event_handler.reply_at.get(stage)
    if reply and reply.startswith("421"):
        asyncio.get_event_loop().call_later(0.05, server.transport.close)
    return reply


class RecordingSMTP(SMTP):
    async def smtp_DATA(self, arg):
        reply = stage_reply(self, "data")
        if reply and self.envelope.rcpt_tos:
            await self.push(reply)
            return
        await super().smtp_DATA(arg)

    async def smtp_MAIL(self, arg):
        if arg:
            arg, self.dsn_mail = split_dsn(arg, DSN_MAIL)
            self.dsn_rcpt = []
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        dsn = {}
        if arg:
            arg, dsn = split_dsn(arg, DSN_RCPT)
        before = len(self.envelope.rcpt_tos)
        await super().smtp_RCPT(arg)
        if len(self.envelope.rcpt_tos) > before:
            self.dsn_rcpt.append(dsn)


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.lock = threading.Lock()
        self.rcpts_seen = {}  # address -> RCPTs seen, for --defer-first
        self.reply_at = dict(r.split("=", 1) for r in args.reply_at)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = stage_reply(server, "mail")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        reply = stage_reply(server, "ehlo")
        if reply:
            return [reply]
        if not self.args.plain_esmtp:
            responses[-1:-1] = ["250-PIPELINING", "250-DSN", "250-ENHANCEDSTATUSCODES"]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = stage_reply(server, "rcpt")
        if reply:
            return reply
        if self.args.reject_prefix and address.startswith(self.args.reject_prefix):
            return "550 5.1.1 no such user here"
        if self.args.defer_prefix and address.startswith(self.args.defer_prefix):
            return "451 4.2.1 mailbox busy, try later"
        if self.args.full_prefix and address.startswith(self.args.full_prefix):
            return "552 5.2.2 mailbox full"
        if self.args.defer_first:
            with self.lock:
                seen = self.rcpts_seen.get(address, 0)
                self.rcpts_seen[address] = seen + 1
            if seen < self.args.defer_first:
                return "451 4.2.1 not yet, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = stage_reply(server, "dot")
        if reply:
            return reply
        with self.lock:
            self.count += 1
            n = self.count
        record = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "dsn_mail": getattr(server, "dsn_mail", {}),
            "rcpt_tos": envelope.rcpt_tos,
            "dsn_rcpt": getattr(server, "dsn_rcpt", []),
            "ehlo": session.host_name,
            "tls": server._tls_protocol is not None,
            "peer_host": session.peer[0],
            "peer_port": session.peer[1],
            "time": time.time(),
            "data": envelope.content.decode("latin-1"),
        }
        path = os.path.join(self.args.out, f"{n:04d}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        if self.args.data_delay:
            await asyncio.sleep(self.args.data_delay)
        if self.args.drop_after_dot or n <= self.args.drop_first:
            server.transport.abort()  # the message is kept, the client never hears so
            return "250 2.0.0 never sent"
        return f"250 2.0.0 OK queued as sink-{n}"


class RecordingController(Controller):
    def factory(self):
        return RecordingSMTP(self.handler, **self.SMTP_kwargs)


async def refuse(reader, writer, code):
    writer.write(f"{code} 4.3.2 busy, try another MX\r\n".encode()
                 if code.startswith("4") else f"{code} 5.7.1 go away\r\n".encode())
    await writer.drain()
    try:
        await asyncio.wait_for(reader.read(1024), 2)
    except Exception:
        pass
    writer.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--out")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--tls-broken", action="store_true",
                   help="offer STARTTLS but allow only TLS 1.0, so the handshake fails")
    p.add_argument("--reject-prefix")
    p.add_argument("--defer-prefix")
    p.add_argument("--full-prefix", help="RCPT for these addresses gets 552 5.2.2 (a soft bounce)")
    p.add_argument("--plain-esmtp", action="store_true")
    p.add_argument("--greeting")
    p.add_argument("--silent", action="store_true")
    p.add_argument("--drop-after-dot", action="store_true")
    p.add_argument("--defer-first", type=int, default=0)
    p.add_argument("--drop-first", type=int, default=0)
    p.add_argument("--data-delay", type=float, default=0.0)
    p.add_argument("--reply-at", action="append", default=[], metavar="STAGE=REPLY")
    args = p.parse_args()

    if args.silent:
        async def hold(reader, writer):
            await reader.read()  # never greets; waits for the client to give up
            writer.close()

        async def serve_silent():
            server = await asyncio.start_server(hold, args.address, args.port)
            print(f"ready {args.port}", flush=True)
            async with server:
                await server.serve_forever()
        asyncio.run(serve_silent())
        return 0

    if args.greeting:
        async def serve():
            server = await asyncio.start_server(
                lambda r, w: refuse(r, w, args.greeting), args.address, args.port)
            print(f"ready {args.port}", flush=True)
            async with server:
                await server.serve_forever()
        asyncio.run(serve())
        return 0

    kwargs = {}
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_broken:
            # STARTTLS is offered, but no handshake a TLS 1.2+ client accepts can complete.
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        kwargs["tls_context"] = ctx
    controller = RecordingController(
        Handler(args), hostname=args.address, port=args.port, decode_data=False,
        enable_SMTPUTF8=True, **kwargs)
    controller.start()
    print(f"ready {args.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
