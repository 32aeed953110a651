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
import re
import shutil
import subprocess
import time

import pytest

from conftest import SOCKIT
from httputil import Conn, Server, build

SECRET = b"TOP-SECRET-7f3a9c outside the root\n"
HELLO = b"hello, world\n"


# Every server test runs on both of the loop's I/O paths (conftest.py).
IO_MODES = ["io_uring", "epoll"]


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


# ==========================================================================
# Bodies no method uses (GET, HEAD, DELETE, OPTIONS): read, dropped, and the
# connection goes on
# ==========================================================================

# A body that is itself a request: answered, it would show as a response too many.
SMUGGLED = b"GET /sub/inner.txt HTTP/1.1\r\nHost: a\r\n\r\n"


def chunked(data, size=7):
    out = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size])
                   for i in range(0, len(data), size))
    return out + b"0\r\n\r\n"


def test_bodies_of_get_head_delete_options_are_dropped_and_pipelining_goes_on(procs, tree):
    (tree / "victim.txt").write_bytes(b"delete me")
    srv = Server(procs, tree, "--allow-delete")
    c = srv.conn()
    c.send(build("GET", "/hello.txt", body=SMUGGLED)
           + build("HEAD", "/hello.txt", [("Transfer-Encoding", "chunked")], body=chunked(SMUGGLED))
           + build("DELETE", "/victim.txt", body=SMUGGLED)
           + build("OPTIONS", "*", body=SMUGGLED)
           + build("GET", "/hello.txt", [("Transfer-Encoding", "chunked")], body=b"0\r\n\r\n")
           + build("GET", "/sub/inner.txt"))
    got = [c.response(head_only=m == "HEAD") for m in ("GET", "HEAD", "DELETE", "OPTIONS",
                                                         "GET", "GET")]
    assert [r.status for r in got] == [200, 200, 204, 204, 200, 200], got
    assert got[0].body == HELLO and got[4].body == HELLO and got[5].body == b"inner file\n"
    assert all(r.get("Connection") is None for r in got), got
    assert not (tree / "victim.txt").exists()
    # Nothing more was answered, and the connection still serves.
    c.send(build("GET", "/hello.txt", close=True))
    r = c.response()
    assert r.status == 200 and r.body == HELLO
    assert c.closed()
    deadline = time.monotonic() + 5
    while len(srv.access_lines()) < 7 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    assert len(srv.access_lines()) == 7, srv.access_lines()


def test_a_body_in_pieces_is_dropped_as_it_arrives(procs, tree):
    srv = Server(procs, tree)
    for framing in ("length", "chunked"):
        c = srv.conn()
        body = SMUGGLED * 100
        if framing == "chunked":
            raw = build("GET", "/hello.txt", [("Transfer-Encoding", "chunked")],
                        body=chunked(body, 333))
        else:
            raw = build("GET", "/hello.txt", body=body)
        raw += build("GET", "/sub/inner.txt")
        cut = raw.index(b"\r\n\r\n") + 10
        for part in (raw[:cut], raw[cut:cut + 1000], raw[cut + 1000:-20], raw[-20:]):
            c.send(part)
            time.sleep(0.05)
        r = c.response()
        assert r.status == 200 and r.body == HELLO, (framing, r)
        r = c.response()
        assert r.status == 200 and r.body == b"inner file\n", (framing, r)
        c.send(build("GET", "/hello.txt", close=True))
        assert c.response().status == 200
        assert c.closed()


def test_a_body_is_read_before_a_large_answer(procs, tree):
    """A client that writes its whole request before it reads (1 MiB of
    body) and gets a 4 MiB file: the body is read first, so neither side
    waits on the other."""
    big = os.urandom(4 << 20)
    (tree / "big.bin").write_bytes(big)
    srv = Server(procs, tree)
    c = srv.conn()
    c.send(build("GET", "/big.bin", body=b"x" * (1 << 20)) + build("GET", "/hello.txt"))
    r = c.response()
    assert r.status == 200 and r.body == big
    assert c.response().body == HELLO


def test_expect_continue_on_a_get_body(procs, tree):
    srv = Server(procs, tree)
    c = srv.conn()
    c.send(build("GET", "/hello.txt", [("Expect", "100-continue"), ("Content-Length", "5")]))
    r = c.response(skip_continue=False)
    assert r.status == 100, r
    c.send(b"hello" + build("GET", "/sub/inner.txt"))
    assert c.response().body == HELLO
    assert c.response().body == b"inner file\n"


def test_a_body_over_the_limit_is_not_read_and_the_connection_closes(procs, tree):
    srv = Server(procs, tree)
    # Content-Length over 1 MiB: answered at once, then closed.
    c = srv.conn()
    c.send(build("GET", "/hello.txt", [("Content-Length", str((1 << 20) + 1))]) + SMUGGLED)
    r = c.response()
    assert r.status == 200 and r.body == HELLO and r.get("Connection") == "close"
    assert c.closed()
    # Chunked, past 1 MiB: answered when it gets there, then closed.
    c = srv.conn()
    c.send(build("GET", "/hello.txt", [("Transfer-Encoding", "chunked")]))
    piece = b"%x\r\n%s\r\n" % (64 << 10, b"y" * (64 << 10))
    for _ in range(17):
        c.send(piece)
    r = c.response()
    assert r.status == 200 and r.body == HELLO and r.get("Connection") == "close"
    c.sock.close()


def test_a_malformed_chunked_body_on_a_get_is_400_and_a_close(procs, tree):
    srv = Server(procs, tree)
    for body in (b"zz\r\n" + SMUGGLED, b"3\r\nabcX\r\n0\r\n\r\n" + SMUGGLED):
        c = srv.conn()
        c.send(build("GET", "/hello.txt", [("Transfer-Encoding", "chunked")]) + body[:3])
        time.sleep(0.05)
        c.send(body[3:])
        r = c.response()
        assert r.status == 400 and r.get("Connection") == "close", r
        assert c.closed()


def test_a_refused_write_with_a_body_keeps_the_connection(procs, tree):
    srv = Server(procs, tree)  # no --upload
    c = srv.conn()
    c.send(build("PUT", "/new.txt", body=SMUGGLED) + build("GET", "/hello.txt"))
    r = c.response()
    assert r.status == 405 and r.get("Connection") is None, r
    assert c.response().body == HELLO
    assert not (tree / "new.txt").exists()


# ==========================================================================
# Preconditions (RFC 9110 §13.1, §13.2.2) and Content-Range on PUT (§14.5)
# ==========================================================================

OLD = b"the good old content\n"


def snapshot(path):
    """What must not change after a 412 or 400: the bytes and the inode."""
    st = os.stat(path)
    return path.read_bytes(), st.st_ino, st.st_mtime_ns


def weak(etag):
    return "W/" + etag


@pytest.mark.parametrize("fields", [
    [("If-Match", '"not-the-etag"')],
    [("If-Match", "WEAK")],                # the file's own tag, weak: never a strong match
    [("If-None-Match", "*")],              # create only: the file exists
    [("If-None-Match", "ETAG")],
    [("If-Unmodified-Since", http_date(1_500_000_000))],
    [("If-Match", '"x"'), ("If-Unmodified-Since", http_date(2_000_000_000))],
    [("Content-Range", "bytes 0-3/100")],  # a fragment is not the whole file: 400
], ids=["if-match", "if-match-weak", "if-none-match-star", "if-none-match-etag",
        "if-unmodified-since", "if-match-before-ius", "content-range"])
def test_a_put_whose_precondition_fails_leaves_the_file(procs, tree, fields):
    target = tree / "doc.txt"
    target.write_bytes(OLD)
    os.utime(target, (1_600_000_000, 1_600_000_000))
    before = snapshot(target)
    srv = Server(procs, tree, "--upload")
    etag = srv.get("/doc.txt").get("ETag")
    fields = [(k, v.replace("WEAK", weak(etag)).replace("ETAG", etag)) for k, v in fields]
    r = srv.get("/doc.txt", fields, method="PUT", body=b"EVIL")
    assert r.status == (400 if fields[0][0] == "Content-Range" else 412), r
    assert snapshot(target) == before
    assert sorted(os.listdir(tree)) == ["doc.txt", "hello.txt", "sub"]
    assert srv.get("/doc.txt").body == OLD


def test_a_put_whose_precondition_holds_replaces_or_creates(procs, tree):
    target = tree / "doc.txt"
    target.write_bytes(OLD)
    srv = Server(procs, tree, "--upload")
    etag = srv.get("/doc.txt").get("ETag")
    r = srv.get("/doc.txt", [("If-Match", f'"x", {etag}')], method="PUT", body=b"v2")
    assert r.status == 204 and target.read_bytes() == b"v2", r
    r = srv.get("/doc.txt", [("If-Match", etag)], method="PUT", body=b"v3")
    assert r.status == 412 and target.read_bytes() == b"v2", r  # etag is v1's now
    r = srv.get("/doc.txt", [("If-Match", "*"),
                             ("If-Unmodified-Since", http_date(time.time() + 60))],
                method="PUT", body=b"v3")
    assert r.status == 204 and target.read_bytes() == b"v3", r
    # Create only.
    r = srv.get("/new.txt", [("If-None-Match", "*")], method="PUT", body=b"fresh")
    assert r.status == 201 and (tree / "new.txt").read_bytes() == b"fresh", r
    r = srv.get("/new.txt", [("If-None-Match", "*")], method="PUT", body=b"again")
    assert r.status == 412 and (tree / "new.txt").read_bytes() == b"fresh", r
    # Update only: If-Match on a name with nothing behind it.
    r = srv.get("/absent.txt", [("If-Match", "*")], method="PUT", body=b"x")
    assert r.status == 412 and not (tree / "absent.txt").exists(), r


def start_put(srv, procs, target, fields, body):
    """A PUT whose body is half sent: the rest with finish_put."""
    s = procs.connect(srv.port)
    s.sendall(build("PUT", target, fields + [("Content-Length", str(len(body)))],
                    close=True) + body[:len(body) // 2])
    return s, body[len(body) // 2:]


def finish_put(s, rest):
    s.sendall(rest)
    return Conn(s).response()


def test_preconditions_are_checked_again_when_the_upload_ends(procs, tree):
    """Two clients read the same version and both PUT with If-Match: the
    second to finish must not overwrite the first (a lost update), even
    though its precondition held when it started. Likewise, a create-only
    PUT loses to a file created while its body was arriving."""
    target = tree / "doc.txt"
    target.write_bytes(OLD)
    srv = Server(procs, tree, "--upload")
    etag = srv.get("/doc.txt").get("ETag")
    slow, rest = start_put(srv, procs, "/doc.txt", [("If-Match", etag)], b"A" * 100_000)
    time.sleep(0.1)
    r = srv.get("/doc.txt", [("If-Match", etag)], method="PUT", body=b"B" * 10)
    assert r.status == 204
    r = finish_put(slow, rest)
    assert r.status == 412, r
    assert target.read_bytes() == b"B" * 10

    slow, rest = start_put(srv, procs, "/late.txt", [("If-None-Match", "*")], b"A" * 100_000)
    time.sleep(0.1)
    assert srv.get("/late.txt", method="PUT", body=b"first").status == 201
    r = finish_put(slow, rest)
    assert r.status == 412, r
    assert (tree / "late.txt").read_bytes() == b"first"
    assert sorted(os.listdir(tree)) == ["doc.txt", "hello.txt", "late.txt", "sub"]


@pytest.mark.parametrize("fields", [
    [("If-Match", '"not-the-etag"')],
    [("If-Match", "WEAK")],
    [("If-None-Match", "*")],
    [("If-Unmodified-Since", http_date(1_500_000_000))],
], ids=["if-match", "if-match-weak", "if-none-match-star", "if-unmodified-since"])
def test_a_delete_whose_precondition_fails_leaves_the_file(procs, tree, fields):
    target = tree / "doc.txt"
    target.write_bytes(OLD)
    os.utime(target, (1_600_000_000, 1_600_000_000))
    before = snapshot(target)
    srv = Server(procs, tree, "--allow-delete")
    etag = srv.get("/doc.txt").get("ETag")
    fields = [(k, v.replace("WEAK", weak(etag))) for k, v in fields]
    c = srv.conn()
    c.send(build("DELETE", "/doc.txt", fields) + build("GET", "/doc.txt"))
    r = c.response()
    assert r.status == 412 and r.get("Connection") is None, r
    assert c.response().body == OLD  # the connection goes on
    assert snapshot(target) == before


def test_a_delete_whose_precondition_holds_deletes(procs, tree):
    (tree / "a.txt").write_bytes(b"a")
    srv = Server(procs, tree, "--allow-delete")
    etag = srv.get("/a.txt").get("ETag")
    r = srv.get("/a.txt", [("If-Match", etag),
                           ("If-Unmodified-Since", http_date(time.time() + 60))], method="DELETE")
    assert r.status == 204 and not (tree / "a.txt").exists()
    # A missing name stays 404, whatever the preconditions (RFC 9110 §13.2.1).
    assert srv.get("/a.txt", [("If-Match", "*")], method="DELETE").status == 404


@pytest.mark.parametrize("size", [13, 100_000], ids=["cached", "large"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_get_and_head_preconditions(procs, tree, method, size):
    data = HELLO if size == 13 else os.urandom(size)
    (tree / "f.bin").write_bytes(data)
    os.utime(tree / "f.bin", (1_600_000_000, 1_600_000_000))
    srv = Server(procs, tree)
    etag = srv.get("/f.bin").get("ETag")
    cases = [
        ([("If-Match", '"nope"')], 412),
        ([("If-Match", weak(etag))], 412),
        ([("If-Match", '"nope"'), ("Range", "bytes=0-3")], 412),
        ([("If-Unmodified-Since", http_date(1_599_999_999))], 412),
        ([("If-Match", '"nope"'), ("If-Unmodified-Since", http_date(1_700_000_000))], 412),
        ([("If-Match", etag), ("If-Unmodified-Since", http_date(1_599_999_999))], 200),
        ([("If-Match", f'"a", {etag}')], 200),
        ([("If-Match", "*")], 200),
        ([("If-Unmodified-Since", http_date(1_600_000_000))], 200),
        ([("If-Unmodified-Since", "not a date")], 200),
        ([("If-Match", '"nope"'), ("If-None-Match", etag)], 412),
        ([("If-Match", etag), ("If-None-Match", etag)], 304),
        ([("If-Match", etag), ("Range", "bytes=0-3")], 206),
    ]
    c = srv.conn()
    for fields, status in cases:
        c.send(build(method, "/f.bin", fields))
        r = c.response(head_only=method == "HEAD")
        assert r.status == status, (fields, r)
        assert r.get("Connection") is None
        if status == 200 and method == "GET":
            assert r.body == data


def test_listing_preconditions(procs, tree):
    srv = Server(procs, tree)
    assert srv.get("/sub/", [("If-Match", '"x"')]).status == 412
    assert srv.get("/sub/", [("If-Match", "*")]).status == 200
    r = srv.get("/sub/", [("If-None-Match", "*")])
    assert r.status == 304 and r.get("Vary") == "Accept", r
    assert srv.get("/sub/", [("If-Unmodified-Since", http_date(1_000_000_000))]).status == 200
    # Preconditions never turn a 404 or a redirect into a 412.
    assert srv.get("/missing", [("If-Match", '"x"')]).status == 404
    assert srv.get("/sub", [("If-Match", '"x"')]).status == 301


# ==========================================================================
# Listings and symlinks that lead out of the root
# ==========================================================================

def listing(srv, path):
    r = srv.get(path + "?format=json")
    assert r.status == 200, r
    return {e["name"]: e for e in json.loads(r.body)["entries"]}


def test_a_listing_hides_symlinks_that_lead_out_and_follows_those_inside(procs, tree, tmp_path):
    (tmp_path / "outdir").mkdir()
    (tmp_path / "outdir" / "o.txt").write_bytes(SECRET)
    outside = {"passwd": "/etc/passwd", "leak": "../secret.txt",
               "absleak": str(tmp_path / "secret.txt"), "up": "..", "outlink": "../outdir",
               "roundabout": "../root/hello.txt",  # out and back in: GET refuses it too
               "dangling": "nothing-here", "loop": "loop"}
    for name, to in outside.items():
        os.symlink(to, tree / name)
    os.symlink("../../secret.txt", tree / "sub" / "leak2")
    os.symlink("sub/inner.txt", tree / "inlink")
    os.symlink("sub", tree / "insub")
    os.symlink("../hello.txt", tree / "sub" / "uplink")  # up, but still inside
    srv = Server(procs, tree)

    top = listing(srv, "/")
    assert sorted(top) == ["hello.txt", "inlink", "insub", "sub"], top
    assert top["inlink"]["size"] == 11 and top["inlink"]["type"] == "file"
    assert top["insub"]["type"] == "dir"
    sub = listing(srv, "/sub/")
    assert sorted(sub) == ["inner.txt", "uplink"], sub
    assert sub["uplink"]["size"] == len(HELLO)
    assert sorted(listing(srv, "/insub/")) == ["inner.txt", "uplink"]
    html = srv.get("/").body + srv.get("/sub/").body
    for name in list(outside) + ["leak2"]:
        assert f'data-name="{name}"'.encode() not in html, name
    # What the listing shows, GET serves; what it hides, GET refuses.
    assert srv.get("/inlink").body == b"inner file\n"
    assert srv.get("/sub/uplink").body == HELLO
    for name in outside:
        assert srv.get("/" + name).status in (403, 404), name


# ==========================================================================
# Leftovers of an upload interrupted between link and rename
# ==========================================================================

STRACE = shutil.which("strace")
LEFTOVER = re.compile(r"^\.sockit-upload-\d+-\d+$")
REMOVED = "sockit: http serve: removed {} leftover upload file{} (.sockit-upload-*) of an interrupted run"


def killed_at_the_rename(procs, tree, target):
    """A server under strace that is killed as it enters rename: the moment
    after the finished upload was linked under its temporary name."""
    srv = Server(procs, tree, "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2",
                 "-e", "inject=rename,renameat,renameat2:signal=SIGKILL",
                 SOCKIT, "http", "serve", "-p", "0", "-b", "127.0.0.1", "--upload", tool=STRACE)
    c = srv.conn()
    c.send(build("PUT", target, body=b"NEW CONTENT", close=True))
    assert c.closed(), "the server answered instead of dying at the rename"
    srv.proc.wait()
    return srv


def leftovers(top):
    return sorted(os.path.relpath(os.path.join(d, f), top) for d, _, files in os.walk(top)
                  for f in files if LEFTOVER.match(f))


@pytest.mark.skipif(STRACE is None, reason="needs strace (scripts/deps.sh test installs it)")
def test_a_server_killed_between_link_and_rename_leaves_a_leftover_the_next_one_removes(
        procs, tree):
    killed_at_the_rename(procs, tree, "/hello.txt")
    found = leftovers(tree)
    if not found:
        pytest.skip("strace could not inject the kill here (ptrace not permitted?)")
    # The original problem: a complete, hidden copy of the upload beside the old file.
    assert len(found) == 1 and os.path.dirname(found[0]) == "", found
    assert (tree / found[0]).read_bytes() == b"NEW CONTENT"
    assert (tree / "hello.txt").read_bytes() == HELLO
    # The next server removes it as it starts (then dies the same way, in sub/).
    srv = killed_at_the_rename(procs, tree, "/sub/inner.txt")
    assert REMOVED.format(1, "") in srv.proc.err.splitlines()
    found = leftovers(tree)
    assert len(found) == 1 and os.path.dirname(found[0]) == "sub", found
    srv = Server(procs, tree, "--upload", "--hidden")
    assert leftovers(tree) == []
    assert REMOVED.format(1, "") in srv.proc.err.splitlines()
    assert sorted(listing(srv, "/")) == ["hello.txt", "sub"]
    assert sorted(listing(srv, "/sub/")) == ["inner.txt"]
    assert (tree / "hello.txt").read_bytes() == HELLO
    assert (tree / "sub" / "inner.txt").read_bytes() == b"inner file\n"
    assert (tree.parent / "secret.txt").read_bytes() == SECRET


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_only_this_servers_stale_leftovers_are_removed(procs, tree, tmp_path):
    dead = dead_pid()
    name = f".sockit-upload-{dead}-0"
    removed = [name, f"sub/.sockit-upload-{dead}-17",
               "/".join(["d"] * 16) + f"/.sockit-upload-{dead}-1"]      # 16 levels down
    kept = [".sockit-upload-", f".sockit-upload-{dead}", f".sockit-upload-{dead}-",
            f".sockit-upload-{dead}-1x", f".sockit-upload--{dead}-1", f".sockit-upload-+{dead}-1",
            f"sockit-upload-{dead}-1", f".sockit-upload-{dead}-1.txt",
            f".sockit-upload-{os.getpid()}-0",                      # its process is alive
            f".hid/.sockit-upload-{dead}-0",                         # a hidden directory
            "/".join(["d"] * 17) + f"/.sockit-upload-{dead}-2"]      # 17 levels down
    for rel in removed + kept:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(b"upload")
    # A directory and symlinks with the name, and a symlink to a directory
    # that holds one: none is removed, followed or looked through.
    (tree / f".sockit-upload-{dead}-5").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / name).write_bytes(SECRET)
    os.symlink(tmp_path / "secret.txt", tree / f".sockit-upload-{dead}-6")
    os.symlink(tmp_path / "out", tree / "outlink")
    os.symlink(tmp_path / "out", tree / "sub" / f".sockit-upload-{dead}-7")
    everything_else = sorted(str(p.relative_to(tree)) for p in tree.rglob("*")
                             if str(p.relative_to(tree)) not in removed)

    srv = Server(procs, tree)  # no --upload: the server writes nothing
    assert all((tree / rel).exists() for rel in removed)
    srv.proc.stop()
    srv = Server(procs, tree, "--upload")
    assert not any(os.path.lexists(tree / rel) for rel in removed)
    assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*")) == everything_else
    assert (tmp_path / "out" / name).read_bytes() == SECRET
    assert (tmp_path / "secret.txt").read_bytes() == SECRET
    assert REMOVED.format(3, "s") in srv.proc.err.splitlines()
    # With --hidden, uploads can reach hidden directories: so does the sweep.
    srv.proc.stop()
    srv = Server(procs, tree, "--upload", "--hidden")
    assert not (tree / ".hid" / f".sockit-upload-{dead}-0").exists()
    assert REMOVED.format(1, "") in srv.proc.err.splitlines()
