"""sockit's HTTP file server against nginx, h2o, lighttpd and python3 -m http.server.

    http_bench.py SOCKIT TMPDIR [LOADGEN]

Every server serves the same 1 KiB, 64 KiB and 10 MiB files from TMPDIR/www on
127.0.0.1, pinned to CPU 0; wrk -t1 runs pinned to CPU 1. Points: each size at
64 connections, plus 1 KiB at 256 and at 1 connection(s), plus 10 MiB at 64
read by LOADGEN (bench/loadgen.c, `loadgen http`: 256 KiB per read(2) where wrk
reads 8 KiB, so that at 10 MiB the servers rather than the client set the
pace; no latency figures). Each point runs every
server in turn, alternating the order between rounds; a fresh server per run,
checked (one GET, status 200, same bytes) before it is timed, then a short wrk
warm-up, then the timed wrk run. Figures are medians over the rounds; errors
(wrk's connect/read/write/timeout) and non-2xx responses (wrk's status >= 400,
plus any response short of the file's bytes) are summed over all rounds.

Server CPU per request = (utime + stime of the server process, from
/proc/PID/stat, over the timed run) / requests. At ~75k req/s wrk saturates
its own core, so this is what separates the fast servers.

Peers (configs written into TMPDIR at run time, all in the foreground):
  nginx      one worker (master_process off), access_log off, sendfile on,
             tcp_nopush on, keepalive_requests 1000000
  nginx+ofc  the same plus open_file_cache max=1000 inactive=60s, valid 60s
  h2o        num-threads 1, no access log
  lighttpd   linux-sysepoll, network-backend sendfile, max-keep-alive-requests high
  python     /usr/bin/python3 -m http.server (HTTP/1.0: a connection per request)
A peer whose program is missing, or that fails to start or serve the file, is
reported and skipped for the rest of the run.

Environment: BENCH_SECS (10) seconds per timed run, BENCH_ROUNDS (3),
BENCH_WARMUP (1) seconds of wrk before each timed run, BENCH_STRICT=1 makes a
missed target exit 1. Quick try: BENCH_SECS=2 BENCH_ROUNDS=1. For one question
at a time: BENCH_SERVERS="sockit h2o" and BENCH_POINTS="1k:64 1k:256 10m:64:loadgen".
"""
import getpass
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECS = max(1, int(float(os.environ.get("BENCH_SECS", "10"))))
WARMUP = max(0, int(float(os.environ.get("BENCH_WARMUP", "1"))))
STRICT = os.environ.get("BENCH_STRICT", "0") == "1"
SERVER_CPU, CLIENT_CPU = "0", "1"
PYTHON = "/usr/bin/python3"
CLK_TCK = os.sysconf("SC_CLK_TCK")

SIZES = {"1k": 1 << 10, "64k": 64 << 10, "10m": 10 << 20}
SIZE_LABEL = {"1k": "1 KiB", "64k": "64 KiB", "10m": "10 MiB"}
# (file, connections)
# (file, connections, client)
POINTS = [("1k", 64, "wrk"), ("64k", 64, "wrk"), ("10m", 64, "wrk"), ("10m", 64, "loadgen"),
          ("1k", 256, "wrk"), ("1k", 1, "wrk")]
LOADGEN_READ = 256 << 10
SERVERS = ["sockit", "nginx", "nginx+ofc", "h2o", "lighttpd", "python"]
# Before and after a change, in the same run: BENCH_SOCKIT_BEFORE=/path/to/old/sockit
# adds "sockit-before", measured like the others.
SOCKIT_BEFORE = os.environ.get("BENCH_SOCKIT_BEFORE")
if SOCKIT_BEFORE:
    SERVERS.insert(1, "sockit-before")
if os.environ.get("BENCH_SERVERS"):
    SERVERS = [n for n in SERVERS if n in os.environ["BENCH_SERVERS"].split()]
PROGRAM = {"nginx": "nginx", "nginx+ofc": "nginx", "h2o": "h2o", "lighttpd": "lighttpd",
           "python": PYTHON}

WRK_LUA = """\
-- Prints wrk's own totals in one machine-readable line.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            next(f)
            for line in f:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    return True
    return False


def raise_nofile():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 20000 if hard == resource.RLIM_INFINITY else min(20000, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))


# --- the servers: argv for a port, with any config written into a fresh dir ---

def nginx_argv(tmp, www, port, ofc=False, http_extra="", listen_extra="", server_extra=""):
    """nginx with one worker on 127.0.0.1:port serving www; the *_extra
    strings are whole lines added to the http and server blocks (and words
    after the listen address): bench/https_bench.py adds TLS with them."""
    d = os.path.join(tmp, f"nginx-{port}")
    os.makedirs(d, exist_ok=True)
    cache = ("        open_file_cache max=1000 inactive=60s;\n"
             "        open_file_cache_valid 60s;\n") if ofc else ""
    temps = "".join(f"        {k}_temp_path {d}/{k};\n"
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(f"""daemon off;
master_process off;
worker_processes 1;
error_log stderr;
pid {d}/nginx.pid;
events {{}}
http {{
        access_log off;
        sendfile on;
        tcp_nopush on;
        keepalive_requests 1000000;
        default_type application/octet-stream;
{http_extra}{cache}{temps}        server {{
                listen 127.0.0.1:{port}{listen_extra};
{server_extra}                root {www};
        }}
}}
""")
    # -e: the error log before the config is read (else /var/log/nginx, root only).
    return ["nginx", "-p", d + "/", "-c", os.path.join(d, "nginx.conf"), "-e", "stderr"]


def h2o_argv(tmp, www, port):
    d = os.path.join(tmp, f"h2o-{port}")
    os.makedirs(d, exist_ok=True)
    # As root h2o drops to 'nobody' unless told otherwise, and nobody cannot
    # read the 0700 temp dir: keep the current user.
    user = f"user: {getpass.getuser()}\n" if os.getuid() == 0 else ""
    with open(os.path.join(d, "h2o.conf"), "w") as f:
        f.write(f"""{user}num-threads: 1
pid-file: {d}/h2o.pid
listen:
  host: 127.0.0.1
  port: {port}
hosts:
  default:
    paths:
      /:
        file.dir: {www}
""")  # no access-log directive: no access log
    return ["h2o", "-m", "worker", "-c", os.path.join(d, "h2o.conf")]


def lighttpd_argv(tmp, www, port):
    d = os.path.join(tmp, f"lighttpd-{port}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "lighttpd.conf"), "w") as f:
        f.write(f"""server.document-root = "{www}"
server.bind = "127.0.0.1"
server.port = {port}
server.event-handler = "linux-sysepoll"
server.network-backend = "sendfile"
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 60
server.max-fds = 4096
server.max-connections = 2048
mimetype.assign = (".bin" => "application/octet-stream")
""")  # no mod_accesslog: no access log; errors go to stderr
    return ["lighttpd", "-D", "-f", os.path.join(d, "lighttpd.conf")]


def server_argv(name, sockit, tmp, www, port):
    if name in ("sockit", "sockit-before"):
        binary = SOCKIT_BEFORE if name == "sockit-before" else sockit
        return [binary, "http", "serve", "-p", str(port), "-b", "127.0.0.1", "-q", www]
    if name in ("nginx", "nginx+ofc"):
        return nginx_argv(tmp, www, port, name == "nginx+ofc")
    if name == "h2o":
        return h2o_argv(tmp, www, port)
    if name == "lighttpd":
        return lighttpd_argv(tmp, www, port)
    if name == "python":
        return [PYTHON, "-m", "http.server", "-b", "127.0.0.1", "-d", www, str(port)]
    raise ValueError(name)


class Server:
    """One server run: started pinned, waited for, checked; stop() ends it."""

    def __init__(self, name, sockit, tmp, www):
        self.name = name
        self.port = free_port()
        self.log = open(os.path.join(tmp, f"{name}-{self.port}.log"), "w+")
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *server_argv(name, sockit, tmp, www, self.port)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=raise_nofile)
        end = time.time() + 5
        while not listening(self.port):
            if self.proc.poll() is not None:
                self.fail(f"exited with status {self.proc.returncode} at start")
            if time.time() > end:
                self.fail("not listening after 5 s")
            time.sleep(0.02)

    def fail(self, why):
        self.stop()
        self.log.seek(0)
        tail = " | ".join(self.log.read().strip().splitlines()[-3:])
        raise RuntimeError(f"{why}" + (f": {tail[:300]}" if tail else ""))

    def check(self, path, want):
        """One GET: status 200 and exactly the file's bytes."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        except OSError as e:
            self.fail(f"GET {path}: {e}")
        finally:
            conn.close()
        if resp.status != 200:
            self.fail(f"GET {path}: status {resp.status}")
        if body != want:
            self.fail(f"GET {path}: {len(body)} bytes that differ from the file's {len(want)}")

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(port, path, conns, secs, lua, size, scheme="http"):
    argv = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency",
            "--timeout", "10s", "-s", lua, f"{scheme}://127.0.0.1:{port}{path}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=secs + 60,
                         preexec_fn=raise_nofile)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[:200]}")
    v = [int(x) for x in line.split()[1:]]
    requests, duration_us, nbytes, e_conn, e_read, e_write, e_status, e_timeout, p50, p99 = v
    secs_run = duration_us / 1e6
    # wrk counts only statuses >= 400; a response without the file's body (a
    # 1xx, 204, 3xx or 304) shows as fewer bytes than requests * size.
    short = max(0, requests - nbytes // size)
    return {
        "rps": requests / secs_run,
        "mibs": nbytes / secs_run / (1 << 20),
        "p50": p50, "p99": p99,  # microseconds
        "requests": requests,
        "errors": e_conn + e_read + e_write + e_timeout,
        "non2xx": e_status + short,
    }


def loadgen(prog, port, path, conns, secs):
    """`loadgen http`: keep-alive GETs, 256 KiB per read; it exits 1 on any
    error, a status other than 200 or a body longer than Content-Length."""
    argv = ["taskset", "-c", CLIENT_CPU, prog, "http", "127.0.0.1", str(port), path, str(conns),
            str(secs), str(LOADGEN_READ)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=secs + 60,
                         preexec_fn=raise_nofile)
    f = out.stdout.split()
    if out.returncode != 0 or len(f) < 4:
        raise RuntimeError(f"loadgen failed ({out.returncode}): {out.stderr.strip()[:200]}")
    rps, bps = float(f[0]), float(f[2])
    return {"rps": rps, "mibs": bps / (1 << 20), "p50": None, "p99": None,
            "requests": rps * secs, "errors": 0, "non2xx": 0}


def measure(name, point, sockit, tmp, www, files, lua, lg):
    fname, conns, client = point
    srv = Server(name, sockit, tmp, www)

    def run(secs):
        if client == "loadgen":
            return loadgen(lg, srv.port, f"/{fname}.bin", conns, secs)
        return wrk(srv.port, f"/{fname}.bin", conns, secs, lua, len(files[fname]))
    try:
        srv.check(f"/{fname}.bin", files[fname])
        if WARMUP:
            run(WARMUP)
        if srv.proc.poll() is not None:
            srv.fail("died during the warm-up")
        cpu0 = srv.cpu_seconds()
        r = run(SECS)
        if srv.proc.poll() is not None:
            srv.fail("died during the run")
        r["cpu_us"] = (srv.cpu_seconds() - cpu0) / max(r["requests"], 1) * 1e6
        return r
    finally:
        srv.stop()
        srv.log.close()


# --- output ---

def fmt_lat(us):
    if us is None:
        return "-"
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    return f"{us / 1000:.2f} ms" if us >= 10000 else f"{us:.0f} us"


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def point_table(title, res):
    """res: {server: medians}. Ratios: sockit vs that server, >1 = sockit better."""
    print(f"\n{title}")
    hdr = (f"  {'server':<13} {'req/s':>10} {'MiB/s':>9} {'p50':>9} {'p99':>9} {'CPU/req':>9} "
           f"{'errors':>6} {'non-2xx':>7}   {'req/s':>6} {'CPU':>6} {'p99':>6}")
    print(hdr)
    print(f"  {'':<13} {'':>10} {'':>9} {'':>9} {'':>9} {'':>9} {'':>6} {'':>7}   "
          f"{'--- sockit vs it ---':>20}")
    s = res.get("sockit")
    for name, m in res.items():
        rr = cr = pr = ""
        if s and name != "sockit":
            rr = ratio(s["rps"], m["rps"])
            cr = ratio(m["cpu_us"], s["cpu_us"])
            pr = ratio(m["p99"], s["p99"]) if s["p99"] is not None else ""
        print(f"  {name:<13} {m['rps']:>10,.0f} {m['mibs']:>9,.1f} {fmt_lat(m['p50']):>9} "
              f"{fmt_lat(m['p99']):>9} {m['cpu_us']:>6.1f} us {m['errors']:>6} {m['non2xx']:>7}   "
              f"{rr:>6} {cr:>6} {pr:>6}")


def main():
    sockit, tmp = sys.argv[1], sys.argv[2]
    # Read here, not at import: https_bench.py imports this module and has
    # BENCH_POINTS of its own ("1k hs 10m").
    if os.environ.get("BENCH_POINTS"):
        POINTS[:] = [(f, int(c), (rest or ["wrk"])[0])
                     for f, c, *rest in (p.split(":") for p in os.environ["BENCH_POINTS"].split())]
    lg = sys.argv[3] if len(sys.argv) > 3 else None
    if lg is None:
        POINTS[:] = [p for p in POINTS if p[2] != "loadgen"]
    if not shutil.which("wrk"):
        sys.exit("bench/http.sh: wrk is missing (Debian package wrk; scripts/deps.sh bench)")
    if not os.access(sockit, os.X_OK):
        sys.exit(f"bench/http.sh: no sockit binary at '{sockit}'")
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    os.chmod(tmp, 0o755)  # servers that change user (h2o as root) still read www
    files = {}
    for fname, size in SIZES.items():
        files[fname] = os.urandom(size)
        with open(os.path.join(www, f"{fname}.bin"), "wb") as f:
            f.write(files[fname])
    lua = os.path.join(tmp, "report.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)

    skipped = {}
    servers = []
    for name in SERVERS:
        prog = PROGRAM.get(name)
        if prog and not shutil.which(prog):
            skipped[name] = f"{prog} not installed"
        else:
            servers.append(name)
    for name, why in skipped.items():
        print(f"  ({name}: skipped, {why})", file=sys.stderr)

    per_run = SECS + WARMUP + 1
    est = len(POINTS) * ROUNDS * len(servers) * per_run
    print(f"sockit HTTP benchmark: {ROUNDS} round(s), medians; {SECS} s per point after a "
          f"{WARMUP} s warm-up; server on CPU {SERVER_CPU}, wrk -t1 on CPU {CLIENT_CPU}; "
          f"loopback 127.0.0.1 (about {est / 60:.0f} min)")
    print(f"sockit: {sockit}")
    versions = []
    for name, cmd in (("nginx", ["nginx", "-v"]), ("h2o", ["h2o", "-v"]),
                      ("lighttpd", ["lighttpd", "-v"]), ("wrk", ["wrk", "-v"]),
                      ("python", [PYTHON, "-V"])):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            first = (out.stdout + out.stderr).strip().splitlines()[0]
            versions.append(first.replace("nginx version: ", "").split(" - ")[0].split(" [")[0])
        except (OSError, IndexError, subprocess.TimeoutExpired):
            pass
    print("peers: " + "; ".join(versions))
    print("columns: medians over rounds; MiB/s as read by wrk (headers included); CPU/req = "
          "server utime+stime / requests;\n         errors (connect/read/write/timeout) and "
          "non-2xx = totals over all rounds; ratios: sockit vs it, >1 = sockit better")

    results = {}
    sockit_runs_bad = 0
    for point in POINTS:
        fname, conns, client = point
        runs = {name: [] for name in servers}
        for r in range(ROUNDS):
            order = servers if r % 2 == 0 else list(reversed(servers))
            for name in order:
                if name in skipped:
                    continue
                try:
                    runs[name].append(measure(name, point, sockit, tmp, www, files, lua, lg))
                except Exception as e:  # a peer that fails is reported and skipped, not fatal
                    print(f"  ({name}: {e}; skipped from now on)", file=sys.stderr)
                    skipped[name] = str(e)
                    if name == "sockit":
                        sockit_runs_bad += 1
        med = {}
        for name in servers:
            rs = runs[name]
            if not rs:
                continue
            med[name] = {k: (statistics.median(x[k] for x in rs) if rs[0][k] is not None else None)
                         for k in ("rps", "mibs", "p50", "p99", "cpu_us")}
            med[name]["errors"] = sum(x["errors"] for x in rs)
            med[name]["non2xx"] = sum(x["non2xx"] for x in rs)
        results[point] = med
        by = "" if client == "wrk" else f", read by loadgen ({LOADGEN_READ >> 10} KiB per read)"
        point_table(f"GET {SIZE_LABEL[fname]} file, {conns} connection{'s' * (conns != 1)}, "
                    f"{SECS} s{by}", med)
        sys.stdout.flush()

    ok = verdict(results)
    readme(results)
    if "sockit" in skipped or sockit_runs_bad:
        return 1
    return 1 if STRICT and not ok else 0


def verdict(results):
    print("\ntargets")
    checks = []

    def check(label, value, passed):
        checks.append(passed)
        print(f"  {label}: {value} -> {'meets' if passed else 'MISSES'}")

    def best(med, key, higher=True):
        peers = {k: v[key] for k, v in med.items() if k not in ("sockit", "sockit-before")}
        if not peers:
            return None, None
        k = (max if higher else min)(peers, key=peers.get)
        return k, peers[k]

    m = results.get(("1k", 64, "wrk"), {})
    s = m.get("sockit")
    if s:
        k, v = best(m, "rps")
        if k:
            check(f"1 KiB/64: req/s >= best peer's ({k} {v:,.0f})",
                  f"{s['rps']:,.0f} ({s['rps'] / v:.2f}x)", s["rps"] >= v)
        if "nginx" in m:
            v = m["nginx"]["rps"]
            check(f"1 KiB/64: req/s >= 2x nginx's ({v:,.0f})",
                  f"{s['rps']:,.0f} ({s['rps'] / v:.2f}x)", s["rps"] >= 2 * v)
        k, v = best(m, "cpu_us", higher=False)
        if k:
            check(f"1 KiB/64: CPU/req <= 0.75x best peer's ({k} {v:.1f} us)",
                  f"{s['cpu_us']:.1f} us ({s['cpu_us'] / v:.2f}x)", s["cpu_us"] <= 0.75 * v)
    # File bodies (issue 10): 64 KiB at <= 0.8x the best peer's CPU and at
    # least its req/s; 10 MiB at >= 1.2x the best peer's MiB/s.
    m = results.get(("64k", 64, "wrk"), {})
    s = m.get("sockit")
    if s:
        k, v = best(m, "cpu_us", higher=False)
        if k:
            check(f"64 KiB/64: CPU/req <= 0.8x best peer's ({k} {v:.1f} us)",
                  f"{s['cpu_us']:.1f} us ({s['cpu_us'] / v:.2f}x)", s["cpu_us"] <= 0.8 * v)
        k, v = best(m, "rps")
        if k:
            check(f"64 KiB/64: req/s >= best peer's ({k} {v:,.0f})",
                  f"{s['rps']:,.0f} ({s['rps'] / v:.2f}x)", s["rps"] >= v)
    for client in ("wrk", "loadgen"):
        m = results.get(("10m", 64, client), {})
        s = m.get("sockit")
        if not s:
            continue
        k, v = best(m, "mibs")
        if k:
            check(f"10 MiB/64 read by {client}: MiB/s >= 1.2x best peer's ({k} {v:,.1f})",
                  f"{s['mibs']:,.1f} ({s['mibs'] / v:.2f}x)", s["mibs"] >= 1.2 * v)
        k, v = best(m, "cpu_us", higher=False)
        if k:
            print(f"  10 MiB/64 read by {client}: CPU per request {s['cpu_us']:,.0f} us, best "
                  f"peer's ({k}) {v:,.0f} us ({s['cpu_us'] / v:.2f}x; no target)")
    m = results.get(("1k", 256, "wrk"), {})
    if m.get("sockit") and "h2o" in m:
        s, v = m["sockit"]["p99"], m["h2o"]["p99"]
        check(f"1 KiB/256: p99 <= h2o's ({fmt_lat(v)})", f"{fmt_lat(s)}", s <= v)
    errs = sum(m["sockit"]["errors"] for m in results.values() if "sockit" in m)
    bad = sum(m["sockit"]["non2xx"] for m in results.values() if "sockit" in m)
    check("no errors and no non-2xx responses in any sockit run",
          f"{errs} errors, {bad} non-2xx", errs == 0 and bad == 0)
    return all(checks)


def readme(results):
    """The README's rows: capability | sockit | peer | ratio."""
    print("\nREADME rows (markdown)")
    rows = []
    m = results.get(("1k", 64, "wrk"), {})
    s = m.get("sockit")
    if s:
        peers = {k: v for k, v in m.items() if k not in ("sockit", "sockit-before")}
        if peers:
            k = max(peers, key=lambda n: peers[n]["rps"])
            rows.append(("`http serve`, 1 KiB file, 64 connections: requests/s",
                         f"{s['rps']:,.0f}", f"{k} {peers[k]['rps']:,.0f} (best peer)",
                         f"{s['rps'] / peers[k]['rps']:.2f}x"))
        if "nginx" in m:
            rows.append(("`http serve`, 1 KiB file, 64 connections: requests/s",
                         f"{s['rps']:,.0f}", f"nginx {m['nginx']['rps']:,.0f}",
                         f"{s['rps'] / m['nginx']['rps']:.2f}x"))
        if peers:
            k = min(peers, key=lambda n: peers[n]["cpu_us"])
            rows.append(("`http serve`, 1 KiB file, 64 connections: server CPU per request",
                         f"{s['cpu_us']:.1f} µs", f"{k} {peers[k]['cpu_us']:.1f} µs (best peer)",
                         f"{s['cpu_us'] / peers[k]['cpu_us']:.2f}x"))
    for key, label, field, unit in ((("64k", 64, "wrk"), "64 KiB file, 64 connections: requests/s",
                                     "rps", ""),
                                    (("10m", 64, "wrk"), "10 MiB file, 64 connections: MiB/s",
                                     "mibs", ""),
                                    (("10m", 64, "loadgen"),
                                     "10 MiB file, 64 connections, 256 KiB reads: MiB/s",
                                     "mibs", "")):
        m = results.get(key, {})
        if m.get("sockit") and "lighttpd" in m:
            s, v = m["sockit"][field], m["lighttpd"][field]
            rows.append((f"`http serve`, {label}", f"{s:,.0f}", f"lighttpd {v:,.0f}",
                         f"{s / v:.2f}x"))
    m = results.get(("1k", 256, "wrk"), {})
    if m.get("sockit") and "h2o" in m:
        s, v = m["sockit"]["p99"], m["h2o"]["p99"]
        rows.append(("`http serve`, 1 KiB file, 256 connections: p99 latency", fmt_lat(s),
                     f"h2o {fmt_lat(v)}", f"{s / v:.2f}x"))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.exit(main())
