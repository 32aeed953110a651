"""The process helpers every integration test uses: start a server and wait
until it listens, talk to it, stop it, kill it, collect its output; and
socket and /proc helpers for the network tests.

Every process goes through a Procs group (the `procs` fixture, conftest.py):
at teardown each one still running gets SIGTERM, then SIGKILL, and the
stderr of every sockit process is checked for sanitizer reports, so an ASan
or UBSan finding fails the test that caused it even when the test itself
only looked at the socket.

    def test_echo(procs):
        srv = procs.listen("--echo", "0")          # tcp listen -v, past "listening on"
        s = procs.connect(srv.port)
        ...
        assert srv.stop() == 0
"""
import os
import re
import signal
import socket
import subprocess
import threading
import time

from conftest import SOCKIT, assert_no_sanitizer_report  # noqa: F401 (re-exported)

# One wait for "something that should happen at once" (a line, a port, an
# exit); generous for a loaded machine, small next to the 60 s budget.
WAIT = 5.0


def is_sanitized(path):
    """True for a binary built with AddressSanitizer (make asan): its
    memory use (shadow, quarantine) and speed are not the real program's."""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()

# `listening on ADDR:PORT`: group 1 the address, group 2 the port. Scoped
# IPv6 addresses (fe80::1%veth0) appear in the namespace tests.
LISTENING = re.compile(r"^listening on (\[[0-9a-fA-F:.%a-zA-Z0-9_-]+\]|[0-9.]+):(\d+)$", re.M)


class Proc:
    """A child with stdout and stderr collected by threads, so neither pipe
    can fill and block it, and both can be waited on with a deadline."""

    def __init__(self, argv, stdin_data=None, keep_stdin=False, stdin=None, preexec_fn=None,
                 is_sockit=True, env=None):
        """stdin_data is written to a pipe (closed after it unless
        keep_stdin); stdin, a file object, is passed as it is; else the
        child reads /dev/null."""
        self.argv = [str(a) for a in argv]
        self.is_sockit = is_sockit
        if stdin is None:
            piped = stdin_data is not None or keep_stdin
            stdin = subprocess.PIPE if piped else subprocess.DEVNULL
        self.popen = subprocess.Popen(
            self.argv,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=preexec_fn,
            env=env,
        )
        self.pid = self.popen.pid
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
            threading.Thread(target=self._feed, args=(stdin_data, not keep_stdin),
                             daemon=True).start()

    def _pump(self, pipe, into):
        while True:
            chunk = pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536)
            if not chunk:
                break
            with self._cond:
                into += chunk
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _feed(self, data, close):
        try:
            self.popen.stdin.write(data)
            self.popen.stdin.flush()
            if close:
                self.popen.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def write_stdin(self, data):
        self.popen.stdin.write(data)
        self.popen.stdin.flush()

    def close_stdin(self):
        try:
            self.popen.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    @property
    def out(self):
        with self._cond:
            return bytes(self._out)

    @property
    def err(self):
        with self._cond:
            return self._err.decode("utf-8", "replace")

    @property
    def out_text(self):
        return self.out.decode("utf-8", "replace")

    def lines(self):
        """stdout as text lines."""
        return self.out_text.splitlines()

    def _wait_match(self, buf, pattern, timeout, count):
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = list(rx.finditer(buf.decode("utf-8", "replace")))
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and not self._alive_pipes()):
                    break
                self._cond.wait(min(left, 0.05))
        which = "stderr" if buf is self._err else "stdout"
        raise AssertionError(f"no {pattern!r} (x{count}) on {which} of {self.argv} within "
                             f"{timeout} s; status {self.popen.poll()}\n"
                             f"stdout: {self.out[:2000]!r}\nstderr:\n{self.err}")

    def wait_err(self, pattern, timeout=WAIT, count=1):
        """Waits until stderr matches pattern (a regex) count times; returns
        the last match. Fails the test on timeout or when the process has
        ended without printing it."""
        return self._wait_match(self._err, pattern, timeout, count)

    def wait_out(self, expected, timeout=WAIT, count=1):
        """Waits until stdout holds the bytes expected, or (a str) matches
        the regex expected count times, returning the match."""
        if isinstance(expected, str):
            return self._wait_match(self._out, expected, timeout, count)
        deadline = time.monotonic() + timeout
        with self._cond:
            while expected not in self._out:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"stdout of {self.argv} lacks {expected[:80]!r}: "
                                         f"{bytes(self._out[:300])!r}")
                self._cond.wait(min(left, 0.05))

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

    def _alive_pipes(self):
        return any(t.is_alive() for t in self._threads)

    def wait(self, timeout=WAIT):
        """Waits for the exit (failing the test on timeout) and for both
        pipes to be read to their end; returns the status."""
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.argv} still running after {timeout} s; stderr:\n"
                                 f"{self.err}") from None
        # The pipes end with the process unless something it started holds
        # them (an --exec child that outlived it): do not wait on that.
        for t in self._threads:
            t.join(1)
        return status

    def running(self):
        return self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=WAIT):
        """Sends sig (default SIGTERM, which sockit treats as a clean stop)
        and waits; returns the status."""
        if self.running():
            self.popen.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        if self.running():
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(2)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(WAIT)
        for t in self._threads:
            t.join(0.5)
        for pipe in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if pipe:
                try:
                    pipe.close()
                except OSError:
                    pass


class Server(Proc):
    """A server started and past its `listening on ADDR:PORT` line (or
    another pattern whose groups are the address and the port)."""

    def __init__(self, argv, pattern=LISTENING.pattern, **kw):
        super().__init__(argv, **kw)
        m = self.wait_err(pattern)
        self.bound = m.group(1)
        self.port = int(m.group(2))


class Procs:
    """Every process a test starts; cleanup() kills the ones still running and
    checks each sockit's stderr for sanitizer reports."""

    def __init__(self, env=None):
        """env: the environment of every sockit process the group starts
        (None: this one's), e.g. SOCKIT_IO_URING=0 for the epoll path."""
        self.env = env
        self.procs = []
        self.socks = []
        self.threads = []
        self.server_peers = []  # peer address of each py_server client

    def server(self, *argv, pattern=LISTENING.pattern, is_sockit=True, **kw):
        """Any server (argv[0] is its program), once it printed pattern."""
        kw.setdefault("env", self.env)
        p = Server(argv, pattern=pattern, is_sockit=is_sockit, **kw)
        self.procs.append(p)
        return p

    def listen(self, *args, prefix=(), **kw):
        """`[prefix] sockit tcp listen -v ARGS`, past its `listening on` line."""
        return self.server(*prefix, SOCKIT, "tcp", "listen", "-v", *args, **kw)

    def listen_udp(self, *args, prefix=(), **kw):
        """`[prefix] sockit udp listen -v ARGS`, past its `listening on` line."""
        return self.server(*prefix, SOCKIT, "udp", "listen", "-v", *args, **kw)

    def sockit(self, *args, prefix=(), **kw):
        """sockit ARGS (after prefix, such as `ip netns exec NS`)."""
        kw.setdefault("env", self.env)
        p = Proc([*prefix, SOCKIT, *args], **kw)
        self.procs.append(p)
        return p

    def tool(self, path, *args, **kw):
        """A libsockit program other than sockit (tests/tools): started
        like sockit, and checked like it for sanitizer reports."""
        kw.setdefault("env", self.env)
        p = Proc([str(path), *args], **kw)
        self.procs.append(p)
        return p

    def spawn(self, *argv, **kw):
        """A process that is not sockit (socat, ncat, nc)."""
        p = Proc(argv, is_sockit=False, **kw)
        self.procs.append(p)
        return p

    def connect(self, port, host="127.0.0.1", timeout=WAIT):
        """A client socket, closed at teardown."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        self.socks.append(s)
        s.settimeout(timeout)
        s.connect((host, port))
        return s

    def turned_away(self, port, host="127.0.0.1", timeout=WAIT):
        """Connects to a server that refuses this client and returns the
        client's port once the server has reset the connection (SO_LINGER
        0 lets the reset arrive while connect() waits, or at the first
        read). Data or a plain EOF fails the test."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = self.track(socket.socket(family, socket.SOCK_STREAM))
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            got = s.recv(1)
        except ConnectionResetError:
            return s.getsockname()[1]
        raise AssertionError(f"expected a reset from port {port}, got {got!r}")

    def track(self, s):
        self.socks.append(s)
        return s

    def udp(self, family=socket.AF_INET, bind=None):
        """A Python UDP socket with a deadline on every receive."""
        s = self.track(socket.socket(family, socket.SOCK_DGRAM))
        s.settimeout(WAIT)
        if bind is not None:
            s.bind(bind)
        return s

    def py_server(self, handler, host="127.0.0.1", backlog=8):
        """A Python server on host, port 0, that accepts one client, runs
        handler(conn) in a thread and closes conn. Returns the port."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        ls = self.track(socket.socket(family, socket.SOCK_STREAM))
        ls.bind((host, 0))
        ls.listen(backlog)
        ls.settimeout(WAIT)

        def serve():
            try:
                conn, peer = ls.accept()
            except OSError:
                return
            self.track(conn)
            conn.settimeout(WAIT)
            self.server_peers.append(peer)
            try:
                handler(conn)
            except OSError:
                pass
            finally:
                conn.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        self.threads.append(t)
        return ls.getsockname()[1]

    def cleanup(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        for p in self.procs:
            p.kill()
        for t in self.threads:
            t.join(2)
        for p in self.procs:
            if p.is_sockit:
                assert_no_sanitizer_report(p.err, " ".join(p.argv))


# --------------------------------------------------------------------------
# Sockets
# --------------------------------------------------------------------------

def recv_exact(s, n, timeout=WAIT):
    """n bytes from s, or an assertion with what did arrive."""
    deadline = time.monotonic() + timeout
    got = bytearray()
    while len(got) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"got {len(got)} of {n} bytes: {bytes(got[:200])!r}")
        s.settimeout(left)
        try:
            chunk = s.recv(min(n - len(got), 1 << 20))
        except socket.timeout:
            continue
        if not chunk:
            raise AssertionError(f"EOF after {len(got)} of {n} bytes: {bytes(got[:200])!r}")
        got += chunk
    return bytes(got)


def recv_until(s, marker, timeout=WAIT):
    """Bytes up to and including marker."""
    deadline = time.monotonic() + timeout
    got = bytearray()
    while marker not in got:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {marker!r} in {bytes(got[:300])!r}")
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            raise AssertionError(f"EOF before {marker!r}: {bytes(got[:300])!r}")
        got += chunk
    return bytes(got)


def recv_all(s, timeout=WAIT):
    """Everything until the peer closes (a reset counts as the end)."""
    deadline = time.monotonic() + timeout
    got = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"peer did not close; got {bytes(got[:300])!r}")
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return bytes(got)
        if not chunk:
            return bytes(got)
        got += chunk


def closed_by_peer(s, timeout=WAIT):
    """True if the peer closes s (EOF or reset) within timeout without
    sending a byte; False if it stays open; data is an assertion."""
    s.settimeout(timeout)
    try:
        data = s.recv(1)
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
    assert data == b"", f"expected a close, got data {data!r}"
    return True


def reserved_port(host="127.0.0.1"):
    """A bound socket that does not listen: connecting to its port is
    refused for as long as the caller holds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    return s, s.getsockname()[1]


def free_port(host="127.0.0.1"):
    """A port free at the moment of the call (for servers that cannot be
    told to pick one, such as socat and nc)."""
    s, port = reserved_port(host)
    s.close()
    return port


def _listening_ports():
    ports = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":  # TCP_LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except FileNotFoundError:
            pass
    return ports


def wait_listening(port, proc=None, timeout=WAIT):
    """Waits until some socket listens on port, read from /proc/net/tcp{,6}
    so that no probe connection is spent on a one-shot server."""
    deadline = time.monotonic() + timeout
    while port not in _listening_ports():
        if proc is not None and not proc.running():
            raise AssertionError(f"{proc.argv} exited {proc.popen.poll()}: {proc.err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on port {port} after {timeout} s")
        time.sleep(0.02)


# --------------------------------------------------------------------------
# /proc
# --------------------------------------------------------------------------

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def cpu_seconds(pid):
    """utime + stime of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state, field 3; utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid):
    """Every live process below pid (children, grandchildren …)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except FileNotFoundError:
                continue
            found += kids
            todo += kids
    return found


def alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))
