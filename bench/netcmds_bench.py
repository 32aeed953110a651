"""Benchmarks of issue 13 §3, run by bench/netcmds.sh:

- scan of all 65,535 loopback ports (a namespace's lo, with 5 listeners):
  sockit scan vs nmap -sT -p- and nc -z 1-65535, wall time and open set;
- ping of a /24 of namespace addresses (253 on the far end of a veth, one
  probe each, 1 ms between probes): sockit ping -c 1 --gap 0.001 vs
  fping -g -c 1 -i 1, wall time and the number that answered.

Each tool runs BENCH_ROUNDS times (default 5), the order alternating; the
table gives medians. Namespaces are deleted at the end, whatever happens.
"""
import os
import re
import statistics
import subprocess
import sys
import time

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PID = os.getpid()
NS_A, NS_B = f"skbench-a-{PID}", f"skbench-b-{PID}"
IF_A, IF_B = f"skba{PID}"[:15], f"skbb{PID}"[:15]
LISTENER = """
import socket, sys
socks = []
for port in (22, 80, 8080, 40000, 65535):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen(128)
    socks.append(s)
print("ready", flush=True)
sys.stdin.read()
"""


def sh(*argv, ns=None, check=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in argv]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.returncode} {r.stderr}")
    return r


def timed(*argv, ns):
    start = time.monotonic()
    r = sh(*argv, ns=ns, check=False)
    return time.monotonic() - start, r


def setup():
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "link", "add", IF_A, "netns", NS_A, "type", "veth", "peer", "name", IF_B,
       "netns", NS_B)
    for ns, ifname in ((NS_A, IF_A), (NS_B, IF_B)):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "set", ifname, "up")
    sh("ip", "-n", NS_A, "addr", "add", "10.214.0.1/24", "dev", IF_A)
    batch = "".join(f"addr add 10.214.0.{n}/24 dev {IF_B}\n" for n in range(2, 255))
    subprocess.run(["ip", "-n", NS_B, "-batch", "-"], input=batch, text=True, check=True)


def cleanup():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def scan_open(tool, r):
    if tool == "sockit":
        return sorted(int(l.split("/")[0]) for l in r.stdout.splitlines()[1:])
    if tool == "nmap":
        return sorted(int(p) for p in re.findall(r"(\d+)/open/tcp", r.stdout))
    return sorted(int(p) for p in re.findall(r" (\d+) port \[tcp/[^]]*\] succeeded", r.stderr))


def bench_scan(sockit):
    cmds = {
        "sockit": [sockit, "scan", "127.0.0.1", "-"],
        "nmap": ["nmap", "-sT", "-n", "-Pn", "-p-", "-oG", "-", "127.0.0.1"],
        "nc": ["nc", "-z", "-v", "127.0.0.1", "1-65535"],
    }
    lp = subprocess.Popen(["ip", "netns", "exec", NS_A, sys.executable, "-c", LISTENER],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert lp.stdout.readline().strip() == "ready"
        times = {t: [] for t in cmds}
        opens = {}
        order = list(cmds)
        for rnd in range(ROUNDS):
            for tool in (order if rnd % 2 == 0 else order[::-1]):
                secs, r = timed(*cmds[tool], ns=NS_A)
                times[tool].append(secs)
                opens[tool] = scan_open(tool, r)
                # nc and nmap leave TIME_WAIT behind on open ports; let them go.
                time.sleep(0.2)
    finally:
        lp.kill()
        lp.wait()
    return {t: statistics.median(v) for t, v in times.items()}, opens


def alive_count(tool, r):
    if tool == "sockit":
        return len(re.findall(r": 1 packets transmitted, 1 received", r.stdout))
    return len(re.findall(r" : xmt/rcv/%loss = 1/1/0%", r.stderr))


def bench_ping(sockit):
    cmds = {
        "sockit": [sockit, "ping", "-q", "-c", "1", "--gap", "0.001", "-W", "1",
                   "10.214.0.0/24"],
        "fping": ["fping", "-q", "-c", "1", "-i", "1", "-t", "1000", "-r", "0", "-g",
                  "10.214.0.0/24"],
    }
    times = {t: [] for t in cmds}
    alive = {}
    order = list(cmds)
    for rnd in range(ROUNDS):
        # Every round starts with ARP to resolve, as a first sweep would.
        sh("ip", "-n", NS_A, "neigh", "flush", "dev", IF_A)
        for tool in (order if rnd % 2 == 0 else order[::-1]):
            sh("ip", "-n", NS_A, "neigh", "flush", "dev", IF_A)
            secs, r = timed(*cmds[tool], ns=NS_A)
            times[tool].append(secs)
            alive[tool] = alive_count(tool, r)
    return {t: statistics.median(v) for t, v in times.items()}, alive


def main():
    sockit = os.path.abspath(sys.argv[1])
    cleanup()
    try:
        setup()
        scan_t, scan_open_sets = bench_scan(sockit)
        ping_t, ping_alive = bench_ping(sockit)
    finally:
        cleanup()
    print(f"rounds: {ROUNDS}, medians of wall time")
    print("| benchmark | sockit | nmap -sT | nc -z | fping -g |")
    print("|---|---|---|---|---|")
    print(f"| scan 127.0.0.1, all 65,535 ports | {scan_t['sockit']:.2f} s | "
          f"{scan_t['nmap']:.2f} s | {scan_t['nc']:.2f} s | — |")
    print(f"| ping a /24 (254 hosts answer), 1 probe each, 1 ms apart | {ping_t['sockit']:.2f} s | "
          f"— | — | {ping_t['fping']:.2f} s |")
    ours, nmap, nc = scan_open_sets["sockit"], scan_open_sets["nmap"], scan_open_sets["nc"]
    # nc -z counts a connection that met itself (source port = the port
    # scanned, an ephemeral one) as open; sockit and nmap do not.
    self_connects = sorted(set(nc) - set(ours))
    same = ours == nmap and set(ours) <= set(nc) and all(p >= 32768 for p in self_connects)
    print(f"open ports: sockit {ours}, nmap {nmap}, nc {nc}"
          f"{f' (nc self-connects: {self_connects})' if self_connects else ''}: "
          f"{'same' if same else 'DIFFERENT'}")
    print(f"answered: sockit {ping_alive['sockit']}, fping {ping_alive['fping']}")
    print(f"scan: sockit/nmap {scan_t['sockit'] / scan_t['nmap']:.2f}x, "
          f"sockit/nc {scan_t['sockit'] / scan_t['nc']:.2f}x; "
          f"ping: sockit/fping {ping_t['sockit'] / ping_t['fping']:.2f}x (below 1: faster)")
    return 0 if same and ping_alive["sockit"] == ping_alive["fping"] else 1


if __name__ == "__main__":
    sys.exit(main())
