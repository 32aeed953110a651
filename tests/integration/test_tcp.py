"""Integration tests for `sockit tcp connect` and `sockit tcp listen`: every
server mode with Python sockets as clients, the relay mode, the client
against Python servers, interop with socat, ncat and OpenBSD nc both ways,
limits and access lists, IPv6 and the dual-stack listener, faults (readers
that stop, resets, port in use, running out of fds), --trace, usage errors.

Only loopback addresses are used (127.0.0.1 and ::1). Every server is started
on port 0 with -v and found through its `listening on ADDR:PORT` line; every
process and socket is closed at teardown (netutil.Procs), and every sockit
stderr is checked for ASan/UBSan reports there. Where the description is
silent, ncat and OpenBSD nc are the reference.
"""
import calendar
import os
import random
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

import netutil as nu
from conftest import SOCKIT
from netutil import WAIT, closed_by_peer, recv_all, recv_exact, recv_until

MIB = 1024 * 1024
RSS_LIMIT_KIB = 64 * 1024
SEE_HELP = "sockit: see 'sockit help tcp'"


def reply_line(msg, port, ip="127.0.0.1"):
    return b"Received msg: " + msg + f" from ('{ip}', {port})".encode()


def local_port(s):
    return s.getsockname()[1]


def chargen_line(n):
    """RFC 864: line n holds characters n..n+71 of the 95 printable ones
    (space first), as a ring, then CRLF."""
    return bytes(32 + (n + i) % 95 for i in range(72)) + b"\r\n"


def no_data_within(s, seconds):
    """True if nothing (not even EOF) arrives on s within seconds."""
    s.settimeout(seconds)
    try:
        s.recv(1, socket.MSG_PEEK)
    except socket.timeout:
        return True
    except ConnectionResetError:
        return False
    return False


def sender(s, data):
    """Sends data from a thread, ignoring the peer going away; returns the
    thread."""
    def run():
        try:
            s.sendall(data)
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


# --------------------------------------------------------------------------
# 1. The server modes, with Python clients
# --------------------------------------------------------------------------

def test_echo_small_ipv4_and_ipv6(procs):
    srv = procs.listen("--echo", "0")
    assert srv.bound == "[::]"
    a = procs.connect(srv.port)
    b = procs.connect(srv.port, "::1")
    a.sendall(b"hello\n")
    b.sendall(b"over six\n")
    assert recv_exact(a, 6) == b"hello\n"
    assert recv_exact(b, 9) == b"over six\n"
    a.shutdown(socket.SHUT_WR)
    assert recv_all(a) == b""  # RFC 862: closes once the client has
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{local_port(a)} closed$")


def test_echo_1mib_round_trip(procs):
    srv = procs.listen("--echo", "0")
    s = procs.connect(srv.port)
    data = random.Random(1).randbytes(MIB)

    def send():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send, daemon=True)
    t.start()
    got = recv_all(s, timeout=10)
    t.join(WAIT)
    assert len(got) == len(data)
    assert got == data


def test_discard(procs):
    srv = procs.listen("--discard", "0")
    s = procs.connect(srv.port)
    s.sendall(os.urandom(256 * 1024))
    s.shutdown(socket.SHUT_WR)
    assert recv_all(s) == b""


def test_chargen_pattern(procs):
    srv = procs.listen("--chargen", "0")
    s = procs.connect(srv.port)
    n = 2 * 95 + 10  # past the point where the ring wraps
    data = recv_exact(s, 74 * n)
    lines = [data[i * 74:(i + 1) * 74] for i in range(n)]
    assert lines[0] == b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n"
    for i, line in enumerate(lines):
        assert line == chargen_line(i), f"line {i}"


def test_chargen_client_that_never_reads(procs):
    """Chargen is paced by the client's reading: a client that stops must
    neither grow the server's memory nor make it spin."""
    srv = procs.listen("--chargen", "0")
    s = procs.connect(srv.port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    time.sleep(0.3)
    cpu0 = nu.cpu_seconds(srv.pid)
    time.sleep(2)
    assert nu.rss_kib(srv.pid) < RSS_LIMIT_KIB
    assert nu.cpu_seconds(srv.pid) - cpu0 < 0.5
    # Still serving others.
    other = procs.connect(srv.port)
    assert recv_exact(other, 74) == chargen_line(0)


def test_daytime(procs):
    srv = procs.listen("--daytime", "0", env=dict(os.environ, TZ="UTC"))
    s = procs.connect(srv.port)
    data = recv_all(s)
    assert data.endswith(b"\r\n") and data.count(b"\n") == 1, data
    stamp = time.strptime(data[:-2].decode(), "%A, %B %d, %Y %H:%M:%S UTC")
    assert abs(calendar.timegm(stamp) - time.time()) < 10


def test_reply_line_several_messages_in_one_send(procs):
    srv = procs.listen("--reply", "0")
    s = procs.connect(srv.port)
    port = local_port(s)
    s.sendall(b"one\ntwo\r\nthree\n")
    want = b"".join(reply_line(m, port) + b"\n" for m in (b"one", b"two", b"three"))
    assert recv_exact(s, len(want)) == want
    assert no_data_within(s, 0.2)


def test_reply_line_one_message_across_sends(procs):
    srv = procs.listen("--reply", "0")
    s = procs.connect(srv.port)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for part in (b"hel", b"lo wo", b"rld"):
        s.sendall(part)
        assert no_data_within(s, 0.1), "answered before the end of the line"
    s.sendall(b"\nnext")
    want = reply_line(b"hello world", local_port(s)) + b"\n"
    assert recv_exact(s, len(want)) == want
    # "next" has no LF yet: it is answered only when the client half-closes.
    assert no_data_within(s, 0.1)
    s.shutdown(socket.SHUT_WR)
    assert recv_all(s) == reply_line(b"next", local_port(s)) + b"\n"


def test_reply_len32(procs):
    srv = procs.listen("--reply", "--frame", "len32", "0")
    s = procs.connect(srv.port)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    port = local_port(s)

    def framed(m):
        return struct.pack(">I", len(m)) + m
    s.sendall(framed(b"first") + framed(b"with\nnewline"))
    third = framed(b"split message")
    for part in (third[:2], third[2:7], third[7:]):
        s.sendall(part)
        time.sleep(0.05)
    for msg in (b"first", b"with\nnewline", b"split message"):
        (n,) = struct.unpack(">I", recv_exact(s, 4))
        assert recv_exact(s, n) == reply_line(msg, port)
    assert no_data_within(s, 0.1)


def test_reply_raw(procs):
    srv = procs.listen("--reply", "--frame", "raw", "0")
    s = procs.connect(srv.port)
    port = local_port(s)
    s.sendall(b"abc")
    want = reply_line(b"abc", port)
    assert recv_exact(s, len(want)) == want
    s.sendall(b"line\r\n")
    want = reply_line(b"line", port)  # a line end is not part of the message, as for UDP
    assert recv_exact(s, len(want)) == want


def test_reply_pipelining_client_gets_every_answer(procs):
    """A client that sends many small messages before reading must be slowed
    down (the reply mode respects backpressure, as echo does), not dropped."""
    srv = procs.listen("--reply", "0")
    s = procs.connect(srv.port)
    # The client is slow by not reading for a while: 12.6 MB of answers is
    # more than loopback's socket buffers hold, so the server's queue fills.
    # (Not by a tiny SO_RCVBUF: a window below loopback's 64 KiB MSS makes
    # TCP's silly-window avoidance pace any sender to a crawl.)
    n = 300_000
    t = sender(s, b"m\n" * n)
    time.sleep(0.5)
    want = reply_line(b"m", local_port(s)) + b"\n"
    got = recv_exact(s, len(want) * n, timeout=15)
    t.join(WAIT)
    assert got == want * n
    assert "dropped" not in srv.err


@pytest.mark.parametrize("args, size", [([], 16 * 1024), (["--max-msg", str(MIB)], MIB)],
                         ids=["default", "max-msg"])
def test_reply_message_of_the_largest_size(procs, args, size):
    """A message of exactly the limit (16 KiB by default, --max-msg up to
    1 MiB) gets its answer."""
    srv = procs.listen("--reply", *args, "0")
    s = procs.connect(srv.port)
    msg = b"a" * size
    sender(s, msg + b"\n")
    want = reply_line(msg, local_port(s)) + b"\n"
    assert recv_exact(s, len(want), timeout=10) == want
    assert "dropped" not in srv.err


@pytest.mark.parametrize("args, size", [([], 16 * 1024), (["--max-msg", "100"], 100),
                                        (["--max-msg", str(MIB)], MIB)],
                         ids=["default", "100", "1MiB"])
def test_reply_message_over_the_limit_closes(procs, args, size):
    srv = procs.listen("--reply", *args, "0")
    s = procs.connect(srv.port)
    sender(s, b"a" * (size + 1))
    assert closed_by_peer(s)
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{local_port(s)} "
                 r"closed: message over the size limit$")
    time.sleep(0.1)
    assert srv.err.count(f"127.0.0.1:{local_port(s)}") == 2, srv.err  # from, then closed once


def test_a_client_is_logged_closed_once_with_its_real_reason(procs):
    """A chargen client that hangs up mid-stream is a client's reset (not
    "error"), said once."""
    srv = procs.listen("--chargen", "0")
    s = procs.connect(srv.port)
    recv_exact(s, 74 * 10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    port = local_port(s)
    s.close()
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{port} closed: reset by the client$")
    time.sleep(0.1)
    assert len(re.findall(rf"127\.0\.0\.1:{port} closed", srv.err)) == 1, srv.err
    assert "error" not in srv.err


def test_len32_header_over_the_limit_closes_at_once(procs):
    """A len32 header announcing more than --max-msg is refused before its
    body arrives."""
    srv = procs.listen("--reply", "--frame", "len32", "0")
    s = procs.connect(srv.port)
    s.sendall(struct.pack(">I", 16 * 1024 + 1))
    assert closed_by_peer(s)
    srv.wait_err(r"closed: message over the size limit$")


def test_chat_three_clients(procs):
    srv = procs.listen("--chat", "0")
    a = procs.connect(srv.port)
    b = procs.connect(srv.port)
    c = procs.connect(srv.port, "::1")
    srv.wait_err("connection from", count=3)
    a.sendall(b"hi all\n")
    want = f"127.0.0.1:{local_port(a)}: hi all\n".encode()
    assert recv_exact(b, len(want)) == want
    assert recv_exact(c, len(want)) == want
    c.sendall(b"from six\n")
    want = f"[::1]:{local_port(c)}: from six\n".encode()
    assert recv_exact(a, len(want)) == want
    assert recv_exact(b, len(want)) == want
    # Nobody hears their own message.
    assert no_data_within(a, 0.2)
    assert no_data_within(c, 0.05)


def test_chat_len32(procs):
    srv = procs.listen("--chat", "--frame", "len32", "0")
    a = procs.connect(srv.port)
    b = procs.connect(srv.port)
    srv.wait_err("connection from", count=2)
    a.sendall(struct.pack(">I", 5) + b"x\ny z")
    (n,) = struct.unpack(">I", recv_exact(b, 4))
    assert recv_exact(b, n) == f"127.0.0.1:{local_port(a)}: x\ny z".encode()


def test_chat_slow_client_is_dropped(procs):
    srv = procs.listen("--chat", "0")
    slow = procs.connect(srv.port)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    fast = procs.connect(srv.port)
    talker = procs.connect(srv.port)
    srv.wait_err("connection from", count=3)
    line = b"x" * 1023 + b"\n"
    count = 8 * 1024  # 8 MiB: more than the kernel buffers and the queue
    t = sender(talker, line * count)
    prefix = f"127.0.0.1:{local_port(talker)}: ".encode()
    got = recv_exact(fast, (len(prefix) + len(line)) * count, timeout=15)
    t.join(WAIT)
    assert got == (prefix + line) * count
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{local_port(slow)} "
                 r"dropped: too slow to keep up$")
    assert nu.rss_kib(srv.pid) < RSS_LIMIT_KIB


def test_exec_tr(procs):
    srv = procs.listen("--exec", "tr a-z A-Z", "0")
    s = procs.connect(srv.port)
    s.sendall(b"hello, exec\n")
    s.shutdown(socket.SHUT_WR)
    assert recv_all(s) == b"HELLO, EXEC\n"
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{local_port(s)} "
                 r"closed: command exited with status 0$")


def test_exec_knows_its_connection_and_its_exit_status_is_logged(procs):
    """As socat's SOCAT_PEERADDR: the command gets the peer's and the local
    address and port; -v logs how it ended, once, in the close line."""
    srv = procs.listen("--exec", 'echo "$SOCKIT_PEER_ADDR $SOCKIT_PEER_PORT $SOCKIT_LOCAL_ADDR '
                       '$SOCKIT_LOCAL_PORT"; exit 3', "0",
                       env=dict(os.environ, SOCKIT_PEER_ADDR="stale"))
    s = procs.connect(srv.port)
    assert recv_all(s) == f"127.0.0.1 {local_port(s)} 127.0.0.1 {srv.port}\n".encode()
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{local_port(s)} "
                 r"closed: command exited with status 3$")
    six = procs.connect(srv.port, "::1")
    assert recv_all(six) == f"::1 {local_port(six)} ::1 {srv.port}\n".encode()
    killer = procs.listen("--exec", "kill -9 $$", "0")
    k = procs.connect(killer.port)
    assert recv_all(k) == b""
    killer.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{local_port(k)} "
                    r"closed: command killed by signal 9 \(SIGKILL\)$")
    assert len(re.findall(r" closed", killer.err)) == 1


def test_exec_cat_two_clients_at_once(procs):
    srv = procs.listen("--exec", "cat", "0")
    a = procs.connect(srv.port)
    b = procs.connect(srv.port)
    a.sendall(b"from a\n")
    b.sendall(b"from b\n")
    assert recv_exact(b, 7) == b"from b\n"
    assert recv_exact(a, 7) == b"from a\n"
    a.sendall(b"again\n")
    assert recv_exact(a, 6) == b"again\n"


def exec_tree(srv, name, timeout=WAIT):
    """The server's descendants once one runs `name`."""
    deadline = time.monotonic() + timeout
    tree = []
    while not any(name in _cmdline(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.02)
        tree = nu.descendants(srv.pid)
    assert tree, "no child started"
    return tree


def kill_all(pids):
    for p in pids:  # ours: started by a server this test started
        if nu.alive(p):
            os.kill(p, signal.SIGKILL)


def wait_gone(pids, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while any(nu.alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [p for p in pids if nu.alive(p)]


def test_exec_sigterm_with_a_command_running(procs):
    """SIGTERM stops the server (exit 0) while a command still runs, and the
    command's process group gets SIGTERM too."""
    srv = procs.listen("--exec", "sleep 20", "0")
    procs.connect(srv.port)
    srv.wait_err("connection from")
    tree = exec_tree(srv, "sleep")
    try:
        assert srv.stop(signal.SIGTERM) == 0
        assert wait_gone(tree) == []
    finally:
        kill_all(tree)


def test_exec_sigterm_stops_a_whole_pipeline(procs):
    """`--exec 'cat | cat'`: after SIGTERM the cats went on serving the
    client, because only sh was signalled. Each child now leads a process
    group and the group is signalled: the client sees the end."""
    srv = procs.listen("--exec", "cat | cat", "0")
    s = procs.connect(srv.port)
    s.sendall(b"ping\n")
    assert recv_exact(s, 5) == b"ping\n"
    tree = exec_tree(srv, "cat")
    try:
        assert srv.stop(signal.SIGTERM) == 0
        assert wait_gone(tree) == []
        assert closed_by_peer(s)
    finally:
        kill_all(tree)


def test_exec_timeout_kills_the_group(procs):
    srv = procs.listen("--exec", "cat | cat", "--exec-timeout", "0.5", "0")
    s = procs.connect(srv.port)
    t0 = time.monotonic()
    s.sendall(b"ping\n")
    assert recv_exact(s, 5) == b"ping\n"
    tree = exec_tree(srv, "cat")
    try:
        assert closed_by_peer(s)
        assert 0.4 < time.monotonic() - t0 < 3
        srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{local_port(s)} "
                     r"closed: command killed after --exec-timeout$")
        assert wait_gone(tree) == []
        assert srv.running()
    finally:
        kill_all(tree)


def test_exec_timeout_sigkill_for_a_command_that_ignores_sigterm(procs):
    srv = procs.listen("--exec", "trap '' TERM; sleep 30", "--exec-timeout", "0.3", "0")
    s = procs.connect(srv.port)
    tree = exec_tree(srv, "sleep")
    try:
        t0 = time.monotonic()
        srv.wait_err(r"closed: command killed after --exec-timeout$", timeout=10)
        assert 2.0 < time.monotonic() - t0 < 6  # SIGTERM ignored, SIGKILL 2 s later
        assert wait_gone(tree) == []
        assert closed_by_peer(s)
    finally:
        kill_all(tree)


def test_exec_leftovers_of_a_finished_command_are_stopped(procs):
    """The shell exits but left a process holding the socket: the client is
    counted as gone, so the leftover is told to stop and the client sees the
    end."""
    srv = procs.listen("--exec", "sleep 30 & echo started", "0")
    s = procs.connect(srv.port)
    assert recv_until(s, b"\n") == b"started\n"
    srv.wait_err(rf"127\.0\.0\.1:{local_port(s)} closed: command exited with status 0$")
    assert closed_by_peer(s)


def test_exec_timeout_zero_is_no_timeout(procs):
    srv = procs.listen("--exec", "cat", "--exec-timeout", "0", "0")
    s = procs.connect(srv.port)
    time.sleep(0.5)
    s.sendall(b"still here\n")
    assert recv_exact(s, 11) == b"still here\n"


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode().strip()
    except FileNotFoundError:
        return ""


# --------------------------------------------------------------------------
# 2. Relay mode (nc -l)
# --------------------------------------------------------------------------

def test_relay_stdin_to_client_and_client_to_stdout(procs):
    srv = procs.listen("0", stdin_data=b"from stdin\n")
    s = procs.connect(srv.port)
    assert recv_all(s) == b"from stdin\n"  # stdin's EOF reaches the client
    s.sendall(b"to stdout\n")
    s.close()
    assert srv.wait() == 0
    assert srv.out == b"to stdout\n"
    assert "connection from 127.0.0.1:" in srv.err


def test_relay_one_mib_each_way(procs):
    rnd = random.Random(2)
    down, up = rnd.randbytes(MIB), rnd.randbytes(MIB)
    srv = procs.listen("0", stdin_data=down)
    s = procs.connect(srv.port)
    t = sender(s, up)
    assert recv_all(s, timeout=10) == down
    t.join(WAIT)
    s.close()
    assert srv.wait(10) == 0
    assert srv.out == up


def test_relay_stdin_from_a_regular_file(procs, tmp_path):
    data = random.Random(3).randbytes(300_000)
    src = tmp_path / "in"
    src.write_bytes(data)
    with open(src, "rb") as stdin:
        srv = procs.listen("0", stdin=stdin)
    s = procs.connect(srv.port)
    assert recv_all(s) == data
    s.sendall(b"bye\n")
    s.close()
    assert srv.wait() == 0
    assert srv.out == b"bye\n"


def test_keep_open_is_accepted_by_the_serving_modes(procs):
    """nc and ncat users type -k out of habit: the modes serve every client
    anyway, so it changes nothing there."""
    srv = procs.listen("-k", "--echo", "0")
    for _ in range(2):
        s = procs.connect(srv.port)
        s.sendall(b"ping\n")
        assert recv_exact(s, 5) == b"ping\n"
        s.close()
    assert srv.stop() == 0


def test_relay_keep_open_serves_clients_in_sequence(procs):
    srv = procs.listen("-k", "0", stdin_data=b"first only\n")
    a = procs.connect(srv.port)
    assert recv_all(a) == b"first only\n"
    a.sendall(b"c1\n")
    a.close()
    srv.wait_err(r"connection from", count=1)
    b = procs.connect(srv.port)
    srv.wait_err(r"connection from", count=2)
    assert recv_all(b) == b""  # stdin is at its end
    b.sendall(b"c2\n")
    b.close()
    srv.wait_out(b"c1\nc2\n")
    assert srv.running()
    assert srv.stop() == 0
    assert srv.out == b"c1\nc2\n"


def test_relay_keep_open_stdin_goes_on_to_the_next_client(procs):
    """As with `nc -lk` and `ncat -lk`: stdin written after the first client
    left reaches the second."""
    srv = procs.listen("-k", "0", keep_stdin=True)
    a = procs.connect(srv.port)
    srv.wait_err(r"connection from", count=1)
    srv.write_stdin(b"one\n")
    assert recv_until(a, b"\n") == b"one\n"
    a.close()
    time.sleep(0.2)
    b = procs.connect(srv.port)
    srv.wait_err(r"connection from", count=2)
    srv.write_stdin(b"two\n")
    assert recv_until(b, b"\n") == b"two\n"


def test_relay_no_stdin(procs):
    """-d (nc -d): stdin is not read, so the client gets no EOF from it;
    what the client sends is printed, and its close ends the server."""
    srv = procs.listen("-d", "0", stdin_data=b"never sent\n")
    s = procs.connect(srv.port)
    s.sendall(b"only this way\n")
    srv.wait_out(b"only this way\n")
    assert no_data_within(s, 0.3)
    s.close()
    assert srv.wait() == 0
    assert srv.out == b"only this way\n"


def test_relay_sigint_while_waiting(procs):
    srv = procs.listen("0", keep_stdin=True)
    time.sleep(0.2)
    assert srv.stop(signal.SIGINT) == 0


def test_relay_sigterm_during_a_session(procs):
    srv = procs.listen("0", keep_stdin=True)
    s = procs.connect(srv.port)
    s.sendall(b"partial\n")
    srv.wait_out(b"partial\n")
    assert srv.stop(signal.SIGTERM) == 0
    assert closed_by_peer(s)


# --------------------------------------------------------------------------
# 3. tcp connect against Python servers
# --------------------------------------------------------------------------

def test_connect_half_close(procs):
    """The server reads to EOF before it answers: connect must shut down
    its sending side at the end of stdin and still deliver the answer."""
    def handler(c):
        data = recv_all(c)
        c.sendall(b"got %d bytes\n" % len(data))
        c.close()
    port = procs.py_server(handler)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(port), stdin_data=b"x" * 100_000)
    assert p.wait() == 0, p.err
    assert p.out == b"got 100000 bytes\n"
    assert p.err == ""


def test_connect_through_echo_server_one_mib(procs):
    srv = procs.listen("--echo", "0")
    data = random.Random(4).randbytes(MIB)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(srv.port), stdin_data=data)
    assert p.wait(10) == 0, p.err
    assert p.out == data


def test_connect_send(procs):
    got = []

    def handler(c):
        got.append(recv_all(c))
        c.sendall(b"bye")
    port = procs.py_server(handler)
    p = procs.sockit("tcp", "connect", "--send", "hello", "127.0.0.1", str(port))
    assert p.wait() == 0, p.err
    assert got == [b"hello"]
    assert p.out == b"bye"


def test_connect_no_stdin(procs):
    """-d: stdin is not read and the sending side stays open; the session
    ends when the server closes."""
    saw_eof = []

    def handler(c):
        saw_eof.append(not no_data_within(c, 0.3))
        c.sendall(b"server speaks")
    port = procs.py_server(handler)
    p = procs.sockit("tcp", "connect", "-d", "127.0.0.1", str(port), stdin_data=b"unread\n")
    assert p.wait() == 0, p.err
    assert saw_eof == [False]
    assert p.out == b"server speaks"


def test_connect_verbose(procs):
    def handler(c):
        recv_all(c)
        c.sendall(b"abc")
    port = procs.py_server(handler)
    p = procs.sockit("tcp", "connect", "-v", "127.0.0.1", str(port), stdin_data=b"hello\n")
    assert p.wait() == 0, p.err
    client_port = procs.server_peers[0][1]
    assert p.err.splitlines() == [
        f"sockit: tcp connect: connected to 127.0.0.1:{port} from 127.0.0.1:{client_port}",
        "sockit: tcp connect: sent 6 bytes, received 3 bytes",
    ]
    assert p.out == b"abc"


def test_connect_verbose_counts_send_text(procs):
    def handler(c):
        recv_all(c)
        c.sendall(b"abc")
    port = procs.py_server(handler)
    p = procs.sockit("tcp", "connect", "-v", "--send", "hello", "127.0.0.1", str(port))
    assert p.wait() == 0, p.err
    assert p.err.splitlines()[-1] == "sockit: tcp connect: sent 5 bytes, received 3 bytes"


def test_connect_idle_timeout(procs):
    port = procs.py_server(lambda c: time.sleep(3))
    t0 = time.monotonic()
    p = procs.sockit("tcp", "connect", "-i", "0.3", "127.0.0.1", str(port), keep_stdin=True)
    assert p.wait() == 5
    assert 0.25 < time.monotonic() - t0 < 2.5
    assert re.fullmatch(r"sockit: tcp connect: no data either way for \d+ ms \(-i\): closed\n", p.err), p.err


def test_connect_idle_timeout_spares_an_active_session(procs):
    def handler(c):
        for _ in range(8):
            c.sendall(b".")
            time.sleep(0.1)
        c.close()
    port = procs.py_server(handler)
    p = procs.sockit("tcp", "connect", "-i", "0.3", "127.0.0.1", str(port), keep_stdin=True)
    p.wait_out(b"." * 8)
    p.close_stdin()  # the server's FIN ends only its direction: stdin's EOF ends ours
    assert p.wait() == 0, p.err
    assert p.out == b"." * 8


def test_connect_refused(procs):
    hold, port = nu.reserved_port()
    procs.track(hold)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(port))
    assert p.wait() == 4
    assert p.err == f"sockit: tcp connect: 127.0.0.1:{port}: connection refused\n"


def test_connect_reset_by_peer(procs):
    def handler(c):
        recv_exact(c, 1)  # connected and relaying: the reset is not the connect's
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    port = procs.py_server(handler)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(port), keep_stdin=True)
    p.write_stdin(b"x")
    assert p.wait() == 4
    assert p.err == "sockit: tcp connect: connection reset by peer: only 1 byte of stdin was sent\n"


def test_connect_wait_timeout(procs):
    """A listener whose accept queue is full drops SYNs (Linux): the
    connect stays pending until -w gives up."""
    ls = procs.track(socket.socket())
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    for _ in range(3):
        f = procs.track(socket.socket())
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
    time.sleep(0.1)
    t0 = time.monotonic()
    p = procs.sockit("tcp", "connect", "-w", "0.5", "127.0.0.1", str(port))
    assert p.wait() == 5
    assert 0.4 < time.monotonic() - t0 < 3
    assert p.err == f"sockit: tcp connect: 127.0.0.1:{port}: timed out after 500 ms\n"


def test_connect_unknown_host(sockit):
    res = sockit("tcp", "connect", "no-such-host.invalid", "80", timeout=20)
    assert res.status == 3
    assert res.err == "sockit: tcp connect: 'no-such-host.invalid': name not known\n"


def test_connect_bad_port(sockit):
    res = sockit("tcp", "connect", "127.0.0.1", "99999")
    assert res.status == 2
    assert res.err.splitlines()[0] == \
        "sockit: tcp connect: port '99999': not a port number (0-65535)"


@pytest.mark.parametrize("args, got", [([], "0 arguments"), (["127.0.0.1"], "1 argument")])
def test_connect_missing_arguments(sockit, args, got):
    res = sockit("tcp", "connect", *args)
    assert res.status == 2
    assert res.err.splitlines() == [
        f"sockit: tcp connect: expected HOST and PORT, got {got}", SEE_HELP]


@pytest.mark.parametrize("flag, host", [("-4", "127.0.0.1"), ("-6", "::1")])
def test_connect_family(procs, flag, host):
    port = procs.py_server(lambda c: (recv_all(c), c.sendall(b"ok")), host)
    p = procs.sockit("tcp", "connect", flag, "--send", "x", host, str(port))
    assert p.wait() == 0, p.err
    assert p.out == b"ok"


@pytest.mark.parametrize("flag, host, reason", [
    ("-4", "::1", "no IPv4 address for this name"),
    ("-6", "127.0.0.1", "no IPv6 address for this name"),
])
def test_connect_family_mismatch(sockit, flag, host, reason):
    res = sockit("tcp", "connect", flag, host, "80")
    assert res.status == 3
    assert res.err == f"sockit: tcp connect: '{host}': {reason}\n"


# --------------------------------------------------------------------------
# 4. Interop: socat, ncat and OpenBSD nc
# --------------------------------------------------------------------------

CLIENTS = {
    "socat": lambda host, port: ["socat", "-t", "2", "-",
                                 f"TCP:{f'[{host}]' if ':' in host else host}:{port}"],
    "ncat": lambda host, port: ["ncat", host, str(port)],
    "nc.openbsd": lambda host, port: ["nc.openbsd", "-N", host, str(port)],
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_interop_clients_of_echo(procs, client, host):
    srv = procs.listen("--echo", "0")
    c = procs.spawn(*CLIENTS[client](host, srv.port), stdin_data=b"hello interop\n")
    assert c.wait() == 0, c.err
    assert c.out == b"hello interop\n"


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_interop_clients_of_reply(procs, client):
    """Two lines, then a last one without LF that only the half-close ends."""
    srv = procs.listen("--reply", "0")
    c = procs.spawn(*CLIENTS[client]("127.0.0.1", srv.port), stdin_data=b"one\ntwo\nthree")
    assert c.wait() == 0, c.err
    port = int(srv.wait_err(r"connection from 127\.0\.0\.1:(\d+)$").group(1))
    assert c.out == b"".join(reply_line(m, port) + b"\n" for m in (b"one", b"two", b"three"))


def test_interop_ncat_exec_server(procs):
    """ncat --exec closes as soon as it reads EOF, without waiting for the
    child's output (ncat's own behaviour), so stdin stays open until the
    echo is back."""
    port = nu.free_port()
    n = procs.spawn("ncat", "-l", "127.0.0.1", str(port), "--exec", "/bin/cat")
    nu.wait_listening(port, n)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(port), keep_stdin=True)
    p.write_stdin(b"via ncat\n")
    p.wait_out(b"via ncat\n")
    p.close_stdin()
    assert p.wait() == 0, p.err
    assert p.out == b"via ncat\n"
    assert n.wait() == 0


def test_interop_socat_exec_server(procs):
    port = nu.free_port()
    s = procs.spawn("socat", f"TCP-LISTEN:{port},reuseaddr,bind=127.0.0.1", "EXEC:cat")
    nu.wait_listening(port, s)
    data = random.Random(5).randbytes(200_000)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(port), stdin_data=data)
    assert p.wait(10) == 0, p.err
    assert p.out == data
    assert s.wait() == 0


def test_interop_nc_openbsd_server_half_close(procs):
    """nc -N shuts down its sending side at the end of its stdin: sockit
    writes out what came before the EOF, and its FIN ends only that
    direction: what sockit's stdin says afterwards still reaches nc, and
    sockit's own EOF ends the session (both exit 0). (Debian's nc quits when
    it reads EOF itself, so the other order is covered by socat and the
    Python servers.)"""
    port = nu.free_port()
    n = procs.spawn("nc.openbsd", "-N", "-l", "127.0.0.1", str(port), keep_stdin=True)
    nu.wait_listening(port, n)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(port), keep_stdin=True)
    p.write_stdin(b"to nc\n")
    n.wait_out(b"to nc\n")
    n.write_stdin(b"from nc\n")
    p.wait_out(b"from nc\n")
    n.close_stdin()
    time.sleep(0.2)  # nc's FIN is in
    assert p.running()
    p.write_stdin(b"after your FIN\n")
    n.wait_out(b"after your FIN\n")
    p.close_stdin()
    assert p.wait() == 0, p.err
    assert n.wait() == 0, n.err
    assert p.out == b"from nc\n"
    assert n.out == b"to nc\nafter your FIN\n"


@pytest.mark.parametrize("client", ["nc.openbsd", "socat"])
def test_interop_relay_listener_with_half_closing_client(procs, client):
    """The client's last words and its shutdown: the relay listener writes
    them out, goes on sending its stdin to the client (a FIN ends only the
    client's direction), and exits 0 at the end of its stdin."""
    srv = procs.listen("0", keep_stdin=True)
    c = procs.spawn(*CLIENTS[client]("127.0.0.1", srv.port), keep_stdin=True)
    srv.wait_err("connection from")
    srv.write_stdin(b"from sockit\n")
    c.wait_out(b"from sockit\n")
    c.write_stdin(b"from client\n")
    c.close_stdin()
    srv.wait_out(b"from client\n")
    srv.write_stdin(b"after your FIN\n")
    c.wait_out(b"after your FIN\n")
    srv.close_stdin()
    assert srv.wait() == 0, srv.err
    assert c.wait() == 0, c.err
    assert c.out == b"from sockit\nafter your FIN\n"
    assert srv.out == b"from client\n"


# --------------------------------------------------------------------------
# 5. Limits and access lists
# --------------------------------------------------------------------------

def test_max_per_client(procs):
    srv = procs.listen("--echo", "--max-per-client", "2", "0")
    a = procs.connect(srv.port)
    b = procs.connect(srv.port)
    srv.wait_err("connection from", count=2)
    third_port = procs.turned_away(srv.port)
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{third_port} "
                 r"refused: --max-per-client reached$")
    # Another address has its own count.
    six = procs.connect(srv.port, "::1")
    six.sendall(b"6")
    assert recv_exact(six, 1) == b"6"
    for s in (a, b):
        s.sendall(b"ok")
        assert recv_exact(s, 2) == b"ok"
    # A place freed is a place to take.
    a_port = local_port(a)
    a.close()
    srv.wait_err(rf"127\.0\.0\.1:{a_port} closed$")
    d = procs.connect(srv.port)
    d.sendall(b"d")
    assert recv_exact(d, 1) == b"d"


def test_max_conns(procs):
    srv = procs.listen("--echo", "--max-conns", "1", "0")
    a = procs.connect(srv.port)
    srv.wait_err("connection from")
    b_port = procs.turned_away(srv.port, "::1")
    srv.wait_err(rf"^sockit: tcp listen: \[::1\]:{b_port} refused: --max-conns reached$")
    a.sendall(b"a")
    assert recv_exact(a, 1) == b"a"


def test_idle_timeout(procs):
    srv = procs.listen("--echo", "--idle-timeout", "0.3", "0")
    idle = procs.connect(srv.port)
    busy = procs.connect(srv.port)
    srv.wait_err("connection from", count=2)
    t0 = time.monotonic()
    closed_at = None
    while time.monotonic() - t0 < 1.2:
        busy.sendall(b"b")
        assert recv_exact(busy, 1) == b"b"
        if closed_at is None and not no_data_within(idle, 0.1):
            assert closed_by_peer(idle, 0.1)
            closed_at = time.monotonic() - t0
    assert closed_at is not None and 0.2 < closed_at < 1.0, closed_at
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{local_port(idle)} closed: idle timeout$")
    busy.sendall(b"still")
    assert recv_exact(busy, 5) == b"still"


def test_deny_ipv4_loopback(procs):
    srv = procs.listen("--echo", "--deny", "127.0.0.0/8", "0")
    v4_port = procs.turned_away(srv.port)
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{v4_port} "
                 r"refused: denied by --allow/--deny$")
    v6 = procs.connect(srv.port, "::1")
    v6.sendall(b"six")
    assert recv_exact(v6, 3) == b"six"


@pytest.mark.parametrize("args", [
    ["--deny", "127.0.0.0/8"], ["--allow", "::1"], ["--max-conns", "1"],
    ["--max-per-client", "1"]], ids=["deny", "allow", "max-conns", "max-per-client"])
def test_a_client_turned_away_sees_a_reset(procs, args):
    """Refused by the access list or a limit, a client gets a reset (SO_LINGER
    0), always: tcp connect exits 4 with 'connection reset by peer', never 0
    with an empty answer depending on timing."""
    srv = procs.listen("--echo", *args, "0")
    if "--max-conns" in args or "--max-per-client" in args:
        procs.connect(srv.port)
        srv.wait_err("connection from")
    for _ in range(3):
        procs.turned_away(srv.port)
        p = procs.sockit("tcp", "connect", "127.0.0.1", str(srv.port))
        assert p.wait() == 4, p.err
        assert re.fullmatch(rf"sockit: tcp connect: (127\.0\.0\.1:{srv.port}: )?connection "
                            r"reset by peer\n", p.err), p.err


def test_allow_only_ipv6_loopback(procs):
    srv = procs.listen("--echo", "--allow", "::1", "0")
    v4_port = procs.turned_away(srv.port)
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{v4_port} "
                 r"refused: denied by --allow/--deny$")
    v6 = procs.connect(srv.port, "::1")
    v6.sendall(b"six")
    assert recv_exact(v6, 3) == b"six"


def raise_fd_limit(n=4096):
    """preexec_fn: an fd limit above --max-conns, so that the limit is what
    refuses clients, not accept(2) failing."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n if hard == resource.RLIM_INFINITY else min(n, hard)
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def fd_room(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + 64:
        pytest.skip(f"hard fd limit {hard} is below {n + 64}")
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, hard))


def connect_or_reset(procs, port):
    """A connection, or None where the server reset it (turned away) before
    connect() returned."""
    try:
        return procs.connect(port)
    except ConnectionResetError:
        return None


def test_default_max_conns(procs):
    """With no flag a server serves 1024 clients at once and refuses the
    next ones before reading a byte (it used to have no limit)."""
    fd_room(1030)
    srv = procs.listen("--discard", "0", preexec_fn=raise_fd_limit())
    socks = [connect_or_reset(procs, srv.port) for _ in range(1030)]
    srv.wait_err(r"refused: --max-conns reached$", count=6, timeout=20)
    assert srv.err.count("connection from") == 1024
    socks[0].close()
    srv.wait_err(r"closed$")
    late = procs.connect(srv.port)
    srv.wait_err(rf"connection from 127\.0\.0\.1:{local_port(late)}$")


def test_exec_default_max_conns_is_smaller(procs):
    fd_room(70)
    srv = procs.listen("--exec", "cat", "0", preexec_fn=raise_fd_limit())
    socks = [connect_or_reset(procs, srv.port) for _ in range(66)]
    srv.wait_err(r"refused: --max-conns reached$", count=2, timeout=20)
    assert srv.err.count("connection from") == 64
    del socks


def test_max_conns_zero_means_no_limit(procs):
    fd_room(1100)
    srv = procs.listen("--discard", "--max-conns", "0", "0", preexec_fn=raise_fd_limit())
    socks = [procs.connect(srv.port) for _ in range(1030)]
    srv.wait_err("connection from", count=1030, timeout=20)
    assert "refused" not in srv.err
    del socks


def test_unfinished_huge_lines_keep_memory_bounded(procs):
    """Issue 8 §4: clients that send a line without its end. 300 send a huge
    one (up to 1 MiB each: each is closed at the 16 KiB limit), 300 keep one
    just under the limit open; the server stays small (it held up to 1 MiB
    per client: 2,000 clients cost 2.07 GB)."""
    fd_room(700)
    srv = procs.listen("--reply", "0", preexec_fn=raise_fd_limit())
    huge, held = [], []
    for i in range(600):
        s = procs.connect(srv.port)
        s.setblocking(False)
        (huge if i % 2 else held).append(s)
    line = b"h" * MIB
    sent = {s: 0 for s in huge}
    deadline = time.monotonic() + 20
    while sent and time.monotonic() < deadline:
        for s in list(sent):
            try:
                sent[s] += s.send(line[sent[s]:])
            except BlockingIOError:
                continue
            except OSError:
                del sent[s]  # closed by the server: the limit at work
                continue
            if sent[s] == len(line):
                del sent[s]
    for s in held:
        s.setblocking(True)
        s.sendall(b"p" * (16 * 1024 - 1))
    srv.wait_err(r"closed: message over the size limit$", count=300, timeout=20)
    time.sleep(0.3)
    assert nu.rss_kib(srv.pid) < RSS_LIMIT_KIB
    # The held ones are still served: the end of the line gets its answer.
    s = held[0]
    s.sendall(b"\n")
    want = reply_line(b"p" * (16 * 1024 - 1), local_port(s)) + b"\n"
    assert recv_exact(s, len(want)) == want


@pytest.mark.parametrize("rule", ["::ffff:127.0.0.1", "::ffff:0:0/96", "::ffff:127.0.0.0/104",
                                  "::FFFF:7f00:1"])
def test_deny_ipv4_mapped_rule_matches_ipv4_peers(procs, rule):
    """Issue 8 §4: a deny in IPv4-mapped form was accepted and never matched
    (peers are compared as plain IPv4): a deny that failed open."""
    srv = procs.listen("--echo", "--deny", rule, "0")
    v4_port = procs.turned_away(srv.port)
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{v4_port} "
                 r"refused: denied by --allow/--deny$")
    v6 = procs.connect(srv.port, "::1")
    v6.sendall(b"six")
    assert recv_exact(v6, 3) == b"six"


def test_allow_ipv4_mapped_rule_admits_ipv4_peers(procs):
    srv = procs.listen("--echo", "--allow", "::ffff:0:0/96", "0")
    v4 = procs.connect(srv.port)
    v4.sendall(b"four")
    assert recv_exact(v4, 4) == b"four"
    v6_port = procs.turned_away(srv.port, "::1")
    srv.wait_err(rf"^sockit: tcp listen: \[::1\]:{v6_port} "
                 r"refused: denied by --allow/--deny$")


# --------------------------------------------------------------------------
# 6. IPv6 and the dual-stack listener
# --------------------------------------------------------------------------

def test_listen_on_ipv6_loopback(procs):
    srv = procs.listen("--echo", "-b", "::1", "0")
    assert srv.bound == "[::1]"
    p = procs.sockit("tcp", "connect", "-v", "--send", "over six", "::1", str(srv.port))
    assert p.wait() == 0, p.err
    assert p.out == b"over six"
    assert p.err.startswith(f"sockit: tcp connect: connected to [::1]:{srv.port} from [::1]:")
    # Not listening on IPv4.
    with pytest.raises(ConnectionRefusedError):
        procs.connect(srv.port)


def test_listen_6_is_ipv6_only_and_4_ipv4_only(procs):
    """As ncat: -6 sets IPV6_V6ONLY, so IPv4 clients are refused; -4 binds
    0.0.0.0. Without either the listener is dual-stack."""
    six = procs.listen("-6", "--echo", "0")
    assert six.bound == "[::]"
    s = procs.connect(six.port, "::1")
    s.sendall(b"six\n")
    assert recv_exact(s, 4) == b"six\n"
    with pytest.raises(ConnectionRefusedError):
        procs.connect(six.port, "127.0.0.1")
    four = procs.listen("-4", "--echo", "0")
    assert four.bound == "0.0.0.0"
    with pytest.raises(ConnectionRefusedError):
        procs.connect(four.port, "::1")


def test_connect_from_a_source_address_and_port(procs):
    """nc -s ADDR -p PORT: the connection leaves from there."""
    srv = procs.listen("--echo", "-b", "127.0.0.1", "0")
    src = nu.free_port()
    p = procs.sockit("tcp", "connect", "-s", "127.0.0.2", "-p", str(src), "--send", "hi",
                     "127.0.0.1", str(srv.port))
    assert p.wait() == 0, p.err
    assert p.out == b"hi"
    srv.wait_err(rf"^sockit: tcp listen: connection from 127\.0\.0\.2:{src}$")
    p = procs.sockit("tcp", "connect", "--source-port", "0", "--send", "x", "127.0.0.1",
                     str(srv.port))
    assert p.wait() == 0, p.err


@pytest.mark.parametrize("args, status, message", [
    (["-s", "192.0.2.77"], 4, "sockit: tcp connect: 127.0.0.1:{port}: from 192.0.2.77:0: "
                              "cannot assign requested address"),
    (["-s", "::1"], 2, "sockit: tcp connect: 127.0.0.1:{port}: no source address (-s, -p) "
                       "of this address's family"),
])
def test_connect_from_an_address_that_cannot_be_used(procs, args, status, message):
    srv = procs.listen("--echo", "-b", "127.0.0.1", "0")
    p = procs.sockit("tcp", "connect", *args, "--send", "x", "127.0.0.1", str(srv.port))
    assert p.wait() == status
    assert p.err == message.format(port=srv.port) + "\n"


def test_ipv6_addresses_in_brackets(procs):
    """[::1], as users copy it from a URL, works wherever an address goes."""
    srv = procs.listen("--echo", "-b", "[::1]", "0")
    assert srv.bound == "[::1]"
    p = procs.sockit("tcp", "connect", "--send", "bracketed", "[::1]", str(srv.port))
    assert p.wait() == 0, p.err
    assert p.out == b"bracketed"


def test_listen_on_ipv4_loopback(procs):
    srv = procs.listen("--echo", "-b", "127.0.0.1", "0")
    assert srv.bound == "127.0.0.1"
    with pytest.raises(ConnectionRefusedError):
        procs.connect(srv.port, "::1")


def test_dual_stack_shows_plain_ipv4(procs):
    srv = procs.listen("--reply", "0")
    assert srv.bound == "[::]"
    v4 = procs.connect(srv.port)
    v6 = procs.connect(srv.port, "::1")
    v4.sendall(b"four\n")
    v6.sendall(b"six\n")
    want4 = reply_line(b"four", local_port(v4)) + b"\n"
    want6 = reply_line(b"six", local_port(v6), "::1") + b"\n"
    assert recv_exact(v4, len(want4)) == want4
    assert recv_exact(v6, len(want6)) == want6
    srv.wait_err(rf"^sockit: tcp listen: connection from 127\.0\.0\.1:{local_port(v4)}$")
    srv.wait_err(rf"^sockit: tcp listen: connection from \[::1\]:{local_port(v6)}$")
    assert "::ffff:" not in srv.err


# --------------------------------------------------------------------------
# 6b. Relays never crash, never lose bytes silently, and exit truthfully
#     (issue 8 §1: each case is the command that found it, repeated)
# --------------------------------------------------------------------------

def bash(procs, script, **kw):
    """A bash pipeline around sockit ($S), for what Popen cannot express
    (`| head`); its stderr is checked for sanitizer reports like sockit's."""
    return procs.spawn("bash", "-c", script, env={**os.environ, "S": SOCKIT}, **kw)


def pipeline_status(p):
    """The statuses bash printed as its last stdout line (PIPESTATUS)."""
    assert p.wait(30) == 0, p.err
    nu.assert_no_sanitizer_report(p.err)
    return [int(x) for x in p.out.split(b"\n")[-2].split()]


RESET_LINE = r"connection reset by peer: only \d+ bytes? of stdin (was|were) sent"


def test_connect_big_stdin_to_daytime_never_crashes(procs):
    """`head -c 100000000 /dev/zero | sockit tcp connect` against a daytime
    server: the server closes unread, our next send fails inside the relay's
    data callback (that failure used to free the relay under it, a segfault
    in about half the runs). Now: exit 4 and one line, every time."""
    srv = procs.listen("--daytime", "0")
    for _ in range(15):
        p = bash(procs, f'head -c 100000000 /dev/zero | "$S" tcp connect 127.0.0.1 {srv.port} '
                        f'>/dev/null; echo "${{PIPESTATUS[@]}}"')
        assert pipeline_status(p)[1] == 4, p.err
        assert re.fullmatch(rf"sockit: tcp connect: {RESET_LINE}\n", p.err), p.err


def test_connect_output_into_a_closed_pipe(procs):
    """`… | sockit tcp connect … | head -c 100` against chargen: stdout's
    reader leaves; that is how pipelines end: no message, exit 0, no crash."""
    srv = procs.listen("--chargen", "0")
    for _ in range(15):
        p = bash(procs, f'head -c 100000000 /dev/zero | "$S" tcp connect 127.0.0.1 {srv.port} '
                        f'| head -c 100 >/dev/null; echo "${{PIPESTATUS[@]}}"')
        assert pipeline_status(p)[1:] == [0, 0], p.err  # head -c 1e8 may die of SIGPIPE
        assert p.err == ""


def test_listen_output_into_a_closed_pipe(procs):
    """The same for the relay listener: `sockit tcp listen P < /dev/zero |
    head -c 100` with a client that sends a lot."""
    for _ in range(8):
        srv = bash(procs, '"$S" tcp listen -v 0 </dev/zero | head -c 100 >/dev/null; '
                          'echo "${PIPESTATUS[@]}"')
        port = int(srv.wait_err(nu.LISTENING.pattern).group(2))
        c = procs.connect(port)
        sender(c, b"y" * (8 * MIB))
        assert pipeline_status(srv) == [0, 0], srv.err
        assert srv.err.splitlines()[1:] == [
            f"sockit: tcp listen: connection from 127.0.0.1:{local_port(c)}"]


def test_connect_keeps_sending_after_the_peer_half_closes_socat(procs):
    """`socat TCP-LISTEN:P STDIO </dev/null` shuts down its side at once; all
    5,000,000 bytes must still arrive (0 did), and both exit 0."""
    port = nu.free_port()
    s = procs.spawn("socat", "-t", "10", f"TCP-LISTEN:{port},reuseaddr,bind=127.0.0.1", "STDIO")
    nu.wait_listening(port, s)
    data = random.Random(8).randbytes(5_000_000)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(port), stdin_data=data)
    assert p.wait(30) == 0, p.err
    assert s.wait(30) == 0, s.err
    assert len(s.out) == len(data) and s.out == data
    assert p.err == ""


def test_connect_keeps_sending_after_the_peer_half_closes_sockit(procs):
    """The same against `sockit tcp listen P </dev/null` (0 of 50 MB once)."""
    srv = procs.listen("0")
    data = random.Random(9).randbytes(5_000_000)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(srv.port), stdin_data=data)
    assert p.wait(30) == 0, p.err
    assert srv.wait(30) == 0, srv.err
    assert len(srv.out) == len(data) and srv.out == data


def test_listen_keeps_sending_after_the_client_half_closes(procs):
    """The relay listener's side of it: a client that sends nothing and
    half-closes at once (`sockit tcp connect … </dev/null`) still gets all of
    the listener's stdin."""
    data = random.Random(10).randbytes(5_000_000)
    srv = procs.listen("0", stdin_data=data)
    p = procs.sockit("tcp", "connect", "127.0.0.1", str(srv.port))
    assert p.wait(30) == 0, p.err
    assert srv.wait(30) == 0, srv.err
    assert len(p.out) == len(data) and p.out == data


def reset_after(n):
    """A Python server that reads n bytes, then resets the connection."""
    def handler(c):
        recv_exact(c, n)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    return handler


def test_connect_reset_mid_send_exits_4(procs):
    """The peer resets after 64 KiB of 10 MB: not "sent 65536 bytes" and
    exit 0, but exit 4 and how much got out."""
    port = procs.py_server(reset_after(65536))
    p = procs.sockit("tcp", "connect", "-v", "127.0.0.1", str(port), stdin_data=b"r" * 10_000_000)
    assert p.wait(30) == 4
    lines = p.err.splitlines()
    assert re.fullmatch(rf"sockit: tcp connect: {RESET_LINE}", lines[-1]), p.err
    sent = int(re.search(r"only (\d+)", lines[-1]).group(1))
    assert 65536 <= sent < 10_000_000
    assert re.fullmatch(rf"sockit: tcp connect: sent {sent} bytes, received 0 bytes", lines[-2])


def test_listen_relay_client_resets_mid_send_exits_4(procs):
    data = b"L" * 10_000_000
    srv = procs.listen("0", stdin_data=data)
    s = procs.connect(srv.port)
    recv_exact(s, 65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    port = local_port(s)
    s.close()
    assert srv.wait(30) == 4
    assert re.fullmatch(rf"sockit: tcp listen: 127\.0\.0\.1:{port}: {RESET_LINE}",
                        srv.err.splitlines()[-1]), srv.err


def test_listen_keep_open_client_reset_is_logged_and_serving_goes_on(procs):
    """-k: one client's reset does not stop the server; it is said, the next
    client gets what stdin says next, and the exit status keeps the failure."""
    srv = procs.listen("-k", "0", keep_stdin=True)
    s = procs.connect(srv.port)
    srv.wait_err("connection from", count=1)
    srv.write_stdin(b"k" * 1000)
    recv_exact(s, 1000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    port = local_port(s)
    s.close()
    srv.wait_err(rf"^sockit: tcp listen: 127\.0\.0\.1:{port}: {RESET_LINE}$")
    t = procs.connect(srv.port)
    srv.wait_err("connection from", count=2)
    srv.write_stdin(b"next\n")
    assert recv_until(t, b"\n") == b"next\n"
    assert srv.stop() == 4


def test_listen_relay_idle_timeout(procs):
    """A relay client that neither sends nor reads: the session ends with
    one line naming the client, exit 5."""
    srv = procs.listen("--idle-timeout", "0.3", "0", keep_stdin=True)
    s = procs.connect(srv.port)
    assert srv.wait() == 5
    assert srv.err.splitlines()[-1] == (f"sockit: tcp listen: 127.0.0.1:{local_port(s)}: "
                                        "no data either way for 300 ms (--idle-timeout): closed")


def test_connect_stdout_full(procs):
    """stdout on /dev/full: one line, exit 1 (it used to exit 0 silently)."""
    port = procs.py_server(lambda c: (recv_all(c), c.sendall(b"x" * 100_000)))
    with open("/dev/full", "wb") as full:
        p = subprocess.run([SOCKIT, "tcp", "connect", "127.0.0.1", str(port)],
                           stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE,
                           timeout=WAIT * 2)
    err = p.stderr.decode()
    nu.assert_no_sanitizer_report(err)
    assert p.returncode == 1
    assert err == "sockit: tcp connect: stdout: no space left on device\n"


def test_listen_relay_stdout_full(procs):
    with open("/dev/full", "wb") as full:
        p = subprocess.Popen([SOCKIT, "tcp", "listen", "-v", "0"], stdin=subprocess.DEVNULL,
                             stdout=full, stderr=subprocess.PIPE)
    try:
        line = p.stderr.readline().decode()
        port = int(nu.LISTENING.match(line).group(2))
        s = procs.connect(port)
        s.sendall(b"to stdout")
        s.shutdown(socket.SHUT_WR)
        assert p.wait(WAIT) == 1
        err = line + p.stderr.read().decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
    nu.assert_no_sanitizer_report(err)
    assert err.splitlines()[1:] == [f"sockit: tcp listen: connection from 127.0.0.1:{local_port(s)}",
                                    "sockit: tcp listen: stdout: no space left on device"]


def test_connect_stdin_unreadable(procs, tmp_path):
    """stdin that cannot be read (a directory): one line naming stdin, exit 7."""
    port = procs.py_server(lambda c: recv_all(c))
    d = os.open(tmp_path, os.O_RDONLY)
    try:
        p = procs.sockit("tcp", "connect", "127.0.0.1", str(port), stdin=d)
    finally:
        os.close(d)
    assert p.wait() == 7
    assert p.err == "sockit: tcp connect: stdin: is a directory\n"


# --------------------------------------------------------------------------
# 7. Faults
# --------------------------------------------------------------------------

def test_echo_client_that_never_reads(procs):
    """20 MiB sent by a client that reads nothing: the server must stop
    reading it once its queue is full, not buffer everything."""
    srv = procs.listen("--echo", "0")
    s = procs.connect(srv.port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    t = sender(s, b"z" * (20 * MIB))
    time.sleep(2)
    assert nu.rss_kib(srv.pid) < RSS_LIMIT_KIB
    assert t.is_alive(), "20 MiB went through although nobody read the echo"
    # Others are still served.
    other = procs.connect(srv.port)
    other.sendall(b"ping")
    assert recv_exact(other, 4) == b"ping"


RESET_MODES = [["--echo"], ["--discard"], ["--chargen"], ["--reply"], ["--chat"],
               ["--reply", "--frame", "len32"], ["--exec", "cat"]]


@pytest.mark.parametrize("mode", RESET_MODES, ids=" ".join)
def test_client_reset_mid_transfer(procs, mode):
    """A client sends a burst (many small messages) and resets the
    connection (SO_LINGER 0): the server drops it and goes on serving."""
    srv = procs.listen(*mode, "0")
    watcher = procs.connect(srv.port)  # chat: someone to send to
    srv.wait_err("connection from", count=1)
    s = procs.connect(srv.port)
    srv.wait_err("connection from", count=2)
    burst = struct.pack(">I", 1) + b"m" if "len32" in mode else b"m\n"
    s.sendall(burst * 5000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    time.sleep(0.3)
    assert srv.running(), f"server died: status {srv.popen.poll()}\n{srv.err}"
    s2 = procs.connect(srv.port)
    srv.wait_err("connection from", count=3)
    if mode == ["--echo"]:
        s2.sendall(b"after reset")
        assert recv_exact(s2, 11) == b"after reset"
    del watcher


def test_echo_reset_while_the_echo_is_queued(procs):
    srv = procs.listen("--echo", "0")
    s = procs.connect(srv.port)
    sender(s, b"r" * MIB)
    recv_exact(s, 64 * 1024)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    srv.wait_err(r"closed")
    assert srv.running()
    s2 = procs.connect(srv.port)
    s2.sendall(b"after reset")
    assert recv_exact(s2, 11) == b"after reset"


def test_port_in_use(procs):
    taken = procs.track(socket.socket())
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    p = procs.sockit("tcp", "listen", "--echo", "-b", "127.0.0.1", str(port))
    assert p.wait() == 4
    assert p.err == f"sockit: tcp listen: 127.0.0.1:{port}: address already in use\n"


def test_out_of_file_descriptors(procs):
    def limit_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    srv = procs.listen("--echo", "0", preexec_fn=limit_fds)
    clients = [procs.connect(srv.port) for _ in range(80)]
    srv.wait_err(r"^sockit: tcp listen: accept: too many open files \(retrying\)$")
    time.sleep(0.2)
    cpu0 = nu.cpu_seconds(srv.pid)
    time.sleep(2)
    assert nu.cpu_seconds(srv.pid) - cpu0 < 0.5, "spins while accept fails"
    clients[0].sendall(b"first")
    assert recv_exact(clients[0], 5) == b"first"
    for c in clients[:40]:
        c.close()
    late = procs.connect(srv.port)
    late.sendall(b"late")
    assert recv_exact(late, 4) == b"late"
    lines = [ln for ln in srv.err.splitlines() if "accept" in ln]
    assert 1 <= len(lines) <= 3, lines


def test_signal_right_after_the_listening_line():
    """A script that reads `listening on` and stops the server at once must
    find it already handling SIGINT and SIGTERM (exit 0, not killed). The
    line is read straight from the pipe to signal as early as possible."""
    statuses = []
    for i in range(40):
        p = subprocess.Popen([SOCKIT, "tcp", "listen", "-v", "--echo", "0"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            err = b""
            deadline = time.monotonic() + WAIT
            while b"listening on" not in err and time.monotonic() < deadline:
                chunk = os.read(p.stderr.fileno(), 4096)
                if not chunk:
                    break
                err += chunk
            assert b"listening on" in err, err
            p.send_signal(signal.SIGTERM if i % 2 else signal.SIGINT)
            statuses.append(p.wait(WAIT))
            err += p.stderr.read()
            nu.assert_no_sanitizer_report(err.decode("utf-8", "replace"))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(WAIT)
            p.stderr.close()
    assert statuses == [0] * 40


def test_sigterm_and_sigint_stop_cleanly(procs):
    for sig in (signal.SIGTERM, signal.SIGINT):
        srv = procs.listen("--echo", "0")
        s = procs.connect(srv.port)
        srv.wait_err("connection from")
        assert srv.stop(sig) == 0
        assert closed_by_peer(s)


# --------------------------------------------------------------------------
# 8. --trace
# --------------------------------------------------------------------------

def test_trace_listener(procs):
    srv = procs.listen("--trace", "--echo", "0")
    s = procs.connect(srv.port)
    s.sendall(b"x" * 17)
    assert recv_exact(s, 17) == b"x" * 17
    port = local_port(s)
    s.close()
    m = srv.wait_err(r"^close\((\d+)\)$")
    lines = srv.err.splitlines()

    def index(pattern, after=-1):
        for i, line in enumerate(lines):
            if i > after and re.fullmatch(pattern, line):
                return i
        raise AssertionError(f"no {pattern!r} after line {after} in:\n{srv.err}")
    i = index(r"socket\(AF_INET6, SOCK_STREAM\) = \d+")
    i = index(r"setsockopt\(SO_REUSEADDR\)", i)
    i = index(r"bind\(\[::\]:0\)", i)
    i = index(r"listen\(128\)", i)
    i = index(rf"accept\(\) = (\d+) from 127\.0\.0\.1:{port}", i)
    fd = re.fullmatch(r"accept\(\) = (\d+) from .*", lines[i]).group(1)
    assert m.group(1) == fd
    i = index(rf"recv\({fd}\) = 17", i)
    i = index(rf"send\({fd}, 17\)", i)
    index(rf"close\({fd}\)", i)


def test_trace_connect(procs):
    srv = procs.listen("--echo", "0")
    p = procs.sockit("tcp", "connect", "--trace", "--send", "hello", "127.0.0.1", str(srv.port))
    assert p.wait() == 0, p.err
    lines = p.err.splitlines()
    assert re.fullmatch(r"socket\(AF_INET, SOCK_STREAM\) = (\d+)", lines[0]), lines
    fd = lines[0].rsplit(" ", 1)[1]
    assert re.fullmatch(rf"connect\(127\.0\.0\.1:{srv.port}\)( in progress)?", lines[1])
    assert lines[2:4] == [f"send({fd}, 5)", f"shutdown({fd}, SHUT_WR)"], lines
    assert re.fullmatch(rf"recv\({fd}\) = 5", lines[4]), lines
    assert re.fullmatch(rf"recv\({fd}\) = 0( \(end of stream\))?",
                        lines[5]), lines
    assert lines[6:] == [f"close({fd})"], lines


# --------------------------------------------------------------------------
# 9. Usage errors
# --------------------------------------------------------------------------

USAGE_ERRORS = [
    (["tcp"], "sockit: tcp: expected 'connect', 'listen' or 'ping'"),
    (["tcp", "bogus"], "sockit: tcp: 'bogus': expected 'connect', 'listen' or 'ping'"),
    (["tcp", "listen"], "sockit: tcp listen: expected PORT, got 0 arguments"),
    (["tcp", "listen", "0", "1"], "sockit: tcp listen: expected PORT, got 2 arguments"),
    (["tcp", "listen", "--echo", "--chat", "0"], "sockit: tcp listen: choose one mode"),
    (["tcp", "listen", "--exec", "cat", "--echo", "0"], "sockit: tcp listen: choose one mode"),
    (["tcp", "listen", "--frame", "bogus", "0"],
     "sockit: tcp listen: --frame 'bogus': expected line, len32 or raw"),
    (["tcp", "listen", "--max-conns", "-1", "0"],
     "sockit: tcp listen: --max-conns '-1': not a whole number (0-1000000)"),
    (["tcp", "listen", "--max-per-client", "x", "0"],
     "sockit: tcp listen: --max-per-client 'x': not a whole number (0-1000000)"),
    (["tcp", "listen", "--idle-timeout", "abc", "0"],
     "sockit: tcp listen: --idle-timeout 'abc': not a number of seconds (0-86400)"),
    (["tcp", "listen", "-d", "--echo", "0"],
     "sockit: tcp listen: -d is for the relay mode; the other modes do not read stdin"),
    (["tcp", "listen", "--frame", "len32", "--echo", "0"],
     "sockit: tcp listen: --frame is for --reply and --chat"),
    (["tcp", "listen", "--frame", "raw", "0"],
     "sockit: tcp listen: --frame is for --reply and --chat"),
    (["tcp", "listen", "-4", "-6", "0"], "sockit: tcp listen: -4 and -6 cannot be combined "
     "(without them, both IPv4 and IPv6 are used)"),
    (["tcp", "connect", "-64", "h", "1"], "sockit: tcp connect: -4 and -6 cannot be combined "
     "(without them, both IPv4 and IPv6 are used)"),
    (["tcp", "listen", "--allow", "300.1.1.1", "0"],
     "sockit: tcp listen: --allow '300.1.1.1': octet is greater than 255: '300'"),
    (["tcp", "listen", "--deny", "10.0.0.0/33", "0"],
     "sockit: tcp listen: --deny '10.0.0.0/33': prefix length out of range: '33'"),
    (["tcp", "listen", "--deny", "::ffff:10.0.0.0/129", "0"],
     "sockit: tcp listen: --deny '::ffff:10.0.0.0/129': prefix length out of range: '129'"),
    (["tcp", "listen", "--frame"], "sockit: tcp listen: option '--frame' needs a value"),
    (["tcp", "listen", "--reply", "--max-msg", "x", "0"],
     "sockit: tcp listen: --max-msg 'x': not a whole number (0-1048576)"),
    (["tcp", "listen", "--reply", "--max-msg", "1048577", "0"],
     "sockit: tcp listen: --max-msg '1048577': not a whole number (0-1048576)"),
    (["tcp", "listen", "--reply", "--max-msg", "0", "0"],
     "sockit: tcp listen: --max-msg '0': a message needs at least 1 byte"),
    (["tcp", "listen", "--echo", "--max-msg", "100", "0"],
     "sockit: tcp listen: --max-msg is for --reply and --chat"),
    (["tcp", "listen", "--exec", "cat", "--exec-timeout", "abc", "0"],
     "sockit: tcp listen: --exec-timeout 'abc': not a number of seconds (0-86400)"),
    (["tcp", "listen", "--echo", "--exec-timeout", "5", "0"],
     "sockit: tcp listen: --exec-timeout is for --exec"),
    (["tcp", "connect", "--bogus", "h", "1"], "sockit: tcp connect: unknown option '--bogus'"),
    (["tcp", "connect", "-w", "abc", "127.0.0.1", "1"],
     "sockit: tcp connect: -w 'abc': not a number of seconds (0-86400)"),
    (["tcp", "connect", "-i", "-1", "127.0.0.1", "1"],
     "sockit: tcp connect: -i '-1': not a number of seconds (0-86400)"),
]


# Habits from nc and ncat: the option as typed (in a cluster, the letter at
# fault) and what to write instead.
HINTS = [
    (["tcp", "listen", "-lvnp", "8000"],
     "unknown option '-l': 'tcp listen' already listens; nc -lvnp PORT is "
     "'sockit tcp listen -v PORT'"),
    (["tcp", "listen", "-vp", "8000"],
     "unknown option '-p': the port is an argument: 'sockit tcp listen PORT'"),
    (["tcp", "listen", "-e", "/bin/cat", "0"],
     "unknown option '-e': to run a command per connection use --exec CMD"),
    (["tcp", "listen", "-c", "cat", "0"],
     "unknown option '-c': to run a command per connection use --exec CMD"),
    (["tcp", "listen", "-u", "0"], "unknown option '-u': for UDP use 'sockit udp listen'"),
    (["tcp", "listen", "--echo", "-w1", "0"],
     "unknown option '-w': a server's timeout is --idle-timeout SECS"),
    (["tcp", "listen", "-n", "0"],
     "unknown option '-n': numeric addresses are never looked up: leave -n out"),
    (["tcp", "listen", "-z", "0"],
     "unknown option '-z': to scan ports use 'sockit scan HOST PORTS'"),
    (["tcp", "connect", "-l", "0"], "unknown option '-l': to listen use 'sockit tcp listen'"),
    (["tcp", "connect", "-e", "cat", "h", "1"],
     "unknown option '-e': to run a command per connection use 'sockit tcp listen --exec CMD'"),
    (["tcp", "connect", "-c", "cat", "h", "1"],
     "unknown option '-c': to run a command per connection use 'sockit tcp listen --exec CMD'"),
    (["tcp", "connect", "-u", "h", "1"], "unknown option '-u': for UDP use 'sockit udp send'"),
    (["tcp", "connect", "-k", "h", "1"],
     "unknown option '-k': 'tcp connect' makes one connection; to serve clients use "
     "'sockit tcp listen -k'"),
    (["tcp", "connect", "-N", "h", "1"],
     "unknown option '-N': not needed: the sending side is shut down at the end of stdin "
     "(as nc -N)"),
    (["tcp", "connect", "-zv", "h", "1"],
     "unknown option '-z': to scan ports use 'sockit scan HOST PORTS'"),
]
USAGE_ERRORS += [(args, f"sockit: {args[0]} {args[1]}: {hint}") for args, hint in HINTS]


@pytest.mark.parametrize("args, message", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors(sockit, args, message):
    res = sockit(*args)
    assert res.status == 2
    assert res.out == ""
    assert res.err.splitlines() == [message, SEE_HELP]


def test_listen_bad_port(sockit):
    res = sockit("tcp", "listen", "--echo", "99999")
    assert res.status == 2
    assert res.err.splitlines()[0] == "sockit: tcp listen: port '99999': not a port number (0-65535)"


def test_help(sockit):
    res = sockit("help", "tcp")
    assert res.status == 0
    assert res.out.startswith("usage: sockit tcp connect [options] HOST PORT\n")
    assert sockit("tcp", "--help").out == res.out


# --------------------------------------------------------------------------
# A port below 1024 without root
# --------------------------------------------------------------------------

def unprivileged_port_start():
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read())
    except FileNotFoundError:
        return 1024


@pytest.mark.parametrize("args, context", [
    (["tcp", "listen", "999"], "tcp listen: [::]:999"),
    (["udp", "listen", "999"], "udp listen: [::]:999"),
    (["http", "serve", "-p", "999", "/"], "http serve: [::]:999"),
    (["serve", "--tcp", ":999:echo"], "serve: tcp [::]:999"),
])
def test_a_low_port_without_root_says_what_it_needs(args, context):
    """Exit status 7 (a permission), which --help lists."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv(1) to run as nobody")
    if unprivileged_port_start() <= 999:
        pytest.skip("this host lets anyone bind port 999")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SOCKIT,
                        *args], capture_output=True, text=True, timeout=WAIT)
    assert (r.returncode, r.stderr) == (7, f"sockit: {context}: permission denied: ports below "
                                           f"1024 need root or CAP_NET_BIND_SERVICE (choose a "
                                           f"port above 1023)\n"), r
