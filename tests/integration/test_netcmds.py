"""Integration tests for the everyday network commands (issue 13): ifaces,
arp, ping, tcp ping and scan. Each is compared with the tool people know
(ip -j, iputils ping and arping, nmap -sT) on loopback and inside network
namespaces that these tests create and delete: no packet leaves the host.
"""
import fcntl
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SOCKIT
from netutil import assert_no_sanitizer_report
from udputil import NetnsPair, netns_unavailable_reason

HERE = Path(__file__).resolve().parent
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
ACRONYMS = re.compile(r"\b(IPv4|IPv6|ICMP|ARP|TCP|UDP|JSON|CIDR|MAC|TTL)\b")


def run(*argv, ns=None, user=None, timeout=60, shell=False):
    """Runs argv (inside namespace ns, as user 'nobody' when user is set)."""
    prefix = []
    if ns:
        prefix += ["ip", "netns", "exec", ns]
    if user:
        prefix += NOBODY
    cmd = [*prefix, *[str(a) for a in argv]]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if cmd[len(prefix)] == SOCKIT:
        assert_no_sanitizer_report(r.stderr, " ".join(cmd))
    return r


def sk(*args, **kw):
    return run(SOCKIT, *args, **kw)


def jlines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_message_style(err):
    assert err, "expected a message on stderr"
    for line in err.splitlines():
        assert line.startswith("sockit: "), line
        assert not line.rstrip().endswith("."), line
        body = ACRONYMS.sub("", re.sub(r"'[^']*'", "''", line[len("sockit: "):]))
        assert body == body.lower(), f"uppercase outside quoted input: {line!r}"


# --------------------------------------------------------------------------
# Namespaces: A (10.213.7.1, fd13::1) and B (10.213.7.2-.6, fd13::2-7)
# --------------------------------------------------------------------------

class Net(NetnsPair):
    """NetnsPair with names of our own and more addresses on B: secondary
    IPv4 addresses in the same /24, a second network, and several IPv6."""

    def __init__(self):
        super().__init__()
        pid = os.getpid()
        self.ns_a, self.ns_b = f"sk-na-{pid}", f"sk-nb-{pid}"
        self.if_a, self.if_b = f"skna{pid}"[:15], f"sknb{pid}"[:15]

    def setup(self):
        super().setup()
        # IPv6 addresses outlive a link down (the link-down test), as IPv4 ones do.
        for ns in (self.ns_a, self.ns_b):
            for key in ("all", "default", self.if_a if ns == self.ns_a else self.if_b):
                run_ok("sysctl", "-q", "-w", f"net.ipv6.conf.{key}.keep_addr_on_down=1", ns=ns)
        for n in range(3, 7):
            run_ok("ip", "-n", self.ns_b, "addr", "add", f"10.213.7.{n}/24", "dev", self.if_b)
        run_ok("ip", "-n", self.ns_b, "addr", "add", "10.213.8.2/24", "brd", "+", "label",
               f"{self.if_b}:8"[:15], "dev", self.if_b)
        run_ok("ip", "-n", self.ns_a, "addr", "add", "fd13::1/64", "dev", self.if_a)
        for n in range(2, 8):
            run_ok("ip", "-n", self.ns_b, "addr", "add", f"fd13::{n:x}/64", "dev", self.if_b)
        # A deprecated address (preferred lifetime 0), as ip shows it.
        run_ok("ip", "-n", self.ns_b, "addr", "add", "fd14::2/64", "dev", self.if_b,
               "valid_lft", "3600", "preferred_lft", "0")
        # Somewhere reached through a router, for arp's off-link case.
        run_ok("ip", "-n", self.ns_a, "route", "add", "10.250.0.0/16", "via", self.addr_b)

    def mac(self, ns, ifname):
        return json.loads(run_ok("ip", "-n", ns, "-j", "link", "show", "dev", ifname).stdout)[0][
            "address"]


def run_ok(*argv, **kw):
    r = run(*argv, **kw)
    assert r.returncode == 0, f"{argv}: {r.returncode} {r.stderr}"
    return r


@pytest.fixture(scope="module")
def net():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    n = Net()
    try:
        n.setup()
        yield n
    finally:
        n.remove()


# --------------------------------------------------------------------------
# ifaces
# --------------------------------------------------------------------------

LINK_FLAGS = {"UP", "BROADCAST", "LOOPBACK", "MULTICAST", "LOWER_UP", "NOARP", "POINTOPOINT"}
ADDR_FLAGS = {"secondary", "temporary", "deprecated", "tentative", "nodad", "noprefixroute"}


def ioctl_flags(name):
    """The flags ifconfig shows (SIOCGIFFLAGS), RUNNING included: ip leaves
    RUNNING out, /sys/class/net/*/flags too."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH", name.encode(), 0)
        return struct.unpack("16sH", fcntl.ioctl(s, 0x8913, req)[:18])[1]


def compare_ifaces(ours, before, after, check_running=True):
    """Checks sockit's interfaces against `ip -j -s addr` read just before
    and just after (the counters move in between: ours must lie between)."""
    by_index = {i["ifindex"]: i for i in before}
    later = {i["ifindex"]: i for i in after}
    # Other tests on this host may add or remove an interface meanwhile:
    # those present before and after must be there, nothing else may be.
    stable = set(by_index) & set(later)
    mine = {o["index"] for o in ours}
    assert stable <= mine <= set(by_index) | set(later), (ours, before, after)
    for o in ours:
        if o["index"] not in stable:
            continue
        ip, ip2 = by_index[o["index"]], later[o["index"]]
        assert o["name"] == ip["ifname"]
        assert o["mtu"] == ip["mtu"]
        assert o["state"] == ip["operstate"]
        assert o["mac"] == ip.get("address"), (o, ip)
        assert set(o["flags"]) & LINK_FLAGS == set(ip["flags"]) & LINK_FLAGS, (o, ip)
        if check_running:
            assert ("RUNNING" in o["flags"]) == bool(ioctl_flags(o["name"]) & 0x40), o
        theirs = [(a["local"], a["prefixlen"], a.get("broadcast"), a["scope"],
                   sorted(k for k in ADDR_FLAGS if a.get(k)))
                  for a in ip.get("addr_info", []) if a.get("family") in ("inet", "inet6")]
        mine = [(a["address"], a["prefix"], a.get("broadcast"), a["scope"],
                 sorted(set(a["flags"]) & ADDR_FLAGS)) for a in o["addrs"]]
        assert mine == theirs, (o["name"], mine, theirs)
        for a in o["addrs"]:
            net = a["network"]
            assert net == str(__import__("ipaddress").ip_interface(
                f"{a['address']}/{a['prefix']}").network.network_address), a
        s0, s1, st = ip["stats64"], ip2["stats64"], o["stats"]
        for way in ("rx", "tx"):
            for k in ("bytes", "packets", "errors", "dropped"):
                assert s0[way][k] <= st[f"{way}_{k}"] <= s1[way][k], (o["name"], way, k)


def ifaces_vs_ip(ns=None):
    before = json.loads(run_ok("ip", "-j", "-s", "addr", ns=ns).stdout)
    res = sk("ifaces", "--json", "-s", ns=ns)
    after = json.loads(run_ok("ip", "-j", "-s", "addr", ns=ns).stdout)
    assert res.returncode == 0 and res.stderr == "", res
    compare_ifaces(jlines(res.stdout), before, after, check_running=ns is None)
    return jlines(res.stdout)


def test_ifaces_json_matches_ip_on_this_host():
    ifaces_vs_ip()


def test_ifaces_json_matches_ip_in_a_namespace(net):
    ours = {i["name"]: i for i in ifaces_vs_ip(ns=net.ns_b)}
    veth = ours[net.if_b]
    v4 = {a["address"]: a for a in veth["addrs"] if a["family"] == "inet"}
    assert sorted(v4) == ["10.213.7.2", "10.213.7.3", "10.213.7.4", "10.213.7.5", "10.213.7.6",
                          "10.213.8.2"]
    assert sorted(a for a in v4 if "secondary" in v4[a]["flags"]) == [
        "10.213.7.3", "10.213.7.4", "10.213.7.5", "10.213.7.6"]
    net8 = v4["10.213.8.2"]
    assert net8["label"] == f"{net.if_b}:8"[:15] and net8["broadcast"] == "10.213.8.255"
    v6 = {a["address"]: a for a in veth["addrs"] if a["family"] == "inet6"}
    assert {f"fd13::{n}" for n in range(2, 8)} <= set(v6)
    assert "deprecated" in v6["fd14::2"]["flags"]
    assert any(a["scope"] == "link" for a in v6.values())
    assert veth["mac"] == net.mac(net.ns_b, net.if_b)


def test_ifaces_text_shows_each_ipv4_network(net):
    res = sk("ifaces", net.if_b, ns=net.ns_b)
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    assert re.match(rf"^\d+: {net.if_b}: <[A-Z_,]*UP[A-Z_,]*> mtu 1500 state UP$", lines[0]), lines
    assert f"    link {net.mac(net.ns_b, net.if_b)}" in lines
    assert "    inet 10.213.7.2/24 brd 10.213.7.255 network 10.213.7.0 scope global " \
           f"{net.if_b}" in lines, lines
    assert any(l.startswith("    inet 10.213.7.3/24 ") and " secondary " in l for l in lines)
    assert any(l.startswith("    inet6 fd14::2/64 ") and "deprecated" in l for l in lines)
    assert not any(l.lstrip().startswith("RX:") for l in lines)
    stats = sk("ifaces", "-s", "lo", ns=net.ns_b).stdout
    assert re.search(r"^    RX: bytes \d+ packets \d+ errors \d+ dropped \d+$", stats, re.M)


def test_ifaces_unknown_name():
    res = sk("ifaces", "nosuch0")
    assert res.returncode == 3
    assert res.stderr == "sockit: ifaces: 'nosuch0': no such interface\n"
    res = sk("ifaces", "a", "b")
    assert res.returncode == 2
    assert_message_style(res.stderr)


# --------------------------------------------------------------------------
# arp
# --------------------------------------------------------------------------

def test_arp_table_matches_ip_neigh(net):
    run_ok("ping", "-c", "1", "-W", "2", net.addr_b, ns=net.ns_a)
    run_ok("ping", "-c", "1", "-W", "2", "fd13::2", ns=net.ns_a)
    theirs = json.loads(run_ok("ip", "-j", "neigh", ns=net.ns_a).stdout)
    res = sk("arp", "--json", ns=net.ns_a)
    assert res.returncode == 0, res
    ours = jlines(res.stdout)
    want = sorted((n["dst"], n["dev"], n.get("lladdr"), n["state"][0], bool(n.get("router")))
                  for n in theirs)
    got = sorted((n["address"], n["iface"], n["mac"], n["state"], n["router"]) for n in ours)
    assert got == want
    assert (net.addr_b, net.if_a, net.mac(net.ns_b, net.if_b)) in [g[:3] for g in got]
    v4 = jlines(sk("arp", "-4", "--json", ns=net.ns_a).stdout)
    assert v4 and all(":" not in n["address"] for n in v4)
    text = sk("arp", ns=net.ns_a).stdout
    assert re.search(rf"^{re.escape(net.addr_b)} +{net.mac(net.ns_b, net.if_b)} +{net.if_a} +"
                     r"(REACHABLE|STALE|DELAY)", text, re.M), text


@pytest.mark.parametrize("addr", ["10.213.7.2", "fd13::3"])
def test_arp_resolves_one_address_without_privileges(net, addr):
    run_ok("ip", "-n", net.ns_a, "neigh", "flush", "dev", net.if_a)
    res = sk("arp", "--json", addr, ns=net.ns_a, user=True)
    assert res.returncode == 0, res
    entry = jlines(res.stdout)[0]
    assert entry["address"] == addr and entry["iface"] == net.if_a
    assert entry["mac"] == net.mac(net.ns_b, net.if_b)
    text = sk("arp", addr, ns=net.ns_a, user=True)
    assert text.returncode == 0 and net.mac(net.ns_b, net.if_b) in text.stdout


def test_arp_says_who_did_not_answer(net):
    res = sk("arp", "-W", "1", "10.213.7.99", ns=net.ns_a, user=True)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr == "sockit: arp '10.213.7.99': no answer within 1000 ms\n"
    res = sk("arp", "10.250.1.1", ns=net.ns_a)
    assert res.returncode == 1
    assert res.stderr == ("sockit: arp '10.250.1.1': not on a local network: reached through "
                          f"{net.addr_b} on {net.if_a}\n")
    own = sk("arp", "--json", net.addr_a, ns=net.ns_a)
    assert own.returncode == 0 and jlines(own.stdout)[0]["state"] == "LOCAL"
    assert jlines(own.stdout)[0]["mac"] == net.mac(net.ns_a, net.if_a)


def test_arp_probe_as_root_like_arping(net):
    res = sk("arp", "--probe", "-c", "2", net.addr_b, ns=net.ns_a, timeout=30)
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    assert lines[0] == f"ARPING {net.addr_b} from {net.addr_a} {net.if_a}"
    mac = net.mac(net.ns_b, net.if_b)
    replies = [l for l in lines if l.startswith("reply from")]
    assert len(replies) == 2, lines
    assert re.fullmatch(rf"reply from {re.escape(net.addr_b)} \[{mac}\]: arp_seq=1 "
                        r"time=\d+\.\d{3} ms", replies[0])
    assert lines[-1] == "2 requests sent, 2 replies received"
    oracle = run("arping", "-c", "1", "-w", "3", "-I", net.if_a, net.addr_b, ns=net.ns_a)
    assert oracle.returncode == 0 and mac.upper() in oracle.stdout.upper(), oracle
    js = jlines(sk("arp", "--probe", "-c", "1", "--json", net.addr_b, ns=net.ns_a).stdout)
    assert js[0]["type"] == "reply" and js[0]["mac"] == mac
    assert js[-1] == {"type": "summary", "address": net.addr_b, "sent": 1, "received": 1}


def test_arp_probe_unanswered_and_unprivileged(net):
    res = sk("arp", "--probe", "-c", "1", "-W", "0.5", "10.213.7.99", ns=net.ns_a)
    assert res.returncode == 1, res
    assert res.stdout.splitlines()[-1] == "1 request sent, 0 replies received"
    res = sk("arp", "--probe", net.addr_b, ns=net.ns_a, user=True)
    assert res.returncode == 7
    assert res.stderr.startswith("sockit: arp: --probe: a packet socket needs root")
    res = sk("arp", "--probe", "fd13::2", ns=net.ns_a)
    assert res.returncode == 2
    res = sk("arp", "-c", "2", net.addr_b)
    assert res.returncode == 2 and "add --probe" in res.stderr


# --------------------------------------------------------------------------
# ping
# --------------------------------------------------------------------------

IPUTILS_SUMMARY = re.compile(
    r"(\d+) packets transmitted, (\d+) received,(?: \+(\d+) duplicates,)?(?: \+(\d+) errors,)?"
    r" ([\d.]+)% packet loss, time (\d+)ms(?:\nrtt min/avg/max/mdev = "
    r"([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms)?")


def summary_of(text):
    m = IPUTILS_SUMMARY.search(text)
    assert m, text
    tx, rx, dups, errs, loss, ms = m.group(1, 2, 3, 4, 5, 6)
    rtt = [float(x) for x in m.group(7, 8, 9, 10)] if m.group(7) else None
    return {"tx": int(tx), "rx": int(rx), "dups": int(dups or 0), "errors": int(errs or 0),
            "loss": float(loss), "ms": int(ms), "rtt": rtt}


def compare_with_iputils(target, ns=None):
    mine = sk("ping", "-c", "3", "-i", "0.2", target, ns=ns)
    theirs = run("ping", "-c", "3", "-i", "0.2", target, ns=ns)
    assert mine.returncode == 0 and theirs.returncode == 0, (mine, theirs)
    a, b = summary_of(mine.stdout), summary_of(theirs.stdout)
    assert (a["tx"], a["rx"], a["dups"], a["loss"]) == (b["tx"], b["rx"], b["dups"], b["loss"])
    assert abs(a["ms"] - b["ms"]) < 150, (a, b)
    # Round trips of microseconds: within a few ms of each other on a busy host.
    for x, y in zip(a["rtt"], b["rtt"]):
        assert abs(x - y) < 5.0, (a, b)
    assert a["rtt"][0] <= a["rtt"][1] <= a["rtt"][2]
    lines = [l for l in mine.stdout.splitlines() if " bytes from " in l]
    assert len(lines) == 3
    for seq, line in enumerate(lines, 1):
        assert re.fullmatch(rf"64 bytes from [0-9a-f.:]+: icmp_seq={seq} ttl=\d+ time=[\d.]+ ms",
                            line), line
    return mine


def test_ping_loopback_like_iputils():
    out = compare_with_iputils("127.0.0.1").stdout
    assert out.startswith("PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n")
    assert "\n--- 127.0.0.1 ping statistics ---\n" in out
    out = compare_with_iputils("::1").stdout
    assert out.startswith("PING ::1(::1) 56 data bytes\n")


def test_ping_namespace_peer_like_iputils(net):
    compare_with_iputils(net.addr_b, ns=net.ns_a)
    compare_with_iputils("fd13::2", ns=net.ns_a)


def test_ping_mdev_is_the_population_deviation():
    res = sk("ping", "-c", "5", "-i", "0.05", "--json", "127.0.0.1")
    assert res.returncode == 0, res
    objs = jlines(res.stdout)
    times = [o["time_ms"] for o in objs if o["type"] == "reply"]
    summary = objs[-1]
    assert summary["type"] == "summary" and summary["received"] == 5
    avg = sum(times) / 5
    mdev = (sum(t * t for t in times) / 5 - avg * avg) ** 0.5
    assert abs(summary["rtt_avg_ms"] - avg) < 0.002
    assert abs(summary["rtt_mdev_ms"] - mdev) < 0.002
    assert summary["rtt_min_ms"] == pytest.approx(min(times), abs=0.001)


def test_ping_link_down_is_total_loss(net):
    run_ok("ip", "-n", net.ns_b, "link", "set", net.if_b, "down")
    try:
        res = sk("ping", "-c", "2", "-i", "0.2", "-W", "1", net.addr_b, ns=net.ns_a)
        assert res.returncode == 1, res
        s = summary_of(res.stdout)
        assert s["tx"] == 2 and s["rx"] == 0 and s["loss"] == 100.0 and s["rtt"] is None
    finally:
        run_ok("ip", "-n", net.ns_b, "link", "set", net.if_b, "up")
        net.wait_link_local()


def test_ping_sockets_and_permissions(net):
    sysctl = ["sysctl", "-q", "-w"]
    try:
        run_ok(*sysctl, "net.ipv4.ping_group_range=1 0", ns=net.ns_a)
        res = sk("ping", "-c", "1", "127.0.0.1", ns=net.ns_a, user=True)
        assert res.returncode == 7 and res.stdout == ""
        assert "net.ipv4.ping_group_range" in res.stderr and "CAP_NET_RAW" in res.stderr
        assert_message_style(res.stderr)
        root = sk("ping", "-v", "-c", "1", "127.0.0.1", ns=net.ns_a)
        assert root.returncode == 0
        assert "sockit: ping: IPv4: raw ICMP socket (CAP_NET_RAW)" in root.stderr
        run_ok(*sysctl, "net.ipv4.ping_group_range=0 2147483647", ns=net.ns_a)
        for target in (net.addr_b, "fd13::2"):
            res = sk("ping", "-v", "-c", "2", "-i", "0.2", target, ns=net.ns_a, user=True)
            assert res.returncode == 0, res
            assert "datagram ICMP socket (net.ipv4.ping_group_range)" in res.stderr
            assert summary_of(res.stdout)["rx"] == 2
        res = sk("ping", "-i", "0.001", "-c", "1", "127.0.0.1", ns=net.ns_a, user=True)
        assert res.returncode == 2
        assert res.stderr.startswith("sockit: ping: -i 0.001: below 0.002 s needs root")
    finally:
        run(*sysctl, "net.ipv4.ping_group_range=1 0", ns=net.ns_a)


def test_ping_cidrs_concurrently(net):
    res = sk("ping", "-c", "1", "10.213.7.0/29", "fd13::/125", ns=net.ns_a, timeout=30)
    assert res.returncode == 0, res
    out = res.stdout
    assert out.startswith("PING 13 targets: 56 data bytes\n")
    summaries = re.findall(r"^([0-9a-f.:]+): 1 packets transmitted, 1 received, 0% packet loss",
                           out, re.M)
    assert summaries == [f"10.213.7.{n}" for n in range(1, 7)] + [f"fd13::{n}" for n in range(1, 8)]
    js = jlines(sk("ping", "-c", "1", "-W", "1", "--json", "-q", "10.213.7.0/30", "10.213.7.9",
                   ns=net.ns_a, timeout=30).stdout)
    assert [o["target"] for o in js] == ["10.213.7.1", "10.213.7.2", "10.213.7.9"]
    assert [o["received"] for o in js] == [1, 1, 0]


def test_ping_one_silent_target_fails_the_run(net):
    res = sk("ping", "-c", "1", "-W", "0.5", net.addr_b, "10.213.7.77", ns=net.ns_a, timeout=30)
    assert res.returncode == 1, res
    assert re.search(rf"^{re.escape(net.addr_b)}: 1 packets transmitted, 1 received", res.stdout,
                     re.M)
    assert re.search(r"^10\.213\.7\.77: 1 packets transmitted, 0 received", res.stdout, re.M)


@pytest.fixture
def responder(net):
    """B stops answering echo itself; a Python raw socket answers instead."""
    procs = []

    def start(copies, delay):
        run_ok("sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=1", ns=net.ns_b)
        p = subprocess.Popen(["ip", "netns", "exec", net.ns_b, sys.executable,
                              str(HERE / "icmp_responder.py"), str(copies), str(delay)],
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout.readline().strip() == "ready"
    yield start
    for p in procs:
        p.kill()
        p.wait(10)
    run("sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=0", ns=net.ns_b)


def test_ping_marks_duplicates(net, responder):
    responder(2, 0)
    # -w: every probe's first answer is waited for, however busy the machine.
    res = sk("ping", "-c", "3", "-i", "0.3", "-w", "20", net.addr_b, ns=net.ns_a)
    assert res.returncode == 0, res
    dups = [l for l in res.stdout.splitlines() if l.endswith(" (DUP!)")]
    s = summary_of(res.stdout)
    # The last probe's copy may come after its first answer ended the run
    # (iputils stops there too).
    assert (s["tx"], s["rx"]) == (3, 3) and s["dups"] in (2, 3) and len(dups) == s["dups"]
    assert re.search(r"icmp_seq=1 ttl=\d+ time=[\d.]+ ms \(DUP!\)$", res.stdout, re.M)
    theirs = summary_of(run("ping", "-c", "3", "-i", "0.3", "-w", "20", net.addr_b,
                            ns=net.ns_a).stdout)
    assert (theirs["tx"], theirs["rx"]) == (3, 3) and theirs["dups"] in (2, 3)


def test_ping_marks_late_replies(net, responder):
    responder(1, 0.3)
    # After the first answer the run waits twice the longest round trip for
    # the last (as iputils): all three answers arrive, each after -W.
    res = sk("ping", "-c", "3", "-i", "0.4", "-W", "0.1", "--json", net.addr_b, ns=net.ns_a)
    assert res.returncode == 0, res
    objs = jlines(res.stdout)
    replies = [o for o in objs if o["type"] == "reply"]
    assert len(replies) == 3 and all(o["late"] and o["time_ms"] > 100 for o in replies), objs
    assert objs[-1]["late"] == 3 and objs[-1]["received"] == 3
    text = sk("ping", "-c", "2", "-i", "0.4", "-W", "0.1", net.addr_b, ns=net.ns_a)
    assert re.search(r"icmp_seq=1 ttl=\d+ time=[\d.]+ ms \(late\)$", text.stdout, re.M), text
    assert ", 2 late, 0% packet loss" in text.stdout


def test_ping_deadline_waits_for_every_reply(net, responder):
    # Replies come 0.3 s, 0.6 s and 0.9 s after the first probe. Without -w
    # the run gives up -W after the last probe, before any; with -w it waits
    # for all three (iputils' -w), and no longer than that.
    responder(1, 0.3)
    res = sk("ping", "-c", "3", "-i", "0.05", "-W", "0.1", net.addr_b, ns=net.ns_a)
    assert res.returncode == 1 and summary_of(res.stdout)["rx"] == 0, res
    time.sleep(1)  # the responder drains the three requests
    start = time.monotonic()
    res = sk("ping", "-c", "3", "-i", "0.05", "-W", "0.1", "-w", "10", net.addr_b, ns=net.ns_a)
    took = time.monotonic() - start
    assert res.returncode == 0 and took < 5, (res, took)
    assert "3 packets transmitted, 3 received, 3 late," in res.stdout, res


def test_ping_options_and_errors():
    res = sk("ping", "-c", "2", "-i", "0.1", "-s", "8", "-t", "7", "-q", "127.0.0.1")
    assert res.returncode == 0
    assert " bytes from " not in res.stdout
    s = summary_of(res.stdout)
    assert s["rx"] == 2 and s["rtt"] is None  # 8 bytes leave no room for the time
    assert res.stdout.startswith("PING 127.0.0.1 (127.0.0.1) 8(36) bytes of data.\n")
    start = time.monotonic()
    res = sk("ping", "-w", "0.5", "-i", "0.1", "127.0.0.1")
    assert res.returncode == 0 and time.monotonic() - start < 3
    assert 3 <= summary_of(res.stdout)["tx"] <= 7
    for args, status, msg in [
        ([], 2, "sockit: ping: expected at least one target\n"),
        (["-s", "70000", "::1"], 2, "sockit: ping: -s '70000': not a whole number (0-65507)\n"),
        (["-c", "0", "::1"], 2, "sockit: ping: -c 0: at least one probe\n"),
        (["-t", "0", "::1"], 2, "sockit: ping: -t 0: a TTL is 1-255\n"),
        (["10.0.0.0/33"], 2, "sockit: ping: '10.0.0.0/33': prefix length out of range: '33'\n"),
        (["10.0.0.0/8"], 2, "sockit: ping: '10.0.0.0/8': more than 65536 addresses\n"),
        (["no.such.host.invalid"], 3, "sockit: ping: 'no.such.host.invalid': name not known\n"),
    ]:
        res = sk("ping", *args)
        assert res.returncode == status, (args, res)
        assert res.stderr.splitlines()[0] + "\n" == msg, (args, res.stderr)
        assert_message_style(res.stderr)


def test_ping_json_lines():
    res = sk("ping", "-c", "2", "-i", "0.1", "--json", "::1", "127.0.0.1")
    assert res.returncode == 0, res
    objs = jlines(res.stdout)
    replies = [o for o in objs if o["type"] == "reply"]
    assert sorted((o["target"], o["seq"]) for o in replies) == [
        ("127.0.0.1", 1), ("127.0.0.1", 2), ("::1", 1), ("::1", 2)]
    assert all(o["bytes"] == 64 and o["dup"] is False and o["ttl"] == 64 for o in replies)
    sums = [o for o in objs if o["type"] == "summary"]
    assert [o["target"] for o in sums] == ["::1", "127.0.0.1"]
    assert all(o["transmitted"] == 2 and o["loss_pct"] == 0 for o in sums)


# --------------------------------------------------------------------------
# tcp ping
# --------------------------------------------------------------------------

@pytest.fixture
def listeners():
    socks = []

    def make(n, host="127.0.0.1", family=socket.AF_INET):
        ports = []
        for _ in range(n):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.bind((host, 0))
            s.listen(64)
            socks.append(s)
            ports.append(s.getsockname()[1])
        return ports
    yield make
    for s in socks:
        s.close()


LISTENER = """
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((sys.argv[2], 0))
    s.listen(64)
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks), flush=True)
sys.stdin.read()
"""


@pytest.fixture
def ns_listeners(net):
    """Listening sockets inside namespace A, where nothing else listens: the
    open set is exactly ours (on the shared host, other tests' listeners
    come and go between two scans)."""
    procs = []

    def make(n, host="127.0.0.1"):
        p = subprocess.Popen(["ip", "netns", "exec", net.ns_a, sys.executable, "-c", LISTENER,
                              str(n), host], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        procs.append(p)
        return sorted(int(x) for x in p.stdout.readline().split())
    yield make
    for p in procs:
        p.kill()
        p.wait(10)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_tcp_ping_open_and_closed(listeners):
    port, = listeners(1)
    res = sk("tcp", "ping", "-c", "3", "-i", "0.1", "127.0.0.1", port)
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    assert lines[0] == f"TCP PING 127.0.0.1:{port}"
    for seq in (1, 2, 3):
        assert re.fullmatch(rf"connected to 127\.0\.0\.1:{port}: tcp_seq={seq} time=[\d.]+ ms",
                            lines[seq]), lines
    s = summary_of(res.stdout)
    assert (s["tx"], s["rx"], s["loss"]) == (3, 3, 0.0) and s["rtt"]
    assert f"--- 127.0.0.1:{port} tcp ping statistics ---" in res.stdout
    closed = closed_port()
    res = sk("tcp", "ping", "-c", "2", "-i", "0.1", "--json", "127.0.0.1", closed)
    assert res.returncode == 0, res
    objs = jlines(res.stdout)
    assert [o["state"] for o in objs[:2]] == ["closed", "closed"]
    assert objs[-1]["received"] == 2
    text = sk("tcp", "ping", "-c", "1", "::1", closed).stdout
    assert re.search(rf"^refused by \[::1\]:{closed}: tcp_seq=1 time=[\d.]+ ms \(port closed\)$",
                     text, re.M), text


def test_tcp_ping_timeout_is_loss(net):
    res = sk("tcp", "ping", "-c", "2", "-i", "0.2", "-W", "0.3", "10.213.7.99", "80", ns=net.ns_a)
    assert res.returncode == 1, res
    assert "no answer from 10.213.7.99:80: tcp_seq=1 (timed out after 300 ms)" in res.stdout
    s = summary_of(res.stdout)
    assert (s["tx"], s["rx"], s["loss"]) == (2, 0, 100.0)
    res = sk("tcp", "ping", "127.0.0.1")
    assert res.returncode == 2
    assert res.stderr.startswith("sockit: tcp ping: expected HOST and PORT, got 1 argument\n")


# --------------------------------------------------------------------------
# scan
# --------------------------------------------------------------------------

def nmap_open(host, ports, ns=None):
    six = ["-6"] if ":" in host else []
    r = run_ok("nmap", *six, "-sT", "-n", "-Pn", "-oG", "-", "-p", ports, host, ns=ns, timeout=120)
    found = re.findall(r"(\d+)/open/tcp", r.stdout)
    return sorted(int(p) for p in found)


def test_scan_open_set_matches_nmap(net, ns_listeners):
    ports = ns_listeners(5)
    spec = f"{min(ports) - 50}-{max(ports) + 50},1-1024"
    res = sk("scan", "--json", "127.0.0.1", spec, ns=net.ns_a)
    assert res.returncode == 0, res
    ours = [o["port"] for o in jlines(res.stdout)]
    assert ours == ports
    assert ours == nmap_open("127.0.0.1", spec, ns=net.ns_a)
    assert all(o["state"] == "open" and o["reason"] == "connected" for o in jlines(res.stdout))
    every = sk("scan", "127.0.0.1", "-", ns=net.ns_a, timeout=120)
    assert [int(l.split("/")[0]) for l in every.stdout.splitlines()[1:]] == ports
    text = sk("scan", "127.0.0.1", ",".join(map(str, ports)), ns=net.ns_a).stdout.splitlines()
    assert text[0].split() == ["PORT", "STATE", "REASON", "SERVICE"]
    assert [l.split()[:3] for l in text[1:]] == [[f"{p}/tcp", "open", "connected"] for p in ports]


def test_scan_ipv6_and_verbose_counts(listeners):
    ports = listeners(2, host="::1", family=socket.AF_INET6)
    closed = closed_port()
    res = sk("scan", "-v", "::1", f"{ports[0]},{ports[1]},{closed}")
    assert res.returncode == 0, res
    rows = {int(l.split("/")[0]): l.split()[1:3] for l in res.stdout.splitlines()[1:]}
    assert rows == {ports[0]: ["open", "connected"], ports[1]: ["open", "connected"],
                    closed: ["closed", "refused"]}
    assert re.search(r"^sockit: scan: 3 connections in flight at most \(open-file limit \d+, "
                     r"netdev_max_backlog \d+\)$", res.stderr, re.M), res.stderr
    assert re.search(r"^sockit: scan: 3 ports in [\d.]+ s \(\d+ in flight at the peak\): 2 open, "
                     r"1 closed, 0 filtered$", res.stderr, re.M), res.stderr


def test_scan_with_64_open_files(net, ns_listeners):
    ports = ns_listeners(3, host="::1")
    spec = f"1-3000,{','.join(map(str, ports))}"
    res = run("sh", "-c", f'ulimit -n 64 && exec "$0" scan -v --json ::1 {spec}', SOCKIT,
              ns=net.ns_a)
    assert res.returncode == 0, res
    assert "sockit: scan: 48 connections in flight at most (open-file limit 64" in res.stderr
    objs = jlines(res.stdout)
    assert [o["port"] for o in objs if o["state"] == "open"] == ports
    assert ports == nmap_open("::1", spec, ns=net.ns_a)
    assert len(objs) == 3000 + len([p for p in ports if p > 3000])
    assert {o["reason"] for o in objs if o["state"] != "open"} == {"refused"}


def test_scan_self_connect_is_not_open(net):
    # One ephemeral port: a connect to it from 127.0.0.1 can only meet itself.
    run_ok("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=40000 40000", ns=net.ns_a)
    try:
        res = sk("scan", "-v", "127.0.0.1", "40000", ns=net.ns_a)
        assert res.returncode == 1, res
        assert res.stdout.splitlines()[1].split() == ["40000/tcp", "closed", "self-connect"]
    finally:
        run("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=32768 60999", ns=net.ns_a)


def test_scan_filtered_and_closed_hosts(net):
    res = sk("scan", "-v", "-W", "0.5", "10.213.7.99", "22,80", ns=net.ns_a)
    assert res.returncode == 1, res
    for line in res.stdout.splitlines()[1:]:
        assert line.split()[1] == "filtered", line
    assert set(l.split(None, 2)[2].strip() for l in res.stdout.splitlines()[1:]) <= {
        "timed out", "unreachable"}
    res = sk("scan", "--json", "-v", net.addr_b, "1-100", ns=net.ns_a)
    assert res.returncode == 1
    objs = jlines(res.stdout)
    assert len(objs) == 100 and {o["reason"] for o in objs} == {"refused"}
    assert res.stdout.count("\n") == 100


def test_scan_rate_paces_connects():
    start = time.monotonic()
    res = sk("scan", "--rate", "50", "127.0.0.1", "1-20")
    took = time.monotonic() - start
    assert res.returncode in (0, 1)
    assert took >= 0.35, took  # 20 connects at 50/s: 0.38 s at least


@pytest.mark.parametrize("ports,msg", [
    ("0", "sockit: scan: ports '0': port is out of range 0-65535\n"),
    ("70000", "sockit: scan: ports '70000': port is out of range 0-65535\n"),
    ("80-20", "sockit: scan: ports '80-20': the first address is above the last\n"),
    ("22,x", "sockit: scan: ports '22,x': not a port number or service name: 'x'\n"),
    ("", "sockit: scan: ports '': not a port number or service name\n"),
])
def test_scan_bad_ports(ports, msg):
    res = sk("scan", "127.0.0.1", ports)
    assert res.returncode == 2
    assert res.stderr.splitlines()[0] + "\n" == msg


def test_scan_none_open_and_usage():
    res = sk("scan", "127.0.0.1", str(closed_port()))
    assert res.returncode == 1 and res.stdout == "" and res.stderr == ""
    res = sk("scan", "127.0.0.1")
    assert res.returncode == 2 and "expected HOST and PORTS, got 1 argument" in res.stderr
    res = sk("scan", "no.such.host.invalid", "80")
    assert res.returncode == 3


def test_help_lists_the_commands():
    out = sk("--help").stdout
    for cmd in ("ifaces", "arp", "ping", "scan"):
        assert re.search(rf"^  {cmd}\s", out, re.M), cmd
        assert sk("help", cmd).stdout.startswith(f"usage: sockit {cmd}")
    assert "sockit tcp ping [options] HOST PORT" in sk("tcp", "--help").stdout


def test_ping_stops_on_ctrl_c():
    """SIGINT ends a ping without -c with its summary (exit 0: it answered),
    as iputils does."""
    p = subprocess.Popen([SOCKIT, "ping", "-i", "0.1", "127.0.0.1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        p.send_signal(2)
        out, err = p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 0, (out, err)
    s = summary_of(out)
    # The last probe may still be on its way when the signal comes.
    assert s["tx"] >= 3 and s["rx"] >= s["tx"] - 1
    assert "--- 127.0.0.1 ping statistics ---" in out
    assert_no_sanitizer_report(err)


def test_link_local_targets_with_a_zone(net):
    info = json.loads(run_ok("ip", "-j", "-6", "addr", "show", "dev", net.if_b, ns=net.ns_b).stdout)
    ll = next(a["local"] for a in info[0]["addr_info"] if a["local"].startswith("fe80:"))
    target = f"{ll}%{net.if_a}"
    res = sk("ping", "-c", "2", "-i", "0.2", target, ns=net.ns_a)
    assert res.returncode == 0, res
    assert summary_of(res.stdout)["rx"] == 2
    res = sk("arp", "--json", target, ns=net.ns_a, user=True)
    assert res.returncode == 0, res
    assert jlines(res.stdout)[0]["mac"] == net.mac(net.ns_b, net.if_b)
    res = sk("tcp", "ping", "-c", "1", target, "22", ns=net.ns_a)
    assert res.returncode == 0 and "(port closed)" in res.stdout, res
    res = sk("arp", f"{ll}%nosuch0", ns=net.ns_a)
    assert res.returncode == 3 and res.stderr == "sockit: arp: 'nosuch0': no such interface\n"
