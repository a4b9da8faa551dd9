"""Raw SMTP helpers for integration tests: exact bytes out, replies parsed, no cleverness."""
import socket
import ssl
import time


class Conn:
    def __init__(self, port, host="127.0.0.1", implicit_tls=False, timeout=10, source=None):
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=(source, 0) if source else None)
        if implicit_tls:
            self.sock = _client_context().wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """One whole (possibly multiline) reply: (code, [lines])."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got %r" % (lines,))
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return int(text[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def starttls(self):
        code, _ = self.cmd("STARTTLS")
        assert code == 220, code
        self.sock = _client_context().wrap_socket(self.sock, server_hostname="localhost")
        return self.sock.version()

    def closed(self, wait=5):
        """True when the server closes the connection within wait seconds."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def expect(got, code, what=""):
    if got[0] != code:
        raise AssertionError("%s: expected %d, got %r" % (what, code, got))
    return got


def send_message(c, sender, rcpts, body):
    """A whole transaction; returns the final reply."""
    expect(c.cmd("MAIL FROM:<%s>" % sender), 250, "MAIL")
    for r in rcpts:
        expect(c.cmd("RCPT TO:<%s>" % r), 250, "RCPT")
    expect(c.cmd("DATA"), 354, "DATA")
    c.send(body)
    return c.reply()
