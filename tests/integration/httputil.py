"""Helpers for the `sockit http serve` tests: the server started on port 0,
raw HTTP/1.1 exchanges over a socket (so malformed and pipelined requests
can be sent byte for byte), response parsing, and curl.

Every socket goes through a netutil.Procs group and is closed at teardown;
every read has a deadline.
"""
import os
import re
import socket
import subprocess
import time

from netutil import WAIT

CURL = "/usr/bin/curl"

SERVING = re.compile(r"^serving on http://127\.0\.0\.1:(\d+)/$", re.M)

# 127.0.0.1 - - [22/Nov/2026:18:40:00 +0000] "GET / HTTP/1.1" 200 1234
CLF = re.compile(r'^127\.0\.0\.1 - - \[\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/'
                 r'\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "([^"\\]|\\x[0-9a-f]{2})*" \d{3} (\d+|-)$')

# RFC 9110 §5.6.7 IMF-fixdate, the only form a sender may generate.
IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
                         r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                         r"\d{2}:\d{2}:\d{2} GMT$")


class Server:
    """`sockit http serve -p 0 -b 127.0.0.1 ARGS ROOT`, past its `serving on` line;
    with tool, `TOOL ARGS ROOT` (a tests/tools driver that prints that line)."""

    def __init__(self, procs, root, *args, tool=None, **kw):
        """kw goes to the process (preexec_fn, for one)."""
        self.procs = procs
        self.root = root
        if tool:
            self.proc = procs.tool(tool, *args, str(root), **kw)
        else:
            self.proc = procs.sockit("http", "serve", "-p", "0", "-b", "127.0.0.1", *args,
                                     str(root), **kw)
        m = self.proc.wait_err(SERVING.pattern)
        self.port = int(m.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def conn(self, timeout=WAIT):
        return Conn(self.procs.connect(self.port, timeout=timeout))

    def request(self, raw, head_only=False, timeout=WAIT):
        """Sends raw bytes on a new connection and returns the first response."""
        c = self.conn(timeout)
        try:
            c.send(raw)
            return c.response(head_only=head_only, timeout=timeout)
        finally:
            c.sock.close()  # the server's linger ends at our EOF, not its timer

    def get(self, target, headers=(), method="GET", body=b"", version="HTTP/1.1"):
        """One request with Host and Connection: close, on a new connection."""
        return self.request(build(method, target, headers, body, version, close=True),
                            head_only=method == "HEAD")

    def access_lines(self):
        return [line for line in self.proc.err.splitlines() if CLF.match(line)]


def build(method, target, headers=(), body=b"", version="HTTP/1.1", close=False, host=True):
    """A request as bytes: headers is a list of (name, value) pairs or raw lines."""
    if isinstance(target, str):
        target = target.encode("latin-1")
    lines = [method.encode() + b" " + target + b" " + version.encode()]
    if host:
        lines.append(b"Host: 127.0.0.1")
    for h in headers:
        if isinstance(h, tuple):
            h = f"{h[0]}: {h[1]}"
        lines.append(h.encode("latin-1") if isinstance(h, str) else h)
    if body and not any(_header_name(h) in ("content-length", "transfer-encoding")
                        for h in headers):
        lines.append(b"Content-Length: %d" % len(body))
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _header_name(h):
    if isinstance(h, tuple):
        return h[0].lower()
    if isinstance(h, bytes):
        h = h.decode("latin-1")
    return h.partition(":")[0].strip().lower()


class Response:
    def __init__(self, version, status, reason, headers, body, head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)], as sent
        self.body = body
        self.head = head        # the raw head bytes

    def get(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def getall(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def names(self):
        return [k.lower() for k, _ in self.headers]

    def __repr__(self):
        return f"Response({self.status} {self.reason}, {self.headers}, body={self.body[:200]!r})"


class Conn:
    """A client socket with a read buffer, reading whole responses."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; have {bytes(self.buf[:300])!r}")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            return True
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def response(self, head_only=False, timeout=WAIT, skip_continue=True):
        """The next response; a 100 Continue is skipped unless skip_continue
        is False."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\r\n\r\n" not in self.buf:
                if not self._fill(deadline):
                    raise AssertionError(f"EOF before a whole head: {bytes(self.buf[:300])!r}")
            end = self.buf.index(b"\r\n\r\n") + 4
            head = bytes(self.buf[:end])
            del self.buf[:end]
            lines = head[:-4].split(b"\r\n")
            version, status, reason = lines[0].decode("latin-1").split(" ", 2)
            status = int(status)
            headers = []
            for line in lines[1:]:
                name, _, value = line.decode("latin-1").partition(":")
                headers.append((name, value.strip()))
            if status == 100 and skip_continue:
                continue
            resp = Response(version, status, reason, headers, b"", head)
            break
        if head_only or status < 200 or status in (204, 304):
            return resp
        length = resp.get("Content-Length")
        if length is not None:
            n = int(length)
            while len(self.buf) < n:
                if not self._fill(deadline):
                    raise AssertionError(f"EOF after {len(self.buf)} of {n} body bytes")
            resp.body = bytes(self.buf[:n])
            del self.buf[:n]
        else:
            while self._fill(deadline):
                pass
            resp.body = bytes(self.buf)
            self.buf.clear()
        return resp

    def closed(self, timeout=WAIT):
        """True if the server closes the connection (EOF or reset) within
        timeout with nothing more sent; extra bytes are an assertion."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if self.buf:
                break
            if time.monotonic() >= deadline:
                return False
            try:
                self._fill(deadline)
            except AssertionError:
                return False
        assert not self.buf, f"unexpected bytes after the response: {bytes(self.buf[:300])!r}"
        return True


def curl_env():
    env = dict(os.environ)
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env["HOME"] = "/nonexistent"  # no ~/.curlrc
    return env


def curl(*args, input=None, timeout=30):
    """curl -sS ARGS; returns the CompletedProcess (bytes)."""
    return subprocess.run([CURL, "-sS", "--noproxy", "*", *args], input=input,
                          capture_output=True, timeout=timeout, env=curl_env())


def parse_dumped_heads(data):
    """The heads curl -D wrote: a list of (status, [(name, value)])."""
    heads = []
    for block in data.decode("latin-1").split("\r\n\r\n"):
        if not block.strip():
            continue
        lines = block.strip("\r\n").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
        heads.append((status, headers))
    return heads
