"""Integration tests for `sockit http serve`: the real server on 127.0.0.1
port 0, driven by curl, Python's http.client and raw sockets.

Covered: GET/HEAD/OPTIONS, HTTP/1.0 and 1.1, keep-alive, pipelining,
Connection: close; media types and validators, conditional requests,
ranges, resume; small, empty and 10 MiB files; HTML and JSON listings with
hostile names, sorting, index.html, the slash redirect, dotfiles; PUT, POST
multipart, DELETE, Expect: 100-continue, chunked bodies, --max-body;
attacks (path traversal in every encoding, writes escaping the root,
symlinks leading out, request smuggling shapes, oversized heads, slowloris,
clients that half-close early or never read); durability of interrupted and
concurrent uploads; graceful stop; the access log; usage errors.

Every test with a server runs twice, on the loop's io_uring path and on its
epoll fallback (SOCKIT_IO_URING=0): test ids carry io_uring or epoll.

Each served tree lives under pytest's tmp_path, with a secret file in the
root's parent that must never be read, written or deleted through the
server. Every process and socket is closed at teardown (netutil.Procs),
which also fails the test on any ASan/UBSan report in the server's stderr.
"""
import calendar
import email.utils
import hashlib
import html
import ipaddress
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

import netutil as nu
from conftest import SOCKIT
from httputil import (CLF, IMF_FIXDATE, Conn, Server, build, curl, parse_dumped_heads)
from netutil import WAIT

MIB = 1024 * 1024
SECRET = b"TOP-SECRET-7f3a9c outside the root\n"
SEE_HELP = "sockit: see 'sockit help http'"


# Every server test runs on both of the loop's I/O paths: io_uring, which
# the CLI picks where the kernel allows it, and the epoll fallback
# (SOCKIT_IO_URING=0) that other kernels, and valgrind runs, get.
IO_MODES = ["io_uring", "epoll"]

# The HTTP server with a send timeout the CLI does not expose (tests/tools).


@pytest.fixture
def tree(tmp_path):
    """tmp_path/secret.txt (outside) and tmp_path/root (served) holding a
    few files and a subdirectory."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello, world\n")
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_bytes(b"inner file\n")
    (root / ".secret").write_bytes(b"dotfile content\n")
    return root


def outside_names(root):
    """What the root's parent holds: no request may change it."""
    return sorted(os.listdir(root.parent))


def assert_secret_safe(root, resp=None):
    assert (root.parent / "secret.txt").read_bytes() == SECRET
    if resp is not None:
        assert b"TOP-SECRET" not in resp.body, resp


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


def parse_http_date(s):
    return calendar.timegm(email.utils.parsedate(s))


# ==========================================================================
# GET, HEAD, OPTIONS, versions, connections
# ==========================================================================

def test_get_small_file_has_every_header(procs, tree):
    srv = Server(procs, tree)
    st = os.stat(tree / "hello.txt")
    before = time.time()
    r = srv.get("/hello.txt")
    assert r.version == "HTTP/1.1" and r.status == 200 and r.reason == "OK"
    assert r.body == b"hello, world\n"
    assert r.get("Content-Length") == "13"
    assert r.get("Content-Type") == "text/plain; charset=utf-8"
    assert r.get("Accept-Ranges") == "bytes"
    assert IMF_FIXDATE.match(r.get("Date")), r.get("Date")
    assert abs(parse_http_date(r.get("Date")) - before) <= 2
    assert IMF_FIXDATE.match(r.get("Last-Modified"))
    assert r.get("Last-Modified") == http_date(int(st.st_mtime))
    assert re.fullmatch(r'"[^"]+"', r.get("ETag")), r.get("ETag")
    assert r.get("Connection") == "close"


def io_uring_fds(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[io_uring]"
        except FileNotFoundError:
            pass
    return n


def test_the_server_runs_on_the_io_path_asked_for(procs, tree, io_mode):
    """The fixture's SOCKIT_IO_URING reaches the server: an io_uring fd
    exactly when io_uring is asked for (where the kernel allows it)."""
    srv = Server(procs, tree)
    assert srv.get("/hello.txt").body == b"hello, world\n"
    rings = io_uring_fds(srv.proc.pid)
    if io_mode == "epoll":
        assert rings == 0
    elif rings == 0 and os.environ.get("SOCKIT_REQUIRE_IO_URING") != "1":
        pytest.skip("the kernel refuses io_uring: the server fell back to epoll")
    else:
        assert rings == 1


def test_head_has_the_get_headers_and_no_body(procs, tree):
    (tree / "big.bin").write_bytes(os.urandom(200_000))  # sendfile path
    srv = Server(procs, tree)
    c = srv.conn()
    for target in ("/hello.txt", "/big.bin", "/", "/sub/", "/missing", "/sub"):
        c.send(build("HEAD", target))
        head = c.response(head_only=True)
        c.send(build("GET", target))
        get = c.response()
        assert head.status == get.status, target
        strip = [(k, v) for k, v in head.headers if k.lower() != "date"]
        assert strip == [(k, v) for k, v in get.headers if k.lower() != "date"], target
        if get.get("Content-Length"):
            assert int(get.get("Content-Length")) == len(get.body)
    # Nothing after the HEAD responses: the next request parsed cleanly.
    c.send(build("GET", "/hello.txt", close=True))
    assert c.response().body == b"hello, world\n"
    assert c.closed()


@pytest.mark.parametrize("flags, allow", [
    ((), "GET, HEAD, OPTIONS"),
    (("--upload",), "GET, HEAD, OPTIONS, PUT, POST"),
    (("--upload", "--allow-delete"), "GET, HEAD, OPTIONS, PUT, POST, DELETE"),
])
def test_options_lists_the_allowed_methods(procs, tree, flags, allow):
    srv = Server(procs, tree, *flags)
    for target in ("/", "*", "/hello.txt"):
        r = srv.get(target, method="OPTIONS")
        assert r.status in (200, 204), r
        assert r.get("Allow") == allow
        assert r.body == b""


def test_http10_closes_unless_keep_alive_is_asked(procs, tree):
    srv = Server(procs, tree)
    c = srv.conn()
    c.send(b"GET /hello.txt HTTP/1.0\r\n\r\n")  # 1.0 needs no Host
    r = c.response()
    assert r.status == 200 and r.body == b"hello, world\n"
    assert r.version == "HTTP/1.1"  # RFC 9110 §6.2: our own version
    assert r.get("Connection", "").lower() == "close"
    assert c.closed()

    c = srv.conn()
    for _ in range(3):
        c.send(b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.response()
        assert r.status == 200 and r.body == b"hello, world\n"
        assert r.get("Connection", "").lower() == "keep-alive"
    c.send(b"GET /hello.txt HTTP/1.0\r\n\r\n")
    assert c.response().status == 200
    assert c.closed()


def test_http11_keep_alive_reuses_one_connection(procs, tree):
    srv = Server(procs, tree)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=WAIT)
    try:
        ports = set()
        for i in range(6):
            conn.request("GET", "/hello.txt" if i % 2 else "/sub/inner.txt")
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200
            assert body == (b"hello, world\n" if i % 2 else b"inner file\n")
            assert r.getheader("Connection") is None
            ports.add(conn.sock.getsockname()[1])
        assert len(ports) == 1, "http.client had to reconnect"
    finally:
        conn.close()
    # The access log saw six requests, all from that one port's address.
    deadline = time.monotonic() + WAIT
    while len(srv.access_lines()) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(srv.access_lines()) == 6


def test_pipelined_requests_are_answered_in_order(procs, tree):
    (tree / "big.bin").write_bytes(os.urandom(300_000))
    srv = Server(procs, tree)
    c = srv.conn()
    reqs = [("GET", "/hello.txt"), ("GET", "/big.bin"), ("HEAD", "/sub/inner.txt"),
            ("GET", "/missing"), ("GET", "/sub/inner.txt"), ("OPTIONS", "*"),
            ("GET", "/sub"), ("GET", "/hello.txt")]
    c.send(b"".join(build(m, t) for m, t in reqs))  # one send
    got = [c.response(head_only=m == "HEAD") for m, _ in reqs]
    assert [r.status for r in got] == [200, 200, 200, 404, 200, 204, 301, 200]
    assert got[0].body == b"hello, world\n"
    assert got[1].body == (tree / "big.bin").read_bytes()
    assert got[2].get("Content-Length") == "11"
    assert got[4].body == b"inner file\n"
    assert got[7].body == b"hello, world\n"
    c.send(build("GET", "/hello.txt", close=True))
    assert c.response().status == 200
    assert c.closed()


def pipeline(srv, raw_requests, n_expected, timeout=15):
    """Sends every request in one sendall while a thread reads; returns the
    responses (GET-style bodies) once n_expected have arrived."""
    c = srv.conn(timeout)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    got, errors = [], []

    def reader():
        try:
            for _ in range(n_expected):
                got.append(c.response(timeout=timeout))
        except AssertionError as e:
            errors.append(e)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        c.send(b"".join(raw_requests))
    except OSError as e:
        errors.append(e)
    t.join(timeout + 1)
    return got, errors


@pytest.mark.parametrize("what, raw, status", [
    ("range", build("GET", "/hello.txt", [("Range", "bytes=0-4")]), 206),
    ("404", b"GET /x HTTP/1.1\r\nHost:a\r\n\r\n", 404),
    ("listing", b"GET / HTTP/1.1\r\nHost:a\r\n\r\n", 200),
], ids=["range", "404", "listing"])
def test_a_long_pipeline_is_answered_in_full(procs, tree, what, raw, status):
    """A few dozen KiB of small pipelined requests, as one client may send:
    each is answered, in order, and the server stays up for everyone else."""
    srv = Server(procs, tree, "-q")
    n = 1400 if len(raw) < 30 else 700
    got, errors = pipeline(srv, [raw] * n, n)
    try:
        srv.proc.popen.wait(0.5)  # a crash takes a moment to show
    except subprocess.TimeoutExpired:
        pass
    alive = srv.proc.running()
    assert alive, f"the server died (status {srv.proc.popen.poll()}) after {len(got)} of {n} " \
                  f"pipelined {what} requests ({len(raw) * n} bytes)"
    assert not errors and len(got) == n, (len(got), errors[:1])
    assert all(r.status == status for r in got)
    assert srv.get("/hello.txt").status == 200


HALF_CLOSE_MIXED = [
    (build("GET", "/hello.txt"), 200, False),
    (build("GET", "/big.bin"), 200, False),
    (build("HEAD", "/big.bin"), 200, True),
    (build("GET", "/missing"), 404, False),
    (build("GET", "/big.bin", [("Range", "bytes=5-9")]), 206, False),
    (build("GET", "/sub/"), 200, False),
    (build("GET", "/big.bin"), 200, False),
    (build("GET", "/hello.txt"), 200, False),
]
# More than the server's 32 KiB input buffer: it stops reading, so the EOF
# reaches it only after the bytes it held back.
HALF_CLOSE_LONG = [(build("GET", "/hello.txt"), 200, False)] * 1500


@pytest.mark.parametrize("requests", [HALF_CLOSE_MIXED, HALF_CLOSE_LONG], ids=["mixed", "long"])
def test_half_close_after_pipelined_requests_gets_every_response(procs, tree, requests):
    """A client that sends its requests and at once shutdown(SHUT_WR)s (as
    `nc -N` and batch clients do) gets every response, in order, whole,
    and then the server's close."""
    big = os.urandom(3 * MIB)
    (tree / "big.bin").write_bytes(big)
    srv = Server(procs, tree, "-q")
    c = srv.conn(timeout=15)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    got, errors = [], []

    def reader():
        try:
            for _, _, head_only in requests:
                got.append(c.response(head_only=head_only, timeout=15))
            got.append(c.closed(timeout=WAIT))
        except AssertionError as e:
            errors.append(e)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    c.send(b"".join(raw for raw, _, _ in requests))
    c.sock.shutdown(socket.SHUT_WR)
    t.join(20)
    assert not errors, errors[0]
    assert len(got) == len(requests) + 1, f"{len(got)} of {len(requests)} responses"
    assert got.pop() is True, "the server did not close after the last response"
    assert [r.status for r in got] == [status for _, status, _ in requests]
    if requests is HALF_CLOSE_MIXED:
        assert got[1].body == big and got[6].body == big
        assert got[2].get("Content-Length") == str(len(big)) and got[2].body == b""
        assert got[4].body == big[5:10]
    assert all(r.body == b"hello, world\n" for r in got if r.get("Content-Length") == "13")
    assert srv.get("/hello.txt").status == 200


def test_connection_close_is_honoured(procs, tree):
    srv = Server(procs, tree)
    c = srv.conn()
    c.send(build("GET", "/hello.txt", close=True) + build("GET", "/sub/inner.txt"))
    r = c.response()
    assert r.status == 200 and r.get("Connection") == "close"
    assert c.closed(), "the request after Connection: close was answered"


# ==========================================================================
# Media types, validators, conditional requests, ranges
# ==========================================================================

MEDIA_TYPES = {
    "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8", "mjs": "text/javascript; charset=utf-8",
    "json": "application/json", "svg": "image/svg+xml", "png": "image/png",
    "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "avif": "image/avif",
    "ico": "image/vnd.microsoft.icon", "wasm": "application/wasm", "pdf": "application/pdf",
    "txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8",
    "xml": "application/xml", "zip": "application/zip", "gz": "application/gzip",
    "mp4": "video/mp4", "woff2": "font/woff2",
}


def test_content_types(procs, tree):
    for ext in MEDIA_TYPES:
        (tree / f"f.{ext}").write_bytes(b"x" * 7)
    (tree / "UPPER.PNG").write_bytes(b"x")
    (tree / "noext").write_bytes(b"x")
    (tree / "weird.qqq").write_bytes(b"x")
    srv = Server(procs, tree)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=WAIT)
    try:
        def ctype(name):
            conn.request("GET", "/" + name)
            r = conn.getresponse()
            r.read()
            assert r.status == 200
            return r.getheader("Content-Type")
        for ext, want in MEDIA_TYPES.items():
            got = ctype(f"f.{ext}")
            assert got == want, ext
            # charset only on text: never on images, fonts, archives, media.
            is_text = want.startswith("text/")
            assert ("charset" in got) == is_text, ext
        assert ctype("UPPER.PNG") == "image/png"
        assert ctype("noext") == "application/octet-stream"
        assert ctype("weird.qqq") == "application/octet-stream"
    finally:
        conn.close()


def test_if_none_match(procs, tree):
    srv = Server(procs, tree)
    etag = srv.get("/hello.txt").get("ETag")
    for inm in (etag, "*", f'"nope", {etag}', "W/" + etag):
        r = srv.get("/hello.txt", [("If-None-Match", inm)])
        assert r.status == 304, inm
        assert r.body == b"" and r.get("Content-Length") in (None, "13")  # RFC 9110 §8.6
        assert r.get("ETag") == etag
    r = srv.get("/hello.txt", [("If-None-Match", '"other"')])
    assert r.status == 200 and r.body == b"hello, world\n"
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
    r = srv.get("/hello.txt", [("If-None-Match", '"other"'),
                               ("If-Modified-Since", http_date(time.time() + 3600))])
    assert r.status == 200


def test_if_modified_since(procs, tree):
    os.utime(tree / "hello.txt", (1_600_000_000, 1_600_000_000))
    srv = Server(procs, tree)
    lm = srv.get("/hello.txt").get("Last-Modified")
    assert lm == http_date(1_600_000_000)
    for ims in (lm, http_date(1_600_000_001), http_date(1_700_000_000),
                "Sunday, 13-Sep-20 12:26:40 GMT", "Sun Sep 13 12:26:40 2020"):
        r = srv.get("/hello.txt", [("If-Modified-Since", ims)])
        assert r.status == 304, ims
        assert r.body == b""
        assert r.get("Last-Modified") == lm
    for ims in (http_date(1_599_999_999), http_date(1_000_000_000), "not a date"):
        r = srv.get("/hello.txt", [("If-Modified-Since", ims)])
        assert r.status == 200 and r.body == b"hello, world\n", ims


def test_changes_on_disk_are_seen_within_a_second(procs, tree):
    """The server caches small files and checks them against the disk once
    a second (http_cache.c): a change made behind its back may be served
    stale for that long, never longer, and a file swapped for a symlink
    that leads out never serves what it points to."""
    (tree / "gone.txt").write_bytes(b"soon gone\n")
    srv = Server(procs, tree)
    etag = srv.get("/hello.txt").get("ETag")
    assert srv.get("/sub/inner.txt").body == b"inner file\n"
    assert srv.get("/gone.txt").status == 200
    (tree / "hello.txt").write_bytes(b"changed!\n")
    os.utime(tree / "hello.txt", (1_000_000_000, 1_000_000_000))
    os.unlink(tree / "sub" / "inner.txt")
    os.symlink("../../secret.txt", tree / "sub" / "inner.txt")
    os.unlink(tree / "gone.txt")
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # stale is allowed for a second; the secret never
        r = srv.get("/sub/inner.txt")
        assert b"TOP-SECRET" not in r.body and r.status in (200, 403, 404), r
        time.sleep(0.1)
    r = srv.get("/hello.txt", [("If-None-Match", etag)])
    assert r.status == 200 and r.body == b"changed!\n"
    assert r.get("ETag") != etag and r.get("Last-Modified") == http_date(1_000_000_000)
    assert srv.get("/sub/inner.txt").status == 403
    assert srv.get("/gone.txt").status == 404


def test_ranges(procs, tree):
    data = bytes(range(256)) * 4  # 1024 bytes
    (tree / "r.bin").write_bytes(data)
    big = os.urandom(3 * MIB)
    (tree / "big.bin").write_bytes(big)
    srv = Server(procs, tree)
    cases = [("bytes=0-9", 0, 9), ("bytes=100-199", 100, 199), ("bytes=1000-", 1000, 1023),
             ("bytes=-24", 1000, 1023), ("bytes=1020-5000", 1020, 1023), ("bytes=-5000", 0, 1023),
             ("bytes=1023-1023", 1023, 1023)]
    for rng, first, last in cases:
        r = srv.get("/r.bin", [("Range", rng)])
        assert r.status == 206, rng
        assert r.get("Content-Range") == f"bytes {first}-{last}/1024", rng
        assert r.get("Content-Length") == str(last - first + 1)
        assert r.body == data[first:last + 1], rng
        assert r.get("Accept-Ranges") == "bytes"
    # The sendfile path with an offset.
    r = srv.get("/big.bin", [("Range", "bytes=1000000-2999999")])
    assert r.status == 206 and r.body == big[1000000:3000000]
    # Unsatisfiable: 416 with the size.
    for rng in ("bytes=1024-", "bytes=5000-6000", "bytes=-0"):
        r = srv.get("/r.bin", [("Range", rng)])
        assert r.status == 416, rng
        assert r.get("Content-Range") == "bytes */1024"
    # Not understood or several ranges: the whole file (RFC 9110 §14.2).
    for rng in ("items=0-1", "bytes=5-2", "bytes=abc", "bytes=0-1,5-6"):
        r = srv.get("/r.bin", [("Range", rng)])
        assert r.status == 200 and r.body == data, rng


def test_if_range(procs, tree):
    data = b"0123456789" * 10
    (tree / "r.txt").write_bytes(data)
    srv = Server(procs, tree)
    full = srv.get("/r.txt")
    etag, lm = full.get("ETag"), full.get("Last-Modified")
    for validator in (etag, lm):
        r = srv.get("/r.txt", [("Range", "bytes=10-19"), ("If-Range", validator)])
        assert r.status == 206 and r.body == data[10:20], validator
    for validator in ('"stale"', "W/" + etag, http_date(parse_http_date(lm) - 60)):
        r = srv.get("/r.txt", [("Range", "bytes=10-19"), ("If-Range", validator)])
        assert r.status == 200 and r.body == data, validator


def test_curl_resumes_a_partial_download(procs, tree, tmp_path):
    data = os.urandom(5 * MIB + 123)
    (tree / "resume.bin").write_bytes(data)
    srv = Server(procs, tree)
    out = tmp_path / "partial.bin"
    out.write_bytes(data[:2 * MIB + 7])
    res = curl("-C", "-", "-o", str(out), "-D", str(tmp_path / "h"), srv.url + "/resume.bin")
    assert res.returncode == 0, res.stderr
    assert out.read_bytes() == data
    heads = parse_dumped_heads((tmp_path / "h").read_bytes())
    status, headers = heads[-1]
    assert status == 206
    assert dict((k.lower(), v) for k, v in headers)["content-range"] == \
        f"bytes {2 * MIB + 7}-{len(data) - 1}/{len(data)}"


# ==========================================================================
# Files of every size
# ==========================================================================

def test_large_small_and_empty_files_are_byte_exact(procs, tree, tmp_path):
    big = os.urandom(10 * MIB)
    (tree / "big.bin").write_bytes(big)
    (tree / "empty").write_bytes(b"")
    (tree / "edge.bin").write_bytes(os.urandom(16384))   # the largest inline file
    (tree / "edge1.bin").write_bytes(os.urandom(16385))  # the smallest sendfile one
    srv = Server(procs, tree)
    for name in ("big.bin", "edge.bin", "edge1.bin", "hello.txt"):
        out = tmp_path / ("dl-" + name)
        res = curl("-f", "-o", str(out), srv.url + "/" + name, timeout=60)
        assert res.returncode == 0, res.stderr
        assert hashlib.sha256(out.read_bytes()).digest() == \
            hashlib.sha256((tree / name).read_bytes()).digest(), name
    r = srv.get("/empty")
    assert r.status == 200 and r.get("Content-Length") == "0" and r.body == b""
    r = srv.get("/big.bin", method="HEAD")
    assert r.get("Content-Length") == str(10 * MIB) and r.body == b""


# ==========================================================================
# Listings
# ==========================================================================

HOSTILE = [b"<img src=x onerror=alert(1)>", b"a#b", b"q?x", b"100%", b"sp ace", b"\xff\xfe.bin",
           b"quote\"'&amp;", b"new\nline", b"tab\there", b"\xe6\x97\xa5\xe6\x9c\xac.txt",
           b"javascript:alert(1)", b"-dash", b"~tilde"]

ROW = re.compile(r'<tr class="entry" data-type="(file|dir)" data-name="([^"]*)">'
                 r'<td><a href="([^"]*)">([^<]*)</a>')


def shown(name):
    """How the HTML page shows a name: bad UTF-8 as U+FFFD, controls as
    their Control Pictures."""
    text = name.decode("utf-8", "replace")
    return "".join(chr(0x2400 + ord(ch)) if ord(ch) < 0x20 else
                   "\u2421" if ord(ch) == 0x7f else ch for ch in text)


def test_listing_round_trips_hostile_names(procs, tree):
    broot = os.fsencode(tree)
    for i, name in enumerate(HOSTILE):
        with open(os.path.join(broot, name), "wb") as f:
            f.write(b"content %d: " % i + name)
    os.mkdir(os.path.join(broot, b"dir <b>&#"))
    srv = Server(procs, tree)
    r = srv.get("/")
    assert r.status == 200
    assert r.get("Content-Type") == "text/html; charset=utf-8"
    page = r.body.decode("utf-8")  # strictly UTF-8
    assert "<img" not in page and "onerror=alert(1)>" not in page
    rows = ROW.findall(page)
    by_name = {}
    for kind, data_name, href, text in rows:
        assert re.fullmatch(r"[A-Za-z0-9._~%-]+/?", href), href  # only unreserved and %XX
        assert not href.startswith(("/", "javascript:")), href
        raw = urllib.parse.unquote_to_bytes(href.rstrip("/"))
        by_name[raw] = (kind, html.unescape(data_name), html.unescape(text))
    assert set(by_name) == set(HOSTILE) | {b"hello.txt", b"sub", b"dir <b>&#"}
    for i, name in enumerate(HOSTILE):
        kind, data_name, text = by_name[name]
        assert kind == "file" and data_name == shown(name) and text == shown(name), name
    assert by_name[b"dir <b>&#"][0] == "dir"
    # Every href, requested as the page's relative link, fetches that file.
    c = srv.conn()
    for kind, _, href, _ in rows:
        c.send(build("GET", "/" + href))
        got = c.response()
        raw = urllib.parse.unquote_to_bytes(href.rstrip("/"))
        assert got.status == 200, (href, got)
        if kind == "file":
            i = HOSTILE.index(raw) if raw in HOSTILE else None
            if i is not None:
                assert got.body == b"content %d: " % i + raw, href


def test_listing_json(procs, tree):
    broot = os.fsencode(tree)
    for name in HOSTILE:
        with open(os.path.join(broot, name), "wb") as f:
            f.write(name)
    os.utime(tree / "hello.txt", (1_700_000_000, 1_700_000_000))
    srv = Server(procs, tree)
    for headers, target in (((), "/?format=json"), ([("Accept", "application/json")], "/"),
                            ((), "/?sort=name&format=json")):
        r = srv.get(target, headers)
        assert r.status == 200, target
        assert r.get("Content-Type").startswith("application/json")
        doc = json.loads(r.body.decode("utf-8"))
        assert doc["path"] == "/"
        entries = doc["entries"]
        assert entries[0] == {"name": "sub", "type": "dir", "size": 0,
                              "mtime": entries[0]["mtime"], "href": "sub/"}
        by_href = {urllib.parse.unquote_to_bytes(e["href"]): e for e in entries}
        assert set(by_href) == set(HOSTILE) | {b"hello.txt", b"sub/"}
        for name in HOSTILE:
            e = by_href[name]
            assert e["type"] == "file" and e["size"] == len(name)
            assert e["name"] == name.decode("utf-8", "replace"), name
        assert by_href[b"hello.txt"]["mtime"] == "2023-11-14T22:13:20Z"
        assert by_href[b"hello.txt"]["size"] == 13
    r = srv.get("/sub/?format=json")
    doc = json.loads(r.body)
    assert doc["path"] == "/sub/"
    assert [e["name"] for e in doc["entries"]] == ["inner.txt"]


def test_listing_sorts_directories_first(procs, tree):
    root = tree / "sorting"
    root.mkdir()
    for name, size, mtime in (("a", 30, 1_500_000_300), ("b", 10, 1_500_000_100),
                              ("c", 20, 1_500_000_200)):
        (root / name).write_bytes(b"x" * size)
        os.utime(root / name, (mtime, mtime))
    for name, mtime in (("d1", 1_500_000_500), ("d2", 1_500_000_400)):
        (root / name).mkdir()
        os.utime(root / name, (mtime, mtime))
    srv = Server(procs, tree)
    want = {
        "": ["d1", "d2", "a", "b", "c"],
        "?sort=name&order=desc": ["d2", "d1", "c", "b", "a"],
        "?sort=size": ["d1", "d2", "b", "c", "a"],
        "?sort=size&order=desc": ["d1", "d2", "a", "c", "b"],
        "?sort=date&order=asc": ["d2", "d1", "b", "c", "a"],
        "?order=desc&sort=date": ["d1", "d2", "a", "c", "b"],
    }
    for query, order in want.items():
        page = srv.get("/sorting/" + query).body.decode()
        assert [html.unescape(m[1]) for m in ROW.findall(page)] == order, query
        doc = json.loads(srv.get("/sorting/" + query + ("&" if query else "?") +
                                 "format=json").body)
        assert [e["name"] for e in doc["entries"]] == order, query


def test_index_html_is_served_instead_of_a_listing(procs, tree):
    (tree / "sub" / "index.html").write_bytes(b"<h1>index</h1>\n")
    srv = Server(procs, tree)
    r = srv.get("/sub/")
    assert r.status == 200 and r.body == b"<h1>index</h1>\n"
    assert r.get("Content-Type") == "text/html; charset=utf-8"
    assert srv.get("/").body.count(b'class="entry"') == 2  # the root has none


def resolve_and_fetch(srv, target):
    """GET target; if it is a redirect, checks Location is relative (no
    scheme, no network path) and follows it on the same server. Returns the
    final response and the path it came from."""
    r = srv.get(target, [("Accept", "application/json")])
    if r.status != 301:
        return r, target
    loc = r.get("Location")
    assert loc is not None
    assert not loc.startswith("//") and not loc.startswith("/\\"), loc
    assert urllib.parse.urlsplit(loc).scheme == "" and "://" not in loc, loc
    assert "\r" not in loc and "\n" not in loc
    base = srv.url + target
    url = urllib.parse.urljoin(base, loc)
    parts = urllib.parse.urlsplit(url)
    assert parts.netloc == f"127.0.0.1:{srv.port}", (target, loc, url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    return srv.get(path, [("Accept", "application/json")]), path


def test_directory_without_slash_redirects_relatively(procs, tree):
    (tree / "evil.example").mkdir()
    (tree / "javascript:alert(1)").mkdir()
    srv = Server(procs, tree)
    r = srv.get("/sub")
    assert r.status == 301 and r.get("Location") == "sub/"
    assert srv.get("/sub?sort=size").get("Location") == "sub/?sort=size"
    assert srv.get("/javascript:alert(1)").get("Location") == "javascript%3Aalert%281%29/"
    for target, path in (("/sub", "/sub/"), ("//sub", "/sub/"),
                         ("/evil.example", "/evil.example/"), ("//evil.example", "/evil.example/"),
                         ("///evil.example", "/evil.example/"),
                         ("/javascript:alert(1)", "/javascript:alert(1)/"),
                         ("/hello.txt/../sub", "/sub/")):
        final, _ = resolve_and_fetch(srv, target)
        assert final.status == 200, (target, final)
        assert json.loads(final.body)["path"] == path, target


def test_redirect_from_a_dot_segment_path_lands_on_the_directory(procs, tree):
    """`/sub/.` names the directory /sub/ (RFC 3986 §5.2.4 removes the dot
    segment); whatever the server answers must lead there, not to /sub/sub/."""
    srv = Server(procs, tree)
    for target in ("/sub/.", "/sub/inner.txt/..", "/x/../sub/."):
        final, path = resolve_and_fetch(srv, target)
        assert final.status == 200, (target, path, final)
        assert json.loads(final.body)["path"] == "/sub/", (target, path)


def test_dotfiles_are_hidden_unless_asked(procs, tree):
    (tree / ".git").mkdir()
    (tree / ".git" / "config").write_bytes(b"[core]\n")
    (tree / "sub" / ".env").write_bytes(b"PASSWORD=1\n")
    srv = Server(procs, tree)
    for target in ("/.secret", "/.git/config", "/.git/", "/.git", "/sub/.env", "/%2esecret",
                   "/sub/%2Eenv", "/sub/../.secret"):
        r = srv.get(target)
        assert r.status == 404, (target, r)
        assert b"dotfile" not in r.body and b"PASSWORD" not in r.body
    for target in ("/", "/sub/", "/?format=json", "/sub/?format=json"):
        body = srv.get(target).body
        assert b".secret" not in body and b".git" not in body and b".env" not in body, target

    srv2 = Server(procs, tree, "--hidden")
    assert srv2.get("/.secret").body == b"dotfile content\n"
    assert srv2.get("/.git/config").body == b"[core]\n"
    names = [e["name"] for e in json.loads(srv2.get("/?format=json").body)["entries"]]
    assert ".secret" in names and ".git" in names
    assert "." not in names and ".." not in names
    assert b'data-name=".env"' in srv2.get("/sub/").body


# ==========================================================================
# Writes
# ==========================================================================

def test_writes_need_upload(procs, tree):
    srv = Server(procs, tree)
    for method in ("PUT", "POST", "DELETE"):
        r = srv.get("/hello.txt", method=method, body=b"new" if method != "DELETE" else b"")
        assert r.status == 405, (method, r)
        assert r.get("Allow") == "GET, HEAD, OPTIONS"
    assert (tree / "hello.txt").read_bytes() == b"hello, world\n"
    assert srv.get("/newfile", method="PUT", body=b"x").status == 405
    assert not (tree / "newfile").exists()
    # DELETE needs its own flag.
    srv2 = Server(procs, tree, "--upload")
    r = srv2.get("/hello.txt", method="DELETE")
    assert r.status == 405 and r.get("Allow") == "GET, HEAD, OPTIONS, PUT, POST"
    assert (tree / "hello.txt").exists()


def test_large_files_kept_open_by_the_cache_are_checked_within_a_second(procs, tree):
    """Files above the inline size stay open in the cache (sent by sendfile
    from a copy of the descriptor): a file replaced behind the server's back
    (a new inode), rewritten in place, or swapped for a symlink that leads
    out is seen within a second; a PUT through the server at once."""
    one, two = os.urandom(100_000), os.urandom(150_000)
    (tree / "a.bin").write_bytes(one)
    (tree / "b.bin").write_bytes(one)
    (tree / "c.bin").write_bytes(one)
    srv = Server(procs, tree, "--upload")
    for name in ("a", "b", "c"):
        assert srv.get(f"/{name}.bin").body == one  # cached now
    (tree / "a.tmp").write_bytes(two)
    os.rename(tree / "a.tmp", tree / "a.bin")
    with open(tree / "b.bin", "r+b") as f:  # same inode, new size and mtime
        f.truncate(0)
        f.write(two)
    os.unlink(tree / "c.bin")
    os.symlink("../secret.txt", tree / "c.bin")
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        r = srv.get("/c.bin")
        assert b"TOP-SECRET" not in r.body and r.status in (200, 403), r
        for name in ("a", "b"):  # old or new, whole, never a mix or a short body
            r = srv.get(f"/{name}.bin")
            assert r.status == 200 and r.body in (one, two), (name, len(r.body))
        time.sleep(0.1)
    assert srv.get("/a.bin").body == two
    assert srv.get("/b.bin").body == two
    assert srv.get("/c.bin").status == 403
    assert srv.get("/a.bin", method="PUT", body=one).status == 204
    assert srv.get("/a.bin").body == one


def fds_open_on(pid, path):
    """How many of pid's descriptors are open on path (or on it deleted)."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        n += link in (str(path), f"{path} (deleted)")
    return n


def test_readers_of_a_cached_large_file_share_one_descriptor(procs, tree):
    """Twenty readers of the same cached 4 MiB file stalled mid-body cost
    the server one descriptor for it, not one each. Replaced meanwhile, the
    file is sent new to new readers while the stalled ones still get the
    old bytes whole, and its last descriptor closes with the last of them."""
    old, new = os.urandom(4 << 20), os.urandom(3 << 20)
    path = tree / "big.bin"
    path.write_bytes(old)
    srv = Server(procs, tree)
    assert srv.get("/big.bin").body == old  # cached now
    readers = [srv.conn() for _ in range(20)]
    for c in readers:
        c.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)  # each has sent what its socket holds, and waits
    assert fds_open_on(srv.proc.pid, path) == 1
    (tree / "big.tmp").write_bytes(new)
    os.rename(tree / "big.tmp", path)
    time.sleep(1.1)  # past the cache's recheck
    assert srv.get("/big.bin").body == new
    for c in readers:
        r = c.response()
        assert r.status == 200 and r.body == old
        c.sock.close()
    deadline = time.monotonic() + WAIT
    while fds_open_on(srv.proc.pid, path) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fds_open_on(srv.proc.pid, path) == 1  # the new file's, in the cache


def test_a_loopback_reader_of_a_large_file_gets_a_send_buffer_sized_for_loopback(procs, tree):
    """A peer on this host: the socket's send buffer is fixed at 256 KiB
    (SK_CONN_LOCAL_SNDBUF, doubled by the kernel) instead of growing to
    tcp_wmem's 4 MiB, as seen by ss while the reader waits; the file still
    arrives whole and keep-alive goes on."""
    body = os.urandom(4 << 20)
    (tree / "four.bin").write_bytes(body)
    srv = Server(procs, tree)
    c = srv.conn()
    try:
        c.send(b"GET /four.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        seen, deadline = "", time.monotonic() + WAIT
        while time.monotonic() < deadline:  # the server fills its buffer, we do not read
            seen = subprocess.run(["ss", "-tmnH", "state", "established",
                                   f"sport = :{srv.port}"], capture_output=True,
                                  text=True).stdout
            if "tb262144" in seen:
                break
            time.sleep(0.05)
        assert "tb262144" in seen, seen
        r = c.response()
        assert r.status == 200 and r.body == body
        c.send(b"GET /four.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.response().body == body
    finally:
        c.sock.close()


def test_put_creates_and_replaces(procs, tree):
    srv = Server(procs, tree, "--upload")
    r = srv.get("/sub/new.txt", method="PUT", body=b"first")
    assert r.status == 201
    assert r.get("Location") == "/sub/new.txt"
    assert (tree / "sub" / "new.txt").read_bytes() == b"first"
    assert srv.get("/sub/new.txt").body == b"first"  # cached now
    r = srv.get("/sub/new.txt", method="PUT", body=b"second, longer")
    assert r.status == 204 and r.body == b""
    assert (tree / "sub" / "new.txt").read_bytes() == b"second, longer"
    assert srv.get("/sub/new.txt").body == b"second, longer"
    # An empty body makes an empty file.
    assert srv.get("/empty.txt", method="PUT", headers=[("Content-Length", "0")]).status == 201
    assert (tree / "empty.txt").read_bytes() == b""
    # No such directory; a directory as the target.
    assert srv.get("/nodir/x", method="PUT", body=b"x").status in (404, 409)
    assert srv.get("/sub", method="PUT", body=b"x").status in (405, 409)
    assert srv.get("/sub/", method="PUT", body=b"x").status in (405, 409)
    assert (tree / "sub").is_dir()
    # curl -T, keep-alive afterwards.
    res = curl("-f", "-T", "-", srv.url + "/curl.bin", input=b"from curl")
    assert res.returncode == 0, res.stderr
    assert (tree / "curl.bin").read_bytes() == b"from curl"


def test_delete(procs, tree):
    srv = Server(procs, tree, "--upload", "--allow-delete")
    assert srv.get("/hello.txt").status == 200  # cached now: the delete must clear it
    r = srv.get("/hello.txt", method="DELETE")
    assert r.status == 204
    assert not (tree / "hello.txt").exists()
    assert srv.get("/hello.txt").status == 404
    assert srv.get("/hello.txt", method="DELETE").status == 404
    assert srv.get("/", method="DELETE").status in (403, 405)
    assert srv.get("/.secret", method="DELETE").status in (403, 404)
    assert (tree / ".secret").exists()
    assert srv.get("/sub", method="DELETE").status == 409  # not empty
    assert (tree / "sub" / "inner.txt").exists()


def test_multipart_post_from_curl(procs, tree, tmp_path):
    srv = Server(procs, tree, "--upload")
    a = tmp_path / "a.txt"
    b = tmp_path / "b.bin"
    a.write_bytes(b"alpha\r\n--not-a-boundary\r\n")
    b.write_bytes(os.urandom(300_000))
    res = curl("-D", "-", "-o", "/dev/null", "-F", f"file=@{a}", srv.url + "/sub/")
    assert res.returncode == 0, res.stderr
    status, headers = parse_dumped_heads(res.stdout)[-1]
    assert status == 303
    assert dict((k.lower(), v) for k, v in headers)["location"] == "./"
    assert (tree / "sub" / "a.txt").read_bytes() == a.read_bytes()
    assert srv.get("/sub/a.txt").body == a.read_bytes()  # cached now
    a.write_bytes(b"replaced by a second post")
    res = curl("-f", "-o", "/dev/null", "-F", f"file=@{a}", srv.url + "/sub/")
    assert res.returncode == 0, res.stderr
    assert srv.get("/sub/a.txt").body == b"replaced by a second post"
    res = curl("-f", "-o", "/dev/null", "-F", f"file=@{a};filename=one.txt",
               "-F", f"file=@{b}", "-F", "note=plain field", srv.url + "/")
    assert res.returncode == 0, res.stderr
    assert (tree / "one.txt").read_bytes() == a.read_bytes()
    assert (tree / "b.bin").read_bytes() == b.read_bytes()
    assert not (tree / "note").exists()


def test_post_redirect_leads_back_to_the_listing_posted_to(procs, tree):
    """The 303 sends a browser back to the listing it uploaded to (Post/
    Redirect/Get, http_upload.c): for a POST to /sub that is /sub/, not /."""
    srv = Server(procs, tree, "--upload")
    for target in ("/sub/", "/sub", "/sub/?sort=size"):
        headers, body = raw_multipart('filename="posted.txt"')
        r = srv.get(target, method="POST", headers=headers, body=body)
        assert r.status == 303, (target, r)
        assert (tree / "sub" / "posted.txt").read_bytes() == b"evil data"
        landed = urllib.parse.urlsplit(urllib.parse.urljoin(srv.url + target, r.get("Location")))
        assert landed.path == "/sub/", (target, r.get("Location"), landed.path)


def test_expect_continue_and_max_body(procs, tree, tmp_path):
    payload = os.urandom(2 * MIB)
    src = tmp_path / "payload.bin"
    src.write_bytes(payload)
    srv = Server(procs, tree, "--upload")
    res = curl("-v", "-f", "-T", str(src), srv.url + "/two.bin", timeout=30)
    assert res.returncode == 0, res.stderr
    assert b"Expect: 100-continue" in res.stderr
    assert b"HTTP/1.1 100 Continue" in res.stderr
    assert (tree / "two.bin").read_bytes() == payload

    small = Server(procs, tree, "--upload", "--max-body", "1M")
    t0 = time.monotonic()
    res = curl("-o", "/dev/null", "-w", "%{http_code}", "-T", str(src), small.url + "/big.bin",
               timeout=30)
    took = time.monotonic() - t0
    assert res.stdout == b"413", (res.stdout, res.stderr)
    assert took < 0.9, f"413 took {took:.2f} s: curl waited out its 1 s Expect timeout"
    assert not (tree / "big.bin").exists()
    # Raw: the head alone gets the 413, no 100 Continue first, no body read.
    c = small.conn()
    c.send(build("PUT", "/big.bin", [("Content-Length", str(2 * MIB)),
                                     ("Expect", "100-continue")]))
    r = c.response(skip_continue=False, timeout=2)
    assert r.status == 413
    assert c.closed()
    # Without Expect too: 413 at once.
    c = small.conn()
    c.send(build("PUT", "/big.bin", [("Content-Length", str(MIB + 1))]))
    assert c.response(timeout=2).status == 413
    # Exactly the limit is fine.
    body = os.urandom(MIB)
    assert small.get("/limit.bin", method="PUT", body=body).status == 201
    assert (tree / "limit.bin").read_bytes() == body


def test_http10_expect_is_ignored(procs, tree):
    """RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request
    MUST be ignored; §15.2: no 1xx response may go to an HTTP/1.0 client."""
    srv = Server(procs, tree, "--upload")
    c = srv.conn()
    c.send(b"PUT /old.txt HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    c.sock.settimeout(0.5)
    try:
        early = c.sock.recv(100)
    except socket.timeout:
        early = b""
    c.send(b"hello")
    c.buf += early
    r = c.response(skip_continue=False)
    assert early == b"" and r.status == 201, (early, r)
    assert (tree / "old.txt").read_bytes() == b"hello"


def test_chunked_put(procs, tree):
    srv = Server(procs, tree, "--upload", "--max-body", "1M")
    data = os.urandom(700_000)
    res = curl("-f", "-H", "Transfer-Encoding: chunked", "-T", "-", srv.url + "/chunked.bin",
               input=data)
    assert res.returncode == 0, res.stderr
    assert (tree / "chunked.bin").read_bytes() == data
    # Raw chunked with extensions, trailers, and a pipelined request after.
    c = srv.conn()
    body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n"
    c.send(build("PUT", "/raw.txt", [("Transfer-Encoding", "chunked")], body) +
           build("GET", "/raw.txt", close=True))
    assert c.response().status == 201
    r = c.response()
    assert r.status == 200 and r.body == b"hello world"
    # Chunked beyond --max-body: 413, nothing stored.
    res = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
               "-T", "-", srv.url + "/toobig.bin", input=os.urandom(2 * MIB))
    assert res.stdout == b"413", (res.stdout, res.stderr)
    assert not (tree / "toobig.bin").exists()


# ==========================================================================
# Attacks: traversal, writes escaping the root, symlinks
# ==========================================================================

TRAVERSALS = [
    "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2e%2fsecret.txt", "/%252e%252e/secret.txt",
    "/%252e%252e%252fsecret.txt", "/..%2fsecret.txt", "/..%5csecret.txt", "/%5c..%5csecret.txt",
    "/..%5c..%5csecret.txt", "../secret.txt", "..%2fsecret.txt", "secret.txt",
    "http://x/../../secret.txt", "http://x/%2e%2e/secret.txt", "HTTP://x/../secret.txt",
    "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/./../secret.txt",
    "//../secret.txt", "/%2e%2e%2f%2e%2e%2fsecret.txt", "/..;/secret.txt", "/.%2e/secret.txt",
    "/%c0%ae%c0%ae/secret.txt", "/%c0%af../secret.txt", "/%00/../secret.txt",
    "/..%00/secret.txt", "\\..\\secret.txt", "/..\\secret.txt", "/%2e%2e", "/..",
    "/hello.txt/../../secret.txt", "/sub/./../../secret.txt", "/root/../secret.txt",
    "/%2Fsecret.txt", "/%2f..%2fsecret.txt", "/%u002e%u002e/secret.txt",
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_traversal_never_leaves_the_root(procs, tree, method):
    srv = Server(procs, tree)
    c = srv.conn()
    for target in TRAVERSALS:
        c.send(build(method, target))
        r = c.response(head_only=method == "HEAD")
        assert r.status in (400, 403, 404), (target, r)
        assert b"TOP-SECRET" not in r.body, target
        if r.get("Connection") == "close":
            c = srv.conn()
    # curl --path-as-is sends the dots unresolved.
    for target in ("/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt"):
        res = curl("--path-as-is", "-o", "-", "-w", "\n%{http_code}", srv.url + target)
        body, _, code = res.stdout.rpartition(b"\n")
        assert code in (b"400", b"403", b"404") and b"TOP-SECRET" not in body, target


def raw_multipart(filename_param, data=b"evil data", boundary="XyZzY"):
    body = (f"--{boundary}\r\n"
            f"Content-Disposition: form-data; name=\"file\"; {filename_param}\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    return [("Content-Type", f"multipart/form-data; boundary={boundary}")], body


def all_files(top):
    found = set()
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            found.add(os.path.relpath(os.path.join(dirpath, n), top))
    return found


def test_writes_never_leave_the_root(procs, tree):
    srv = Server(procs, tree, "--upload", "--allow-delete")
    outside = outside_names(tree)
    inside = all_files(tree)
    for target in TRAVERSALS + ["/../evil", "/%2e%2e/evil", "/sub/%2e%2e/%2e%2e/evil",
                                "http://x/../evil", "/..%2fevil", "/.evil", "/sub/.evil"]:
        for method in ("PUT", "DELETE"):
            r = srv.get(target, method=method, body=b"EVIL" if method == "PUT" else b"")
            assert_secret_safe(tree, r)
            assert outside_names(tree) == outside, (method, target)
            # A target that decodes to a literal name inside the root (a
            # backslash is just a byte on Linux) may be written there; it
            # must then be a plain new file holding the body, not a dotfile.
            new = all_files(tree) - inside
            if r.status in (201, 204):
                assert method == "PUT" and len(new) == 1, (target, r, new)
                name = new.pop()
                assert not name.startswith(".") and "/." not in name, name
                assert (tree / name).read_bytes() == b"EVIL"
                os.unlink(tree / name)
            else:
                assert r.status in (400, 403, 404, 405, 409), (method, target, r)
                assert not new, (method, target, new)
            assert all_files(tree) == inside, (method, target)

    # Multipart file names: only a safe basename, inside the target.
    for param in ('filename="../../evil"', 'filename="..\\\\evil"', 'filename="..\\evil"',
                  'filename="/abs/evil"', 'filename="C:\\\\Windows\\\\evil"',
                  "filename*=UTF-8''..%2F..%2Fevil", 'filename="sub/../../evil"'):
        headers, body = raw_multipart(param)
        r = srv.get("/sub/", method="POST", headers=headers, body=body)
        assert r.status in (303, 400), (param, r)
        assert outside_names(tree) == outside, param
        new = all_files(tree) - inside
        assert new <= {os.path.join("sub", "evil")}, (param, new)
        if r.status == 303:
            assert (tree / "sub" / "evil").read_bytes() == b"evil data"
            os.unlink(tree / "sub" / "evil")
    for param in ('filename=".hidden"', 'filename="../.hidden"', 'filename=".."',
                  'filename="."', "filename*=UTF-8''evil%00.txt", 'filename="a/"'):
        headers, body = raw_multipart(param)
        r = srv.get("/sub/", method="POST", headers=headers, body=body)
        assert r.status == 400, (param, r)
        assert all_files(tree) == inside, param
    assert outside_names(tree) == outside
    assert_secret_safe(tree)


@pytest.mark.parametrize("param, reason", [
    ('filename=".hidden"', "names starting with '.' are hidden on this server (--hidden serves "
                           "them)"),
    ('filename="../.profile"', "names starting with '.' are hidden on this server (--hidden "
                               "serves them)"),
    ('filename=".."', "'.' and '..' are not file names"),
    ("filename*=UTF-8''evil%00.txt", "the file name has control characters"),
    ('filename="a/"', "the file name is empty"),
])
def test_a_refused_upload_name_says_why(procs, tree, param, reason):
    srv = Server(procs, tree, "--upload")
    inside = all_files(tree)
    headers, body = raw_multipart(param)
    r = srv.get("/", method="POST", headers=headers, body=body)
    assert r.status == 400, r
    assert f"<p>{reason}</p>".encode() in r.body, r.body
    assert all_files(tree) == inside


def test_a_dotfile_upload_is_taken_with_hidden(procs, tree):
    srv = Server(procs, tree, "--upload", "--hidden")
    headers, body = raw_multipart('filename=".hidden"')
    assert srv.get("/", method="POST", headers=headers, body=body).status == 303
    assert (tree / ".hidden").read_bytes() == b"evil data"


@pytest.mark.parametrize("body", [
    # What a browser posts when the file input was left empty.
    b'--B\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
    b'Content-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n',
    # A form of plain fields only.
    b'--B\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--B--\r\n',
], ids=["empty file input", "fields only"])
def test_a_form_with_no_file_is_400_no_file_chosen(procs, tree, body):
    srv = Server(procs, tree, "--upload")
    inside = all_files(tree)
    r = srv.get("/", method="POST", headers=[("Content-Type", "multipart/form-data; boundary=B")],
                body=body)
    assert r.status == 400, r
    assert b"<p>no file chosen</p>" in r.body
    assert all_files(tree) == inside


def test_symlinks_cannot_lead_out(procs, tree, tmp_path):
    (tmp_path / "outdir").mkdir()
    (tmp_path / "outdir" / "o.txt").write_bytes(SECRET)
    os.symlink("..", tree / "up")
    os.symlink("../secret.txt", tree / "leak")
    os.symlink(str(tmp_path / "secret.txt"), tree / "absleak")
    os.symlink("../outdir", tree / "outlink")
    os.symlink("/etc/passwd", tree / "passwd")
    os.symlink("sub/inner.txt", tree / "inlink")
    os.symlink("sub", tree / "insub")
    srv = Server(procs, tree, "--upload", "--allow-delete")
    for target in ("/up/secret.txt", "/up/", "/up", "/leak", "/absleak", "/outlink/",
                   "/outlink/o.txt", "/passwd", "/up/root/hello.txt", "/insub/../up/secret.txt",
                   "/up/?format=json"):
        for method in ("GET", "HEAD"):
            r = srv.get(target, method=method)
            assert r.status in (403, 404), (method, target, r)
            assert b"TOP-SECRET" not in r.body and b"root:" not in r.body
            assert b"secret.txt" not in r.body and b"o.txt" not in r.body
    assert srv.get("/inlink").body == b"inner file\n"
    assert srv.get("/insub/inner.txt").body == b"inner file\n"
    assert json.loads(srv.get("/insub/?format=json").body)["entries"][0]["name"] == "inner.txt"
    # Writes through them.
    outside = outside_names(tree)
    for target in ("/up/evil", "/outlink/evil", "/up/secret.txt", "/leak", "/absleak",
                   "/outlink/o.txt"):
        r = srv.get(target, method="PUT", body=b"EVIL")
        assert r.status in (403, 404, 409), (target, r)
    for target in ("/up/secret.txt", "/outlink/o.txt"):
        r = srv.get(target, method="DELETE")
        assert r.status in (403, 404), (target, r)
    headers, body = raw_multipart('filename="evil"')
    assert srv.get("/up/", method="POST", headers=headers, body=body).status in (403, 404)
    assert srv.get("/outlink/", method="POST", headers=headers, body=body).status in (403, 404)
    assert outside_names(tree) == outside
    assert_secret_safe(tree)
    assert (tmp_path / "outdir" / "o.txt").read_bytes() == SECRET
    assert os.listdir(tmp_path / "outdir") == ["o.txt"]
    assert os.path.islink(tree / "leak") and os.path.islink(tree / "absleak")


# ==========================================================================
# Attacks: malformed heads and smuggling shapes
# ==========================================================================

SMUGGLING = [
    ("CL and TE", b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("TE and CL", b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 4\r\n\r\n0\r\n\r\n"),
    ("two CL", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
     b"Content-Length: 5\r\n\r\n"),
    ("CL list", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 5\r\n\r\n"),
    ("CL plus sign", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"),
    ("CL negative", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
    ("CL hex", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"),
    ("chunked, identity", b"POST /hello.txt HTTP/1.1\r\nHost: a\r\n"
     b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
    ("chunked twice", b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("TE without chunked", b"POST /x HTTP/1.1\r\nHost: a\r\n"
     b"Transfer-Encoding: gzip\r\n\r\n"),
    ("obs-fold", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n"),
    ("obs-fold TE", b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n"
     b"\r\n0\r\n\r\n"),
    ("bare LF", b"GET /hello.txt HTTP/1.1\nHost: a\n\n"),
    ("bare LF in a header", b"GET /hello.txt HTTP/1.1\r\nHost: a\nX: y\r\n\r\n"),
    ("bare CR", b"GET /hello.txt HTTP/1.1\r\nHost: a\rX: y\r\n\r\n"),
    ("space before colon", b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked"
     b"\r\n\r\n0\r\n\r\n"),
    ("tab before colon", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length\t: 0\r\n\r\n"),
    ("space in name", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n"),
    ("NUL in a value", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"),
    ("no Host", b"GET /hello.txt HTTP/1.1\r\n\r\n"),
    ("two Host", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("two Host in 1.0", b"GET /hello.txt HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("space in target", b"GET /hello .txt HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("lowercase version", b"GET /hello.txt http/1.1\r\nHost: a\r\n\r\n"),
    ("no version", b"GET /hello.txt\r\nHost: a\r\n\r\n"),
    ("CL overflow", b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n"
     b"\r\n"),
    ("chunk size overflow", b"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"1000000000000000000000001\r\nx\r\n"),
    ("chunk size with space", b"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"1 0\r\nxxxxxxxxxxxxxxxx\r\n0\r\n\r\n"),
    ("chunk without CRLF", b"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"3\r\nabcX\r\n0\r\n\r\n"),
    ("bad chunk size", b"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\n"),
]


@pytest.mark.parametrize("raw", [r for _, r in SMUGGLING], ids=[n for n, _ in SMUGGLING])
def test_smuggling_shapes_get_400_and_a_close(procs, tree, raw):
    srv = Server(procs, tree, "--upload")
    c = srv.conn()
    # A second, valid request follows in the same send: it must never be
    # answered, whatever the server thought the first one's body was.
    c.send(raw + b"GET /sub/inner.txt HTTP/1.1\r\nHost: a\r\n\r\n")
    r = c.response()
    assert r.status == 400, r
    assert r.get("Connection") == "close"
    assert c.closed(), "the connection stayed open after a framing error"
    assert not (tree / "x").exists()
    assert (tree / "hello.txt").read_bytes() == b"hello, world\n"


@pytest.mark.parametrize("name, raw, status", [
    ("long request line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    ("long line, no end", b"GET /" + b"a" * 9000, 414),
    ("too many fields", b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431),
    ("too large field", b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 17000 + b"\r\n\r\n", 431),
    ("too large head", b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: " + b"y" * 1000 + b"\r\n" * 1
     + (b"Y: " + b"z" * 1000 + b"\r\n") * 16 + b"\r\n", 431),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("HTTP/3.0", b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
    ("unknown TE", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n", 501),
    ("unknown TE alone", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: bogus\r\n\r\n", 501),
    ("gzip then chunked", b"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n"
     b"\r\n0\r\n\r\n", 501),
    ("unknown method", b"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 501),
])
def test_limits_and_versions(procs, tree, name, raw, status):
    srv = Server(procs, tree, "--upload")
    c = srv.conn()
    c.send(raw)
    r = c.response()
    assert r.status == status, (name, r)
    if status == 501 and name == "unknown method":
        assert r.get("Allow") == "GET, HEAD, OPTIONS, PUT, POST"
        return
    assert r.get("Connection") == "close"
    assert c.closed()
    assert not (tree / "x").exists()


def test_limits_are_not_hit_by_ordinary_requests(procs, tree):
    srv = Server(procs, tree)
    name = "n" * 200
    (tree / name).write_bytes(b"long name")
    c = srv.conn()
    c.send(build("GET", "/" + name, [("X-Pad-%d" % i, "v" * 100) for i in range(90)]))
    assert c.response().body == b"long name"
    c.send(build("GET", "/" + "a/" * 1000 + "x"))  # a 2 KiB path: 404, not a limit
    assert c.response().status == 404


def test_a_path_too_long_to_serve_is_414(procs, tree):
    """Within the 8 KiB request line, a path longer than the server will
    resolve (HTTP_PATH_MAX) is "longer than the server is willing to
    interpret": 414 (RFC 9110 §15.5.15), as the server itself answers when
    the redirect for such a path would be too long (http_get.c)."""
    srv = Server(procs, tree)
    for target in ("/" + "a/" * 2000 + "x", "/" + "b" * 5000):
        r = srv.get(target)
        assert r.status == 414, (len(target), r)


def test_idle_and_header_timeouts_close_quietly(procs, tree):
    srv = Server(procs, tree, "--idle-timeout", "1", "--header-timeout", "1")
    kept = srv.conn()
    kept.send(build("GET", "/hello.txt"))
    assert kept.response().status == 200
    silent = srv.conn()  # never sends a byte
    t0 = time.monotonic()
    assert kept.closed(timeout=3) and silent.closed(timeout=3)
    assert 0.8 < time.monotonic() - t0 < 2.5
    # A connection in use is not cut: a request every 0.5 s for 2 s.
    busy = srv.conn()
    for _ in range(4):
        busy.send(build("GET", "/hello.txt"))
        assert busy.response().status == 200
        time.sleep(0.5)


def test_max_conns(procs, tree):
    srv = Server(procs, tree, "--max-conns", "2")
    a, b = srv.conn(), srv.conn()
    for c in (a, b):
        c.send(build("GET", "/hello.txt"))
        assert c.response().status == 200
    # A third is told why in one write, then closed: not a bare reset.
    third = srv.conn()
    r = third.response(timeout=2)
    assert r.status == 503 and r.get("Retry-After") == "1" and r.get("Connection") == "close"
    assert r.body == b"the server is at its connection limit (--max-conns)\n"
    assert third.closed(timeout=2), "a third connection was kept with --max-conns 2"
    a.sock.close()
    deadline = time.monotonic() + WAIT
    while True:  # the server sees a's close on its next loop turn
        c = srv.conn()
        try:
            c.send(build("GET", "/hello.txt", close=True))
            r = c.response(timeout=1)
            if r.status == 200:
                break
        except (AssertionError, OSError):
            pass
        assert time.monotonic() < deadline, "no room after a connection closed"
        time.sleep(0.05)
    b.send(build("GET", "/hello.txt"))
    assert b.response().status == 200


@pytest.mark.parametrize("what", ["file", "listing"])
def test_a_client_that_never_reads_is_dropped_at_the_send_timeout(procs, tree, what):
    """A client that asks for megabytes and reads none of them is dropped
    when the send timeout (1 s here) runs out: its socket's fd and the
    file's are closed, and the socket is let go for good (an io_uring send
    still queued would keep it open, and the client would then receive the
    whole response instead of an early end). A 10 MiB file goes out by
    sendfile from a copy of the file cache's descriptor (the cache keeps the
    file itself open); a listing of several MiB straight from its buffer."""
    if what == "file":
        (tree / "big.bin").write_bytes(os.urandom(10 * MIB))
        target, size = "/big.bin", 10 * MIB
    else:
        many = tree / "many"
        many.mkdir()
        for i in range(12000):  # about 6.6 MB of HTML
            (many / f"f{i:05d}-{'x' * 110}").touch()
        target, size = "/many/", 6 * MIB
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            if int(f.read().split()[2]) >= size - MIB:
                pytest.skip("the server's socket buffer may take the whole listing")
    srv = Server(procs, tree, "--send-timeout", "1")
    baseline = nu.open_fds(srv.proc.pid)
    s = procs.track(socket.socket())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(WAIT)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(build("GET", target))
    t0 = time.monotonic()
    assert srv.get("/hello.txt").status == 200  # served meanwhile
    assert nu.open_fds(srv.proc.pid) > baseline
    wait_fds(srv.proc.pid, baseline + (what == "file"), t0 + 5)
    assert time.monotonic() - t0 > 0.8, "dropped before the send timeout"
    got = nu.recv_all(s)
    assert got.startswith(b"HTTP/1.1 200 "), got[:100]
    assert len(got) < size, f"{len(got)} bytes: the whole response went out after the timeout"
    assert srv.get("/hello.txt").status == 200
    wait_fds(srv.proc.pid, baseline + (what == "file"), time.monotonic() + WAIT)


def wait_fds(pid, n, deadline):
    """Waits until pid has n open fds (closes follow a client's EOF a
    moment later)."""
    while nu.open_fds(pid) != n:
        assert time.monotonic() < deadline, f"{nu.open_fds(pid)} open fds, not {n}"
        time.sleep(0.02)


# ==========================================================================
# Slowloris
# ==========================================================================

def test_slowloris(procs, tree):
    srv = Server(procs, tree, "--header-timeout", "2")
    head = b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"z" * 100
    slow = []
    for _ in range(200):
        s = socket.socket()
        procs.track(s)
        s.connect(("127.0.0.1", srv.port))
        s.setblocking(False)
        slow.append(s)
    started = time.monotonic()
    answers = {}   # socket index -> (seconds, first bytes) when answered or closed
    stop = threading.Event()

    def dribble():
        # One byte a second to each; a look for answers every 50 ms.
        sent = 0
        next_send = started
        while not stop.is_set() and sent < len(head):
            now = time.monotonic()
            sending = now >= next_send
            for k, s in enumerate(slow):
                if k in answers:
                    continue
                if sending:
                    try:
                        s.send(head[sent:sent + 1])
                    except OSError:
                        pass
                try:
                    data = s.recv(4096)
                    answers[k] = (time.monotonic() - started, data)
                except BlockingIOError:
                    pass
                except OSError as e:
                    answers[k] = (time.monotonic() - started, repr(e).encode())
            if sending:
                sent += 1
                next_send += 1.0
            stop.wait(0.05)

    t = threading.Thread(target=dribble, daemon=True)
    t.start()
    try:
        # A normal client is served quickly all along.
        worst = 0.0
        while time.monotonic() - started < 4.0:
            t0 = time.monotonic()
            r = srv.get("/hello.txt")
            worst = max(worst, time.monotonic() - t0)
            assert r.status == 200 and r.body == b"hello, world\n"
            time.sleep(0.1)
        assert worst < 0.5, f"a normal request took {worst:.2f} s under slowloris"
    finally:
        stop.set()
        t.join(3)
    late = [k for k in range(len(slow)) if k not in answers]
    assert not late, f"{len(late)} slow connections still open after 4 s"
    for k, (when, data) in answers.items():
        assert when < 3.0, f"connection {k} answered only after {when:.2f} s"
        assert data == b"" or data.startswith(b"HTTP/1.1 408 ") or b"Reset" in data, data[:80]


# ==========================================================================
# Durability of uploads
# ==========================================================================

def test_upload_cut_mid_body_leaves_the_old_file(procs, tree):
    old = b"the good old content\n"
    (tree / "target.bin").write_bytes(old)
    before = sorted(os.listdir(tree))
    srv = Server(procs, tree, "--upload", "--hidden")
    for name in ("target.bin", "fresh.bin"):
        s = procs.connect(srv.port)
        s.sendall(build("PUT", "/" + name, [("Content-Length", str(2 * MIB))]))
        s.sendall(os.urandom(MIB))
        time.sleep(0.2)
        s.close()
    time.sleep(0.3)
    assert srv.get("/target.bin").body == old
    assert srv.get("/fresh.bin").status == 404
    assert sorted(os.listdir(tree)) == before
    names = [e["name"] for e in json.loads(srv.get("/?format=json").body)["entries"]]
    assert sorted(names) == before  # --hidden: a temporary would show
    assert (tree / "target.bin").read_bytes() == old


def test_server_killed_mid_upload_leaves_the_old_file(procs, tree):
    old = b"the good old content\n"
    (tree / "target.bin").write_bytes(old)
    before = sorted(os.listdir(tree))
    srv = Server(procs, tree, "--upload", "--hidden")
    socks = []
    for name in ("target.bin", "fresh.bin"):
        s = procs.connect(srv.port)
        s.sendall(build("PUT", "/" + name, [("Content-Length", str(4 * MIB))]))
        s.sendall(os.urandom(2 * MIB))
        socks.append(s)
    time.sleep(0.3)
    srv.proc.popen.send_signal(signal.SIGKILL)
    srv.proc.wait()
    assert (tree / "target.bin").read_bytes() == old
    assert sorted(os.listdir(tree)) == before
    srv2 = Server(procs, tree, "--hidden")
    names = [e["name"] for e in json.loads(srv2.get("/?format=json").body)["entries"]]
    assert sorted(names) == before


def test_concurrent_puts_leave_one_whole_body(procs, tree):
    srv = Server(procs, tree, "--upload", "--hidden")
    (tree / "target.bin").write_bytes(b"old")
    before = sorted(os.listdir(tree))
    bodies = [bytes([i]) * (MIB // 2) + os.urandom(MIB // 2) for i in range(8)]
    statuses = [None] * 8
    barrier = threading.Barrier(8)

    def put(i):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT)
        try:
            head = build("PUT", "/target.bin", [("Content-Length", str(MIB))], close=True)
            s.sendall(head + bodies[i][:MIB // 2])
            barrier.wait(WAIT)
            s.sendall(bodies[i][MIB // 2:])
            statuses[i] = Conn(s).response().status
        finally:
            s.close()

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses.count(None) == 0
    assert all(st in (201, 204) for st in statuses), statuses
    got = (tree / "target.bin").read_bytes()
    assert got in bodies
    assert sorted(os.listdir(tree)) == before
    names = [e["name"] for e in json.loads(srv.get("/?format=json").body)["entries"]]
    assert sorted(names) == before


# ==========================================================================
# Graceful stop
# ==========================================================================

def test_sigterm_lets_a_slow_download_finish(procs, tree):
    data = os.urandom(8 * MIB)
    (tree / "slow.bin").write_bytes(data)
    srv = Server(procs, tree)
    s = socket.socket()
    procs.track(s)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(WAIT)
    s.connect(("127.0.0.1", srv.port))
    idle = srv.conn()  # an idle keep-alive connection: closed at the stop
    idle.send(build("GET", "/hello.txt"))
    assert idle.response().status == 200
    s.sendall(build("GET", "/slow.bin"))
    first = s.recv(65536)
    assert first.startswith(b"HTTP/1.1 200 ")
    srv.proc.popen.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert srv.proc.running(), "the server quit with a download in flight"
    assert idle.closed(timeout=2)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
    c = Conn(s)
    c.buf += first
    r = c.response(timeout=20)
    assert r.body == data
    assert r.get("Connection") in (None, "close")
    assert c.closed(timeout=2)
    s.close()
    assert srv.proc.wait(timeout=WAIT) == 0
    assert '"GET /slow.bin HTTP/1.1" 200 %d' % len(data) in srv.proc.err


# ==========================================================================
# Access log
# ==========================================================================

def wait_connections_gone(srv, idle_fds, timeout=WAIT):
    """Waits until the server holds no more fds than when it was idle: the
    client has closed, and the server has seen it (a stop before that would
    rightly say it waits for that connection)."""
    deadline = time.monotonic() + timeout
    while nu.open_fds(srv.proc.pid) > idle_fds and time.monotonic() < deadline:
        time.sleep(0.02)


def test_access_log_is_common_log_format(procs, tree, tmp_path):
    srv = Server(procs, tree)
    idle_fds = nu.open_fds(srv.proc.pid)
    srv.get("/hello.txt")
    srv.get("/missing")
    etag = srv.get("/hello.txt").get("ETag")
    srv.get("/hello.txt", [("If-None-Match", etag)])
    srv.get("/hello.txt", method="HEAD")
    srv.request(b"GET /\"quote\x7f HTTP/1.1\r\nHost: a\r\n\r\n")
    deadline = time.monotonic() + WAIT
    while len(srv.access_lines()) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = srv.access_lines()
    assert len(lines) == 6, srv.proc.err
    tails = [line.split("] ", 1)[1] for line in lines]
    assert tails[0] == '"GET /hello.txt HTTP/1.1" 200 13'
    assert re.fullmatch(r'"GET /missing HTTP/1\.1" 404 \d+', tails[1])
    assert tails[3] == '"GET /hello.txt HTTP/1.1" 304 -'
    assert tails[4] == '"HEAD /hello.txt HTTP/1.1" 200 -'
    assert tails[5].startswith('"GET /\\x22quote\\x7f HTTP/1.1" 400 ')
    stamp = re.search(r"\[([^\]]+)\]", lines[0]).group(1)
    t = time.strptime(stamp, "%d/%b/%Y:%H:%M:%S +0000")
    assert abs(calendar.timegm(t) - time.time()) < 5
    wait_connections_gone(srv, idle_fds)
    srv.proc.stop()
    assert srv.proc.popen.returncode == 0
    other = [line for line in srv.proc.err.splitlines()
             if not CLF.match(line) and not line.startswith("serving on ")]
    assert other == []

    quiet = Server(procs, tree, "-q")
    idle_fds = nu.open_fds(quiet.proc.pid)
    quiet.get("/hello.txt")
    wait_connections_gone(quiet, idle_fds)
    quiet.proc.stop()
    assert quiet.proc.err == f"serving on http://127.0.0.1:{quiet.port}/\n"

    log = tmp_path / "access.log"
    filed = Server(procs, tree, "--access-log", str(log))
    idle_fds = nu.open_fds(filed.proc.pid)
    filed.get("/hello.txt")
    filed.get("/sub/")
    wait_connections_gone(filed, idle_fds)
    filed.proc.stop()
    assert filed.proc.err == f"serving on http://127.0.0.1:{filed.port}/\n"
    written = log.read_text().splitlines()
    assert len(written) == 2 and all(CLF.match(line) for line in written), written
    assert '"GET /sub/ HTTP/1.1" 200 ' in written[1]


# ==========================================================================
# Usage errors
# ==========================================================================

@pytest.mark.parametrize("args, message", [
    (["http"], "sockit: http: expected serve, get, head, put, post or delete"),
    (["http", "bogus"], "sockit: http: 'bogus': expected serve, get, head, put, post or delete"),
    (["http", "serve", "--max-body", "x"],
     "sockit: http serve: --max-body 'x': expected a size such as 10M or 2G"),
    (["http", "serve", "--max-body", "-1"],
     "sockit: http serve: --max-body '-1': expected a size such as 10M or 2G"),
    (["http", "serve", "--bogus"], "sockit: http serve: unknown option '--bogus'"),
    (["http", "serve", "-p", "0", "a", "b"],
     "sockit: http serve: expected at most one directory, got 2"),
    # python3 -m http.server's habits: the port as the argument, -d DIR.
    (["http", "serve", "8000"],
     "sockit: http serve: '8000' is not a directory; did you mean '-p 8000'?"),
    (["http", "serve", "--upload", "-dp", "0"],
     "sockit: http serve: unknown option '-d': python's -d DIR is --directory DIR (or DIR alone)"),
    (["http", "serve", "--directory", "a", "b"],
     "sockit: http serve: --directory and 'b': two directories; give one"),
    (["http", "serve", "-q", "--access-log", "x"],
     "sockit: http serve: -q and --access-log: choose one (-q writes no access log)"),
], ids=["http", "bogus", "max-body x", "max-body -1", "bogus option", "two dirs", "port as dir",
        "-d", "--directory and DIR", "-q and --access-log"])
def test_usage_errors(sockit, args, message):
    res = sockit(*args)
    assert res.status == 2
    assert res.out == ""
    assert res.err.splitlines() == [message, SEE_HELP]


def test_directory_option_and_a_directory_named_like_a_port(procs, tree, tmp_path, monkeypatch):
    """--directory DIR is python's spelling of DIR; a directory that is
    called 8000 is served, not taken for a port."""
    serving = r"^serving on http://(127\.0\.0\.1):(\d+)/$"
    srv = procs.server(SOCKIT, "http", "serve", "-p", "0", "-b", "127.0.0.1", "--directory",
                       str(tree), pattern=serving)
    c = Conn(procs.connect(srv.port))
    c.send(build("GET", "/hello.txt", close=True))
    assert c.response().body == b"hello, world\n"
    (tmp_path / "8000").mkdir()
    (tmp_path / "8000" / "x.txt").write_bytes(b"x\n")
    monkeypatch.chdir(tmp_path)
    num = procs.server(SOCKIT, "http", "serve", "-p", "0", "-b", "127.0.0.1", "8000",
                       pattern=serving)
    c = Conn(procs.connect(num.port))
    c.send(build("GET", "/x.txt", close=True))
    assert c.response().body == b"x\n"


def urls_printed(procs, *args):
    """The 'serving on' lines of `http serve -p 0 ARGS`, and the server."""
    srv = procs.server(SOCKIT, "http", "serve", "-p", "0", *args,
                       pattern=r"^serving on http://(\[[^]]+\]|[0-9.]+):(\d+)/$")
    time.sleep(0.2)  # every line is printed before the loop starts
    lines = [line for line in srv.err.splitlines() if line.startswith("serving on ")]
    return srv, lines


def test_printed_urls_work_in_a_browser(procs, tree):
    """No raw %eth0 in a URL: IPv6 link-local addresses (which need a zone,
    and browsers take none) are left out of the list."""
    srv, lines = urls_printed(procs, str(tree))
    assert lines and all(re.fullmatch(r"serving on http://[^%\s]+/", line) for line in lines), lines
    assert not any("[fe80:" in line for line in lines), lines


def link_local_address():
    """An IPv6 link-local address of this host as ADDR%IFACE, or None."""
    try:
        with open("/proc/net/if_inet6") as f:
            rows = [line.split() for line in f]
    except FileNotFoundError:
        return None
    for hexaddr, _, _, scope, _, name in rows:
        if scope == "20" and hexaddr.startswith("fe80"):
            groups = [hexaddr[i:i + 4] for i in range(0, 32, 4)]
            return str(ipaddress.IPv6Address(":".join(groups))) + "%" + name
    return None


def test_a_link_local_bind_address_is_printed_with_an_encoded_zone(procs, tree):
    addr = link_local_address()
    if addr is None:
        pytest.skip("no IPv6 link-local address on this host")
    srv, lines = urls_printed(procs, "-b", addr, str(tree))
    host, zone = addr.split("%")
    assert lines == [f"serving on http://[{host}%25{zone}]:{srv.port}/"], lines


def test_6_serves_ipv6_only_and_4_ipv4_only(procs, tree):
    srv, lines = urls_printed(procs, "-6", str(tree))
    assert lines and all(line.startswith("serving on http://[") for line in lines), lines
    with pytest.raises(ConnectionRefusedError):
        procs.connect(srv.port, "127.0.0.1")
    c = Conn(procs.connect(srv.port, "::1"))
    c.send(build("GET", "/hello.txt", close=True))
    assert c.response().body == b"hello, world\n"
    srv, lines = urls_printed(procs, "-4", str(tree))
    assert lines and not any("[" in line for line in lines), lines
    with pytest.raises(ConnectionRefusedError):
        procs.connect(srv.port, "::1")


def test_4_and_6_together_are_a_usage_error(sockit):
    res = sockit("http", "serve", "-4", "-6")
    assert res.status == 2
    assert res.err.splitlines() == ["sockit: http serve: -4 and -6 cannot be combined (without "
                                    "them, both IPv4 and IPv6 are used)", SEE_HELP]


def test_missing_or_bad_directory(sockit, tmp_path):
    res = sockit("http", "serve", "-p", "0", "-b", "127.0.0.1", str(tmp_path / "nope"))
    assert res.status == 7
    assert res.err == f"sockit: http serve: {tmp_path / 'nope'}: no such file or directory\n"
    (tmp_path / "file").write_bytes(b"x")
    res = sockit("http", "serve", "-p", "0", "-b", "127.0.0.1", str(tmp_path / "file"))
    assert res.status == 7
    assert res.err == f"sockit: http serve: {tmp_path / 'file'}: not a directory\n"


def test_port_in_use(sockit, tmp_path):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        res = sockit("http", "serve", "-p", str(port), "-b", "127.0.0.1", str(tmp_path),
                             timeout=WAIT)
    finally:
        s.close()
    assert res.status == 4
    assert res.err == f"sockit: http serve: 127.0.0.1:{port}: address already in use\n"


def test_help(sockit):
    res = sockit("help", "http")
    assert res.status == 0
    assert res.out.startswith("usage: sockit http serve [options] [DIR]\n")
    assert ("exit status: 0 ok (serve: after a stop), 1 failure (serve: access log lines\n"
            "lost), 2 usage, 3 name resolution, 4 network (serve: address in use; the\n") in res.out
    assert ("certificate or handshake, 7 a local file (serve: DIR or a certificate file\n"
            "not found, or a port below 1024 without root)\n") in res.out
    assert sockit("http", "--help").out == res.out
    assert sockit("http", "serve", "--help").out == res.out
