"""What test_udp.py needs beyond the shared process helpers (netutil):
UDP ports and /proc/net/udp, and a pair of network namespaces joined by a
veth link."""
import os
import select
import socket
import subprocess
import time

from netutil import WAIT


def recv_nothing(sock, within):
    """True when nothing arrives on sock within `within` seconds."""
    ready, _, _ = select.select([sock], [], [], within)
    return not ready


def closed_udp_port(host="127.0.0.1", family=socket.AF_INET):
    """A port nothing listens on: bound by the kernel's choice, then closed.
    (Another process could take it in between; on a test machine it does
    not.)"""
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_udp_bound(port, timeout=WAIT, files=("/proc/net/udp", "/proc/net/udp6")):
    """Waits until some UDP socket is bound to port (for peers such as socat
    and nc that print nothing when ready)."""
    needle = f":{port:04X} "
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in files:
            try:
                with open(path) as f:
                    next(f)
                    for line in f:
                        local = line.split()[1]
                        if (local + " ").endswith(needle):
                            return
            except FileNotFoundError:
                pass
        time.sleep(0.02)
    raise AssertionError(f"nothing bound UDP port {port} within {timeout} s")


# --------------------------------------------------------------------------
# Network namespaces
# --------------------------------------------------------------------------

def run_ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=WAIT)
    if check and r.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {r.returncode} {r.stderr}")
    return r


class NetnsPair:
    """Two namespaces, A and B, joined by a veth pair: 10.213.7.1/24 on A's
    end and 10.213.7.2/24 on B's, a subnet that exists only inside them.
    IPv6 duplicate address detection is off so the link-local addresses are
    usable at once. remove() deletes both namespaces (and with them the
    veth pair); it is safe to call after a partial setup."""

    SUBNET = "10.213.7"

    def __init__(self):
        pid = os.getpid()
        self.ns_a = f"sk-a-{pid}"
        self.ns_b = f"sk-b-{pid}"
        self.if_a = f"skva{pid}"[:15]
        self.if_b = f"skvb{pid}"[:15]
        self.addr_a = f"{self.SUBNET}.1"
        self.addr_b = f"{self.SUBNET}.2"
        self.bcast = f"{self.SUBNET}.255"
        self.created = []

    def setup(self):
        for ns in (self.ns_a, self.ns_b):
            run_ip("netns", "add", ns)
            self.created.append(ns)
        for ns in (self.ns_a, self.ns_b):
            for key in ("all", "default"):
                subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                                f"net.ipv6.conf.{key}.accept_dad=0"],
                               capture_output=True, timeout=WAIT, check=True)
        run_ip("link", "add", "name", self.if_a, "netns", self.ns_a, "type", "veth",
               "peer", "name", self.if_b, "netns", self.ns_b)
        for ns, ifname, addr in ((self.ns_a, self.if_a, self.addr_a),
                                 (self.ns_b, self.if_b, self.addr_b)):
            run_ip("-n", ns, "link", "set", "lo", "up")
            run_ip("-n", ns, "addr", "add", f"{addr}/24", "brd", "+", "dev", ifname)
            run_ip("-n", ns, "link", "set", ifname, "up")
            # Multicast without --iface needs a route; keep it on the veth.
            run_ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", ifname)
        self.wait_link_local()

    def wait_link_local(self):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            ok = all("fe80::" in run_ip("-n", ns, "-6", "addr", "show", "dev", ifname).stdout
                     and "tentative" not in run_ip("-n", ns, "-6", "addr", "show", "dev",
                                                   ifname).stdout
                     for ns, ifname in ((self.ns_a, self.if_a), (self.ns_b, self.if_b)))
            if ok:
                return
            time.sleep(0.05)
        raise AssertionError("no usable IPv6 link-local address on the veth pair")

    def remove(self):
        for ns in reversed(self.created):
            run_ip("netns", "del", ns, check=False)
        self.created = []


def netns_unavailable_reason():
    """Why network namespaces cannot be used here, or None when they can."""
    name = f"sk-probe-{os.getpid()}"
    try:
        r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True,
                           timeout=WAIT)
    except FileNotFoundError:
        return "the ip command (iproute2) is not installed"
    if r.returncode != 0:
        return f"'ip netns add' is not permitted here: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=WAIT)
    return None
