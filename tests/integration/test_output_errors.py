"""Every command checks its writes to stdout (issue 8 §1, "output errors").

With stdout on /dev/full each command that prints something says so in one
line, `sockit: <context>: stdout: no space left on device`, and exits 1; a
closed stdout (`>&-`) is "bad file descriptor". A reader that closed the pipe
(`| head -1`) ends a pipeline: no message, and the status the run had.

The servers (udp listen, serve's print service, udp send's replies) are
started with stdout on /dev/full and sent one datagram over loopback.
"""
import os
import re
import select
import signal
import socket
import subprocess
import time

import pytest

from conftest import SOCKIT
from netutil import LISTENING, WAIT, assert_no_sanitizer_report

FULL = "no space left on device"


def run_into(stdout, *args, input=None):
    """sockit ARGS with stdout on the given file (or None to close it)."""
    r = subprocess.run([SOCKIT, *args], input=input, stdin=None if input else subprocess.DEVNULL,
                       stdout=stdout, stderr=subprocess.PIPE, timeout=2 * WAIT, text=True,
                       close_fds=True)
    assert_no_sanitizer_report(r.stderr)
    return r


def run_full(*args, input=None):
    with open("/dev/full", "w") as full:
        return run_into(full, *args, input=input)


# Each way of printing, and the context its error line names.
PRINTERS = [
    (("--help",), "stdout"),
    (("-h",), "stdout"),
    (("--version",), "stdout"),
    (("-V",), "stdout"),
    (("help",), "help: stdout"),
    (("help", "udp"), "help: stdout"),
    (("help", "tcp"), "help: stdout"),
    (("ip", "10.0.0.1/24"), "ip: stdout"),
    (("ip", "--json", "10.0.0.1/24"), "ip: stdout"),
    (("ip", "--explain", "10.0.0.1/24"), "ip: stdout"),
    (("ip", "--split", "/30", "10.0.0.0/24"), "ip: stdout"),
    (("ip", "same", "10.0.0.1/24", "10.0.0.2"), "ip same: stdout"),
    (("ip", "range", "10.0.0.1", "10.0.0.9"), "ip range: stdout"),
    (("ip", "--help"), "ip: stdout"),
    (("port", "80"), "port: stdout"),
    (("port", "--json", "53", "http"), "port: stdout"),
    (("port", "--help"), "port: stdout"),
    (("udp", "--help"), "udp: stdout"),
    (("udp", "listen", "--help"), "udp listen: stdout"),
    (("udp", "send", "--help"), "udp send: stdout"),
    (("tcp", "--help"), "tcp: stdout"),
    (("tcp", "connect", "--help"), "tcp: stdout"),
    (("tcp", "listen", "--help"), "tcp: stdout"),
    (("http", "--help"), "http: stdout"),
    (("http", "serve", "--help"), "http: stdout"),
    (("serve", "--help"), "serve: stdout"),
]


@pytest.mark.parametrize("args,context", PRINTERS, ids=[" ".join(a) for a, _ in PRINTERS])
def test_output_error_on_full_disk(args, context):
    r = run_full(*args)
    assert r.stderr == f"sockit: {context}: {FULL}\n"
    assert r.returncode == 1


@pytest.mark.parametrize("args,context", [(("--version",), "stdout"), (("port", "80"), "port: stdout")])
def test_output_error_on_closed_stdout(args, context):
    proc = subprocess.run([SOCKIT, *args], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=2 * WAIT, preexec_fn=lambda: os.close(1))
    assert proc.stderr == f"sockit: {context}: bad file descriptor\n"
    assert proc.returncode == 1


def test_ip_batch_output_error():
    r = run_full("ip", input="10.0.0.1\n10.0.0.2\n")
    assert r.stderr == f"sockit: ip: stdout: {FULL}\n"
    assert r.returncode == 1


def test_output_error_keeps_an_earlier_failure_status():
    """An unknown service (3) is the first failure; the lost output is still said."""
    r = run_full("port", "80", "no-such-service-name")
    assert r.stderr == ("sockit: port: 'no-such-service-name': no such service in /etc/services\n"
                        f"sockit: port: stdout: {FULL}\n")
    assert r.returncode == 3


def test_nothing_printed_nothing_lost():
    """A usage error prints on stderr only: stdout's state does not matter."""
    r = run_full("port")
    assert r.returncode == 2
    assert "stdout" not in r.stderr


@pytest.mark.parametrize("args", [("ip", "--split", "/32", "10.0.0.0/8"),
                                  ("ip", "range", "0.0.0.1", "255.255.255.254"),
                                  ("--help",)])
def test_closed_pipe_ends_quietly(args):
    """`sockit ... | head -c 10`: the reader has what it wanted; no message, exit 0."""
    proc = subprocess.Popen([SOCKIT, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    first = proc.stdout.read(10)
    proc.stdout.close()
    try:
        err = proc.stderr.read().decode()
        status = proc.wait(WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert len(first) == 10
    assert err == ""
    assert status == 0


# --- servers that print: stdout on /dev/full, one datagram ----------------------


class FullServer:
    """sockit ARGS with stdout on /dev/full and stderr read with deadlines."""

    def __init__(self, *args):
        with open("/dev/full", "wb") as full:
            self.popen = subprocess.Popen([SOCKIT, *args], stdin=subprocess.DEVNULL, stdout=full,
                                          stderr=subprocess.PIPE)
        self.err = b""

    def wait_line(self, pattern):
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            m = rx.search(self.err.decode())
            if m:
                return m
            if select.select([self.popen.stderr], [], [], 0.05)[0]:
                chunk = os.read(self.popen.stderr.fileno(), 4096)
                if not chunk:
                    break
                self.err += chunk
        raise AssertionError(f"no {pattern!r} on stderr: {self.err!r}")

    def finish(self, timeout=WAIT):
        """Waits for the exit; returns (status, whole stderr)."""
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(f"still running; stderr {self.err!r}") from None
        self.err += self.popen.stderr.read()
        self.popen.stderr.close()
        err = self.err.decode()
        assert_no_sanitizer_report(err)
        return status, err

    def kill(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        if not self.popen.stderr.closed:
            self.popen.stderr.close()


@pytest.fixture
def servers():
    started = []

    def start(*args):
        s = FullServer(*args)
        started.append(s)
        return s
    yield start
    for s in started:
        s.kill()


def send(port, data=b"hello"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.sendto(data, ("127.0.0.1", port))


def test_udp_listen_stops_and_says_so(servers):
    srv = servers("udp", "listen", "-v", "-b", "127.0.0.1", "0")
    port = int(srv.wait_line(LISTENING.pattern).group(2))
    send(port)
    status, err = srv.finish()
    assert err.endswith(f"sockit: udp listen: stdout: {FULL}\n"), err
    assert status == 1


def test_serve_print_service_stops_and_says_so(servers):
    srv = servers("serve", "--udp", "127.0.0.1:0:print")
    port = int(srv.wait_line(r"^listening on 127\.0\.0\.1:(\d+) \(udp print\)$").group(1))
    send(port)
    status, err = srv.finish()
    assert err.endswith(f"sockit: serve: stdout: {FULL}\n"), err
    assert "stopped" not in err
    assert status == 1


def test_udp_send_reply_not_printed(servers):
    echo = servers("udp", "listen", "-v", "--echo", "-b", "127.0.0.1", "0")
    port = int(echo.wait_line(LISTENING.pattern).group(2))
    r = run_full("udp", "send", "-w", "2", "127.0.0.1", str(port), "ping")
    assert r.stderr == f"sockit: udp send: stdout: {FULL}\n"
    assert r.returncode == 1
    # Lines of stdin: the first reply that cannot be printed ends the run.
    r = run_full("udp", "send", "-w", "2", "127.0.0.1", str(port), input="a\nb\nc\n")
    assert r.stderr == f"sockit: udp send: stdout: {FULL}\n"
    assert r.returncode == 1
    echo.popen.send_signal(signal.SIGTERM)
    status, err = echo.finish()
    assert status == 0
    # "ping", then "a" and nothing after it.
    assert re.findall(r": (\d+) bytes?$", err, re.M) == ["4", "1"], err


def test_http_access_log_on_full_disk(tmp_path):
    """--access-log on a full disk: reported once, the server goes on, the
    exit says how many lines were lost."""
    (tmp_path / "f.txt").write_text("x")
    proc = subprocess.Popen([SOCKIT, "http", "serve", "-b", "127.0.0.1", "-p", "0",
                             "--access-log", "/dev/full", str(tmp_path)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        err = b""
        deadline = time.monotonic() + WAIT
        while b"serving on" not in err and time.monotonic() < deadline:
            if select.select([proc.stderr], [], [], 0.05)[0]:
                err += os.read(proc.stderr.fileno(), 4096)
        port = int(err.decode().rsplit(":", 1)[1].split("/")[0])
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as c:
                c.sendall(b"GET /f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                reply = b""
                while chunk := c.recv(4096):
                    reply += chunk
                assert reply.startswith(b"HTTP/1.1 200 ")
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = (err + rest).decode()
    assert_no_sanitizer_report(err)
    assert out == b""
    assert err.splitlines()[1:] == [
        f"sockit: http serve: access log '/dev/full': {FULL} (still serving; lines are dropped "
        "from now on)",
        f"sockit: http serve: access log '/dev/full': 3 lines not written",
    ]
    assert proc.returncode == 1
