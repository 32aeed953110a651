"""TLS bulk transfer: `sockit tcp connect --tls` -> `sockit tcp listen --tls`
next to socat OPENSSL: and ncat --ssl, with one certificate (P-256, made here
with the openssl CLI), TLS 1.3 and OpenSSL's first cipher for everyone.

    tls_bench.py SOCKIT

A file of BENCH_TLS_BYTES (2 GiB) in /dev/shm goes on the client's stdin;
the server writes to /dev/null. Server on CPU 0, client on CPU 1 (taskset),
127.0.0.1; every tool in turn, the order alternating between rounds
(BENCH_ROUNDS, 3); medians and ratios to sockit. The cipher each pair
agreed on is read back from a separate handshake and printed, so that the
comparison is like for like.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import net_bench as nb  # noqa: E402

BYTES = int(os.environ.get("BENCH_TLS_BYTES", str(2 << 30)))


def make_pki(d):
    def ossl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench CA")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext")
    return {k: os.path.join(d, k) for k in ("ca.pem", "server.pem", "server.key")}


def tools(sockit, pki):
    ca, cert, key = pki["ca.pem"], pki["server.pem"], pki["server.key"]
    return {
        "sockit": (lambda p: [sockit, "tcp", "listen", "--tls", "--cert", cert, "--key", key,
                              "-d", "-b", "127.0.0.1", str(p)],
                   lambda p: [sockit, "tcp", "connect", "--tls", "--cafile", ca, "127.0.0.1",
                              str(p)]),
        "socat": (lambda p: ["socat", "-u", f"OPENSSL-LISTEN:{p},reuseaddr,bind=127.0.0.1,"
                             f"cert={cert},key={key},verify=0", "STDOUT"],
                  lambda p: ["socat", "-u", "STDIN", f"OPENSSL:127.0.0.1:{p},cafile={ca}"]),
        "ncat": (lambda p: ["ncat", "--ssl", "--ssl-cert", cert, "--ssl-key", key, "-l",
                            "--recv-only", "127.0.0.1", str(p)],
                 # ncat cannot verify a certificate's IP address (issue 14), so
                 # it does not verify; verification costs only the handshake.
                 lambda p: ["ncat", "--ssl", "--send-only", "127.0.0.1", str(p)]),
    }


def bulk_file():
    path = os.path.join("/dev/shm", f"sockit-tls-bench-{os.getpid()}")
    if not os.path.exists(path):
        subprocess.run(f"head -c {BYTES} /dev/zero > {path}", shell=True, check=True)
    return path


def bulk_once(server_argv, client_argv):
    port = nb.free_port()
    srv = nb.start_server(server_argv(port))
    try:
        nb.wait_port(port)
        with open(bulk_file(), "rb") as src:
            t0 = time.time()
            subprocess.run(["taskset", "-c", nb.CLIENT_CPU, *client_argv(port)], stdin=src,
                           check=True, timeout=600, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            srv.wait(timeout=60)
            return BYTES / (time.time() - t0)
    finally:
        nb.stop(srv)


def cipher_of(server_argv, pki):
    """What a server agrees on with OpenSSL's own client (the clients of the
    table use the same library and defaults)."""
    port = nb.free_port()
    srv = nb.start_server(server_argv(port))
    try:
        nb.wait_port(port)
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile",
                              pki["ca.pem"], "-brief"], input=b"", capture_output=True,
                             timeout=10).stderr.decode()
        version = cipher = "?"
        for line in out.splitlines():
            if line.startswith("Protocol version:"):
                version = line.split(":", 1)[1].strip()
            if line.startswith("Ciphersuite:"):
                cipher = line.split(":", 1)[1].strip()
        return f"{version} {cipher}"
    finally:
        nb.stop(srv)


def main(sockit):
    with tempfile.TemporaryDirectory() as d:
        pki = make_pki(d)
        ts = tools(sockit, pki)
        print(f"sockit TLS benchmark: {nb.ROUNDS} rounds, medians; server on CPU {nb.SERVER_CPU}, "
              f"client on CPU {nb.CLIENT_CPU}; loopback 127.0.0.1; one P-256 certificate")
        for name, (server, _) in ts.items():
            print(f"  {name:<8} server agrees on: {cipher_of(server, pki)}")
        med = nb.rounds(ts, lambda name: bulk_once(*ts[name]) / (1 << 20))
        os.unlink(bulk_file())
        best = max(v for k, v in med.items() if k != "sockit")
        nb.table(f"TLS bulk: {BYTES / (1 << 30):.1f} GiB file on stdin -> client --tls -> "
                 f"server --tls -> /dev/null", "MiB/s", med,
                 extra=f"  sockit / best peer: {med['sockit'] / best:.2f}x; sockit / socat: "
                       f"{med['sockit'] / med.get('socat', float('nan')):.2f}x (target >= 1.5x)")


if __name__ == "__main__":
    main(sys.argv[1])
