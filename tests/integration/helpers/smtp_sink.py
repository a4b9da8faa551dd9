#!/usr/bin/python3
"""A receiving SMTP server on loopback (aiosmtpd) that records what it receives.

Usage: smtp_sink.py --port PORT [--address 127.0.0.x] --out DIR [--tls-cert PEM --tls-key PEM]
                    [--reject-prefix P] [--defer-prefix P] [--plain-esmtp] [--greeting CODE]
                    [--defer-first N [--defer-first-prefix P]] [--drop-first N]
                    [--data-delay SECONDS]
Each accepted message becomes DIR/NNNN.json: mail_from, mail_options, rcpt_tos, peer_port, the DSN
parameters as sent (RET, ENVID, and NOTIFY/ORCPT per recipient), ehlo, tls, data. RCPT for an
address starting with the reject prefix gets 550 5.1.1, the defer prefix 451 4.2.1.
--drop-after-dot records each message and then drops the connection instead of answering.
--defer-first N answers 451 4.2.1 to the first N RCPTs of each address, then accepts it;
  with --defer-first-prefix P, only of each address starting with P.
--drop-first N behaves as --drop-after-dot for the first N messages, then answers normally.
--data-delay SECONDS records each message, then waits that long before answering the dot.
--greeting CODE answers every connection with "CODE ..." and closes; --silent never greets.
--plain-esmtp leaves out the PIPELINING and DSN this sink adds to aiosmtpd's EHLO.
--tls-cert/--tls-key offer STARTTLS; --tls-broken offers it but allows only TLS 1.0.
--reply-at STAGE=REPLY answers that stage (ehlo, mail, rcpt, data or dot) with REPLY, e.g.
  "rcpt=421 4.7.28 unusual rate"; a 421 also closes the connection, as RFC 5321 §3.8 has it.
  A message refused at the dot is not recorded. Two more stages: greeting=REPLY greets with
  REPLY (then answers QUIT with 221 and anything else with 503; a 421 closes at once), and
  helo=REPLY answers HELO (the client's fallback after a 5xx to EHLO); noop=REPLY answers NOOP.
Fault injection (reliability tests):
--stall-at STAGE never answers that stage (greeting, ehlo, mail, rcpt, data or dot) and keeps the
  connection open until the client gives up; a message stalled at the dot is recorded first
  (the receiver got it; only its answer never comes).
--drop-at STAGE closes the connection instead of answering that stage (greeting: right after
  accept; dot: the message is recorded first, as --drop-after-dot), or, for after-dot, just
  after answering 250 to the dot (the message was accepted; the client must not send it again).
--lenient-eod ends DATA at any of the line endings SMTP smuggling abuses (<LF>.<LF>,
  <LF>.<CR><LF>, <CR>.<CR>, <CR><LF>.<LF>, ...; see LENIENT_EOD), as the vulnerable receivers in
  SEC Consult's 2023 research did, and reads what follows as commands: bytes a sender lets
  through that a lenient receiver splits show up as extra messages or envelopes.
--cases FILE serves several sinks from one process: each line "NAME PORT [OPTIONS...]" (shell
  words; # comments) is a sink with these options on PORT, recording into OUT/NAME; options
  given on the command line apply to every case. Prints "ready PORT" once all listen.
Each recorded message also notes "lenient" (whether --lenient-eod was on), "terminator" (the
end-of-data sequence it saw) and "raw_tail" (the last bytes before it).
Prints "ready PORT" once it listens; serves until killed.
"""
import argparse
import asyncio
import copy
import json
import os
import re
import shlex
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

DSN_MAIL = re.compile(r"^(RET|ENVID)=", re.I)
DSN_RCPT = re.compile(r"^(NOTIFY|ORCPT)=", re.I)
STAGES = ("greeting", "ehlo", "helo", "mail", "rcpt", "data", "dot", "noop")
DROP_STAGES = ("greeting", "ehlo", "mail", "rcpt", "data", "dot", "after-dot")
# End-of-data sequences that some receivers accepted (SEC Consult, "SMTP Smuggling", Dec 2023:
# bare LF or bare CR around the dot, a NUL before it), each after the line ending before the dot.
# The standard CRLF.CRLF comes first; the earliest match wins.
LENIENT_EOD = [b"\r\n.\r\n", b"\n.\r\n", b"\r\n.\n", b"\n.\n", b"\r.\r\n", b"\r\n.\r",
               b"\r.\r", b"\r.\n", b"\n.\r", b"\r\n\x00.\r\n", b"\n\x00.\n"]


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
    only_from = server.event_handler.args.reply_only_from
    if only_from and server.session.peer[0] != only_from:
        return None
    reply = server.event_handler.reply_at.get(stage)
    if reply and reply.startswith("421"):
        asyncio.get_event_loop().call_later(0.05, server.transport.close)
    return reply


async def stage_fault(server, stage):
    """--stall-at and --drop-at for this stage: True when the stage must not be answered."""
    args = server.event_handler.args
    if args.drop_at == stage:
        server.transport.abort()  # never answered; the reply the caller returns goes nowhere
        return True
    if args.stall_at == stage:
        await asyncio.sleep(3600)  # cancelled when the client closes the connection
        return True
    return False


def find_eod(buf, start):
    """(position, terminator) of the earliest lenient end of data in buf from start."""
    best = None
    for t in LENIENT_EOD:
        i = buf.find(t, start)
        if i >= 0 and (best is None or i < best[0]):
            best = (i, t)
    return best


class RecordingSMTP(SMTP):
    async def smtp_DATA(self, arg):
        reply = stage_reply(self, "data")
        if reply and self.envelope.rcpt_tos:
            await self.push(reply)
            return
        if self.envelope.rcpt_tos and await stage_fault(self, "data"):
            return
        if self.event_handler.args.lenient_eod and self.envelope.rcpt_tos and not arg:
            await self.lenient_data()
            return
        await super().smtp_DATA(arg)

    async def lenient_data(self):
        """DATA as a smuggling-prone receiver reads it: the first sequence of LENIENT_EOD ends
        the message, and the bytes after it are read as the next commands."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        buf = b"\r\n"  # the line ending before DATA's first line
        while True:
            found = find_eod(buf, 0)
            if found:
                break
            chunk = await self._reader.read(65536)
            if not chunk:
                return
            buf += chunk
        pos, term = found
        content, rest = buf[2:pos + (2 if term.startswith(b"\r\n") else 1)], buf[pos + len(term):]
        if rest:
            # What follows the terminator is read as commands, as such a receiver would.
            self._reader._buffer[0:0] = rest
        # De-transparency (RFC 5321 §4.5.2) on CRLF lines, as aiosmtpd does.
        lines = content.split(b"\r\n")
        content = b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)
        self.envelope.content = self.envelope.original_content = content
        self.envelope.terminator = term
        self.envelope.raw_tail = buf[max(0, pos - 40):pos + len(term)]
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is None else status)

    async def smtp_NOOP(self, arg):
        reply = stage_reply(self, "noop")
        if reply:
            await self.push(reply)
        else:
            await super().smtp_NOOP(arg)

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
        if await stage_fault(server, "mail"):
            return "421 4.4.2 dropped"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        reply = stage_reply(server, "ehlo")
        if reply:
            return [reply]
        if await stage_fault(server, "ehlo"):
            return []
        if not self.args.plain_esmtp:
            responses[-1:-1] = ["250-PIPELINING", "250-DSN", "250-ENHANCEDSTATUSCODES"]
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        reply = stage_reply(server, "helo")
        return reply or f"250 {server.hostname}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = stage_reply(server, "rcpt")
        if reply:
            return reply
        if await stage_fault(server, "rcpt"):
            return "421 4.4.2 dropped"
        if self.args.reject_prefix and address.startswith(self.args.reject_prefix):
            return "550 5.1.1 no such user here"
        if self.args.defer_prefix and address.startswith(self.args.defer_prefix):
            return "451 4.2.1 mailbox busy, try later"
        if self.args.full_prefix and address.startswith(self.args.full_prefix):
            return "552 5.2.2 mailbox full"
        if self.args.defer_first and address.startswith(self.args.defer_first_prefix):
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
            "lenient": bool(self.args.lenient_eod),
            "terminator": getattr(envelope, "terminator", b"\r\n.\r\n").decode("latin-1"),
            "raw_tail": getattr(envelope, "raw_tail", b"").decode("latin-1"),
        }
        path = os.path.join(self.args.out, f"{n:04d}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        if self.args.data_delay:
            await asyncio.sleep(self.args.data_delay)
        if self.args.drop_after_dot or n <= self.args.drop_first or self.args.drop_at == "dot":
            server.transport.abort()  # the message is kept, the client never hears so
            return "250 2.0.0 never sent"
        if self.args.stall_at == "dot":
            await asyncio.sleep(3600)  # kept, and never answered
        if self.args.drop_at == "after-dot":
            # Accepted, then the connection ends: the client heard 250 and must not resend.
            asyncio.get_event_loop().call_soon(server.transport.close)
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


async def greet_with(reader, writer, reply):
    """--reply-at greeting=REPLY: greets with REPLY; QUIT gets 221, anything else 503 (RFC 5321
    §3.1: after a 554 greeting the server waits for QUIT); a 421 closes at once."""
    writer.write(reply.encode() + b"\r\n")
    await writer.drain()
    try:
        while not reply.startswith("421"):
            line = await asyncio.wait_for(reader.readline(), 30)
            if not line:
                break
            if line.strip().upper() == b"QUIT":
                writer.write(b"221 2.0.0 bye\r\n")
                await writer.drain()
                break
            writer.write(b"503 5.5.1 bad sequence of commands\r\n")
            await writer.drain()
    except Exception:
        pass
    writer.close()


async def hold(reader, writer):
    await reader.read()  # never greets; waits for the client to give up
    writer.close()


async def drop(reader, writer):
    writer.transport.abort()  # accepted, then closed before any greeting


def raw_server(args):
    """The connection handler for the modes that never reach SMTP, or None."""
    greeting = dict(r.split("=", 1) for r in args.reply_at).get("greeting")
    if args.silent or args.stall_at == "greeting":
        return hold
    if args.drop_at == "greeting":
        return drop
    if greeting:
        return lambda r, w: greet_with(r, w, greeting)
    if args.greeting:
        return lambda r, w: refuse(r, w, args.greeting)
    return None


def start(args):
    """Starts one sink in background threads (its own event loop); returns once it listens."""
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    handler = raw_server(args)
    if handler:
        listening = threading.Event()

        async def serve():
            server = await asyncio.start_server(handler, args.address, args.port)
            listening.set()
            async with server:
                await server.serve_forever()
        threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
        if not listening.wait(10):
            raise SystemExit(f"cannot listen on {args.address}:{args.port}")
        return

    kwargs = {}
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_broken:
            # STARTTLS is offered, but no handshake a TLS 1.2+ client accepts can complete.
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        kwargs["tls_context"] = ctx
    if args.stall_at:
        # aiosmtpd drops a connection idle for 5 minutes: a stall must outlast the client's deadline.
        kwargs["timeout"] = 3600
    controller = RecordingController(
        Handler(args), hostname=args.address, port=args.port, decode_data=False,
        enable_SMTPUTF8=True, **kwargs)
    controller.start()


def parser():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
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
    p.add_argument("--defer-first", type=int, default=0,
                   help="RCPT for each address gets 451 this many times before it is taken")
    p.add_argument("--defer-first-prefix", default="",
                   help="--defer-first applies only to addresses with this prefix")
    p.add_argument("--drop-first", type=int, default=0)
    p.add_argument("--data-delay", type=float, default=0.0)
    p.add_argument("--reply-at", action="append", default=[], metavar="STAGE=REPLY")
    p.add_argument("--reply-only-from", metavar="ADDRESS",
                   help="--reply-at applies only to connections from this client address")
    p.add_argument("--stall-at", choices=STAGES)
    p.add_argument("--drop-at", choices=DROP_STAGES)
    p.add_argument("--lenient-eod", action="store_true")
    p.add_argument("--cases", metavar="FILE")
    return p


def main():
    p = parser()
    args = p.parse_args()
    for r in args.reply_at:
        if r.split("=", 1)[0] not in STAGES or "=" not in r:
            p.error(f"--reply-at {r}: want STAGE=REPLY with STAGE one of {', '.join(STAGES)}")
    cases = []
    if args.cases:
        for line in open(args.cases):
            words = shlex.split(line, comments=True)
            if not words:
                continue
            name, port, extra = words[0], words[1], words[2:]
            case = copy.copy(args)
            p.parse_args(extra, namespace=case)
            case.port, case.cases = int(port), None
            case.out = os.path.join(args.out, name) if args.out else None
            cases.append(case)
    else:
        if args.port is None:
            p.error("--port (or --cases) is required")
        cases.append(args)
    for case in cases:
        start(case)
    print(f"ready {args.port if args.port else cases[0].port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
