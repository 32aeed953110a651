"""`sockit http serve` against the RFC 9110/9112 cases an independent
corpus found (issue 8 §5), and the listing's and uploads' leftovers (§4):

- Host must be uri-host [":" port]: a list, userinfo, spaces or a bad port
  is 400 and a close (RFC 9112 §3.2, RFC 9110 §7.2);
- HTTP/1.2 to 1.9 are served as HTTP/1.1 (RFC 9110 §2.5); 2.0 and up: 505;
- a GET, HEAD, DELETE or OPTIONS with a body: the body is read by its
  framing and dropped, and the connection carries the next request;
- preconditions (RFC 9110 §13.1, §13.2.2): If-Match, If-Unmodified-Since
  and If-None-Match: * on GET, HEAD, PUT and DELETE give 412 when they
  fail, and leave the file as it was; a PUT with Content-Range is 400;
- listings never show (or stat) symlinks that lead out of the root;
- a `.sockit-upload-*` link left by a server killed mid-rename is removed
  when the next server with --upload starts.

Every test runs on both of the loop's I/O paths, io_uring and epoll
(SOCKIT_IO_URING=0), as test_http.py's do.
"""
import email.utils
import json
import os
import time

import pytest

import netutil as nu
from httputil import Server, build

SECRET = b"TOP-SECRET-7f3a9c outside the root\n"
HELLO = b"hello, world\n"


@pytest.fixture(params=["io_uring", "epoll"])
def io_mode(request):
    if request.param == "io_uring" and os.environ.get("SOCKIT_IO_URING") == "0":
        pytest.skip("SOCKIT_IO_URING=0 is set: the epoll path only")
    return request.param


@pytest.fixture
def procs(io_mode):
    env = dict(os.environ)
    if io_mode == "epoll":
        env["SOCKIT_IO_URING"] = "0"
    else:
        env.pop("SOCKIT_IO_URING", None)
    group = nu.Procs(env=env)
    yield group
    group.cleanup()


@pytest.fixture
def tree(tmp_path):
    """tmp_path/secret.txt (outside) and tmp_path/root (served)."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(HELLO)
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_bytes(b"inner file\n")
    return root


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


def head(method, target, *lines, version="HTTP/1.1"):
    """A request head from raw header lines (Host is not added)."""
    return ("\r\n".join([f"{method} {target} {version}", *lines]) + "\r\n\r\n").encode("latin-1")


# ==========================================================================
# Host (RFC 9112 §3.2, RFC 9110 §7.2)
# ==========================================================================

BAD_HOSTS = [
    ("list", "a.example, b.example"),
    ("list without space", "a.example,b.example"),
    ("userinfo", "user@a.example"),
    ("userinfo with password", "user:pw@a.example:80"),
    ("space inside", "a .example"),
    ("port not a number", "a.example:http"),
    ("port too large", "a.example:65536"),
    ("two ports", "a.example:80:81"),
    ("unclosed IP literal", "[::1"),
    ("IPv6 without brackets", "::1"),
    ("bad IP literal", "[::g]"),
    ("path", "a.example/x"),
    ("bad escape", "a%zz.example"),
]


@pytest.mark.parametrize("value", [v for _, v in BAD_HOSTS], ids=[n for n, _ in BAD_HOSTS])
def test_a_host_that_is_not_one_authority_is_400(procs, tree, value):
    srv = Server(procs, tree)
    c = srv.conn()
    # A valid request follows in the same send: never answered.
    c.send(head("GET", "/hello.txt", f"Host: {value}") + build("GET", "/sub/inner.txt"))
    r = c.response()
    assert r.status == 400, r
    assert r.get("Connection") == "close"
    assert c.closed()


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:8000", "localhost", "[::1]:80",
                                   "[2001:db8::1]", "a.example:", "", "0.0.0.0=5000"])
def test_a_host_that_is_one_authority_is_served(procs, tree, value):
    srv = Server(procs, tree)
    c = srv.conn()
    c.send(head("GET", "/hello.txt", f"Host: {value}") * 2)
    for _ in range(2):
        r = c.response()
        assert r.status == 200 and r.body == HELLO, r


# ==========================================================================
# Versions (RFC 9110 §2.5)
# ==========================================================================

@pytest.mark.parametrize("version", ["HTTP/1.2", "HTTP/1.9"])
def test_a_later_http1_minor_version_is_served_as_1_1(procs, tree, version):
    srv = Server(procs, tree)
    c = srv.conn()
    # As 1.1: keep-alive by default, pipelining, and Host required.
    c.send(head("GET", "/hello.txt", "Host: a", version=version)
           + head("HEAD", "/sub/inner.txt", "Host: a", version=version))
    r = c.response()
    assert (r.version, r.status, r.body) == ("HTTP/1.1", 200, HELLO), r
    assert r.get("Connection") is None
    r = c.response(head_only=True)
    assert r.status == 200 and r.get("Content-Length") == "11"
    c.send(head("GET", "/hello.txt", version=version))
    r = c.response()
    assert r.status == 400 and b"Host" in r.body, r
    assert c.closed()


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/2.1", "HTTP/3.0", "HTTP/0.9"])
def test_another_major_version_is_505(procs, tree, version):
    srv = Server(procs, tree)
    c = srv.conn()
    c.send(head("GET", "/hello.txt", "Host: a", version=version))
    r = c.response()
    assert r.status == 505, r
    assert c.closed()
