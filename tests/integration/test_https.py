"""Integration tests for HTTPS: `sockit http serve --tls` and `sockit serve
--tls`, driven by curl --cacert, openssl s_client and Python's ssl.

Covered: GET, HEAD, ranges, PUT, DELETE, listings, keep-alive and
pipelining over TLS; a 256 MiB file by checksum; ALPN http/1.1 as curl sees
it; session resumption (s_client -sess_out/-sess_in, Python's ssl); client
certificates (--verify-client); the certificate made for the run (curl
--pinnedpubkey); curl's own words for an untrusted CA and a wrong name, and
the server going on serving after them; a plain-text client and clients
stalling mid-handshake (the others are served, the handshake timeout closes
them); -v's handshake lines; the access log as over plain HTTP; usage and
file errors; `sockit serve --tls`.

The certificates are made once per module with the openssl CLI (tlsutil.py):
a CA, a server certificate for localhost, 127.0.0.1 and ::1, one for another
name, a client certificate. Every server test runs on both of the loop's I/O
paths (io_uring, and epoll with SOCKIT_IO_URING=0): test ids say which.
"""
import hashlib
import http.client
import json
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import SOCKIT
from httputil import CLF, CURL, Conn, build, curl_env
from netutil import WAIT, closed_by_peer, recv_all
from tlsutil import Pki

MIB = 1024 * 1024
IO_MODES = ["io_uring", "epoll"]
SERVING = re.compile(r"^serving on https://127\.0\.0\.1:(\d+)/$", re.M)
SEE_HELP = "sockit: see 'sockit help http'"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca("ca", "sockit test CA")
    p.ca("otherca", "another CA")
    p.cert("server", "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1")
    p.cert("othername", "other.example", "DNS:other.example")
    names = "DNS:localhost,IP:127.0.0.1"
    p.cert("expired", "localhost", names, start="20200101000000Z", end="20200201000000Z")
    p.cert("future", "localhost", names, start="20400101000000Z", end="20410101000000Z")
    p.cert("client", "test client", usage="clientAuth")
    p.cert("strangeclient", "stranger", ca="otherca", usage="clientAuth")
    return p


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello, world\n")
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_bytes(b"inner file\n")
    (root / "digits.txt").write_bytes(b"0123456789" * 1000)
    return root


class Https:
    """`sockit http serve --tls -p 0 -b 127.0.0.1 ARGS ROOT` with pki's
    certificate NAME (None: the one made for the run), past its line."""

    def __init__(self, procs, pki, root, *args, cert="server"):
        files = ["--cert", pki.path(f"{cert}.pem"), "--key", pki.path(f"{cert}.key")] \
            if cert else []
        self.pki = pki
        self.procs = procs
        self.proc = procs.sockit("http", "serve", "--tls", *files, "-p", "0", "-b", "127.0.0.1",
                                 *args, str(root))
        self.port = int(self.proc.wait_err(SERVING.pattern).group(1))
        self.url = f"https://127.0.0.1:{self.port}"

    def curl(self, *args, ca="ca", timeout=30):
        """curl -sS --cacert CA ARGS (bytes); ca None: the system's CAs."""
        trust = ["--cacert", self.pki.path(f"{ca}.pem")] if ca else []
        return subprocess.run([CURL, "-sS", "--noproxy", "*", *trust, *args],
                              capture_output=True, timeout=timeout, env=curl_env())

    def context(self, alpn=("http/1.1",)):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.pki.path("ca.pem"))
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx

    def tls_conn(self, ctx=None, session=None):
        """A Conn (httputil) over a verified TLS socket to the server."""
        raw = self.procs.connect(self.port)
        s = (ctx or self.context()).wrap_socket(raw, server_hostname="localhost",
                                                session=session)
        self.procs.track(s)
        return Conn(s)

    def access_lines(self, expect=0):
        """The access log's lines so far; with expect, after waiting for that
        many (the log is written through a queue, a moment after the
        response)."""
        if expect:
            self.proc.wait_err(CLF.pattern, count=expect)
        return [line for line in self.proc.err.splitlines() if CLF.match(line)]


# --------------------------------------------------------------------------
# 1. The file server, over TLS
# --------------------------------------------------------------------------

def test_get_head_and_alpn_with_curl(procs, pki, tree):
    srv = Https(procs, pki, tree)
    r = srv.curl("-v", srv.url + "/hello.txt")
    assert r.returncode == 0 and r.stdout == b"hello, world\n", r.stderr
    err = r.stderr.decode()
    assert "SSL certificate verify ok" in err, err
    assert re.search(r"ALPN: server accepted http/1\.1", err), err
    assert re.search(r"SSL connection using TLSv1\.3", err), err
    r = srv.curl("-I", srv.url + "/hello.txt")
    assert r.returncode == 0 and r.stdout.startswith(b"HTTP/1.1 200 OK\r\n"), r
    assert b"Content-Length: 13\r\n" in r.stdout


def test_range_and_conditional(procs, pki, tree):
    srv = Https(procs, pki, tree)
    r = srv.curl("-D", "-", "-r", "5-14", srv.url + "/digits.txt")
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206 Partial Content") and body == b"5678901234"
    assert b"Content-Range: bytes 5-14/10000" in head
    etag = re.search(rb"ETag: (\S+)", srv.curl("-I", srv.url + "/digits.txt").stdout).group(1)
    r = srv.curl("-o", "/dev/null", "-w", "%{http_code}", "-H", b"If-None-Match: " + etag,
                 srv.url + "/digits.txt")
    assert r.stdout == b"304"


def test_put_upload_and_delete(procs, pki, tree, tmp_path):
    srv = Https(procs, pki, tree, "--upload", "--allow-delete")
    body = bytes(range(256)) * 4096  # 1 MiB, every byte value
    src = tmp_path / "up.bin"
    src.write_bytes(body)
    r = srv.curl("-w", "%{http_code}", "-o", "/dev/null", "-T", str(src), srv.url + "/up.bin")
    assert r.stdout == b"201", r.stderr
    assert (tree / "up.bin").read_bytes() == body
    r = srv.curl(srv.url + "/up.bin")
    assert r.stdout == body
    r = srv.curl("-w", "%{http_code}", "-X", "DELETE", srv.url + "/up.bin")
    assert r.stdout == b"204"
    assert not (tree / "up.bin").exists()


def test_listing_html_and_json(procs, pki, tree):
    srv = Https(procs, pki, tree)
    html = srv.curl(srv.url + "/").stdout.decode()
    assert "<title>Index of /</title>" in html and 'href="hello.txt"' in html
    names = {e["name"] for e in json.loads(srv.curl(srv.url + "/?format=json").stdout)["entries"]}
    assert names == {"hello.txt", "sub", "digits.txt"}


def test_keep_alive_reuses_one_connection(procs, pki, tree):
    srv = Https(procs, pki, tree)
    r = srv.curl("-v", srv.url + "/hello.txt", srv.url + "/sub/inner.txt", srv.url + "/hello.txt")
    assert r.returncode == 0 and r.stdout == b"hello, world\ninner file\nhello, world\n"
    err = r.stderr.decode()
    assert err.count("Re-using existing connection") == 2, err
    assert err.count("SSL connection using") == 1, err
    # http.client too: three requests, one handshake.
    conn = http.client.HTTPSConnection("localhost", srv.port, context=srv.context(), timeout=WAIT)
    try:
        for path, want in (("/hello.txt", b"hello, world\n"), ("/sub/inner.txt", b"inner file\n"),
                           ("/nope", None)):
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == (200 if want else 404)
            if want:
                assert body == want
    finally:
        conn.close()


def test_pipelined_requests_in_one_record(procs, pki, tree):
    srv = Https(procs, pki, tree)
    c = srv.tls_conn()
    c.send(build("GET", "/hello.txt") + build("HEAD", "/digits.txt") +
           build("GET", "/sub/inner.txt", close=True))
    r1, r2, r3 = c.response(), c.response(head_only=True), c.response()
    assert (r1.status, r1.body) == (200, b"hello, world\n")
    assert (r2.status, r2.get("Content-Length")) == (200, "10000")
    assert (r3.status, r3.body) == (200, b"inner file\n")
    assert c.closed()


def test_large_file_by_checksum(procs, pki, tree, io_mode):
    """256 MiB through TLS (the file read in pieces into the conn's queue
    and encrypted, or sent by kTLS where the kernel has it), by SHA-256;
    then a range in the middle of it."""
    block = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB
    want = hashlib.sha256()
    with open(tree / "big.bin", "wb") as f:
        for i in range(256):
            piece = block[i:] + block[:i]
            f.write(piece)
            want.update(piece)
    srv = Https(procs, pki, tree)
    p = subprocess.Popen([CURL, "-sS", "--noproxy", "*", "--cacert", pki.path("ca.pem"),
                          srv.url + "/big.bin"], stdout=subprocess.PIPE, env=curl_env())
    got, n = hashlib.sha256(), 0
    while chunk := p.stdout.read(1 << 20):
        got.update(chunk)
        n += len(chunk)
    assert p.wait(120) == 0 and n == 256 * MIB
    assert got.hexdigest() == want.hexdigest()
    r = srv.curl("-r", f"{100 * MIB + 7}-{100 * MIB + 7 + 99999}", srv.url + "/big.bin")
    assert r.stdout == (block[100:] + block[:100] + block[101:] + block[:101])[7:7 + 100000]


# --------------------------------------------------------------------------
# 2. TLS itself: resumption, interop, client certificates, trust
# --------------------------------------------------------------------------

def test_s_client_get_and_session_resumption(procs, pki, tree, tmp_path):
    srv = Https(procs, pki, tree, "-v")
    sess = str(tmp_path / "sess.pem")
    req = b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    outs = []
    for flag in ("-sess_out", "-sess_in"):
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}", "-CAfile",
                            pki.path("ca.pem"), "-servername", "localhost", "-alpn", "http/1.1",
                            "-ign_eof", flag, sess], input=req, capture_output=True, timeout=WAIT)
        outs.append(r.stdout.decode("latin-1"))
    assert "Verify return code: 0 (ok)" in outs[0] and "ALPN protocol: http/1.1" in outs[0]
    assert "HTTP/1.1 200 OK\r\n" in outs[0] and "\r\n\r\nhello, world\n" in outs[0], outs[0]
    assert "New, TLSv1.3" in outs[0]
    assert "Reused, TLSv1.3" in outs[1], outs[1]
    assert "HTTP/1.1 200 OK" in outs[1]
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: TLSv1\.3, TLS_AES_256_GCM_SHA384, ALPN http/1\.1, "
                      r"resumed session$")


def test_python_client_resumes_and_tls12_works(procs, pki, tree):
    srv = Https(procs, pki, tree)
    ctx = srv.context()
    c1 = srv.tls_conn(ctx)
    c1.send(build("GET", "/hello.txt"))
    assert c1.response().body == b"hello, world\n"  # the tickets came before it
    c2 = srv.tls_conn(ctx, session=c1.sock.session)
    c2.send(build("GET", "/hello.txt", close=True))
    assert c2.response().status == 200
    assert c2.sock.session_reused and not c1.sock.session_reused
    ctx12 = srv.context()
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    c3 = srv.tls_conn(ctx12)
    assert c3.sock.version() == "TLSv1.2" and c3.sock.selected_alpn_protocol() == "http/1.1"
    c3.send(build("GET", "/sub/inner.txt", close=True))
    assert c3.response().body == b"inner file\n"


def test_tls_min_13_refuses_a_tls12_client(procs, pki, tree):
    srv = Https(procs, pki, tree, "-v", "--tls-min", "1.3")
    r = srv.curl("--tls-max", "1.2", srv.url + "/hello.txt")
    assert r.returncode == 35, r
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: no TLS version in common")
    assert srv.curl(srv.url + "/hello.txt").stdout == b"hello, world\n"


def test_client_certificates(procs, pki, tree):
    srv = Https(procs, pki, tree, "-v", "--verify-client", pki.path("ca.pem"))
    r = srv.curl("--cert", pki.path("client.pem"), "--key", pki.path("client.key"),
                 srv.url + "/hello.txt")
    assert r.returncode == 0 and r.stdout == b"hello, world\n", r.stderr
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: client certificate subject 'CN = test client'$")
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: verified: client certificate from a CA of "
                      r"--verify-client$")
    r = srv.curl(srv.url + "/hello.txt")
    assert r.returncode != 0 and r.stdout == b""
    assert re.search(rb"alert certificate required|alert number 116", r.stderr), r.stderr
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: the peer sent no certificate: a client certificate is "
                      r"required$")
    r = srv.curl("--cert", pki.path("strangeclient.pem"), "--key", pki.path("strangeclient.key"),
                 srv.url + "/hello.txt")
    assert r.returncode != 0 and r.stdout == b""
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: certificate issuer unknown: 'CN = another CA' is not a "
                      r"trusted CA$")


def test_certificate_made_for_the_run_and_its_pin(procs, pki, tree):
    srv = Https(procs, pki, tree, cert=None)
    pin = srv.proc.wait_err(r"clients can check it with --pin sha256:(\S+)$").group(1)
    srv.proc.wait_err(r"^sockit: http serve: TLS certificate made for this run, SHA-256 "
                      r"fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}$")
    r = srv.curl("--insecure", "--pinnedpubkey", f"sha256//{pin}", srv.url + "/hello.txt", ca=None)
    assert r.returncode == 0 and r.stdout == b"hello, world\n", r.stderr
    r = srv.curl("--insecure", "--pinnedpubkey", f"sha256//{pki.pin('server')[7:]}",
                 srv.url + "/hello.txt", ca=None)
    assert r.returncode == 90, r  # curl: SSL public key does not match pinned public key


def test_curl_refuses_an_untrusted_ca_and_a_wrong_name(procs, pki, tree):
    """curl's own clear failures; the server logs the client's alert and
    goes on serving."""
    srv = Https(procs, pki, tree, "-v")
    r = srv.curl(srv.url + "/hello.txt", ca="otherca")
    assert r.returncode == 60, r
    assert b"SSL certificate problem: unable to get local issuer certificate" in r.stderr
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: the peer refused the handshake: alert 'unknown CA'$")
    r = srv.curl(srv.url + "/hello.txt", ca=None)  # the system's CAs
    assert r.returncode == 60 and b"unable to get local issuer certificate" in r.stderr, r
    wrong = Https(procs, pki, tree, cert="othername")
    r = wrong.curl(wrong.url + "/hello.txt")
    assert r.returncode == 60, r
    assert (b"SSL: no alternative certificate subject name matches target host name '127.0.0.1'"
            in r.stderr), r.stderr
    assert srv.curl(srv.url + "/hello.txt").stdout == b"hello, world\n"


# --------------------------------------------------------------------------
# 3. Bad clients cost only their connection
# --------------------------------------------------------------------------

def test_plain_http_to_the_tls_port(procs, pki, tree):
    """A plain-text request is answered with a plain-text 400 that says
    what to do (as nginx does), then closed, and logged like any response;
    it costs nothing else."""
    srv = Https(procs, pki, tree, "-v")
    r = subprocess.run([CURL, "-sS", "--noproxy", "*", "-i",
                        f"http://127.0.0.1:{srv.port}/hello.txt"],
                       capture_output=True, timeout=30, env=curl_env())
    assert r.returncode == 0, r
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Connection: close" in head
    assert body == b"this server speaks HTTPS: ask for https:// URLs\n"
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: the peer does not speak TLS: http request$")
    for method in ("DELETE", "OPTIONS"):  # not in OpenSSL's own list of HTTP methods
        s = procs.connect(srv.port)
        s.sendall(build(method, "/hello.txt"))
        assert recv_all(s).startswith(b"HTTP/1.1 400 Bad Request\r\n")
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: the peer does not speak TLS: wrong version number$",
                      count=2)
    assert srv.curl(srv.url + "/hello.txt").stdout == b"hello, world\n"
    lines = srv.access_lines(4)
    assert len(lines) == 4, lines
    want = [('"GET /hello.txt HTTP/1.1" 400 48'), ('"DELETE /hello.txt HTTP/1.1" 400 48'),
            ('"OPTIONS /hello.txt HTTP/1.1" 400 48'), ('"GET /hello.txt HTTP/1.1" 200 13')]
    for line, end in zip(lines, want):
        assert line.endswith(end), (line, end)
    # A request line longer than what the handshake kept is logged cut, escaped.
    s = procs.connect(srv.port)
    s.sendall(b"GET /" + b"\x01" * 300 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert recv_all(s).startswith(b"HTTP/1.1 400 Bad Request\r\n")
    line = srv.access_lines(5)[4]
    assert '"GET /\\x01\\x01' in line and line.endswith('" 400 48'), line


@pytest.mark.parametrize("garbage,why", [
    (bytes(range(256)) * 4, "the peer does not speak TLS: wrong version number"),
    (b"\x16\x03\x03\xff\xff" + b"x" * 100, "the peer does not speak TLS: packet length too long"),
    (b"\x16\x03\x01\x00\x05hello", "TLS handshake failed: unexpected message"),
    (b"\x17\x03\x03\x00\x10" + b"\0" * 16, "TLS handshake failed: unexpected message"),
    (b"\x80\x2e\x01\x00\x02" + b"\0" * 0x2b,  # an SSLv2 hello
     "the peer does not speak TLS: record length mismatch"),
], ids=["bytes", "huge-record", "bad-hello", "data-first", "sslv2"])
def test_garbage_handshakes_cost_only_their_connection(procs, pki, tree, garbage, why):
    """Bytes that are not a ClientHello: the connection is closed (after an
    alert when they looked like TLS, never with a plain-text answer), -v
    says why, and the server goes on."""
    srv = Https(procs, pki, tree, "-v")
    s = procs.connect(srv.port)
    s.sendall(garbage)
    got = recv_all(s)
    assert got == b"" or got.startswith(b"\x15\x03"), got  # nothing, or a TLS alert
    srv.proc.wait_err(rf"127\.0\.0\.1:\d+: {re.escape(why)}$")
    assert srv.curl(srv.url + "/hello.txt").stdout == b"hello, world\n"
    assert srv.proc.popen.poll() is None


def test_stalled_handshakes_do_not_block_others_and_time_out(procs, pki, tree):
    srv = Https(procs, pki, tree, "-v", "--handshake-timeout", "0.5")
    t0 = time.monotonic()
    stalled = procs.connect(srv.port)
    stalled.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello, then nothing
    silent = procs.connect(srv.port)
    # Half a handshake: a real ClientHello, then no answer to the server's flight.
    ctx = srv.context()
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    half = ctx.wrap_bio(inb, outb, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        half.do_handshake()
    midway = procs.connect(srv.port)
    midway.sendall(outb.read())
    for _ in range(3):
        assert srv.curl(srv.url + "/hello.txt").stdout == b"hello, world\n"
    assert closed_by_peer(stalled, 3) and closed_by_peer(silent, 3)
    assert recv_all(midway, 3).startswith(b"\x16\x03\x03")  # the server's flight, then the close
    assert time.monotonic() - t0 < 3
    srv.proc.wait_err(r"127\.0\.0\.1:\d+: TLS handshake timed out \(no handshake within 500 ms\)$",
                      count=3)
    assert len(srv.access_lines(3)) == 3


def test_client_closing_mid_handshake(procs, pki, tree):
    srv = Https(procs, pki, tree, "-v")
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT)
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x03\x03")
        s.close()
    srv.proc.wait_err(r"TLS handshake failed: the peer closed the connection during the handshake$",
                      count=3)
    assert srv.curl(srv.url + "/hello.txt").stdout == b"hello, world\n"


def test_connection_limit_closes_without_a_503(procs, pki, tree):
    srv = Https(procs, pki, tree, "--max-conns", "1")
    first = srv.tls_conn()
    first.send(build("GET", "/hello.txt"))
    assert first.response().status == 200
    turned = procs.connect(srv.port)
    assert closed_by_peer(turned, WAIT)  # no plain-text 503 to a TLS client
    first.send(build("GET", "/hello.txt", close=True))
    assert first.response().status == 200


# --------------------------------------------------------------------------
# 4. What it prints
# --------------------------------------------------------------------------

def test_verbose_prints_each_handshake_and_the_access_log_is_unchanged(procs, pki, tree):
    srv = Https(procs, pki, tree, "-v")
    srv.curl(srv.url + "/hello.txt")
    srv.proc.wait_err(r"^sockit: http serve: 127\.0\.0\.1:\d+: TLSv1\.3, TLS_AES_256_GCM_SHA384, "
                      r"ALPN http/1\.1, new session$")
    srv.proc.wait_err(r"^sockit: http serve: 127\.0\.0\.1:\d+: verified: client not asked for a "
                      r"certificate$")
    line = srv.proc.wait_err(CLF.pattern).group(0)
    assert line.endswith('"GET /hello.txt HTTP/1.1" 200 13')


def kernel_has_tls_ulp():
    """The question sockit asks: does the kernel attach the tls TCP ULP to
    a loopback connection?"""
    with socket.socket() as lis, socket.socket() as cli:
        lis.bind(("127.0.0.1", 0))
        lis.listen(1)
        cli.connect(lis.getsockname())
        try:
            cli.setsockopt(socket.IPPROTO_TCP, 31, b"tls")  # TCP_ULP
            return True
        except OSError:
            return False


def test_verbose_says_which_path_records_take(procs, pki, tree):
    """kTLS or not: on a kernel without the tls module (modprobe tls) the
    line says so; either way OpenSSL encrypts in user space."""
    srv = Https(procs, pki, tree, "-v")
    path = ("records are encrypted by OpenSSL in user space, file bodies read in 64 KiB "
            "pieces")
    if kernel_has_tls_ulp():
        want = f"sockit: http serve: kTLS: the kernel offers it, unused: {path}"
    else:
        want = (f"sockit: http serve: kTLS: not offered (the kernel has no tls module: modprobe "
                f"tls): {path}")
    assert srv.proc.err.splitlines()[0] == want
    assert srv.curl(srv.url + "/digits.txt").stdout == b"0123456789" * 1000


def test_quiet_without_verbose(procs, pki, tree):
    srv = Https(procs, pki, tree, "-q")
    srv.curl(srv.url + "/hello.txt")
    assert srv.curl(srv.url + "/nope", "-o", "/dev/null", "-w", "%{http_code}").stdout == b"404"
    assert srv.proc.stop() == 0
    assert srv.proc.err.splitlines() == [f"serving on https://127.0.0.1:{srv.port}/"]


# --------------------------------------------------------------------------
# 5. sockit serve --tls
# --------------------------------------------------------------------------

def test_serve_tls_for_its_http_service(procs, pki, tree):
    p = procs.server(SOCKIT, "serve", "--http", "127.0.0.1:0",
                     "--tcp", "127.0.0.1:0:echo", "--root", str(tree), "--tls", "-v",
                     "--cert", pki.path("server.pem"), "--key", pki.path("server.key"),
                     pattern=r"^listening on (127\.0\.0\.1):(\d+) \(https files ")
    r = subprocess.run([CURL, "-sS", "--noproxy", "*", "--cacert", pki.path("ca.pem"),
                        f"https://127.0.0.1:{p.port}/hello.txt"], capture_output=True,
                       timeout=30, env=curl_env())
    assert r.stdout == b"hello, world\n", r.stderr
    tcp = int(p.wait_err(r"^listening on 127\.0\.0\.1:(\d+) \(tcp echo\)$").group(1))
    s = procs.connect(tcp)
    s.sendall(b"plain echo\n")
    assert s.recv(100) == b"plain echo\n"  # TCP services stay plain
    p.wait_err(r"^sockit: serve: 127\.0\.0\.1:\d+: TLSv1\.3, TLS_AES_256_GCM_SHA384, ALPN "
               r"http/1\.1, new session$")
    p.wait_err(r'"GET /hello.txt HTTP/1.1" 200 13$')


def test_serve_tls_usage(sockit, pki):
    r = sockit("serve", "--tcp", "127.0.0.1:0:echo", "--tls")
    assert (r.status, r.err) == (2, "sockit: serve: --tls is for the HTTP services: add --http "
                                    "ADDR:PORT\nsockit: see 'sockit help serve'\n")
    r = sockit("serve", "--cert", pki.path("server.pem"))
    assert (r.status, r.err) == (2, "sockit: serve: --cert is for --tls\n"
                                    "sockit: see 'sockit help serve'\n")


# --------------------------------------------------------------------------
# 6. Usage and file errors
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args,msg", [
    (["--cert", "x.pem"], "--cert is for --tls"),
    (["--verify-client", "ca.pem"], "--verify-client is for --tls"),
    (["--tls", "--key", "x.key"], "--key needs --cert"),
    (["--tls", "--tls-min", "1.1"], "--tls-min '1.1': expected 1.2 or 1.3"),
    (["--tls", "--handshake-timeout", "soon"],
     "--handshake-timeout 'soon': not a number of seconds (0-86400)"),
])
def test_usage_errors(sockit, args, msg):
    r = sockit("http", "serve", *args)
    assert (r.status, r.out, r.err) == (2, "", f"sockit: http serve: {msg}\n{SEE_HELP}\n")


def test_alpn_is_not_an_http_serve_option(sockit):
    r = sockit("http", "serve", "--tls", "--alpn", "h2")
    assert r.status == 2 and "--alpn" in r.err


def test_file_errors_exit_7(sockit, pki, tmp_path):
    """A certificate or key that cannot be used: one line naming the flag,
    the file and why, status 7, before anything listens."""
    (tmp_path / "empty.pem").write_text("")
    cases = [
        (["--cert", str(tmp_path / "none.pem")],
         f"--cert '{tmp_path}/none.pem': no such file or directory"),
        (["--cert", str(tmp_path)], f"--cert '{tmp_path}': is a directory"),
        (["--cert", str(tmp_path / "empty.pem")],
         f"--cert '{tmp_path}/empty.pem': no PEM certificate in the file"),
        (["--cert", pki.path("server.key")],
         f"--cert '{pki.path('server.key')}': no PEM certificate in the file"),
        (["--cert", pki.path("server.pem")],  # no --key: the key is looked for there
         f"--cert '{pki.path('server.pem')}': no PEM private key in the file"),
        (["--cert", pki.path("server.pem"), "--key", pki.path("client.key")],
         f"--key '{pki.path('client.key')}': the private key does not match the certificate"),
        (["--cert", pki.path("server.pem"), "--key", str(tmp_path / "none.key")],
         f"--key '{tmp_path}/none.key': no such file or directory"),
    ]
    for args, msg in cases:
        r = sockit("http", "serve", "--tls", *args, "-p", "0")
        assert (r.status, r.out, r.err) == (7, "", f"sockit: http serve: {msg}\n"), args


@pytest.mark.parametrize("name,words", [
    ("expired", "certificate has expired: valid until 2020-02-01 00:00:00 UTC"),
    ("future", "certificate is not yet valid: valid from 2040-01-01 00:00:00 UTC"),
])
def test_out_of_date_certificate_is_served_with_a_warning(procs, pki, tree, name, words):
    """Served all the same (a lab tests its clients with one), with one line
    at the start saying what every client that verifies will answer."""
    srv = Https(procs, pki, tree, cert=name)
    srv.proc.wait_err(rf"^sockit: http serve: --cert '{re.escape(pki.path(name + '.pem'))}': "
                      rf"{words}; clients that verify will refuse it$")
    r = srv.curl(srv.url + "/hello.txt")
    assert r.returncode == 60 and r.stdout == b"", r
    r = srv.curl("--insecure", srv.url + "/hello.txt")
    assert r.stdout == b"hello, world\n"
