"""Integration tests for TLS in `sockit tcp connect --tls` and `sockit tcp
listen --tls`: verification against a CA made here (and every way a
certificate is refused, with its exact line and exit status 6), pinning,
--insecure, ALPN, client certificates, every listen mode, half-close and
close_notify, a peer stalling mid-handshake, interop both ways with
`openssl s_client`/`s_server`, `ncat --ssl` and socat `OPENSSL:`, 1 GiB
through connect → listen by checksum, usage and file errors.

The certificates are made once per run with the openssl CLI (module fixture
`pki`): a CA; a server certificate for localhost, 127.0.0.1 and ::1; an
expired one, a not-yet-valid one, one for another name, a self-signed one;
a client certificate from the CA and one from another CA. Only loopback
addresses are used. Server tests run on both of the loop's I/O paths
(io_uring, and epoll with SOCKIT_IO_URING=0): test ids say which.
"""
import hashlib
import os
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest

import netutil as nu
from conftest import SOCKIT
from netutil import WAIT, closed_by_peer, recv_all, recv_exact

GIB = 1024 * 1024 * 1024
SEE_HELP = "sockit: see 'sockit help tcp'"
IO_MODES = ["io_uring", "epoll"]


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


CA_CONF = """[ca]
default_ca = ca
[ca]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
"""


class Pki:
    """Files in one directory: NAME.pem and NAME.key for each certificate."""

    def __init__(self, d):
        self.dir = d
        (d / "ca.cnf").write_text(CA_CONF)

    def path(self, name):
        return str(self.dir / name)

    def ca(self, name, cn):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "30",
                "-subj", f"/CN={cn}", cwd=self.dir)
        (self.dir / f"{name}.index.txt").write_text("")
        (self.dir / f"{name}.serial").write_text("1000\n")

    def cert(self, name, cn, san=None, ca="ca", start=None, end=None, usage="serverAuth"):
        """A certificate signed by ca, valid from start to end
        (YYYYMMDDHHMMSSZ; default: now for 10 days)."""
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=self.dir)
        ext = f"basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n"
        if san:
            ext += f"subjectAltName={san}\n"
        (self.dir / f"{name}.ext").write_text(ext)
        # openssl ca: the only CLI form that takes any validity period.
        conf = CA_CONF.replace("database = index.txt", f"database = {ca}.index.txt") \
                      .replace("serial = serial", f"serial = {ca}.serial")
        (self.dir / f"{name}.cnf").write_text(conf)
        def stamp(t):
            return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))
        dates = ["-startdate", start or stamp(time.time() - 60),
                 "-enddate", end or stamp(time.time() + 10 * 86400)]
        openssl("ca", "-batch", "-config", f"{name}.cnf", "-cert", f"{ca}.pem",
                "-keyfile", f"{ca}.key", "-in", f"{name}.csr", "-out", f"{name}.pem",
                "-extfile", f"{name}.ext", "-notext", *dates, cwd=self.dir)

    def self_signed(self, name, cn, san):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "10",
                "-subj", f"/CN={cn}", "-addext", f"subjectAltName={san}", cwd=self.dir)

    def pin(self, name):
        """sha256:BASE64 of the certificate's public key, as curl computes it."""
        der = subprocess.run(
            f"openssl x509 -in {name}.pem -pubkey -noout | openssl pkey -pubin -outform der",
            shell=True, cwd=self.dir, check=True, capture_output=True).stdout
        import base64
        return "sha256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca("ca", "sockit test CA")
    p.ca("otherca", "another CA")
    names = "DNS:localhost,IP:127.0.0.1,IP:::1"
    p.cert("server", "localhost", names)
    p.cert("expired", "localhost", names, start="20200101000000Z", end="20200201000000Z")
    p.cert("future", "localhost", names, start="20400101000000Z", end="20410101000000Z")
    p.cert("othername", "other.example", "DNS:other.example,DNS:*.other.example")
    p.self_signed("selfsigned", "selfie", names)
    p.cert("client", "test client", usage="clientAuth")
    p.cert("strangeclient", "stranger", ca="otherca", usage="clientAuth")
    return p


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def env_for(io_mode):
    env = dict(os.environ)
    if io_mode == "epoll":
        env["SOCKIT_IO_URING"] = "0"
    else:
        env.pop("SOCKIT_IO_URING", None)
    return env


# io_mode and procs (one group of processes per test, in that I/O mode)
# come from conftest.py, parametrized by IO_MODES.


def s_server(procs, *args, **kw):
    """openssl s_server on 127.0.0.1 and a free port, listening; (proc,
    port). A port taken between free_port and the bind (other suites run
    beside this one) is tried again with another."""
    for attempt in range(5):
        port = nu.free_port()
        s = procs.spawn("openssl", "s_server", "-accept", f"127.0.0.1:{port}", *args, **kw)
        try:
            nu.wait_listening(port, s)
            return s, port
        except AssertionError as e:
            if "Address already in use" not in str(e) or attempt == 4:
                raise


def tls_listen(procs, pki, *args, cert="server", **kw):
    """sockit tcp listen --tls with pki's certificate NAME (None: the
    server makes its own)."""
    files = ["--cert", pki.path(f"{cert}.pem"), "--key", pki.path(f"{cert}.key")] if cert else []
    return procs.listen("--tls", *files, *args, **kw)


def connect(procs, *args, data=b"", timeout=WAIT):
    """sockit tcp connect ARGS with data on stdin; returns (status, out, err)."""
    p = procs.sockit("tcp", "connect", *args, stdin_data=data)
    status = p.wait(timeout)
    return status, p.out, p.err


def py_client(pki, port, host="127.0.0.1", server_hostname="localhost", cert=None, alpn=None,
              verify=True):
    """A Python TLS client socket (ragged EOFs raise: a missing
    close_notify shows)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(pki.path("ca.pem"))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(pki.path(f"{cert}.pem"), pki.path(f"{cert}.key"))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    raw = socket.create_connection((host, port), timeout=WAIT) if family == socket.AF_INET else \
        socket.create_connection((host, port, 0, 0), timeout=WAIT)
    return ctx.wrap_socket(raw, server_hostname=server_hostname, suppress_ragged_eofs=False)


def tls_recv_all(s, timeout=WAIT):
    """Everything until close_notify (a truncation raises SSLEOFError)."""
    s.settimeout(timeout)
    got = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(got)
        got += chunk


def tls_recv_exact(s, n, timeout=WAIT):
    s.settimeout(timeout)
    got = bytearray()
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            raise AssertionError(f"EOF after {len(got)} of {n} bytes: {bytes(got)!r}")
        got += chunk
    return bytes(got)


def no_reply(s, seconds=0.2):
    """True if nothing arrives on TLS socket s within seconds."""
    s.settimeout(seconds)
    try:
        return s.recv(1) is None
    except (socket.timeout, ssl.SSLWantReadError):
        return True


def printed_pin(listener):
    return listener.wait_err(r"clients can check it with --pin (sha256:\S+)$").group(1)


def tls_py_server(procs, pki, handler, cert="server"):
    """A Python TLS server on 127.0.0.1 for one client; handler(ssl_sock)
    runs in a thread. Returns the port."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.path(f"{cert}.pem"), pki.path(f"{cert}.key"))

    def wrapped(conn):
        s = ctx.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False)
        handler(s)
    return procs.py_server(wrapped)


# --------------------------------------------------------------------------
# 1. Verification: CA, names, and every refusal
# --------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_connect_verifies_chain_and_name(procs, pki, host):
    srv = tls_listen(procs, pki, "--echo", "0")
    status, out, err = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), host, str(srv.port),
                               data=b"over TLS\n")
    assert (status, out, err) == (0, b"over TLS\n", "")


def test_connect_verbose_prints_the_session_and_certificate(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "--alpn", "x-test", "0")
    status, out, err = connect(procs, "-v", "--tls", "--cafile", pki.path("ca.pem"),
                               "--alpn", "x-test", "localhost", str(srv.port), data=b"v\n")
    assert status == 0 and out == b"v\n", err
    lines = err.splitlines()
    assert re.fullmatch(r"sockit: tcp connect: TLSv1\.3, TLS_AES_256_GCM_SHA384, ALPN x-test, "
                        r"new session", lines[1]), lines
    cert = [line.split(": ", 2)[2] for line in lines if "certificate " in line]
    assert cert[0] == "certificate subject 'CN = localhost'"
    assert cert[1] == "certificate issuer 'CN = sockit test CA'"
    assert cert[2] == "certificate names DNS:localhost, IP:127.0.0.1, IP:::1"
    assert re.fullmatch(r"certificate valid from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", cert[3])
    fp = subprocess.run(["openssl", "x509", "-in", pki.path("server.pem"), "-noout", "-fingerprint",
                         "-sha256"], capture_output=True, text=True).stdout.strip().split("=")[1]
    assert cert[4] == f"certificate SHA-256 {fp}"
    assert cert[5] == f"certificate pin {pki.pin('server')}"
    assert "sockit: tcp connect: verified: chain to a trusted CA, name 'localhost'" in lines


def refusal(port, why):
    return f"sockit: tcp connect: 127.0.0.1:{port}: {why}\n"


def test_refused_expired(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0", cert="expired")
    res = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "127.0.0.1", str(srv.port))
    assert res == (6, b"", refusal(srv.port, "certificate has expired: valid until "
                                   "2020-02-01 00:00:00 UTC"))


def test_refused_not_yet_valid(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0", cert="future")
    res = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "127.0.0.1", str(srv.port))
    assert res == (6, b"", refusal(srv.port, "certificate is not yet valid: valid from "
                                   "2040-01-01 00:00:00 UTC"))


def test_refused_self_signed(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0", cert="selfsigned")
    res = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "127.0.0.1", str(srv.port))
    assert res == (6, b"", refusal(srv.port, "self-signed certificate 'CN = selfie' is not trusted "
                                   f"(to accept it: --pin {pki.pin('selfsigned')})"))


def test_refused_unknown_issuer_against_the_system_store(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0")
    res = connect(procs, "--tls", "127.0.0.1", str(srv.port))
    assert res == (6, b"", refusal(srv.port, "certificate issuer unknown: 'CN = sockit test CA' is "
                                   "not a trusted CA"))


def test_refused_name_mismatch_lists_the_names(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0", cert="othername")
    res = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "127.0.0.1", str(srv.port))
    assert res == (6, b"", refusal(srv.port, "certificate name mismatch: '127.0.0.1' is not among "
                                   "its names (DNS:other.example, DNS:*.other.example)"))


def test_servername_checks_and_sends_another_name(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0", cert="othername")
    status, out, err = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "--servername",
                               "www.other.example", "127.0.0.1", str(srv.port), data=b"wild\n")
    assert (status, out, err) == (0, b"wild\n", "")
    # A wildcard is one whole label: not two.
    res = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "--servername",
                  "a.b.other.example", "127.0.0.1", str(srv.port))
    assert res[0] == 6 and "certificate name mismatch: 'a.b.other.example'" in res[2]


def test_capath(procs, pki, tmp_path):
    h = subprocess.run(["openssl", "x509", "-in", pki.path("ca.pem"), "-noout", "-hash"],
                       capture_output=True, text=True).stdout.strip()
    os.symlink(pki.path("ca.pem"), tmp_path / f"{h}.0")
    srv = tls_listen(procs, pki, "--echo", "0")
    status, out, _ = connect(procs, "--tls", "--capath", str(tmp_path), "localhost", str(srv.port),
                             data=b"path\n")
    assert (status, out) == (0, b"path\n")


def test_pin_accepts_the_listener_certificate_made_for_the_run(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0", cert=None)
    fp = srv.wait_err(r"TLS certificate made for this run, SHA-256 fingerprint "
                      r"((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$").group(1)
    pin = printed_pin(srv)
    status, out, err = connect(procs, "-v", "--tls", "--pin", pin, "127.0.0.1", str(srv.port),
                               data=b"pinned\n")
    assert status == 0 and out == b"pinned\n", err
    assert f"certificate SHA-256 {fp}" in err
    assert "verified: public key pinned (--pin)" in err
    assert "names DNS:" in err and "DNS:localhost, IP:127.0.0.1, IP:::1" in err


def test_pin_mismatch(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0")
    other = pki.pin("selfsigned")
    res = connect(procs, "--tls", "--pin", other, "127.0.0.1", str(srv.port))
    assert res == (6, b"", refusal(srv.port, f"certificate pin mismatch: its public key is "
                                   f"{pki.pin('server')}"))


def test_pin_with_a_backup_pin(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0")
    status, out, _ = connect(procs, "--tls", "--pin", pki.pin("selfsigned"), "--pin",
                             pki.pin("server"), "127.0.0.1", str(srv.port), data=b"2nd\n")
    assert (status, out) == (0, b"2nd\n")


def test_insecure_says_so(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0", cert="expired")
    res = connect(procs, "--tls", "--insecure", "127.0.0.1", str(srv.port), data=b"lab\n")
    assert res == (0, b"lab\n", "sockit: tcp connect: --insecure: the server's certificate is not "
                   "checked\n")


# --------------------------------------------------------------------------
# 2. ALPN, versions, sessions
# --------------------------------------------------------------------------

def test_alpn_server_picks_its_first(procs, pki):
    srv = tls_listen(procs, pki, "-v", "--echo", "--alpn", "http/1.1,h2", "0")
    status, _, err = connect(procs, "-v", "--tls", "--cafile", pki.path("ca.pem"), "--alpn",
                             "h2,http/1.1", "localhost", str(srv.port), data=b"x")
    assert status == 0 and ", ALPN http/1.1, " in err
    srv.wait_err(r": TLSv1\.3, \S+, ALPN http/1\.1, new session$")


def test_alpn_no_protocol_in_common_is_refused(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "--alpn", "imap", "0")
    res = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "--alpn", "h2", "localhost",
                  str(srv.port))
    assert res == (6, b"", "sockit: tcp connect: 127.0.0.1:%d: the peer refused the handshake: "
                   "alert 'no application protocol'\n" % srv.port)


def test_tls_min_13_against_a_12_server(procs, pki):
    s, port = s_server(procs, "-cert", pki.path("server.pem"),
                    "-key", pki.path("server.key"), "-tls1_2", "-quiet", keep_stdin=True)
    status, _, err = connect(procs, "--tls", "--tls-min", "1.3", "--cafile", pki.path("ca.pem"),
                             "localhost", str(port))
    assert status == 6
    assert err.startswith(f"sockit: tcp connect: 127.0.0.1:{port}: no TLS version in common "
                          "with the peer"), err


def test_tls12_works(procs, pki):
    s, port = s_server(procs, "-cert", pki.path("server.pem"),
                    "-key", pki.path("server.key"), "-tls1_2", "-quiet", "-naccept", "1",
                    keep_stdin=True)
    status, _, err = connect(procs, "-v", "--tls", "--cafile", pki.path("ca.pem"), "localhost",
                             str(port), data=b"twelve\n")
    assert status == 0, err
    assert re.search(r"TLSv1\.2, ECDHE-ECDSA-AES256-GCM-SHA384, ALPN none", err), err
    s.wait_out(b"twelve\n")


def test_listener_resumes_sessions(procs, pki, tmp_path):
    srv = tls_listen(procs, pki, "--echo", "0")
    sess = str(tmp_path / "sess.pem")
    outs = []
    for flag in ("-sess_out", "-sess_in"):
        # stdin stays open a moment: TLS 1.3 tickets follow the handshake.
        r = subprocess.run(f"(echo hi; sleep 0.5) | openssl s_client -connect 127.0.0.1:{srv.port} "
                           f"-CAfile {pki.path('ca.pem')} {flag} {sess}", shell=True,
                           capture_output=True, timeout=WAIT)
        outs.append(r.stdout.decode())
    assert "New, TLSv1.3" in outs[0]
    assert "Reused, TLSv1.3" in outs[1], outs[1]


# --------------------------------------------------------------------------
# 3. Client certificates
# --------------------------------------------------------------------------

def test_client_certificate_accepted(procs, pki):
    srv = tls_listen(procs, pki, "-v", "--echo", "--verify-client", pki.path("ca.pem"), "0")
    status, out, err = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "--cert",
                               pki.path("client.pem"), "--key", pki.path("client.key"), "localhost",
                               str(srv.port), data=b"it is me\n")
    assert (status, out, err) == (0, b"it is me\n", "")
    srv.wait_err(r": client certificate subject 'CN = test client'$")
    srv.wait_err(r": verified: client certificate from a CA of --verify-client$")


def test_client_without_certificate_refused(procs, pki):
    srv = tls_listen(procs, pki, "-v", "--echo", "--verify-client", pki.path("ca.pem"), "0")
    res = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "localhost", str(srv.port),
                  data=b"anon\n")
    assert res == (6, b"", "sockit: tcp connect: 127.0.0.1:%d: the peer refused the handshake: "
                   "alert 'certificate required'\n" % srv.port)
    srv.wait_err(r"127\.0\.0\.1:\d+: the peer sent no certificate: a client certificate is "
                 r"required$")


def test_client_certificate_of_another_ca_refused(procs, pki):
    srv = tls_listen(procs, pki, "-v", "--echo", "--verify-client", pki.path("ca.pem"), "0")
    res = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "--cert",
                  pki.path("strangeclient.pem"), "--key", pki.path("strangeclient.key"),
                  "localhost", str(srv.port), data=b"stranger\n")
    assert res == (6, b"", "sockit: tcp connect: 127.0.0.1:%d: the peer refused the handshake: "
                   "alert 'unknown CA'\n" % srv.port)
    srv.wait_err(r"127\.0\.0\.1:\d+: certificate issuer unknown: 'CN = another CA' is not a "
                 r"trusted CA$")


# --------------------------------------------------------------------------
# 4. Every listen mode over TLS
# --------------------------------------------------------------------------

def test_listen_echo_half_close(procs, pki):
    """The client's close_notify ends only what it sends: the echo of its
    last bytes still arrives, then the server's close_notify (no
    truncation)."""
    srv = tls_listen(procs, pki, "--echo", "0")
    status, out, err = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "localhost",
                               str(srv.port), data=b"a" * 100000)
    assert (status, len(out), err) == (0, 100000, "")


def test_listen_reply(procs, pki):
    srv = tls_listen(procs, pki, "--reply", "0")
    s = py_client(pki, srv.port)
    port = s.getsockname()[1]
    s.sendall(b"hello\n")
    want = f"Received msg: hello from ('127.0.0.1', {port})\n".encode()
    assert tls_recv_exact(s, len(want)) == want


def test_listen_chat(procs, pki):
    srv = tls_listen(procs, pki, "-v", "--chat", "0")
    a = py_client(pki, srv.port)
    b = py_client(pki, srv.port)
    srv.wait_err(r"TLSv1\.3", count=2)
    a.sendall(b"hi all\n")
    want = f"127.0.0.1:{a.getsockname()[1]}: hi all\n".encode()
    assert tls_recv_exact(b, len(want)) == want


def test_listen_daytime_sends_close_notify(procs, pki):
    srv = tls_listen(procs, pki, "--daytime", "0")
    s = py_client(pki, srv.port)
    data = tls_recv_all(s)  # SSLEOFError if the server did not say close_notify
    assert data.endswith(b"\r\n")


def test_listen_chargen_and_discard(procs, pki):
    srv = tls_listen(procs, pki, "--chargen", "0")
    s = py_client(pki, srv.port)
    assert tls_recv_exact(s, 74)[:3] == b" !\""
    srv2 = tls_listen(procs, pki, "--discard", "0")
    s2 = py_client(pki, srv2.port)
    s2.sendall(os.urandom(100000))
    s2.sendall(b"end")
    assert no_reply(s2)


def test_listen_exec_gets_plaintext(procs, pki):
    srv = tls_listen(procs, pki, "--exec", "read line; echo \"got $line\"; cat", "0")
    status, out, err = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "localhost",
                               str(srv.port), data=b"first\nrest\n")
    assert (status, out, err) == (0, b"got first\nrest\n", "")


def test_listen_exec_end_of_command_ends_the_session(procs, pki):
    srv = tls_listen(procs, pki, "--exec", "echo bye", "0")
    s = py_client(pki, srv.port)
    assert tls_recv_all(s) == b"bye\n"  # then close_notify: no SSLEOFError


def test_listen_relay_mode(procs, pki):
    srv = tls_listen(procs, pki, "0", stdin_data=b"from the listener\n", keep_stdin=True)
    s = py_client(pki, srv.port)
    assert tls_recv_exact(s, 18) == b"from the listener\n"
    s.sendall(b"from the client\n")
    srv.wait_out(b"from the client\n")


# --------------------------------------------------------------------------
# 5. Ends: close_notify, half-close, truncation, stalls
# --------------------------------------------------------------------------

def test_connect_half_close_with_close_notify(procs, pki):
    """stdin's end sends close_notify and FIN; the server, which reads the
    close_notify as a clean end, still answers, and we print the answer."""
    seen = {}

    def handler(s):
        got = bytearray()
        while True:
            chunk = s.recv(65536)  # SSLEOFError without close_notify
            if not chunk:
                break
            got += chunk
        seen["got"] = bytes(got)
        s.sendall(b"answer after your close_notify\n")
        s.unwrap()
    port = tls_py_server(procs, pki, handler)
    status, out, err = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "localhost",
                               str(port), data=b"question\n")
    assert (status, out, err) == (0, b"answer after your close_notify\n", "")
    assert seen["got"] == b"question\n"


def test_connect_peer_without_close_notify(procs, pki):
    """A peer that just closes: what it sent is printed; the end is an end
    (truncation matters only to framings like HTTP bodies)."""
    def handler(s):
        s.sendall(b"abrupt\n")
        while s.recv(100):  # up to our close_notify: then a FIN, not a reset
            pass
        # The TCP connection ends under the TLS one: no close_notify.
        socket.socket(fileno=s.detach()).close()
    port = tls_py_server(procs, pki, handler)
    status, out, _ = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "localhost", str(port),
                             data=b"x")
    assert (status, out) == (0, b"abrupt\n")


def test_stalled_handshake_times_out_and_others_are_served(procs, pki):
    srv = tls_listen(procs, pki, "-v", "--echo", "--handshake-timeout", "0.5", "0")
    stalled = procs.connect(srv.port)
    stalled.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello, then nothing
    half = procs.connect(srv.port)  # says nothing at all
    t0 = time.monotonic()
    status, out, _ = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "localhost",
                             str(srv.port), data=b"still served\n")
    assert (status, out) == (0, b"still served\n")
    assert closed_by_peer(stalled, 3) and closed_by_peer(half, 3)
    assert time.monotonic() - t0 < 3
    srv.wait_err(r"127\.0\.0\.1:\d+: TLS handshake timed out \(no handshake within 500 ms\)$",
                 count=2)


def test_connect_handshake_timeout(procs, pki):
    port = procs.py_server(lambda conn: conn.recv(100000) and time.sleep(3))
    t0 = time.monotonic()
    res = connect(procs, "--tls", "--handshake-timeout", "0.3", "127.0.0.1", str(port))
    assert res == (5, b"", f"sockit: tcp connect: 127.0.0.1:{port}: TLS handshake timed out "
                   "(no handshake within 300 ms)\n")
    assert time.monotonic() - t0 < 2.5


def test_connect_to_a_plain_server(procs, pki):
    port = procs.py_server(lambda conn: conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
    res = connect(procs, "--tls", "127.0.0.1", str(port))
    assert res == (6, b"", f"sockit: tcp connect: 127.0.0.1:{port}: the peer does not speak TLS: "
                   "wrong version number\n")


def test_connect_to_a_server_that_closes(procs, pki):
    port = procs.py_server(lambda conn: conn.recv(1000))
    res = connect(procs, "--tls", "127.0.0.1", str(port))
    assert res == (6, b"", f"sockit: tcp connect: 127.0.0.1:{port}: TLS handshake failed: the peer "
                   "closed the connection during the handshake\n")


def test_send_text_over_tls(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0")
    status, out, _ = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "--send", "sent text",
                             "localhost", str(srv.port))
    assert (status, out) == (0, b"sent text")


# --------------------------------------------------------------------------
# 6. Interop
# --------------------------------------------------------------------------

def test_interop_s_client_to_listen(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0")
    c = procs.spawn("openssl", "s_client", "-quiet", "-no_ign_eof", "-verify_return_error",
                    "-CAfile", pki.path("ca.pem"), "-verify_hostname", "localhost", "-connect",
                    f"127.0.0.1:{srv.port}", keep_stdin=True)
    c.write_stdin(b"from s_client\n")
    c.wait_out(b"from s_client\n")
    c.close_stdin()
    assert c.wait() == 0


def test_interop_connect_to_s_server(procs, pki):
    s, port = s_server(procs, "-cert", pki.path("server.pem"),
                    "-key", pki.path("server.key"), "-quiet", "-naccept", "1",
                    stdin_data=b"from s_server\n", keep_stdin=True)
    p = procs.sockit("tcp", "connect", "--tls", "--cafile", pki.path("ca.pem"), "localhost",
                     str(port), keep_stdin=True)
    p.wait_out(b"from s_server\n")
    p.write_stdin(b"from sockit\n")
    s.wait_out(b"from sockit\n")
    p.close_stdin()
    assert p.wait() == 0


def test_interop_ncat_to_listen(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0")
    r = subprocess.run(["ncat", "--ssl", "--ssl-verify", "--ssl-trustfile", pki.path("ca.pem"),
                        "localhost", str(srv.port)], input=b"from ncat\n", capture_output=True,
                       timeout=WAIT)
    assert r.stdout == b"from ncat\n", r.stderr


def test_interop_connect_to_ncat(procs, pki):
    port = nu.free_port()
    s = procs.spawn("ncat", "--ssl", "--ssl-cert", pki.path("server.pem"), "--ssl-key",
                    pki.path("server.key"), "-l", "127.0.0.1", str(port),
                    stdin_data=b"from ncat\n", keep_stdin=True)
    nu.wait_listening(port, s)
    p = procs.sockit("tcp", "connect", "--tls", "--cafile", pki.path("ca.pem"), "localhost",
                     str(port), keep_stdin=True)
    p.wait_out(b"from ncat\n")
    p.write_stdin(b"from sockit\n")
    s.wait_out(b"from sockit\n")
    p.close_stdin()
    assert p.wait() == 0


def test_interop_socat_to_listen(procs, pki):
    srv = tls_listen(procs, pki, "--echo", "0")
    r = subprocess.run(["socat", "-", f"OPENSSL:localhost:{srv.port},cafile={pki.path('ca.pem')}"],
                       input=b"from socat\n", capture_output=True, timeout=WAIT)
    assert r.stdout == b"from socat\n", r.stderr


def test_interop_connect_to_socat(procs, pki):
    port = nu.free_port()
    s = procs.spawn("socat", f"OPENSSL-LISTEN:{port},reuseaddr,bind=127.0.0.1,"
                    f"cert={pki.path('server.pem')},key={pki.path('server.key')},verify=0",
                    "SYSTEM:'read l; echo \"socat got $l\"'")
    nu.wait_listening(port, s)
    status, out, err = connect(procs, "--tls", "--cafile", pki.path("ca.pem"), "localhost",
                               str(port), data=b"hello\n")
    assert (status, out, err) == (0, b"socat got hello\n", "")


# --------------------------------------------------------------------------
# 7. Bulk
# --------------------------------------------------------------------------

def test_bulk_through_connect_and_listen_by_checksum(procs, pki, io_mode, tmp_path):
    """1 GiB (256 MiB on epoll) stdin → connect --tls → listen --tls →
    stdout, compared by SHA-256; AES-CTR of zeroes is the fast
    pseudo-random source."""
    size = GIB if io_mode == "io_uring" else GIB // 4
    if nu.is_sanitized(SOCKIT):
        size //= 16
    gen = (f"openssl enc -aes-128-ctr -nosalt -K 00 -iv 00 -in /dev/zero 2>/dev/null "
           f"| head -c {size}")
    sent = subprocess.run(f"{gen} | sha256sum", shell=True, capture_output=True,
                          timeout=120).stdout.split()[0]
    d = tmp_path
    script = (
        f"{SOCKIT} tcp listen --tls --cert {pki.path('server.pem')} --key {pki.path('server.key')} "
        f"-v -d 0 2>{d}/listen.err | sha256sum > {d}/got & "
        f"for i in $(seq 200); do grep -q '^listening on' {d}/listen.err && break; "
        f"sleep 0.05; done; "
        f"port=$(sed -n 's/^listening on .*:\\([0-9]*\\)$/\\1/p' {d}/listen.err); "
        f"{gen} | {SOCKIT} tcp connect --tls --cafile {pki.path('ca.pem')} localhost $port; "
        f"st=$?; wait; exit $st"
    )
    t0 = time.monotonic()
    r = subprocess.run(["bash", "-c", script], env=procs.env, capture_output=True, timeout=120)
    took = time.monotonic() - t0
    assert r.returncode == 0, (r.stderr, (d / "listen.err").read_text())
    assert (d / "got").read_bytes().split()[0] == sent
    print(f"\n{size >> 20} MiB through TLS ({io_mode}) in {took:.1f} s")


# --------------------------------------------------------------------------
# 8. Usage and files
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args,msg", [
    (["--cafile", "x", "h", "1"], "--cafile is for --tls"),
    (["--tls", "--tls-min", "1.1", "h", "1"], "--tls-min '1.1': expected 1.2 or 1.3"),
    (["--tls", "--key", "k", "h", "1"], "--key needs --cert"),
    (["--tls", "--insecure", "--pin", "sha256:x", "h", "1"],
     "--insecure checks nothing: drop --pin"),
    (["--tls", "--pin", "sha256:x", "--cafile", "c", "h", "1"],
     "--pin replaces the CA check: drop --cafile"),
    (["--tls", "--pin", "md5:abc", "h", "1"],
     "--pin 'md5:abc': expected sha256: and the base64 of a 32-byte SHA-256 hash"),
    (["--tls", "--alpn", "h2,,x", "h", "1"],
     "--alpn 'h2,,x': expected comma-separated protocol names of 1 to 255 bytes"),
    (["--tls", "--handshake-timeout", "soon", "h", "1"],
     "--handshake-timeout 'soon': not a number of seconds (0-86400)"),
])
def test_connect_usage_errors(sockit, args, msg):
    res = sockit("tcp", "connect", *args)
    assert (res.status, res.out) == (2, "")
    assert res.err == f"sockit: tcp connect: {msg}\n{SEE_HELP}\n"


def test_listen_usage_error(sockit):
    res = sockit("tcp", "listen", "--verify-client", "ca.pem", "0")
    assert (res.status, res.err) == (2, f"sockit: tcp listen: --verify-client is for --tls\n"
                                        f"{SEE_HELP}\n")


def test_file_errors_exit_7(sockit, pki, tmp_path):
    res = sockit("tcp", "connect", "--tls", "--cafile", "/nonexistent/ca.pem", "h", "1")
    assert (res.status, res.err) == (7, "sockit: tcp connect: --cafile '/nonexistent/ca.pem': "
                                        "no such file or directory\n")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    res = sockit("tcp", "listen", "--tls", "--cert", str(junk), "0")
    assert (res.status, res.err) == (7, f"sockit: tcp listen: --cert '{junk}': no PEM certificate "
                                        "in the file\n")
    res = sockit("tcp", "listen", "--tls", "--cert", pki.path("server.pem"), "--key",
                 pki.path("client.key"), "0")
    assert (res.status, res.err) == (7, f"sockit: tcp listen: --key '{pki.path('client.key')}': "
                                        "the private key does not match the certificate\n")
    res = sockit("tcp", "listen", "--tls", "--cert", pki.path("server.pem"), "--key", str(junk),
                 "0")
    assert (res.status, res.err) == (7, f"sockit: tcp listen: --key '{junk}': no PEM private key "
                                        "in the file\n")
