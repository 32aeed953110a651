"""sockit's TCP and UDP benchmarks against socat, ncat, OpenBSD nc and iperf3.

    net_bench.py tcp SOCKIT LOADGEN     bulk, echo latency, echo throughput, idle RSS
    net_bench.py udp SOCKIT LOADGEN     datagram echo rate

Each point runs every tool in turn, alternating the order between rounds, with
the server pinned to CPU 0 and the client to CPU 1 (taskset), on 127.0.0.1.
Figures are medians over the rounds; each table row has its ratio to sockit.
Environment: BENCH_ROUNDS (3), BENCH_BULK_BYTES (4 GiB), BENCH_SECS (5).
"""
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BULK = int(os.environ.get("BENCH_BULK_BYTES", str(4 << 30)))
SECS = float(os.environ.get("BENCH_SECS", "5"))
# Before and after a change, in the same run: BENCH_SOCKIT_BEFORE=/path/to/old/sockit
# adds "sockit-before", measured like the others (never counted as a peer).
SOCKIT_BEFORE = os.environ.get("BENCH_SOCKIT_BEFORE")


def with_before(make, sockit):
    """make(sockit) -> {name: ...}; with BENCH_SOCKIT_BEFORE, the old binary's
    "sockit" entry joins as "sockit-before", second in the order."""
    tools = make(sockit)
    if not SOCKIT_BEFORE:
        return tools
    out = {"sockit": tools.pop("sockit"), "sockit-before": make(SOCKIT_BEFORE)["sockit"]}
    out.update(tools)
    return out


def is_peer(name):
    return not name.startswith("sockit")
SERVER_CPU, CLIENT_CPU = "0", "1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port, udp=False):
    """Is a socket bound (UDP) or listening (TCP) on port? Read from /proc so
    that checking does not use up a one-client server's only accept."""
    files = ["/proc/net/udp", "/proc/net/udp6"] if udp else ["/proc/net/tcp", "/proc/net/tcp6"]
    for path in files:
        with open(path) as f:
            next(f)
            for line in f:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and (udp or fields[3] == "0A"):
                    return True
    return False


def wait_port(port, udp=False, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if listening(port, udp):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def start_server(argv, stdout=subprocess.DEVNULL):
    return subprocess.Popen(["taskset", "-c", SERVER_CPU, *argv], stdout=stdout,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            preexec_fn=raise_nofile)


def raise_nofile():
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(argv, timeout=600):
    out = subprocess.run(["taskset", "-c", CLIENT_CPU, *argv], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {out.stderr.strip()[:200]}")
    return out.stdout


# --- bulk: BULK bytes from a pipe through client -> server -> /dev/null ---

def bulk_tools(sockit):
    return {
        "sockit": (lambda p: [sockit, "tcp", "listen", "-d", "-b", "127.0.0.1", str(p)],
                   lambda p: [sockit, "tcp", "connect", "127.0.0.1", str(p)]),
        "socat": (lambda p: ["socat", "-u", f"TCP-LISTEN:{p},reuseaddr,bind=127.0.0.1", "STDOUT"],
                  lambda p: ["socat", "-u", "STDIN", f"TCP:127.0.0.1:{p}"]),
        "ncat": (lambda p: ["ncat", "-l", "--recv-only", "127.0.0.1", str(p)],
                 lambda p: ["ncat", "--send-only", "127.0.0.1", str(p)]),
        "nc.openbsd": (lambda p: ["nc.openbsd", "-d", "-l", "127.0.0.1", str(p)],
                       lambda p: ["nc.openbsd", "-N", "127.0.0.1", str(p)]),
    }


def bulk_file():
    """BULK bytes in a tmpfs file, made once: every tool reads the same file
    on stdin, so no feeder process shares the client's core."""
    path = os.path.join("/dev/shm", f"sockit-bench-{os.getpid()}")
    if not os.path.exists(path):
        subprocess.run(f"head -c {BULK} /dev/zero > {path}", shell=True, check=True)
    return path


def bulk_once(server_argv, client_argv):
    port = free_port()
    srv = start_server(server_argv(port))
    try:
        wait_port(port)
        with open(bulk_file(), "rb") as src:
            t0 = time.time()
            subprocess.run(["taskset", "-c", CLIENT_CPU, *client_argv(port)], stdin=src,
                           check=True, timeout=600, stdout=subprocess.DEVNULL)
            srv.wait(timeout=60)
            return BULK / (time.time() - t0)
    finally:
        stop(srv)


def iperf_once():
    port = free_port()
    srv = start_server(["iperf3", "-s", "-1", "-p", str(port)])
    try:
        wait_port(port)
        out = client(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-n", str(BULK), "-J"])
        import json
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 8
    finally:
        stop(srv)


# --- echo servers for latency and throughput ---

def echo_servers(sockit):
    return {
        "sockit": lambda p: [sockit, "tcp", "listen", "--echo", "-b", "127.0.0.1", str(p)],
        "socat": lambda p: ["socat", f"TCP-LISTEN:{p},reuseaddr,fork,bind=127.0.0.1", "PIPE"],
        "ncat": lambda p: ["ncat", "-l", "--keep-open", "127.0.0.1", str(p), "--exec", "/bin/cat"],
    }


def with_server(argv_of, fn, udp=False):
    port = free_port()
    srv = start_server(argv_of(port))
    try:
        wait_port(port, udp=udp)
        return fn(port)
    finally:
        stop(srv)


def number(text):
    return float(re.match(r"\s*([0-9.]+)", text).group(1))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_rss(sockit, loadgen, n=10000):
    port = free_port()
    # Above the default --max-conns (1024), which would refuse most of them.
    srv = start_server([sockit, "tcp", "listen", "--echo", "--max-conns", str(n), "-b",
                        "127.0.0.1", str(port)])
    try:
        wait_port(port)
        held = subprocess.Popen(["taskset", "-c", CLIENT_CPU, loadgen, "idle", "127.0.0.1",
                                 str(port), str(n)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
        line = held.stdout.readline()
        if "ready" not in line:
            raise RuntimeError("idle load generator failed")
        time.sleep(1.0)
        kib = rss_kib(srv.pid)
        held.stdin.close()
        held.wait(timeout=30)
        return kib / 1024
    finally:
        stop(srv)


def rounds(tools, measure):
    """Runs measure(tool) for every tool ROUNDS times, alternating order;
    returns {tool: median}."""
    results = {t: [] for t in tools}
    names = list(tools)
    for r in range(ROUNDS):
        order = names if r % 2 == 0 else list(reversed(names))
        for name in order:
            try:
                results[name].append(measure(name))
            except Exception as e:  # a peer that fails is reported, not fatal
                print(f"  ({name}: {e})", file=sys.stderr)
    return {t: statistics.median(v) for t, v in results.items() if v}


def table(title, unit, medians, higher_is_better=True, extra=None):
    print(f"\n{title}")
    print(f"  {'tool':<12} {'median':>14} {unit:<10} {'sockit vs it':>12}")
    base = medians.get("sockit")
    for name, v in medians.items():
        if base is None or name == "sockit":
            ratio = ""
        else:
            ratio = f"{(base / v if higher_is_better else v / base):.2f}x"
        print(f"  {name:<12} {v:>14,.2f} {unit:<10} {ratio:>12}")
    if extra:
        print(extra)


def tcp(sockit, loadgen):
    print(f"sockit TCP benchmark: {ROUNDS} rounds, medians; server on CPU {SERVER_CPU}, "
          f"client on CPU {CLIENT_CPU}; loopback 127.0.0.1")

    tools = with_before(bulk_tools, sockit)
    med = rounds(tools, lambda name: bulk_once(*tools[name]) / (1 << 20))
    iperf = statistics.median([iperf_once() / (1 << 20) for _ in range(ROUNDS)])
    best_peer = max(v for k, v in med.items() if is_peer(k))
    os.unlink(bulk_file())
    table(f"bulk: {BULK / (1 << 30):.1f} GiB file on stdin -> client -> server -> /dev/null",
          "MiB/s", med,
          extra=f"  {'iperf3':<12} {iperf:>14,.2f} MiB/s      (loopback ceiling)\n"
                f"  sockit / best peer: {med['sockit'] / best_peer:.2f}x (target >= 1.5x); "
                f"sockit / iperf3: {med['sockit'] / iperf * 100:.0f}% (target >= 70%)")

    servers = with_before(echo_servers, sockit)
    med = rounds(servers, lambda name: with_server(servers[name], lambda p: number(
        client([loadgen, "latency", "127.0.0.1", str(p), "20000", "64"]))))
    best = min(v for k, v in med.items() if is_peer(k))
    table("echo latency: 20,000 sequential 64-byte round trips on one connection", "us",
          med, higher_is_better=False,
          extra=f"  best peer / sockit: {best / med['sockit']:.2f}x (target >= 1.0x)")

    med = rounds(servers, lambda name: with_server(servers[name], lambda p: number(
        client([loadgen, "throughput", "127.0.0.1", str(p), "100", str(SECS), "1024"]))
        / (1 << 20)))
    best = max(v for k, v in med.items() if is_peer(k))
    table(f"echo throughput: 100 concurrent clients, 1 KiB messages, {SECS:.0f} s", "MiB/s", med,
          extra=f"  sockit / best peer: {med['sockit'] / best:.2f}x (target >= 2x)")

    mib = statistics.median([idle_rss(sockit, loadgen) for _ in range(ROUNDS)])
    print(f"\nidle: 10,000 concurrent idle connections to tcp listen --echo")
    print(f"  sockit server RSS: {mib:.1f} MiB (target <= 16 MiB)")


def udp(sockit, loadgen):
    print(f"sockit UDP benchmark: {ROUNDS} rounds, medians; server on CPU {SERVER_CPU}, "
          f"client on CPU {CLIENT_CPU}; loopback 127.0.0.1")
    servers = with_before(lambda sk: {
        "sockit": lambda p: [sk, "udp", "listen", "--echo", "-b", "127.0.0.1", str(p)],
        "socat": lambda p: ["socat", f"UDP-LISTEN:{p},bind=127.0.0.1", "PIPE"],
        "ncat": lambda p: ["ncat", "-u", "-l", "127.0.0.1", str(p), "--exec", "/bin/cat"],
    }, sockit)
    med = rounds(servers, lambda name: with_server(servers[name], lambda p: number(
        client([loadgen, "udp", "127.0.0.1", str(p), str(SECS), "64", "32"])), udp=True))
    best = max(v for k, v in med.items() if is_peer(k))
    table(f"UDP echo: 64-byte datagrams, 32 in flight, {SECS:.0f} s", "dgrams/s", med,
          extra=f"  sockit / best peer: {med['sockit'] / best:.2f}x "
                f"(sockit / socat: {med['sockit'] / med.get('socat', float('nan')):.2f}x, target >= 1.5x)")


if __name__ == "__main__":
    kind, sockit, loadgen = sys.argv[1:4]
    {"tcp": tcp, "udp": udp}[kind](sockit, loadgen)
