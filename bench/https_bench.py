"""HTTPS: `sockit http serve --tls` next to nginx, one P-256 certificate and
key for both (made here with the openssl CLI), TLS 1.3 and OpenSSL's first
cipher for both (printed, from a separate handshake, with the key exchange).

    https_bench.py SOCKIT TMPDIR TLS_HS

Points, each server in turn, the order alternating between rounds
(BENCH_ROUNDS, 3); medians:
  1k   wrk -t1 -c64 over keep-alive connections, a 1 KiB file: requests/s
       and server CPU per request
  hs   full handshakes: BENCH_HS_CLIENTS (2) processes of bench/tls_hs.c
       (TLS_HS, built by bench/tls.sh) at once, 16 handshakes in flight
       each, every one a new connection and a new session (no resumption):
       handshakes/s and server CPU per handshake. (openssl s_time -new
       waits for each handshake in turn and rescans the CA directory each
       time: it measured itself. wrk with Connection: close resumes.)
  10m  wrk -t1 -c64, a 10 MiB file: MiB/s and server CPU per MiB
Server on CPU 0, clients on CPU 1 (taskset), 127.0.0.1. CPU = the server's
utime + stime over the timed run (/proc/PID/stat). On two cores the client
saturates first (TLS costs it as much as the server), so CPU per request or
per handshake is what separates two servers.

nginx: one worker (master_process off), access_log off, sendfile on,
keepalive_requests 1000000, ssl_session_cache shared:SSL:10m (tickets are on
by default), TLSv1.2 and TLSv1.3. sockit: `http serve --tls -q`.

Environment: BENCH_SECS (10) per timed run, BENCH_ROUNDS (3), BENCH_HS_CLIENTS
(2), BENCH_POINTS ("1k hs 10m"), BENCH_STRICT=1 makes a missed target exit 1.
"""
import os
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_bench as hb  # noqa: E402
from tls_bench import make_pki  # noqa: E402  (the same certificate maker as tls.sh's bulk point)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECS = max(1, int(float(os.environ.get("BENCH_SECS", "10"))))
HS_CLIENTS = int(os.environ.get("BENCH_HS_CLIENTS", "2"))
HS_INFLIGHT = 16
POINTS = os.environ.get("BENCH_POINTS", "1k hs 10m").split()
STRICT = os.environ.get("BENCH_STRICT", "0") == "1"
SERVERS = ["sockit", "nginx"]
SIZES = {"1k": 1 << 10, "10m": 10 << 20}


def nginx_argv(tmp, www, port, pki):
    return hb.nginx_argv(
        tmp, www, port,
        http_extra="        ssl_protocols TLSv1.2 TLSv1.3;\n"
                   "        ssl_session_cache shared:SSL:10m;\n",
        listen_extra=" ssl",
        server_extra=f"                ssl_certificate {pki['server.pem']};\n"
                     f"                ssl_certificate_key {pki['server.key']};\n")


def server_argv(name, sockit, tmp, www, port, pki):
    if name == "sockit":
        return [sockit, "http", "serve", "--tls", "--cert", pki["server.pem"], "--key",
                pki["server.key"], "-q", "-p", str(port), "-b", "127.0.0.1", www]
    return nginx_argv(tmp, www, port, pki)


class Server:
    """One server run, pinned, waited for and checked; stop() ends it."""

    def __init__(self, name, sockit, tmp, www, pki):
        self.name = name
        self.port = hb.free_port()
        self.log = open(os.path.join(tmp, f"{name}-{self.port}.log"), "w+")
        self.proc = subprocess.Popen(
            ["taskset", "-c", hb.SERVER_CPU, *server_argv(name, sockit, tmp, www, self.port, pki)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=hb.raise_nofile)
        end = time.time() + 5
        while not hb.listening(self.port):
            if self.proc.poll() is not None or time.time() > end:
                self.fail("did not start")
            time.sleep(0.02)

    def fail(self, why):
        self.stop()
        self.log.seek(0)
        tail = " | ".join(self.log.read().strip().splitlines()[-3:])
        raise RuntimeError(f"{self.name}: {why}" + (f": {tail[:300]}" if tail else ""))

    def check(self, path, want, ca):
        """One verified GET: status 200 and exactly the file's bytes."""
        ctx = ssl.create_default_context(cafile=ca)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=ctx)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        except OSError as e:
            self.fail(f"GET {path}: {e}")
        finally:
            conn.close()
        if resp.status != 200 or body != want:
            self.fail(f"GET {path}: status {resp.status}, {len(body)} bytes")

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / hb.CLK_TCK

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def agreed(port, ca):
    """Version, cipher and key exchange, as OpenSSL's client sees them."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", ca,
                          "-brief"], input=b"", capture_output=True, timeout=10).stderr.decode()
    got = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return " ".join(got.get(k, "?").strip() for k in ("Protocol version", "Ciphersuite",
                                                       "Server Temp Key"))


def wrk_point(srv, fname, lua):
    """A warm-up, then the timed wrk run; requests/s, MiB/s, CPU."""
    size = SIZES[fname]
    hb.wrk(srv.port, f"/{fname}.bin", 64, 1, lua, size, scheme="https")
    cpu0 = srv.cpu_seconds()
    r = hb.wrk(srv.port, f"/{fname}.bin", 64, SECS, lua, size, scheme="https")
    cpu = srv.cpu_seconds() - cpu0
    r["cpu_us"] = cpu / max(r["requests"], 1) * 1e6
    r["cpu_ms_per_mib"] = cpu / max(r["mibs"] * SECS, 1e-9) * 1e3
    return r


TLS_HS = re.compile(r"^(\d+) handshakes in ([\d.]+) s$", re.M)


def handshakes(srv, tls_hs):
    """HS_CLIENTS tls_hs processes at once, HS_INFLIGHT handshakes in flight
    each: handshakes/s and server CPU per handshake."""
    argv = ["taskset", "-c", hb.CLIENT_CPU, tls_hs, "127.0.0.1", str(srv.port),
            str(HS_INFLIGHT), str(SECS)]
    cpu0 = srv.cpu_seconds()
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(HS_CLIENTS)]
    n, rate = 0, 0.0
    for p in procs:
        out, _ = p.communicate(timeout=SECS + 60)
        m = TLS_HS.search(out)
        if p.returncode != 0 or not m:
            raise RuntimeError(f"tls_hs failed ({p.returncode}): {out.strip()[-200:]}")
        n += int(m.group(1))
        rate += int(m.group(1)) / float(m.group(2))
    cpu = srv.cpu_seconds() - cpu0
    return {"hs": rate, "cpu_us": cpu / max(n, 1) * 1e6, "n": n}


def measure(point, name, sockit, tmp, www, files, pki, lua, tls_hs):
    srv = Server(name, sockit, tmp, www, pki)
    try:
        srv.check("/1k.bin", files["1k"], pki["ca.pem"])
        r = handshakes(srv, tls_hs) if point == "hs" else wrk_point(srv, point, lua)
        if srv.proc.poll() is not None:
            srv.fail("died during the run")
        return r
    finally:
        srv.stop()
        srv.log.close()


def median_of(runs):
    keys = [k for k in runs[0] if k not in ("errors", "non2xx", "requests", "n")]
    m = {k: statistics.median(r[k] for r in runs) for k in keys}
    m["errors"] = sum(r.get("errors", 0) + r.get("non2xx", 0) for r in runs)
    return m


def show(point, med):
    s = med.get("sockit")
    n = med.get("nginx")
    print()
    if point == "1k":
        print(f"GET 1 KiB file, 64 keep-alive connections, {SECS} s (wrk -t1)")
        print(f"  {'server':<8} {'req/s':>10} {'CPU/req':>10} {'p99':>9} {'errors':>6}")
        for name, m in med.items():
            print(f"  {name:<8} {m['rps']:>10,.0f} {m['cpu_us']:>7.1f} us {hb.fmt_lat(m['p99']):>9}"
                  f" {m['errors']:>6}")
        if s and n:
            print(f"  sockit / nginx: req/s {s['rps'] / n['rps']:.2f}x (target >= 1), CPU/req "
                  f"{s['cpu_us'] / n['cpu_us']:.2f}x (target <= 0.75)")
    elif point == "hs":
        print(f"Full handshakes (no resumption): {HS_CLIENTS} x tls_hs, {HS_INFLIGHT} in flight "
              f"each, {SECS} s")
        print(f"  {'server':<8} {'handshakes/s':>12} {'CPU/handshake':>14}")
        for name, m in med.items():
            print(f"  {name:<8} {m['hs']:>12,.0f} {m['cpu_us']:>11.0f} us")
        if s and n:
            print(f"  sockit / nginx: handshakes/s {s['hs'] / n['hs']:.2f}x (target >= 1), "
                  f"CPU/handshake {s['cpu_us'] / n['cpu_us']:.2f}x (target <= 1)")
    else:
        print(f"GET 10 MiB file, 64 connections, {SECS} s (wrk -t1)")
        print(f"  {'server':<8} {'MiB/s':>10} {'CPU/MiB':>10} {'errors':>6}")
        for name, m in med.items():
            print(f"  {name:<8} {m['mibs']:>10,.1f} {m['cpu_ms_per_mib']:>7.2f} ms {m['errors']:>6}")
        if s and n:
            print(f"  sockit / nginx: MiB/s {s['mibs'] / n['mibs']:.2f}x (target >= 1)")
    sys.stdout.flush()


def verdict(results):
    """The issue's targets against nginx; True if every one is met."""
    ok = True
    checks = []
    m = results.get("1k", {})
    if "sockit" in m and "nginx" in m:
        checks.append(("1 KiB keep-alive req/s >= nginx's", m["sockit"]["rps"] >= m["nginx"]["rps"]))
        checks.append(("1 KiB CPU/req <= 0.75x nginx's",
                       m["sockit"]["cpu_us"] <= 0.75 * m["nginx"]["cpu_us"]))
    m = results.get("hs", {})
    if "sockit" in m and "nginx" in m:
        checks.append(("handshakes/s >= nginx's", m["sockit"]["hs"] >= m["nginx"]["hs"]))
        checks.append(("CPU/handshake <= nginx's", m["sockit"]["cpu_us"] <= m["nginx"]["cpu_us"]))
    m = results.get("10m", {})
    if "sockit" in m and "nginx" in m:
        checks.append(("10 MiB MiB/s >= nginx's", m["sockit"]["mibs"] >= m["nginx"]["mibs"]))
    errs = sum(m["sockit"]["errors"] for m in results.values() if "sockit" in m)
    checks.append(("no errors or short responses from sockit", errs == 0))
    print("\ntargets")
    for label, passed in checks:
        print(f"  {label}: {'met' if passed else 'MISSED'}")
        ok &= passed
    return ok


def main():
    sockit, tmp, tls_hs = sys.argv[1], sys.argv[2], sys.argv[3]
    for prog in ("wrk", "nginx", "openssl"):
        if not shutil.which(prog):
            sys.exit(f"bench/tls.sh: {prog} is missing (scripts/deps.sh bench)")
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    os.chmod(tmp, 0o755)
    files = {}
    for fname, size in SIZES.items():
        files[fname] = os.urandom(size)
        with open(os.path.join(www, f"{fname}.bin"), "wb") as f:
            f.write(files[fname])
    lua = os.path.join(tmp, "report.lua")
    with open(lua, "w") as f:
        f.write(hb.WRK_LUA)
    pki = make_pki(tmp)
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    openssl_v = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout
    print(f"sockit HTTPS benchmark: {ROUNDS} round(s), medians; {SECS} s per run; server on CPU "
          f"{hb.SERVER_CPU}, clients on CPU {hb.CLIENT_CPU}; loopback 127.0.0.1; one P-256 "
          f"certificate")
    print(f"peers: {nginx_v.replace('nginx version: ', '')}; {openssl_v.strip()}")
    for name in SERVERS:
        srv = Server(name, sockit, tmp, www, pki)
        try:
            print(f"  {name:<8} agrees with openssl s_client on: {agreed(srv.port, pki['ca.pem'])}")
        finally:
            srv.stop()
            srv.log.close()

    results = {}
    failed = False
    for point in POINTS:
        runs = {name: [] for name in SERVERS}
        for r in range(ROUNDS):
            for name in (SERVERS if r % 2 == 0 else list(reversed(SERVERS))):
                try:
                    runs[name].append(measure(point, name, sockit, tmp, www, files, pki, lua,
                                              tls_hs))
                except Exception as e:  # reported; the other server's figures still count
                    print(f"  ({point} {name}: {e})", file=sys.stderr)
                    failed |= name == "sockit"
        results[point] = {name: median_of(rs) for name, rs in runs.items() if rs}
        show(point, results[point])
    ok = verdict(results)
    if failed:
        return 1
    return 1 if STRICT and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
