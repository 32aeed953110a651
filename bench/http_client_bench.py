"""sockit http get against curl and wget, the server nginx with sendfile.

    http_client_bench.py SOCKIT TMPDIR

Points (each tool in turn, the order alternating between rounds, nginx on
CPU 1 and the client on CPU 0, 127.0.0.1):
  - BENCH_BIG_MIB MiB (1024) to /dev/null, and to a file in TMPDIR (the
    file removed and `sync` run between runs, untimed): MB/s;
  - BENCH_SMALL_GETS (2000) GETs of a 6-byte file in one invocation, one
    kept-alive connection: requests/s;
  - one GET of that file, process start to exit, median of 50: ms;
  - the big file over https:// to /dev/null (nginx's ssl on a P-256
    certificate made here, TLS 1.3; each tool trusts its CA): MB/s.
Medians over BENCH_ROUNDS (5) rounds; each row's ratio is to curl. The
targets (issue 11): bulk >= 0.95x curl, keep-alive >= 1.2x curl, one GET
no slower than wget; (issue 14) https bulk >= 0.95x curl.
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
BIG_MIB = int(os.environ.get("BENCH_BIG_MIB", "1024"))
SMALL_GETS = int(os.environ.get("BENCH_SMALL_GETS", "2000"))
ONE_GET_RUNS = 50
SERVER_CPU, CLIENT_CPU = "1", "0"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(tmp):
    """A CA and a P-256 certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    d = os.path.join(tmp, "pki")
    os.mkdir(d)
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext")
    return tuple(os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key"))


def start_nginx(root, tmp, cert, key):
    port, tls_port = free_port(), free_port()
    ntmp = os.path.join(tmp, "nginx")
    os.mkdir(ntmp)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off; master_process off; worker_processes 1;
{"user root;" if os.geteuid() == 0 else ""}
error_log {ntmp}/error.log; pid {ntmp}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path {ntmp}/body; proxy_temp_path {ntmp}/proxy;
  fastcgi_temp_path {ntmp}/fcgi; uwsgi_temp_path {ntmp}/uwsgi; scgi_temp_path {ntmp}/scgi;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
  server {{ listen 127.0.0.1:{tls_port} ssl; root {root}; ssl_certificate {cert};
           ssl_certificate_key {key}; ssl_protocols TLSv1.3; }}
}}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    p = subprocess.Popen(["taskset", "-c", SERVER_CPU, nginx, "-c", conf, "-p", ntmp],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    end = time.time() + 5
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, f"http://127.0.0.1:{port}", f"https://127.0.0.1:{tls_port}"
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start")


def timed(argv, stdout=subprocess.DEVNULL):
    t0 = time.perf_counter()
    r = subprocess.run(["taskset", "-c", CLIENT_CPU, *argv], stdout=stdout,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    t = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {r.returncode}")
    return t


def tools(sockit, ca=None):
    """name -> function(url list, output or None) -> argv; ca: each trusts it."""
    trust = {"sockit": ["--cafile", ca], "curl": ["--cacert", ca],
             "wget": [f"--ca-certificate={ca}"]} if ca else {"sockit": [], "curl": [], "wget": []}
    return {
        "sockit": lambda urls, out: [sockit, "http", "get", "-s", *trust["sockit"],
                                     *(["-o", out] if out else []), *urls],
        "curl": lambda urls, out: ["curl", "-s", *trust["curl"], *(["-o", out] if out else []),
                                   *urls],
        "wget": lambda urls, out: ["wget", "-q", *trust["wget"], "-O", out or "-", *urls],
    }


def rounds(names, measure):
    """{name: [value per round]}, the order alternating between rounds."""
    got = {n: [] for n in names}
    for r in range(ROUNDS):
        order = names if r % 2 == 0 else list(reversed(names))
        for n in order:
            got[n].append(measure(n))
    return {n: statistics.median(v) for n, v in got.items()}


def main():
    sockit, tmp = sys.argv[1], sys.argv[2]
    for tool in ("curl", "wget", "taskset", "openssl"):
        if not shutil.which(tool):
            sys.exit(f"http_client_bench: {tool} is not installed (scripts/deps.sh bench)")
    root = os.path.join(tmp, "root")
    os.mkdir(root)
    big = os.path.join(root, "big.bin")
    with open(big, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(BIG_MIB):
            f.write(chunk)
    with open(os.path.join(root, "small.txt"), "wb") as f:
        f.write(b"small\n")
    ca, cert, key = make_cert(tmp)
    server, base, tls_base = start_nginx(root, tmp, cert, key)
    argv = tools(sockit)
    names = list(argv)
    size = BIG_MIB << 20
    out_file = os.path.join(tmp, "out.bin")
    rows = []
    try:
        def bulk(dest, base=base, argv=argv):
            def measure(n):
                if dest != "/dev/null":
                    if os.path.exists(out_file):
                        os.unlink(out_file)
                    subprocess.run(["sync"])
                t = timed(argv[n]([f"{base}/big.bin"], dest))
                if dest != "/dev/null" and os.path.getsize(out_file) != size:
                    raise RuntimeError(f"{n}: short file")
                return size / t / 1e6
            return rounds(names, measure)

        label = f"{BIG_MIB >> 10} GiB" if BIG_MIB % 1024 == 0 else f"{BIG_MIB} MiB"
        rows.append((f"{label} to /dev/null", "MB/s", bulk("/dev/null"), True, 0.95))
        rows.append((f"{label} to a file", "MB/s", bulk(out_file), True, 0.95))
        small = [f"{base}/small.txt"] * SMALL_GETS
        rows.append((f"{SMALL_GETS} small GETs, one invocation", "req/s",
                     rounds(names, lambda n: SMALL_GETS / timed(argv[n](small, None))), True, 1.2))
        one = [f"{base}/small.txt"]
        rows.append(("one small GET, start to exit", "ms",
                     rounds(names, lambda n: 1000 * statistics.median(
                         timed(argv[n](one, None)) for _ in range(ONE_GET_RUNS))), False, None))
        rows.append((f"{label} over https to /dev/null", "MB/s",
                     bulk("/dev/null", tls_base, tools(sockit, ca)), True, 0.95))
    finally:
        server.terminate()
        server.wait()

    print(f"nginx {base} (sendfile) and {tls_base} (TLS 1.3, P-256), {ROUNDS} rounds, medians; "
          f"client CPU {CLIENT_CPU}, server CPU {SERVER_CPU}")
    print()
    print("| point | unit | sockit | curl | wget | sockit/curl | target |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    for name, unit, v, higher_better, target in rows:
        ratio = v["sockit"] / v["curl"]
        if target is not None:
            met = ratio >= target
            goal = f">= {target}x curl: {'met' if met else 'MISSED'}"
        else:
            met = v["sockit"] <= v["wget"]
            goal = f"<= wget: {'met' if met else 'MISSED'}"
        ok &= met
        fmt = "{:.0f}" if unit != "ms" else "{:.2f}"
        print(f"| {name} | {unit} | " + " | ".join(fmt.format(v[n]) for n in names) +
              f" | {ratio:.2f}x | {goal} |")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
