"""`sockit http get|head|put|post|delete` (issue 11) against `sockit http
serve`, nginx, `python3 -m http.server` and a misbehaving server written
here (RawServer: every byte of every response chosen by the test), all on
loopback and started by the tests: every option, every exit status, and the
failures users of HTTP clients meet (short bodies, cut chunked streams,
resets, conflicting lengths, redirects carrying credentials, resumes).
"""
import gzip
import hashlib
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

import netutil as nu
from conftest import SOCKIT, run_sockit
from httputil import Server

WAIT = nu.WAIT
IO_MODES = ["io_uring", "epoll"]


@pytest.fixture(params=IO_MODES)
def io_env(request):
    """The client's environment: its loop on io_uring or on epoll."""
    if request.param == "io_uring" and os.environ.get("SOCKIT_IO_URING") == "0":
        pytest.skip("SOCKIT_IO_URING=0 is set: the epoll path only")
    env = dict(os.environ)
    for name in ("http_proxy", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        env.pop(name, None)
    # The client runs on epoll unless SOCKIT_IO_URING=1 asks for the ring.
    env["SOCKIT_IO_URING"] = "0" if request.param == "epoll" else "1"
    return env


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "no_proxy", "https_proxy")}
    env.update(extra)
    return env


@pytest.fixture
def procs():
    group = nu.Procs()
    yield group
    group.cleanup()


def get(*args, env=None, input=None, binary=True, timeout=60):
    """Runs `sockit http ARGS` and checks it left no sanitizer report."""
    res = run_sockit("http", *args, env=env if env is not None else clean_env(), input=input,
                     binary=binary, timeout=timeout)
    err = res.err if isinstance(res.err, str) else res.err.decode("utf-8", "replace")
    nu.assert_no_sanitizer_report(err)
    res.text = err
    return res


def no_temp_files(directory):
    return [p for p in os.listdir(directory) if ".sockit-" in p]


# --------------------------------------------------------------------------
# A misbehaving server: the test writes every byte of every response
# --------------------------------------------------------------------------

class Request:
    def __init__(self, head, body, conn_no):
        lines = head.decode("latin-1").split("\r\n")
        self.line = lines[0]
        self.method, self.target, self.version = self.line.split(" ")
        self.headers = [tuple(h.split(": ", 1)) for h in lines[1:] if h]
        self.body = body
        self.conn_no = conn_no
        self.raw_head = head

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None


def read_request(conn, buf):
    """(Request parts, rest) or (None, b"") at EOF."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, buf = buf.split(b"\r\n\r\n", 1)
    head += b"\r\n\r\n"
    m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
    if m:
        n = int(m.group(1))
        while len(buf) < n:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
        return (head, buf[:n]), buf[n:]
    if re.search(rb"\r\ntransfer-encoding: *chunked", head, re.I):
        body = b""
        while True:
            while b"\r\n" not in buf:
                buf += conn.recv(65536)
            size_line, buf = buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2:
                buf += conn.recv(65536)
            body += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                return (head, body), buf
    return (head, b""), buf


def response(status, body=b"", headers=(), length=True, reason=None):
    reasons = {200: "OK", 206: "Partial Content", 301: "Moved Permanently", 302: "Found",
               303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect",
               404: "Not Found", 416: "Range Not Satisfiable", 500: "Internal Server Error"}
    head = f"HTTP/1.1 {status} {reason or reasons.get(status, 'X')}\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    if length:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def reset(conn):
    """Closes with an RST (SO_LINGER 0): the peer sees ECONNRESET."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class RawServer:
    """Accepts connections on loopback port 0; each request goes to
    handler(req, conn, server), which writes what it likes and returns
    whether to read the next request on that connection."""

    def __init__(self, procs, handler, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.ls = procs.track(socket.socket(family, socket.SOCK_STREAM))
        self.ls.bind((host, 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.host = host
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"
        self.handler = handler
        self.requests = []
        self.n_conns = 0
        self.procs = procs
        t = threading.Thread(target=self.accept_loop, daemon=True)
        t.start()

    def accept_loop(self):
        while True:
            try:
                conn, _ = self.ls.accept()
            except OSError:
                return
            self.procs.track(conn)
            self.n_conns += 1
            threading.Thread(target=self.serve, args=(conn, self.n_conns), daemon=True).start()

    def serve(self, conn, conn_no):
        conn.settimeout(30)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        try:
            while True:
                parts, buf = read_request(conn, buf)
                if parts is None:
                    break
                req = Request(parts[0], parts[1], conn_no)
                self.requests.append(req)
                if not self.handler(req, conn, self):
                    break
        except OSError:
            pass
        try:
            conn.close()
        except OSError:
            pass


def answer(data, keep=True):
    """A handler that sends the same bytes to every request."""
    def handler(req, conn, server):
        conn.sendall(data)
        return keep
    return handler


# --------------------------------------------------------------------------
# Other servers: sockit http serve, nginx, python3 -m http.server
# --------------------------------------------------------------------------

@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello, world\n")
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_bytes(b"inner\n")
    return root


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_nginx(procs, root, tmp_path, extra=""):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.skip("nginx is not installed (scripts/deps.sh bench)")
    port = free_port()
    conf = tmp_path / "nginx.conf"
    tmp = tmp_path / "nginx-tmp"
    tmp.mkdir()
    conf.write_text(f"""
daemon off; master_process off; worker_processes 1;
{"user root;" if os.geteuid() == 0 else ""}
error_log {tmp}/error.log; pid {tmp}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off; sendfile on; keepalive_requests 10000;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  types {{ text/plain txt; }}
  server {{ listen 127.0.0.1:{port}; root {root}; {extra} }}
}}
""")
    procs.spawn(nginx, "-c", str(conf), "-p", str(tmp))
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    pytest.fail("nginx did not start")


def start_python_server(procs, root):
    p = procs.spawn("/usr/bin/python3", "-u", "-m", "http.server", "--bind", "127.0.0.1",
                    "--directory", str(root), "0")
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        m = re.search(r"port (\d+)", p.out.decode() if isinstance(p.out, bytes) else p.out)
        if m:
            return f"http://127.0.0.1:{m.group(1)}"
        time.sleep(0.05)
    pytest.fail("python3 -m http.server did not start")


# ==========================================================================
# Getting things: the three real servers
# ==========================================================================

def test_get_from_sockit_serve_to_stdout_and_file(procs, site, tmp_path, io_env):
    srv = Server(procs, site)
    res = get("get", f"{srv.url}/hello.txt", env=io_env)
    assert (res.status, res.out, res.err) == (0, b"hello, world\n", b"")
    out = tmp_path / "out.txt"
    res = get("get", "-o", str(out), f"{srv.url}/hello.txt", env=io_env)
    assert res.status == 0 and res.out == b"" and out.read_bytes() == b"hello, world\n"
    assert no_temp_files(tmp_path) == []


def test_get_from_nginx_and_python(procs, site, tmp_path):
    big = os.urandom(3 << 20)
    (site / "big.bin").write_bytes(big)
    for url in (start_nginx(procs, site, tmp_path), start_python_server(procs, site)):
        res = get("get", f"{url}/big.bin", f"{url}/hello.txt")
        assert res.status == 0, res.text
        assert res.out == big + b"hello, world\n"
        res = get("get", f"{url}/missing")
        assert res.status == 6
        assert re.fullmatch(f"sockit: http get: '{url}/missing': 404 (Not Found|File not found)\n", res.text)


def test_head_prints_the_head_only(procs, site):
    srv = Server(procs, site)
    res = get("head", f"{srv.url}/hello.txt")
    assert res.status == 0
    head = res.out.decode()
    assert head.startswith("HTTP/1.1 200 OK\r\n") and head.endswith("\r\n\r\n")
    assert "Content-Length: 13\r\n" in head


def test_100_mib_download_by_checksum(procs, tmp_path, io_env):
    root = tmp_path / "root"
    root.mkdir()
    data = os.urandom(1 << 20) * 100
    (root / "big.bin").write_bytes(data)
    srv = Server(procs, root)
    out = tmp_path / "big.out"
    res = get("get", "-o", str(out), f"{srv.url}/big.bin", env=io_env, timeout=120)
    assert res.status == 0, res.text
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
    res = get("get", f"{srv.url}/big.bin", env=io_env, timeout=120)
    assert hashlib.sha256(res.out).digest() == hashlib.sha256(data).digest()


def test_several_urls_share_one_connection(procs, tmp_path):
    srv = RawServer(procs, lambda req, conn, s: conn.sendall(
        response(200, req.target.encode())) or True)
    a, b = tmp_path / "a", tmp_path / "b"
    res = get("get", "-o", str(a), "-o", str(b), f"{srv.url}/1", f"{srv.url}/2", f"{srv.url}/3")
    assert res.status == 0, res.text
    assert (a.read_bytes(), b.read_bytes(), res.out) == (b"/1", b"/2", b"/3")
    assert srv.n_conns == 1 and len(srv.requests) == 3


# ==========================================================================
# Framing: what a response's end is, and what happens when it does not come
# ==========================================================================

def test_content_length_chunked_and_close_delimited(procs):
    bodies = {
        "/cl": response(200, b"length body"),
        "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"4;ext=1\r\nchun\r\n3\r\nked\r\n0\r\nTrailer: x\r\n\r\n",
        "/close": b"HTTP/1.1 200 OK\r\n\r\nuntil the server closes",
        "/http10": b"HTTP/1.0 200 OK\r\n\r\nhttp/1.0 body",
    }

    def handler(req, conn, server):
        conn.sendall(bodies[req.target])
        return req.target in ("/cl", "/chunked")

    srv = RawServer(procs, handler)
    for path, want in [("/cl", b"length body"), ("/chunked", b"chunked"),
                       ("/close", b"until the server closes"), ("/http10", b"http/1.0 body")]:
        res = get("get", srv.url + path)
        assert (res.status, res.out) == (0, want), res.text


def test_chunked_split_at_every_byte(procs, io_env):
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (b"a", b"bc", b"0123456789abcdef"))
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + b"0\r\nT: 1\r\n\r\n"

    def handler(req, conn, server):
        k = int(req.target[1:])
        conn.sendall(raw[:k])
        time.sleep(0.003)
        conn.sendall(raw[k:])
        return True

    srv = RawServer(procs, handler)
    urls = [f"{srv.url}/{k}" for k in range(len(raw) + 1)]
    res = get("get", *urls, env=io_env)
    assert res.status == 0, res.text
    assert res.out == b"abc0123456789abcdef" * len(urls)
    assert srv.n_conns == 1


@pytest.mark.parametrize("path, message", [
    ("/short", "the connection closed after 5 of 10 bytes of the body"),
    ("/cut-chunked", "the connection closed inside the chunked body, after 5 bytes"),
    ("/cut-head", "the connection closed inside the response head"),
    ("/empty", "connection closed without a response"),
])
def test_short_bodies_are_exit_6_and_leave_no_file(procs, tmp_path, path, message):
    raw = {
        "/short": response(200, b"0123456789")[:-5],
        "/cut-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "/cut-head": b"HTTP/1.1 200 OK\r\nContent-Le",
        "/empty": b"",
    }[path]
    srv = RawServer(procs, answer(raw, keep=False))
    out = tmp_path / "out.bin"
    out.write_bytes(b"the good old file")
    res = get("get", "-o", str(out), srv.url + path)
    assert res.status == 6
    assert res.text == f"sockit: http get: '{srv.url}{path}': {message}\n"
    # The good file stays, and nothing half-written is left beside it.
    assert out.read_bytes() == b"the good old file"
    assert no_temp_files(tmp_path) == []


def test_reset_mid_body_is_exit_4_and_leaves_no_file(procs, tmp_path):
    def handler(req, conn, server):
        conn.sendall(response(200, b"x" * 100000)[:50000])
        time.sleep(0.1)
        reset(conn)
        return False

    srv = RawServer(procs, handler)
    out = tmp_path / "out.bin"
    res = get("get", "-o", str(out), f"{srv.url}/f")
    assert res.status == 4, res.text
    assert "connection reset by peer" in res.text.lower()
    assert not out.exists() and no_temp_files(tmp_path) == []


@pytest.mark.parametrize("raw, why", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
     "more than one Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
     "more than one Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
     "both Content-Length and Transfer-Encoding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "a transfer coding other than chunked"),
    (b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", "bare LF (lines must end in CRLF)"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunked framing"),
    (b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
     "101 Switching Protocols to a request that asked for no upgrade"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "malformed status line"),
])
def test_malformed_responses_are_exit_6(procs, raw, why):
    srv = RawServer(procs, answer(raw, keep=False))
    res = get("get", f"{srv.url}/")
    assert res.status == 6
    assert res.text == f"sockit: http get: '{srv.url}/': malformed HTTP response: {why}\n"


def test_no_body_after_head_1xx_204_304(procs):
    def handler(req, conn, server):
        if req.target == "/204":
            conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")
        elif req.target == "/304":
            conn.sendall(b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n")
        elif req.target == "/1xx":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                         b"Link: </s.css>\r\n\r\n" + response(200, b"after 1xx"))
        else:
            conn.sendall(response(200, b"next"))
        return True

    srv = RawServer(procs, handler)
    res = get("get", f"{srv.url}/204", f"{srv.url}/x", f"{srv.url}/304", f"{srv.url}/1xx")
    assert (res.status, res.out) == (0, b"nextafter 1xx"), res.text
    assert srv.n_conns == 1
    res = get("head", f"{srv.url}/x", f"{srv.url}/x")
    assert res.status == 0 and res.out.count(b"Content-Length: 4") == 2


def test_idempotent_request_retried_once_on_a_connection_closed_while_idle(procs):
    def handler(req, conn, server):
        # The second request on a connection finds it closed, as when a
        # server's keep-alive timer fires just as the client sends.
        if sum(r.conn_no == req.conn_no for r in server.requests) == 2:
            return False
        conn.sendall(response(200, req.target.encode()))
        return True

    srv = RawServer(procs, handler)
    res = get("get", "-v", f"{srv.url}/1", f"{srv.url}/2")
    assert (res.status, res.out) == (0, b"/1/2"), res.text
    assert "* the server had closed the kept-alive connection: sending again" in res.text
    assert srv.n_conns == 2
    # A POST is not sent twice.
    srv = RawServer(procs, handler)
    res = get("get", "-X", "POST", "-d", "x=1", f"{srv.url}/1", f"{srv.url}/2")
    assert res.status == 6
    assert res.text.endswith(f"'{srv.url}/2': connection closed without a response\n")


# ==========================================================================
# URLs: what is sent
# ==========================================================================

def test_what_the_request_line_and_host_carry(procs):
    srv = RawServer(procs, answer(response(200, b"ok")))
    url = srv.url.replace("http://", "http://us%40er:p%3Ass@") + "/a%2Fb%20c/./d/../e?q=%41&r=1#frag"
    res = get("get", url)
    assert res.status == 0, res.text
    req = srv.requests[0]
    assert req.line == "GET /a%2Fb%20c/e?q=%41&r=1 HTTP/1.1"
    assert req.header("Host") == f"127.0.0.1:{srv.port}"
    assert req.header("Authorization") == "Basic dXNAZXI6cDpzcw=="  # us@er:p:ss
    assert req.header("User-Agent").startswith("sockit/")
    assert req.header("Accept") == "*/*"


def test_ipv6_literal(procs):
    try:
        srv = RawServer(procs, answer(response(200, b"six")), host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    res = get("get", f"http://[::1]:{srv.port}/x")
    assert (res.status, res.out) == (0, b"six"), res.text
    assert srv.requests[0].header("Host") == f"[::1]:{srv.port}"


def test_fields_from_the_command_line(procs):
    srv = RawServer(procs, answer(response(200)))
    res = get("get", "-H", "X-One: 1", "-H", "X-One: 2", "-H", "Accept:", "-A", "agent/1",
              "-H", "user-agent: overrides", "-u", "a:b", "-X", "PATCH", f"{srv.url}/")
    assert res.status == 0, res.text
    req = srv.requests[0]
    assert req.method == "PATCH"
    assert [v for n, v in req.headers if n == "X-One"] == ["1", "2"]
    assert req.header("Accept") is None
    assert req.header("User-Agent") == "overrides"
    assert req.header("Authorization") == "Basic YTpi"


# ==========================================================================
# Bodies
# ==========================================================================

def test_data_json_and_files(procs, tmp_path):
    srv = RawServer(procs, answer(response(200)))
    f = tmp_path / "data.txt"
    f.write_bytes(b"from\na file")
    res = get("post", "-d", "a=1", "-d", f"@{f}", "-d", "@-", f"{srv.url}/form", input=b"stdin")
    assert res.status == 0, res.text
    req = srv.requests[-1]
    assert req.body == b"a=1&from\na file&stdin"
    assert req.header("Content-Type") == "application/x-www-form-urlencoded"
    assert req.header("Content-Length") == str(len(req.body))
    res = get("post", "--json", '{"k": 1}', f"{srv.url}/json")
    req = srv.requests[-1]
    assert req.body == b'{"k": 1}'
    assert (req.header("Content-Type"), req.header("Accept")) == ("application/json",) * 2
    res = get("post", f"{srv.url}/empty")
    assert srv.requests[-1].header("Content-Length") == "0"
    res = get("delete", f"{srv.url}/gone")
    assert srv.requests[-1].line == "DELETE /gone HTTP/1.1"
    assert srv.requests[-1].header("Content-Length") is None


def test_put_file_and_stdin_and_form_upload_to_sockit_serve(procs, site, tmp_path):
    srv = Server(procs, site, "--upload", "--allow-delete")
    src = tmp_path / "up.bin"
    data = os.urandom(300000)
    src.write_bytes(data)
    res = get("put", f"{srv.url}/put.bin", str(src))
    assert res.status == 0, res.text
    assert (site / "put.bin").read_bytes() == data
    res = get("put", f"{srv.url}/stdin.bin", "-", input=data[:1000])
    assert res.status == 0, res.text
    assert (site / "stdin.bin").read_bytes() == data[:1000]
    # The listing's upload form, as a browser would send it.
    res = get("post", "-F", f"file=@{src}", f"{srv.url}/sub/")
    assert res.status == 0, res.text
    assert (site / "sub" / "up.bin").read_bytes() == data
    res = get("delete", f"{srv.url}/put.bin")
    assert res.status == 0 and not (site / "put.bin").exists()


def test_a_307_cannot_replay_stdin(procs):
    srv = redirect_server(procs, {"/from": (307, "/to"), "/to": (200, None)})
    res = get("put", "-L", f"{srv.url}/from", "-", input=b"once")
    assert res.status == 6
    assert res.text == (f"sockit: http put: '{srv.url}/from': a 307 redirect asks for the body "
                        "again, but it came from stdin\n")


def test_family_and_a_closed_stdout(procs):
    srv = RawServer(procs, answer(response(200, b"x" * 1000000)))
    res = get("get", "-4", srv.url.replace("127.0.0.1", "localhost") + "/")
    assert res.status == 0 and len(res.out) == 1000000
    # A reader that stops early ends the pipeline: no message, status 0.
    p = subprocess.run(f"{SOCKIT} http get {srv.url}/ | head -c 10 >/dev/null; "
                       "echo ${PIPESTATUS[0]}", shell=True, executable="/bin/bash",
                       capture_output=True, env=clean_env(), timeout=30)
    assert p.stdout == b"0\n" and p.stderr == b""


def test_put_from_stdin_is_chunked(procs):
    srv = RawServer(procs, answer(response(201)))
    res = get("put", f"{srv.url}/x", "-", input=b"streamed bytes")
    assert res.status == 0, res.text
    req = srv.requests[0]
    assert req.header("Transfer-Encoding") == "chunked" and req.body == b"streamed bytes"


def test_form_fields_and_names(procs, tmp_path):
    srv = RawServer(procs, answer(response(200)))
    f = tmp_path / 'we"ird.txt'
    f.write_bytes(b"content")
    res = get("post", "-F", "name=value", "-F", f"up=@{f}", f"{srv.url}/")
    assert res.status == 0, res.text
    req = srv.requests[0]
    boundary = req.header("Content-Type").split("boundary=")[1]
    assert req.body.startswith(f"--{boundary}\r\n".encode())
    assert b'Content-Disposition: form-data; name="name"\r\n\r\nvalue\r\n' in req.body
    assert b'name="up"; filename="we%22ird.txt"\r\nContent-Type: application/octet-stream' \
           b'\r\n\r\ncontent\r\n' in req.body
    assert req.body.endswith(f"--{boundary}--\r\n".encode())


# ==========================================================================
# Output: -o, -O, -C -, -i, --fail
# ==========================================================================

def test_remote_name(procs, tmp_path):
    srv = RawServer(procs, answer(response(200, b"named")))
    res = subprocess.run([SOCKIT, "http", "get", "-O", f"{srv.url}/dir/file%20name.txt?x=1"],
                         cwd=tmp_path, capture_output=True, env=clean_env(), timeout=30)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "file name.txt").read_bytes() == b"named"
    for path, why in [("/dir/", "'/dir/' names no file (its path ends in '/')"),
                      ("/a%2Fb", "'a/b' holds a '/' once decoded"),
                      ("/..%2Fx", "'../x' holds a '/' once decoded"),
                      ("/.bashrc", "'.bashrc' starts with '.' (a hidden file, '.' or '..')")]:
        res = get("get", "-O", srv.url + path)
        assert res.status == 2
        assert res.text.startswith(f"sockit: http get: -O: {why}; use -o FILE\n")


def test_include_and_fail(procs, tmp_path):
    srv = RawServer(procs, lambda req, conn, s: conn.sendall(
        response(404 if "missing" in req.target else 200, b"page")) or True)
    res = get("get", "-i", f"{srv.url}/x")
    assert res.out.startswith(b"HTTP/1.1 200 OK\r\n") and res.out.endswith(b"\r\n\r\npage")
    out = tmp_path / "o"
    res = get("get", "-o", str(out), f"{srv.url}/missing")
    assert res.status == 6 and out.read_bytes() == b"page"  # written anyway, as curl
    out.unlink()
    res = get("get", "--fail", "-o", str(out), f"{srv.url}/missing")
    assert res.status == 6 and not out.exists() and no_temp_files(tmp_path) == []
    res = get("get", "-f", f"{srv.url}/missing")
    assert res.status == 6 and res.out == b""


def test_output_to_dev_null_and_a_missing_directory(procs, tmp_path):
    srv = RawServer(procs, answer(response(200, b"x")))
    res = get("get", "-o", "/dev/null", f"{srv.url}/")
    assert res.status == 0 and os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    sent = len(srv.requests)
    res = get("get", "-o", str(tmp_path / "no" / "such"), f"{srv.url}/")
    assert res.status == 7
    assert res.text == f"sockit: http get: -o '{tmp_path}/no/such': no such file or directory\n"
    res = get("get", "-o", str(tmp_path), f"{srv.url}/")
    assert res.status == 7 and res.text.endswith(": is a directory\n")
    assert len(srv.requests) == sent  # refused before anything was sent


def range_server(procs, data, mode="honour"):
    """Serves data, honouring Range (206), ignoring it (200), or cutting the
    first full response at its middle."""
    state = {"n": 0}

    def handler(req, conn, server):
        state["n"] += 1
        rng = req.header("Range")
        if mode == "cut" and state["n"] == 1:
            conn.sendall(response(200, data)[:-(len(data) // 2)])
            return False
        if rng and mode != "ignore":
            start = int(rng.split("=")[1].rstrip("-"))
            if start >= len(data):
                conn.sendall(response(416, b"", [("Content-Range", f"bytes */{len(data)}")]))
            else:
                conn.sendall(response(206, data[start:], [
                    ("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")]))
            return True
        conn.sendall(response(200, data))
        return True

    return RawServer(procs, handler)


def test_resume_after_a_cut(procs, tmp_path):
    data = os.urandom(1 << 20)
    srv = range_server(procs, data, mode="cut")
    out = tmp_path / "f.bin"
    res = get("get", "-C", "-", "-o", str(out), f"{srv.url}/f")
    assert res.status == 6
    kept = out.read_bytes()
    assert 0 < len(kept) < len(data) and data.startswith(kept)  # -C - keeps what arrived
    res = get("get", "-C", "-", "-o", str(out), f"{srv.url}/f")
    assert res.status == 0, res.text
    assert srv.requests[-1].header("Range") == f"bytes={len(kept)}-"
    assert out.read_bytes() == data
    # Complete already: 416, and that is success.
    res = get("get", "-C", "-", "-o", str(out), f"{srv.url}/f")
    assert res.status == 0
    assert res.text == f"sockit: http get: '{out}': already complete ({len(data)} bytes)\n"
    assert out.read_bytes() == data


def test_resume_when_the_server_ignores_the_range(procs, tmp_path):
    data = b"0123456789" * 1000
    srv = range_server(procs, data, mode="ignore")
    out = tmp_path / "f.bin"
    out.write_bytes(data[:300])
    res = get("get", "-C", "-", "-o", str(out), f"{srv.url}/f")
    assert res.status == 0, res.text
    assert "the server ignored the range: writing it again from the start" in res.text
    assert out.read_bytes() == data


def test_resume_with_a_416_that_does_not_fit(procs, tmp_path):
    srv = RawServer(procs, answer(response(416, b"", [("Content-Range", "bytes */50")])))
    out = tmp_path / "f.bin"
    out.write_bytes(b"x" * 100)
    res = get("get", "-C", "-", "-o", str(out), f"{srv.url}/f")
    assert res.status == 6
    assert "416 to a resume from byte 100" in res.text
    assert out.read_bytes() == b"x" * 100


def test_resume_never_writes_an_error_page(procs, tmp_path):
    srv = RawServer(procs, answer(response(404, b"not here")))
    out = tmp_path / "f.bin"
    res = get("get", "-C", "-", "-o", str(out), f"{srv.url}/f")
    assert res.status == 6 and not out.exists()
    out.write_bytes(b"part")
    res = get("get", "-C", "-", "-o", str(out), f"{srv.url}/f")
    assert res.status == 6 and out.read_bytes() == b"part"


def test_resume_from_sockit_serve_and_nginx(procs, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    data = os.urandom(5 << 20)
    (root / "f.bin").write_bytes(data)
    for url in (Server(procs, root).url, start_nginx(procs, root, tmp_path)):
        out = tmp_path / "f.out"
        out.write_bytes(data[:123457])
        res = get("get", "-C", "-", "-o", str(out), f"{url}/f.bin")
        assert res.status == 0, res.text
        assert out.read_bytes() == data
        res = get("get", "-C", "-", "-o", str(out), f"{url}/f.bin")
        assert res.status == 0 and "already complete" in res.text


# ==========================================================================
# Redirects
# ==========================================================================

def redirect_server(procs, routes):
    """routes: path -> (status, location or body)."""
    def handler(req, conn, server):
        status, target = routes.get(req.target.split("?")[0], (404, ""))
        if status in (301, 302, 303, 307, 308):
            conn.sendall(response(status, b"moved", [("Location", target)]))
        else:
            conn.sendall(response(status, (target or req.method + " " + req.body.decode()).encode()))
        return True
    return RawServer(procs, handler)


def test_redirect_chain(procs):
    srv = redirect_server(procs, {"/a": (302, "/b"), "/b": (301, "c"), "/c": (200, "end")})
    res = get("get", f"{srv.url}/a")
    assert (res.status, res.out) == (0, b"moved")  # not followed without -L
    res = get("get", "-L", "-w", "json", f"{srv.url}/a")
    assert res.status == 0, res.text
    body, report = res.out.split(b"end", 1)
    doc = json.loads(report)
    assert doc["url_effective"] == f"{srv.url}/c" and doc["status"] == 200
    assert [(h["url"], h["status"]) for h in doc["redirects"]] == [
        (f"{srv.url}/a", 302), (f"{srv.url}/b", 301)]
    res = get("get", "-L", "--max-redirs", "1", f"{srv.url}/a")
    assert res.status == 6
    assert res.text == f"sockit: http get: '{srv.url}/a': more than 1 redirect (--max-redirs)\n"


def test_redirect_loop(procs):
    srv = redirect_server(procs, {"/loop": (302, "/loop")})
    res = get("get", "-L", f"{srv.url}/loop")
    assert res.status == 6
    assert res.text == f"sockit: http get: '{srv.url}/loop': more than 10 redirects (--max-redirs)\n"
    assert len(srv.requests) == 11


@pytest.mark.parametrize("status, method, body", [
    (301, "GET", ""), (302, "GET", ""), (303, "GET", ""), (307, "POST", "x=1"), (308, "POST", "x=1")])
def test_redirect_method_and_body(procs, status, method, body):
    srv = redirect_server(procs, {"/from": (status, "/to"), "/to": (200, None)})
    res = get("post", "-L", "-d", "x=1", f"{srv.url}/from")
    assert (res.status, res.out) == (0, f"{method} {body}".encode()), res.text


def test_credentials_stay_with_their_origin(procs):
    other = RawServer(procs, answer(response(200, b"other")))
    srv = redirect_server(procs, {"/same": (302, "/there"), "/there": (200, "same"),
                                  "/away": (302, f"{other.url}/landed")})
    args = ["-L", "-u", "user:pw", "-H", "Authorization: Bearer t", "-H", "Cookie: c=1"]
    res = get("get", *args, f"{srv.url}/same")
    assert res.status == 0
    assert [r.header("Cookie") for r in srv.requests] == ["c=1", "c=1"]
    assert [r.header("Authorization") for r in srv.requests] == ["Bearer t", "Bearer t"]
    res = get("get", *args, f"{srv.url}/away")
    assert (res.status, res.out) == (0, b"other"), res.text
    landed = other.requests[0]
    assert landed.header("Authorization") is None and landed.header("Cookie") is None
    # The URL's own userinfo stays home too.
    res = get("get", "-L", srv.url.replace("//", "//u:p@") + "/away")
    assert res.status == 0 and other.requests[1].header("Authorization") is None
    assert srv.requests[-1].header("Authorization") == "Basic dTpw"


# ==========================================================================
# Proxies
# ==========================================================================

def proxy_server(procs):
    """A small forward proxy: absolute-form requests are fetched from the
    origin with urllib-free plain sockets and relayed."""
    def handler(req, conn, server):
        m = re.match(r"http://([^/:]+):(\d+)(/.*)", req.target)
        if not m:
            conn.sendall(response(400, b"not absolute-form"))
            return False
        up = socket.create_connection((m.group(1), int(m.group(2))), timeout=WAIT)
        headers = "".join(f"{n}: {v}\r\n" for n, v in req.headers
                          if n.lower() not in ("proxy-authorization", "connection"))
        up.sendall(f"{req.method} {m.group(3)} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n"
                   .encode() + req.body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += up.recv(65536)
        length = int(re.search(rb"Content-Length: (\d+)", data).group(1))
        while len(data.split(b"\r\n\r\n", 1)[1]) < length:
            data += up.recv(65536)
        up.close()
        conn.sendall(data.replace(b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK\r\nVia: test-proxy", 1))
        return True
    return RawServer(procs, handler)


def test_proxies(procs):
    origin = RawServer(procs, answer(response(200, b"origin")))
    proxy = proxy_server(procs)
    url = f"{origin.url}/p"
    res = get("get", "-i", url, env=clean_env(http_proxy=proxy.url))
    assert res.status == 0 and b"Via: test-proxy" in res.out, res.text
    assert proxy.requests[-1].line == f"GET {url} HTTP/1.1"
    # HTTP_PROXY is never read (httpoxy).
    res = get("get", "-i", url, env=clean_env(HTTP_PROXY=proxy.url))
    assert b"Via" not in res.out and len(proxy.requests) == 1
    # no_proxy and NO_PROXY, --noproxy, --proxy '' go direct; --proxy wins over the variable.
    for env, args in [({"no_proxy": "127.0.0.1"}, []), ({"NO_PROXY": "127.0.0.0/8"}, []),
                      ({}, ["--noproxy", "*"]), ({}, ["--proxy", ""])]:
        res = get("get", "-i", *args, url, env=clean_env(http_proxy=proxy.url, **env))
        assert res.status == 0 and b"Via" not in res.out, (env, args)
    assert len(proxy.requests) == 1
    res = get("get", "--proxy", proxy.url.replace("//", "//pu:pp@"), url,
              env=clean_env(http_proxy="http://127.0.0.1:1"))
    assert res.status == 0, res.text
    assert proxy.requests[-1].header("Proxy-Authorization") == "Basic cHU6cHA="
    assert origin.requests[-1].header("Proxy-Authorization") is None


# ==========================================================================
# Timeouts, compression, -w, -v, --trace, the progress bar
# ==========================================================================

def test_max_time(procs, tmp_path):
    srv = RawServer(procs, lambda req, conn, s: time.sleep(5) or False)
    out = tmp_path / "o"
    t0 = time.monotonic()
    res = get("get", "-m", "0.3", "-o", str(out), f"{srv.url}/slow")
    assert time.monotonic() - t0 < 3
    assert res.status == 5
    assert res.text == f"sockit: http get: '{srv.url}/slow': not done within 0.3 s (--max-time)\n"
    assert not out.exists() and no_temp_files(tmp_path) == []


def test_connect_timeout(procs):
    # A listener whose accept queue is full drops further SYNs: the
    # connect waits, as it would for a host that does not answer.
    ls = procs.track(socket.socket())
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = procs.track(socket.socket())
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
    time.sleep(0.2)
    res = get("get", "--connect-timeout", "0.3", f"http://127.0.0.1:{port}/")
    assert res.status == 5, res.text
    assert res.text == (f"sockit: http get: 'http://127.0.0.1:{port}/': connect 127.0.0.1:{port}: "
                        "no connection within 0.3 s (--connect-timeout)\n")


def test_compressed(procs):
    text = b"compressible " * 10000
    gz = gzip.compress(text)

    def handler(req, conn, server):
        if req.target == "/bad":
            conn.sendall(response(200, gz[:len(gz) // 2] + b"\x00" * 50,
                                  [("Content-Encoding", "gzip")]))
        elif req.header("Accept-Encoding") == "gzip":
            conn.sendall(response(200, gz, [("Content-Encoding", "gzip")]))
        else:
            conn.sendall(response(200, text))
        return True

    srv = RawServer(procs, handler)
    res = get("get", "--compressed", f"{srv.url}/t")
    assert (res.status, res.out) == (0, text)
    res = get("get", f"{srv.url}/t")
    assert res.out == text and srv.requests[-1].header("Accept-Encoding") is None
    res = get("get", "--compressed", f"{srv.url}/bad")
    assert res.status == 6
    assert res.text == f"sockit: http get: '{srv.url}/bad': compressed body does not decode\n"


def test_compressed_from_nginx(procs, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    text = b"nginx gzip, chunked " * 5000
    (root / "t.txt").write_bytes(text)
    url = start_nginx(procs, root, tmp_path, "gzip on; gzip_types text/plain; gzip_min_length 1;")
    res = get("get", "--compressed", "-i", f"{url}/t.txt")
    assert res.status == 0, res.text
    head, body = res.out.split(b"\r\n\r\n", 1)
    assert b"Content-Encoding: gzip" in head and b"Transfer-Encoding: chunked" in head
    assert body == text


def test_write_out_json(procs, site):
    srv = Server(procs, site)
    res = get("get", "-w", "json", "-o", "/dev/null", "-o", "/dev/null", f"{srv.url}/hello.txt",
              f"{srv.url}/none")
    assert res.status == 6
    docs = [json.loads(line) for line in res.out.decode().splitlines()]
    assert [d["status"] for d in docs] == [200, 404]
    d = docs[0]
    assert d["url"] == d["url_effective"] == f"{srv.url}/hello.txt"
    assert d["bytes"]["body"] == 13 and d["exit_status"] == 0 and d["error"] is None
    assert ["Content-Length", "13"] in d["headers"]
    t = d["time"]
    assert 0 < t["name_lookup"] <= t["connect"] <= t["first_byte"] <= t["total"]
    assert docs[1]["reused"] is True and docs[1]["exit_status"] == 6
    assert docs[1]["error"] == "404 Not Found"


def test_verbose_and_trace(procs, site):
    srv = Server(procs, site)
    res = get("get", "-v", "--trace", f"{srv.url}/hello.txt")
    assert res.status == 0
    assert f"* connected to 127.0.0.1:{srv.port}" in res.text
    assert "> GET /hello.txt HTTP/1.1\n" in res.text and "< HTTP/1.1 200 OK\n" in res.text
    assert f"connect(127.0.0.1:{srv.port})" in res.text
    res = get("get", "-s", f"{srv.url}/hello.txt")
    assert res.text == ""


def test_progress_bar(procs, tmp_path):
    data = os.urandom(4 << 20)

    def handler(req, conn, server):
        head = response(200, data)[:-len(data)]
        conn.sendall(head)
        for i in range(0, len(data), 1 << 20):
            conn.sendall(data[i:i + (1 << 20)])
            time.sleep(0.25)
        return True

    srv = RawServer(procs, handler)
    out = tmp_path / "o"
    # On a terminal: drawn.
    master, slave = pty.openpty()
    p = subprocess.Popen([SOCKIT, "http", "get", "-o", str(out), f"{srv.url}/big"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                         env=clean_env())
    os.close(slave)
    drawn = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
        elif p.poll() is not None:
            break
    p.wait(10)
    os.close(master)
    assert p.returncode == 0 and out.read_bytes() == data
    assert b"\r" in drawn and re.search(rb"\r +4\.0 MiB / 4\.0 MiB +100% ", drawn), drawn
    assert re.search(rb"\d+:\d\d:\d\d left", drawn)
    # Not on a pipe, unless --progress; never with -s.
    res = get("get", "-o", str(out), f"{srv.url}/big")
    assert res.text == ""
    res = get("get", "--progress", "-o", str(out), f"{srv.url}/big")
    assert "100%" in res.text and "\r" in res.text
    res = get("get", "--progress", "-s", "-o", str(out), f"{srv.url}/big")
    assert res.text == ""


def test_interrupt_leaves_no_file(procs, tmp_path):
    def handler(req, conn, server):
        conn.sendall(response(200, b"x" * 1000000)[:500000])
        time.sleep(5)
        return False

    srv = RawServer(procs, handler)
    out = tmp_path / "o"
    p = procs.sockit("http", "get", "-o", str(out), f"{srv.url}/x", env=clean_env())
    deadline = time.monotonic() + WAIT
    while not no_temp_files(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert no_temp_files(tmp_path)
    p.popen.send_signal(signal.SIGINT)
    p.wait()
    assert p.popen.returncode == 1
    assert "interrupted" in p.err
    assert not out.exists() and no_temp_files(tmp_path) == []


# ==========================================================================
# Exit statuses and usage
# ==========================================================================

def test_exit_statuses(procs, tmp_path):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    port = ls.getsockname()[1]
    ls.close()
    res = get("get", f"http://127.0.0.1:{port}/")
    assert res.status == 4
    assert res.text == (f"sockit: http get: 'http://127.0.0.1:{port}/': connect 127.0.0.1:{port}: "
                        "connection refused\n")
    res = get("get", "http://no-such-host.invalid/")
    assert res.status == 3
    assert res.text == "sockit: http get: 'no-such-host.invalid': name not known\n"
    res = get("get", f"https://127.0.0.1:{port}/")
    assert res.status == 4
    assert res.text == (f"sockit: http get: 'https://127.0.0.1:{port}/': connect 127.0.0.1:{port}: "
                        "connection refused\n")
    res = get("put", "http://127.0.0.1:1/", str(tmp_path / "missing"))
    assert res.status == 7
    assert res.text == f"sockit: http put: put '{tmp_path}/missing': no such file or directory\n"
    srv = RawServer(procs, answer(response(500, b"oops")))
    res = get("get", f"{srv.url}/")
    assert (res.status, res.out) == (6, b"oops")
    assert res.text == f"sockit: http get: '{srv.url}/': 500 Internal Server Error\n"


@pytest.mark.parametrize("args, message", [
    (["get"], "sockit: http get: expected a URL"),
    (["put", "http://h/"], "sockit: http put: expected URL and FILE ('-' for stdin)"),
    (["post", "http://a/", "http://b/"], "sockit: http post: expected one URL, got 2"),
    (["get", "-d", "x", "http://h/"], "sockit: http get: get sends no body: use 'sockit http post' (or -X)"),
    (["get", "-C", "-", "http://h/"], "sockit: http get: -C - resumes a file: give -o FILE or -O"),
    (["get", "-C", "100", "-o", "f", "http://h/"],
     "sockit: http get: -C '100': only '-' (from the file's size) is supported"),
    (["get", "-o", "a", "-o", "b", "http://h/"], "sockit: http get: 2 -o/-O for 1 URL"),
    (["get", "-H", "X: a\rb", "http://h/"],
     "sockit: http get: -H 'X: a\\x0db': a CR or LF in a field would split the request"),
    (["get", "-H", "Bad Name: x", "http://h/"], "sockit: http get: -H 'Bad Name: x': the name is not a token"),
    (["get", "-X", "GE T", "http://h/"],
     "sockit: http get: -X 'GE T': a method is a token, such as 'GET' or 'PATCH'"),
    (["get", "-w", "%{http_code}", "http://h/"], "sockit: http get: -w '%{http_code}': only 'json' is supported"),
    (["post", "-F", "x=1", "-d", "y", "http://h/"], "sockit: http post: -F does not mix with -d or --json"),
    (["get", "--max-time", "abc", "http://h/"], None),
    (["get", "--bogus", "http://h/"], "sockit: http get: unknown option '--bogus'"),
    (["get", "ftp://h/"], "sockit: http get: 'ftp://h/': unsupported URL scheme (http:// and https:// only)"),
    (["get", "http://h:99999/"], "sockit: http get: 'http://h:99999/': invalid port in URL (1-65535)"),
    (["get", "--proxy", "socks5://p:1", "http://h/"],
     "sockit: http get: proxy 'socks5://p:1': unsupported URL scheme (http:// and https:// only)"),
    (["get", "--tls-min", "1.1", "http://h/"], "sockit: http get: --tls-min '1.1': expected 1.2 or 1.3"),
])
def test_usage_errors(args, message):
    res = get(*args)
    assert res.status == 2, res.text
    if message:
        assert res.text.startswith(message + "\n"), res.text


@pytest.mark.parametrize("verb", ["get", "head", "put", "post", "delete"])
def test_help_lists_every_option(verb):
    """Each verb's --help is `sockit help http`: the server's table and the
    client's, read from the tables the parser reads (opts.c)."""
    res = get(verb, "--help")
    assert res.status == 0 and res.text == ""
    text = res.out.decode()
    assert text == run_sockit("help", "http").out
    for opt in ["--request", "--header", "--user", "--data", "--json", "--form", "--output",
                "--remote-name", "--continue-at", "--include", "--fail", "--location",
                "--max-redirs", "--connect-timeout", "--max-time", "--compressed", "--write-out",
                "--proxy", "--noproxy", "--progress", "--silent", "--verbose", "--trace",
                "--cafile", "--cacert", "--capath", "--insecure", "--pin", "--servername",
                "--cert", "--key", "--tls-min", "--handshake-timeout"]:
        assert opt in text, opt
    for line in text.splitlines():
        assert len(line) <= 100, line
