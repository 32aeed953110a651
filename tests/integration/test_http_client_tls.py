"""https:// in `sockit http get|head|put|post|delete` (issue 11 with issue
14's client half): verification by default against the system's CAs, the
TLS flags (--cafile/--cacert, --capath, --pin, -k/--insecure, --servername,
--cert/--key, --tls-min, --handshake-timeout), every refusal with its line
and exit status 6, SNI and ALPN http/1.1, keep-alive and resumption,
close_notify where a body ends with the connection, redirects between
http:// and https://, and https_proxy through a CONNECT tunnel.

The certificates come from test_tls.py's Pki (the openssl CLI, once per
module). The servers are written here on Python's ssl (every byte chosen by
the test) or are `openssl s_server -www`; the proxy is a small CONNECT
relay written here. Everything listens on 127.0.0.1, port 0.
"""
import hashlib
import json
import os
import socket
import ssl
import threading
import time

import pytest

import netutil as nu
from conftest import run_sockit
from test_http_client import free_port, start_nginx
from test_tls import Pki, s_server

WAIT = nu.WAIT


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca("ca", "sockit test CA")
    names = "DNS:localhost,IP:127.0.0.1,IP:::1"
    p.cert("server", "localhost", names)
    p.cert("expired", "localhost", names, start="20200101000000Z", end="20200201000000Z")
    p.cert("future", "localhost", names, start="20400101000000Z", end="20410101000000Z")
    p.cert("othername", "other.example", "DNS:other.example,DNS:*.other.example")
    p.self_signed("selfsigned", "selfie", names)
    p.cert("client", "test client", usage="clientAuth")
    return p


@pytest.fixture
def procs():
    group = nu.Procs()
    yield group
    group.cleanup()


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    env.update(extra)
    return env


def http(*args, env=None, timeout=60):
    """`sockit http ARGS`: (status, stdout bytes, stderr text)."""
    res = run_sockit("http", *args, env=env if env is not None else clean_env(), binary=True,
                     timeout=timeout)
    return res.status, res.out, res.err.decode("utf-8", "replace")


# --------------------------------------------------------------------------
# An HTTPS server whose every byte the test chooses
# --------------------------------------------------------------------------

def accept_until_closed(ls):
    """Connections accepted on ls until the test's cleanup closes it (a
    blocked accept would not notice: hence the short timeout)."""
    ls.settimeout(0.1)
    while True:
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        except OSError:
            return
        yield conn


def read_head(conn):
    """One request head from a socket (b"" at EOF)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return b""
        data += chunk
    return data


class HttpsServer:
    """HTTP/1.1 over TLS on 127.0.0.1: each request's path picks the answer.
    /eof-clean and /eof-cut send a body framed by the connection's end, then
    close with close_notify or without it; /redirect?URL answers 302 to URL;
    any other path answers 200 with "body of PATH" and keeps the connection.
    Records every request head and counts connections and handshakes."""

    def __init__(self, procs, pki, cert="server", alpn=("http/1.1",), client_ca=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki.path(f"{cert}.pem"), pki.path(f"{cert}.key"))
        if alpn:
            self.ctx.set_alpn_protocols(list(alpn))
        if client_ca:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(pki.path(f"{client_ca}.pem"))
        self.procs = procs
        self.heads = []
        self.sni = []
        self.alpn = []
        self.n_conns = 0
        self.ls = procs.track(socket.socket())
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.ctx.sni_callback = lambda sock, name, ctx: self.sni.append(name) and None
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        procs.threads.append(t)

    def url(self, path="/", host="127.0.0.1"):
        return f"https://{host}:{self.port}{path}"

    def _accept(self):
        for conn in accept_until_closed(self.ls):
            self.procs.track(conn)
            self.n_conns += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw):
        raw.settimeout(WAIT)
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.procs.track(conn)
        self.alpn.append(conn.selected_alpn_protocol())
        try:
            while True:
                head = read_head(conn)
                if not head:
                    return
                self.heads.append(head.decode("latin-1"))
                path = head.split(b" ")[1].decode()
                if path in ("/eof-clean", "/eof-cut"):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 1000)
                    if path == "/eof-clean":
                        conn.unwrap().close()  # close_notify, then TCP's FIN
                    return
                if path.startswith("/redirect?"):
                    location = path.split("?", 1)[1].encode()
                    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + location +
                                 b"\r\nContent-Length: 0\r\n\r\n")
                    continue
                body = b"body of " + path.encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        except (ssl.SSLError, OSError):
            return
        finally:
            conn.close()  # Python's close sends no close_notify: only unwrap does


# --------------------------------------------------------------------------
# A CONNECT proxy
# --------------------------------------------------------------------------

class ConnectProxy:
    """An HTTP proxy for CONNECT only (RFC 9110 §9.3.6): records each request
    head, answers `answer` (None: "200 Connection established", then relays
    bytes both ways to the host and port asked for)."""

    def __init__(self, procs, answer=None):
        self.procs = procs
        self.answer = answer
        self.heads = []
        self.ls = procs.track(socket.socket())
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        procs.threads.append(t)

    def _accept(self):
        for conn in accept_until_closed(self.ls):
            self.procs.track(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(WAIT)
        try:
            head = read_head(conn)
            self.heads.append(head.decode("latin-1"))
            if self.answer:
                conn.sendall(self.answer)
                return
            host, port = head.split(b" ")[1].decode().rsplit(":", 1)
            up = self.procs.track(socket.create_connection((host.strip("[]"), int(port)), WAIT))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            threading.Thread(target=self._pipe, args=(up, conn), daemon=True).start()
            self._pipe(conn, up)
        except OSError:
            pass

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    b.shutdown(socket.SHUT_WR)
                    return
                b.sendall(data)
        except OSError:
            pass


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

def test_https_get_verified_against_cafile(procs, pki):
    srv = HttpsServer(procs, pki)
    for flag in ("--cafile", "--cacert"):
        status, out, err = http("get", flag, pki.path("ca.pem"), srv.url("/a"))
        assert (status, out, err) == (0, b"body of /a", "")
    # The request went as any other: origin-form, Host with the port.
    assert srv.heads[0].startswith(f"GET /a HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n")


def test_https_verifies_against_the_system_store_by_default(procs, pki):
    srv = HttpsServer(procs, pki)
    status, out, err = http("get", srv.url())
    assert (status, out) == (6, b"")
    assert err == (f"sockit: http get: '{srv.url()}': certificate issuer unknown: "
                   "'CN = sockit test CA' is not a trusted CA\n")


def test_https_capath(procs, pki, tmp_path):
    srv = HttpsServer(procs, pki)
    d = tmp_path / "cas"
    d.mkdir()
    (d / "ca.pem").write_bytes(open(pki.path("ca.pem"), "rb").read())
    import subprocess
    subprocess.run(["openssl", "rehash", str(d)], check=True, capture_output=True, timeout=30)
    assert http("get", "--capath", str(d), srv.url("/c")) == (0, b"body of /c", "")


@pytest.mark.parametrize("cert, url_host, message", [
    ("expired", "127.0.0.1", "certificate has expired: valid until 2020-02-01 00:00:00 UTC"),
    ("future", "127.0.0.1", "certificate is not yet valid: valid from 2040-01-01 00:00:00 UTC"),
    ("othername", "127.0.0.1", "certificate name mismatch: '127.0.0.1' is not among its names "
                               "(DNS:other.example, DNS:*.other.example)"),
    ("selfsigned", "127.0.0.1", "self-signed certificate 'CN = selfie' is not trusted "
                                "(to accept it: --pin {pin})"),
])
def test_https_refusals_name_the_reason(procs, pki, cert, url_host, message):
    srv = HttpsServer(procs, pki, cert=cert)
    url = srv.url("/", host=url_host)
    status, out, err = http("get", "--cafile", pki.path("ca.pem"), url)
    assert (status, out) == (6, b""), err
    assert err == f"sockit: http get: '{url}': {message.format(pin=pki.pin(cert))}\n"
    # Nothing was sent over a connection whose server was refused.
    assert srv.heads == []


def test_https_refusal_in_write_out_json(procs, pki):
    srv = HttpsServer(procs, pki, cert="expired")
    status, out, _ = http("get", "-w", "json", "--cafile", pki.path("ca.pem"), srv.url())
    doc = json.loads(out)
    assert status == 6 and doc["exit_status"] == 6 and doc["status"] is None
    assert doc["error"].startswith("certificate has expired: valid until ")


def test_https_name_is_checked_as_dns_name(procs, pki):
    srv = HttpsServer(procs, pki, cert="othername")
    # localhost resolves, but the certificate is for other.example.
    url = srv.url("/", host="localhost")
    status, _, err = http("get", "--cafile", pki.path("ca.pem"), url)
    assert status == 6
    assert err == (f"sockit: http get: '{url}': certificate name mismatch: 'localhost' is not "
                   "among its names (DNS:other.example, DNS:*.other.example)\n")
    # --servername: the name checked and sent as SNI instead of the host.
    status, out, err = http("get", "--cafile", pki.path("ca.pem"), "--servername",
                            "www.other.example", srv.url("/s"))
    assert (status, out, err) == (0, b"body of /s", "")
    assert srv.sni[-1] == "www.other.example"


def test_https_sni_for_names_never_for_addresses(procs, pki):
    srv = HttpsServer(procs, pki)
    assert http("get", "--cafile", pki.path("ca.pem"), srv.url("/n", host="localhost"))[0] == 0
    assert http("get", "--cafile", pki.path("ca.pem"), srv.url("/a"))[0] == 0
    assert srv.sni == ["localhost", None]


def test_https_pin_accepts_exactly_its_key(procs, pki):
    srv = HttpsServer(procs, pki, cert="selfsigned")
    pin = pki.pin("selfsigned")
    assert http("get", "--pin", pin, srv.url("/p")) == (0, b"body of /p", "")
    wrong = pki.pin("server")
    status, out, err = http("get", "--pin", wrong, srv.url("/p"))
    assert (status, out) == (6, b"")
    assert err == f"sockit: http get: '{srv.url('/p')}': certificate pin mismatch: its public " \
                  f"key is {pin}\n"


@pytest.mark.parametrize("flag", ["-k", "--insecure"])
def test_https_insecure_accepts_anything_and_says_so(procs, pki, flag):
    srv = HttpsServer(procs, pki, cert="expired")
    status, out, err = http("get", flag, srv.url("/k"))
    assert (status, out) == (0, b"body of /k")
    assert err == "sockit: http get: --insecure: the server's certificate is not checked\n"


def test_https_verbose_prints_the_handshake_and_alpn(procs, pki):
    srv = HttpsServer(procs, pki)
    status, out, err = http("get", "-v", "--cafile", pki.path("ca.pem"), srv.url("/v"))
    assert status == 0 and out == b"body of /v"
    assert "sockit: http get: TLSv1.3, TLS_" in err
    assert ", ALPN http/1.1, new session\n" in err
    assert "sockit: http get: certificate subject 'CN = localhost'\n" in err
    assert "sockit: http get: certificate names DNS:localhost, IP:127.0.0.1, IP:" in err
    assert "sockit: http get: verified: chain to a trusted CA, name '127.0.0.1'\n" in err
    assert srv.alpn == ["http/1.1"]


def test_https_tls_min_and_handshake_timeout(procs, pki):
    srv = HttpsServer(procs, pki)
    srv.ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    status, _, err = http("get", "--tls-min", "1.3", "--cafile", pki.path("ca.pem"), srv.url())
    assert status == 6 and "sockit: http get: '" in err, err
    assert http("get", "--tls-min", "1.2", "--cafile", pki.path("ca.pem"), srv.url("/t"))[:2] == \
        (0, b"body of /t")
    # A server that accepts and never answers the ClientHello.
    port = procs.py_server(lambda conn: time.sleep(1.5))
    url = f"https://127.0.0.1:{port}/"
    start = time.monotonic()
    status, out, err = http("get", "--handshake-timeout", "0.5", url)
    assert time.monotonic() - start < 2.5
    assert (status, out) == (5, b"")
    assert err.startswith(f"sockit: http get: '{url}': TLS handshake timed out"), err


def test_https_to_a_server_that_does_not_speak_tls(procs):
    port = procs.py_server(lambda conn: (conn.recv(4096),
                                         conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")))
    url = f"https://127.0.0.1:{port}/"
    status, out, err = http("get", url)
    assert (status, out) == (6, b"")
    assert err.startswith(f"sockit: http get: '{url}': the peer does not speak TLS"), err


def test_https_client_certificate(procs, pki):
    srv = HttpsServer(procs, pki, client_ca="ca")
    ca = pki.path("ca.pem")
    assert http("get", "--cafile", ca, "--cert", pki.path("client.pem"), "--key",
                pki.path("client.key"), srv.url("/cc")) == (0, b"body of /cc", "")
    status, out, err = http("get", "--cafile", ca, srv.url("/cc"))
    assert (status, out) == (6, b"")
    assert err == (f"sockit: http get: '{srv.url('/cc')}': the peer refused the handshake: "
                   "alert 'certificate required'\n")


def test_https_file_errors_are_local(procs, pki, tmp_path):
    srv = HttpsServer(procs, pki)
    missing = str(tmp_path / "none.pem")
    status, _, err = http("get", "--cafile", missing, srv.url())
    assert status == 7
    assert err == f"sockit: http get: --cafile '{missing}': no such file or directory\n"
    # Only an https:// URL needs the settings: http:// never reads them.
    status, _, err = http("get", "--cafile", missing, "http://127.0.0.1:1/")
    assert status == 4 and "--cafile" not in err


@pytest.mark.parametrize("args, message", [
    (["--insecure", "--pin", "sha256:x"], "--insecure checks nothing: drop --pin"),
    (["--key", "k.pem"], "--key needs --cert"),
    (["--pin", "sha256:AAAA", "--cafile", "ca.pem"], "--pin replaces the CA check: drop --cafile"),
    (["--tls-min", "1.1"], "--tls-min '1.1': expected 1.2 or 1.3"),
])
def test_https_usage_errors(args, message):
    status, _, err = http("get", *args, "https://127.0.0.1:1/")
    assert status == 2
    assert err.splitlines()[0] == "sockit: http get: " + message


# --------------------------------------------------------------------------
# Connections: keep-alive, resumption, close_notify, redirects
# --------------------------------------------------------------------------

@pytest.fixture(params=["epoll", "io_uring"])
def io_env(request):
    """The client's loop on epoll (its default) or io_uring (SOCKIT_IO_URING=1)."""
    if request.param == "io_uring" and os.environ.get("SOCKIT_IO_URING") == "0":
        pytest.skip("SOCKIT_IO_URING=0 is set: the epoll path only")
    return clean_env(SOCKIT_IO_URING="1" if request.param == "io_uring" else "0")


def test_https_keeps_the_connection_alive(procs, pki, io_env):
    srv = HttpsServer(procs, pki)
    status, out, err = http("get", "-v", "--cafile", pki.path("ca.pem"), srv.url("/1"),
                            srv.url("/2"), srv.url("/3"), env=io_env)
    assert (status, out) == (0, b"body of /1body of /2body of /3")
    assert srv.n_conns == 1
    assert err.count("* reusing the connection to 127.0.0.1:") == 2
    assert err.count("TLSv1.3") == 1  # one handshake


def test_https_resumes_the_session_on_the_next_connection(procs, pki):
    srv = HttpsServer(procs, pki)
    status, out, _ = http("get", "-w", "json", "-o", "/dev/null", "-o", "/dev/null",
                          "--cafile", pki.path("ca.pem"), srv.url("/eof-clean"),
                          srv.url("/eof-clean"))
    assert status == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert srv.n_conns == 2
    assert first["tls"]["resumed"] is False and second["tls"]["resumed"] is True
    assert first["tls"]["version"] == "TLSv1.3" and first["tls"]["alpn"] == "http/1.1"
    assert first["tls"]["verified"] == "ca"
    assert first["tls"]["certificate"]["subject"] == "CN = localhost"
    assert first["tls"]["certificate"]["pin"] == pki.pin("server")
    assert 0 < first["time"]["connect"] <= first["time"]["tls_handshake"] \
        <= first["time"]["request_sent"] <= first["time"]["first_byte"]


def test_https_body_ended_by_the_connection_needs_close_notify(procs, pki, tmp_path):
    srv = HttpsServer(procs, pki)
    ca = pki.path("ca.pem")
    out_file = tmp_path / "f"
    status, out, err = http("get", "--cafile", ca, "-o", str(out_file), srv.url("/eof-clean"))
    assert (status, err) == (0, "") and out_file.read_bytes() == b"x" * 1000
    out_file.unlink()
    url = srv.url("/eof-cut")
    status, out, err = http("get", "--cafile", ca, "-o", str(out_file), url)
    assert status == 6
    assert err == (f"sockit: http get: '{url}': the server closed the connection without TLS "
                   "close_notify after 1000 bytes of a body that ends with the connection: it "
                   "may have been cut short\n")
    assert not out_file.exists() and not [p for p in os.listdir(tmp_path) if ".sockit-" in p]


def test_https_with_openssl_s_server(procs, pki):
    s, port = s_server(procs, "-www", "-cert", pki.path("server.pem"), "-key",
                       pki.path("server.key"), "-alpn", "http/1.1")
    status, out, err = http("get", "-v", "--cafile", pki.path("ca.pem"),
                            f"https://127.0.0.1:{port}/")
    assert status == 0, err
    assert out.startswith(b"<HTML><BODY") and b"TLSv1.3" in out
    assert ", ALPN http/1.1, " in err


def test_https_from_nginx_by_checksum_and_resume(procs, pki, tmp_path):
    """nginx as the TLS server: 64 MiB by checksum, then a resume of half
    of it (-C -: a Range over TLS, 206 appended)."""
    root = tmp_path / "root"
    root.mkdir()
    big = os.urandom(64 << 20)
    (root / "big.bin").write_bytes(big)
    tls_port = free_port()
    start_nginx(procs, root, tmp_path, extra=f"listen 127.0.0.1:{tls_port} ssl; "
                f"ssl_certificate {pki.path('server.pem')}; "
                f"ssl_certificate_key {pki.path('server.key')};")
    nu.wait_listening(tls_port)
    url = f"https://127.0.0.1:{tls_port}/big.bin"
    out = tmp_path / "big.bin"
    status, _, err = http("get", "--cafile", pki.path("ca.pem"), "-o", str(out), url)
    assert (status, err) == (0, "")
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(big).digest()
    out.write_bytes(big[:len(big) // 2])
    status, _, err = http("get", "--cafile", pki.path("ca.pem"), "-C", "-", "-o", str(out), url)
    assert (status, err) == (0, "")
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(big).digest()


def test_redirects_between_http_and_https(procs, pki):
    srv = HttpsServer(procs, pki)
    target = srv.url("/there")

    def plain(conn):
        read_head(conn)
        conn.sendall(b"HTTP/1.1 301 Moved\r\nLocation: " + target.encode() +
                     b"\r\nContent-Length: 0\r\n\r\n")
    port = procs.py_server(plain)
    status, out, err = http("get", "-L", "-w", "json", "--cafile", pki.path("ca.pem"),
                            f"http://127.0.0.1:{port}/here")
    assert status == 0, err
    assert out.startswith(b"body of /there{")
    doc = json.loads(out[len(b"body of /there"):])
    assert doc["url_effective"] == target and doc["redirects"][0]["status"] == 301
    assert doc["tls"]["certificate"]["subject"] == "CN = localhost"
    # Credentials given for the https:// origin are not sent to another.
    other = HttpsServer(procs, pki)
    url = srv.url("/redirect?" + other.url("/x"))
    assert http("get", "-L", "-u", "me:secret", "--cafile", pki.path("ca.pem"), url)[:2] == \
        (0, b"body of /x")
    assert "Authorization: Basic" in srv.heads[-1]
    assert "Authorization" not in other.heads[-1]


# --------------------------------------------------------------------------
# Proxies: https_proxy and --proxy through CONNECT
# --------------------------------------------------------------------------

def test_https_through_a_connect_proxy(procs, pki, io_env):
    srv = HttpsServer(procs, pki)
    proxy = ConnectProxy(procs)
    env = dict(io_env, https_proxy=f"http://user:pw@127.0.0.1:{proxy.port}")
    status, out, err = http("get", "--cafile", pki.path("ca.pem"), srv.url("/p", host="localhost"),
                            env=env)
    assert (status, out, err) == (0, b"body of /p", "")
    assert proxy.heads == [f"CONNECT localhost:{srv.port} HTTP/1.1\r\nHost: localhost:{srv.port}"
                           "\r\nProxy-Authorization: Basic dXNlcjpwdw==\r\n\r\n"]
    # The origin's request is its own: origin-form, no proxy credentials.
    assert srv.heads[0].startswith(f"GET /p HTTP/1.1\r\nHost: localhost:{srv.port}\r\n")
    assert "Proxy-Authorization" not in srv.heads[0]
    # The certificate was checked against the origin, SNI its name.
    assert srv.sni == ["localhost"]


def test_https_proxy_flag_and_noproxy(procs, pki):
    srv = HttpsServer(procs, pki)
    proxy = ConnectProxy(procs)
    ca = pki.path("ca.pem")
    assert http("get", "--cafile", ca, "--proxy", f"127.0.0.1:{proxy.port}", srv.url("/1"))[:2] \
        == (0, b"body of /1")
    assert len(proxy.heads) == 1 and proxy.heads[0].startswith(f"CONNECT 127.0.0.1:{srv.port} ")
    # no_proxy names the host: direct. --proxy '': direct. http_proxy alone
    # is for http:// URLs only.
    env = clean_env(https_proxy=f"http://127.0.0.1:{proxy.port}", no_proxy="127.0.0.1")
    assert http("get", "--cafile", ca, srv.url("/2"), env=env)[:2] == (0, b"body of /2")
    env = clean_env(https_proxy=f"http://127.0.0.1:{proxy.port}")
    assert http("get", "--cafile", ca, "--proxy", "", srv.url("/3"), env=env)[:2] == \
        (0, b"body of /3")
    env = clean_env(http_proxy=f"http://127.0.0.1:{proxy.port}")
    assert http("get", "--cafile", ca, srv.url("/4"), env=env)[:2] == (0, b"body of /4")
    assert len(proxy.heads) == 1
    # Kept alive through the tunnel: two URLs, one CONNECT.
    assert http("get", "--cafile", ca, "-x", f"127.0.0.1:{proxy.port}", srv.url("/5"),
                srv.url("/6"))[:2] == (0, b"body of /5body of /6")
    assert len(proxy.heads) == 2


def test_https_proxy_refusal(procs, pki):
    proxy = ConnectProxy(procs, answer=b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                                       b"Content-Length: 5\r\n\r\nnope!")
    url = "https://127.0.0.1:9/"
    status, out, err = http("get", "-x", f"127.0.0.1:{proxy.port}", url)
    assert (status, out) == (6, b"")
    assert err == (f"sockit: http get: '{url}': proxy refused the tunnel: the proxy answered "
                   "CONNECT with 407 Proxy Authentication Required\n")
    # A proxy that closes without an answer.
    port = procs.py_server(lambda conn: read_head(conn))
    status, _, err = http("get", "-x", f"127.0.0.1:{port}", url)
    assert status == 6
    assert err == f"sockit: http get: '{url}': connection closed without a response\n"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_proxy_name_not_found_is_the_proxy_s(scheme):
    env = clean_env(**{f"{scheme}_proxy": "http://no-such-proxy.invalid:3128"})
    status, _, err = http("get", f"{scheme}://127.0.0.1:1/", env=env)
    assert status == 3
    assert err == "sockit: http get: proxy 'no-such-proxy.invalid': name not known\n"


def test_tls_proxy_is_refused(procs):
    status, _, err = http("get", "-x", "https://127.0.0.1:3128", "https://127.0.0.1:1/")
    assert status == 2
    assert err.splitlines()[0] == ("sockit: http get: proxy 'https://127.0.0.1:3128': only "
                                   "http:// proxies are supported")
