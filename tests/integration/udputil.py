"""Helpers for test_udp.py: processes that are always reaped, the
`listening on ADDR:PORT` line, Python UDP clients with deadlines, and a pair
of network namespaces joined by a veth link.

Every process goes through a Procs group: at teardown each one still running
gets SIGTERM, then SIGKILL, and the stderr of every sockit process is checked
for sanitizer reports, so an ASan or UBSan finding fails the test that caused
it even when the test only looked at the socket.
"""
import os
import re
import select
import socket
import subprocess
import threading
import time

import netutil
from conftest import SOCKIT
# The waits, the sanitizer check and the process lifecycle are the TCP
# tests' (netutil); what differs for UDP is below.
from netutil import WAIT, assert_no_sanitizer_report

# Scoped IPv6 addresses (fe80::1%veth0) appear in the namespace tests.
LISTENING = re.compile(r"^listening on (\[[0-9a-fA-F:.%a-z0-9-]+\]|[0-9.]+):(\d+)$", re.M)


class Proc(netutil.Proc):
    """A child whose stdout and stderr are collected by threads, so neither
    pipe can fill and block it, and both can be waited on with a deadline."""

    def __init__(self, argv, stdin_data=None, keep_stdin=False, is_sockit=True):
        self.argv = [str(a) for a in argv]
        self.is_sockit = is_sockit
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if (stdin_data is not None or keep_stdin) else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._out = bytearray()
        self._err = bytearray()
        self._cond = threading.Condition()
        self._threads = [
            threading.Thread(target=self._pump, args=(self.popen.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self.popen.stderr, self._err), daemon=True),
        ]
        for t in self._threads:
            t.start()
        if stdin_data is not None:
            self.write(stdin_data)
            if not keep_stdin:
                self.close_stdin()

    def _pump(self, pipe, into):
        while True:
            chunk = pipe.read1(65536)
            if not chunk:
                break
            with self._cond:
                into += chunk
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def write(self, data):
        self.popen.stdin.write(data)
        self.popen.stdin.flush()

    def close_stdin(self):
        try:
            self.popen.stdin.close()
        except OSError:
            pass

    @property
    def out(self):
        with self._cond:
            return bytes(self._out)

    @property
    def err(self):
        with self._cond:
            return self._err.decode("utf-8", "replace")

    def _wait_for(self, buf_name, pattern, timeout, count):
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = list(rx.finditer(getattr(self, buf_name).decode("utf-8", "replace")))
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.05))
        raise AssertionError(
            f"no {pattern!r} (x{count}) on {buf_name[1:]} of {self.argv} within {timeout} s; "
            f"status {self.popen.poll()}\nstdout: {self.out[:2000]!r}\nstderr: {self.err}")

    def wait_err(self, pattern, timeout=WAIT, count=1):
        """Waits until stderr matches the regex pattern count times."""
        return self._wait_for("_err", pattern, timeout, count)

    def wait_out(self, pattern, timeout=WAIT, count=1):
        """Waits until stdout (decoded as UTF-8) matches the regex pattern."""
        return self._wait_for("_out", pattern, timeout, count)

    def wait_out_lines(self, n, timeout=WAIT):
        """Waits for n complete lines on stdout; returns them (bytes, no \\n)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._out.count(b"\n") < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.argv}: {n} lines expected on stdout within {timeout} s, got "
                        f"{bytes(self._out[:2000])!r}\nstderr: {self.err}")
                self._cond.wait(min(left, 0.05))
            return bytes(self._out).split(b"\n")[:n]

    def wait(self, timeout=WAIT):
        """Waits for the exit and for both pipes to reach their end; returns
        the status. Fails the test on timeout."""
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.argv} still running after {timeout} s; "
                                 f"stderr:\n{self.err}") from None
        for t in self._threads:
            t.join(WAIT)
        return status


class Listener(Proc):
    """`[prefix] sockit udp listen -v ARGS`, past its `listening on` line."""

    def __init__(self, args, prefix=()):
        super().__init__([*prefix, SOCKIT, "udp", "listen", "-v", *args])
        m = self.wait_err(LISTENING.pattern)
        self.bound = m.group(1)
        self.port = int(m.group(2))

    def lines(self):
        return self.out.decode("utf-8", "replace").splitlines()


class Procs:
    """Every process and socket a test starts; cleanup() kills the processes
    still running, closes the sockets and checks each sockit's stderr for
    sanitizer reports."""

    def __init__(self):
        self.procs = []
        self.socks = []

    def listen(self, *args, prefix=()):
        p = Listener(args, prefix=prefix)
        self.procs.append(p)
        return p

    def sockit(self, *args, prefix=(), **kw):
        p = Proc([*prefix, SOCKIT, *args], **kw)
        self.procs.append(p)
        return p

    def spawn(self, *argv, **kw):
        """A process that is not sockit (socat, ncat, nc)."""
        p = Proc(argv, is_sockit=False, **kw)
        self.procs.append(p)
        return p

    def udp(self, family=socket.AF_INET, bind=None):
        """A Python UDP socket with a deadline on every receive."""
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(WAIT)
        self.socks.append(s)
        if bind is not None:
            s.bind(bind)
        return s

    def cleanup(self):
        for s in self.socks:
            s.close()
        for p in self.procs:
            p.kill()
        for p in self.procs:
            if p.is_sockit:
                assert_no_sanitizer_report(p.err, " ".join(p.argv))


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
