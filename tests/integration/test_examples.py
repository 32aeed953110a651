"""examples/: the course notes' programs, in plain POSIX C and on libsockit,
run against each other and against sockit.

The example binaries are built next to the sockit under test:
$(dirname $SOCKIT)/examples/<name>. Every server binds a loopback address
on port 0 and is found through its `listening on ADDR:PORT` line on stderr
(the broadcast receivers bind 0.0.0.0, as a broadcast receiver must, but
only ever get traffic sent to 127.x). Every process has a deadline and is
killed at teardown.
"""
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, SOCKIT
from netutil import WAIT

EXAMPLES = Path(SOCKIT).resolve().parent / "examples"

LISTENING = r"^listening on (127\.0\.0\.1|0\.0\.0\.0):(\d+)"
NOTES_REPLY = "Ich hab keine Hunge"
# The notes' TCP answer, "Received msg: {0} from {1}".format(msg, addr).
REPLY_RX = r"Received msg: {} from \('127\.0\.0\.1', (\d+)\)"


def ex(name):
    path = EXAMPLES / name
    assert path.is_file(), f"{path} is not built: run make (it builds examples/*.c)"
    return str(path)


def serve(procs, *argv, proto=None):
    """A server started and listening: (proc, port). proto picks the
    `(udp reply)` or `(tcp reply)` line of `sockit serve`."""
    p = procs.server(*argv, pattern=LISTENING + (rf" \({proto} reply\)$" if proto else "$"))
    return p, p.port


def run(*argv, timeout=WAIT):
    """Runs a client to its end; subprocess.run kills it at the deadline."""
    return subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


# --------------------------------------------------------------------------
# Servers and clients, by name
# --------------------------------------------------------------------------

def udp_server_argv(kind, port=0):
    """The argv of a UDP server, and the `(udp reply)` tag of its listening
    line if it is `sockit serve`."""
    if kind == "sockit serve":
        return [SOCKIT, "serve", "--udp", f"127.0.0.1:{port}:reply",
                "--tcp", "127.0.0.1:0:reply"], "udp"
    if kind == "sockit udp listen":
        # The notes' answer (19 bytes) is longer than their message (15).
        return [SOCKIT, "udp", "listen", "-v", "-b", "127.0.0.1", "--reply-text", NOTES_REPLY,
                "--allow-amplify", port], None
    return [ex(kind), port], None


def tcp_server_argv(kind, port=0):
    if kind == "sockit serve":
        return [SOCKIT, "serve", "--udp", "127.0.0.1:0:reply",
                "--tcp", f"127.0.0.1:{port}:reply"], "tcp"
    if kind == "sockit tcp listen":
        return [SOCKIT, "tcp", "listen", "-v", "-b", "127.0.0.1", "--reply", port], None
    return [ex(kind), port], None


def start_udp_server(procs, kind):
    argv, proto = udp_server_argv(kind)
    return serve(procs, *argv, proto=proto)


def start_tcp_server(procs, kind):
    argv, proto = tcp_server_argv(kind)
    return serve(procs, *argv, proto=proto)


def udp_client_argv(kind, port, text):
    if kind == "sockit udp send":
        return [SOCKIT, "udp", "send", "-w", "1", "127.0.0.1", port, text]
    return [ex(kind), "127.0.0.1", port, text]


def tcp_client_argv(kind, port, text):
    if kind == "sockit tcp connect":
        return [SOCKIT, "tcp", "connect", "--send", text, "127.0.0.1", port]
    return [ex(kind), "127.0.0.1", port, text]


EXAMPLE_UDP_SERVERS = ["udp_server", "udp_server_sockit"]
EXAMPLE_UDP_CLIENTS = ["udp_client", "udp_client_sockit"]
EXAMPLE_TCP_SERVERS = ["tcp_server", "tcp_server_sockit"]
EXAMPLE_TCP_CLIENTS = ["tcp_client", "tcp_client_sockit"]

# Every client against every server, except sockit against itself (the
# udp and tcp tests cover that): plain against plain, plain against the
# libsockit versions both ways, and the examples against sockit both ways.
UDP_PAIRS = ([(c, s) for c in EXAMPLE_UDP_CLIENTS
              for s in EXAMPLE_UDP_SERVERS + ["sockit serve", "sockit udp listen"]]
             + [("sockit udp send", s) for s in EXAMPLE_UDP_SERVERS])
TCP_PAIRS = ([(c, s) for c in EXAMPLE_TCP_CLIENTS
              for s in EXAMPLE_TCP_SERVERS + ["sockit serve", "sockit tcp listen"]]
             + [("sockit tcp connect", s) for s in EXAMPLE_TCP_SERVERS])


# --------------------------------------------------------------------------
# UDP: the notes' server and client (004)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("client,server", UDP_PAIRS, ids=[f"{c}->{s}" for c, s in UDP_PAIRS])
def test_udp_client_gets_the_servers_answer(procs, client, server):
    srv, port = start_udp_server(procs, server)
    text = "I love jingjing"
    r = run(*udp_client_argv(client, port, text))
    assert r.returncode == 0, r
    assert r.stderr == ""
    # Every client prints the answer as one line.
    assert r.stdout.endswith("\n") and r.stdout.count("\n") == 1, r.stdout
    answer = r.stdout[:-1]
    if server == "sockit serve":
        assert re.fullmatch(REPLY_RX.format(re.escape(text)), answer), answer
    else:
        assert answer == NOTES_REPLY
    if server in EXAMPLE_UDP_SERVERS:
        srv.wait_out(rf"^received {len(text)} bytes from 127\.0\.0\.1:\d+: {text}$")


@pytest.mark.parametrize("server", EXAMPLE_UDP_SERVERS)
def test_udp_server_answers_one_client_after_another(procs, server):
    srv, port = start_udp_server(procs, server)
    for i in range(3):
        r = run(ex("udp_client"), "127.0.0.1", port, f"message {i}")
        assert (r.returncode, r.stdout) == (0, NOTES_REPLY + "\n"), r
    srv.wait_out(r"^received 9 bytes from 127\.0\.0\.1:\d+: message 2$")
    assert srv.out_text.count("\n") == 3


@pytest.mark.parametrize("server", EXAMPLE_UDP_SERVERS)
def test_udp_server_prints_bytes_not_c_strings(procs, server):
    """A datagram is bytes: a NUL inside it is data, not the end."""
    srv, port = start_udp_server(procs, server)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(WAIT)
        s.sendto(b"a\0b", ("127.0.0.1", port))
        assert s.recv(100) == NOTES_REPLY.encode()
    srv.wait_out(r"^received 3 bytes from 127\.0\.0\.1:\d+: a\x00b$")


@pytest.mark.parametrize("client", EXAMPLE_UDP_CLIENTS)
def test_udp_client_reports_port_unreachable_at_once(client):
    """The client's socket is connected, so the ICMP port unreachable from
    a port nobody listens on comes back as ECONNREFUSED, not a 5 s wait."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free again once probe is closed
    start = time.monotonic()
    r = run(ex(client), "127.0.0.1", port, "anyone?")
    assert time.monotonic() - start < 2
    assert (r.returncode, r.stdout) == (1, ""), r
    assert r.stderr == "example: recv: Connection refused\n"


# --------------------------------------------------------------------------
# TCP: the notes' server and client (004)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("client,server", TCP_PAIRS, ids=[f"{c}->{s}" for c, s in TCP_PAIRS])
def test_tcp_client_gets_the_servers_answer(procs, client, server):
    srv, port = start_tcp_server(procs, server)
    text = "I love wangxiaojing"
    r = run(*tcp_client_argv(client, port, text))
    assert r.returncode == 0, r
    assert r.stderr == ""
    # The example clients end what they print with one newline; sockit tcp
    # connect prints the bytes as they came (the example servers send
    # none, sockit's line-framed reply one).
    if client in EXAMPLE_TCP_CLIENTS:
        assert r.stdout.endswith("\n") and not r.stdout.endswith("\n\n"), r.stdout
    m = re.fullmatch(REPLY_RX.format(re.escape(text)), r.stdout.rstrip("\n"))
    assert m, r.stdout
    cport = m.group(1)
    if server == "tcp_server":
        srv.wait_out("^" + re.escape(r.stdout.rstrip("\n")) + "$")
    elif server == "tcp_server_sockit":
        srv.wait_out(rf"^connection from 127\.0\.0\.1:{cport}$")
        srv.wait_out(rf"^127\.0\.0\.1:{cport} closed$")


@pytest.mark.parametrize("server", EXAMPLE_TCP_SERVERS)
def test_tcp_server_answers_each_message_until_the_client_closes(procs, server):
    """Where the notes' server reads once and closes, these answer each
    piece that arrives and close when the client does."""
    srv, port = start_tcp_server(procs, server)
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        cport = s.getsockname()[1]
        for text in ("first", "second"):
            s.sendall(text.encode())
            expect = f"Received msg: {text} from ('127.0.0.1', {cport})".encode()
            got = b""
            while len(got) < len(expect):
                chunk = s.recv(4096)
                assert chunk, f"closed after {got!r}"
                got += chunk
            assert got == expect
        s.shutdown(socket.SHUT_WR)
        assert s.recv(4096) == b"", "the server should close when the client has"


def test_plain_tcp_server_serves_one_client_at_a_time(procs):
    """tcp_server is iterative, like the notes': a second client waits in
    the listen queue until the first one leaves."""
    srv, port = start_tcp_server(procs, "tcp_server")
    first = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    second = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    try:
        first.sendall(b"one")
        assert first.recv(4096).startswith(b"Received msg: one from")
        second.sendall(b"two")
        second.settimeout(0.3)
        with pytest.raises(socket.timeout):
            second.recv(4096)
        first.close()
        second.settimeout(WAIT)
        assert second.recv(4096).startswith(b"Received msg: two from")
    finally:
        first.close()
        second.close()


def test_sockit_tcp_server_serves_clients_at_once(procs):
    """tcp_server_sockit runs on the event loop: a second client is served
    while the first is still connected."""
    srv, port = start_tcp_server(procs, "tcp_server_sockit")
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as first, \
            socket.create_connection(("127.0.0.1", port), timeout=WAIT) as second:
        second.sendall(b"two")
        assert second.recv(4096).startswith(b"Received msg: two from")
        first.sendall(b"one")
        assert first.recv(4096).startswith(b"Received msg: one from")


@pytest.mark.parametrize("client", EXAMPLE_TCP_CLIENTS)
def test_tcp_client_reports_connection_refused(client):
    with socket.socket() as hold:
        hold.bind(("127.0.0.1", 0))  # bound, not listening: connect is refused
        r = run(ex(client), "127.0.0.1", hold.getsockname()[1], "hello")
    assert (r.returncode, r.stdout) == (1, ""), r
    assert r.stderr == "example: connect: Connection refused\n"


# --------------------------------------------------------------------------
# The notes' defaults: 127.0.0.1, UDP 7852, TCP 8998
# --------------------------------------------------------------------------

def bind_or_skip(kind, port):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", port))
    except OSError as e:
        s.close()
        pytest.skip(f"127.0.0.1:{port} is busy here: {e}")
    return s


@pytest.mark.parametrize("client", EXAMPLE_UDP_CLIENTS)
def test_udp_client_defaults_to_the_notes(client):
    with bind_or_skip(socket.SOCK_DGRAM, 7852) as s:
        proc = subprocess.Popen([ex(client)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            s.settimeout(WAIT)
            data, addr = s.recvfrom(100)
            assert data == b"I love jingjing"
            s.sendto(NOTES_REPLY.encode(), addr)
            out, err = proc.communicate(timeout=WAIT)
        finally:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out, err) == (0, NOTES_REPLY + "\n", "")


@pytest.mark.parametrize("client", EXAMPLE_TCP_CLIENTS)
def test_tcp_client_defaults_to_the_notes(client):
    with bind_or_skip(socket.SOCK_STREAM, 8998) as s:
        s.listen()
        proc = subprocess.Popen([ex(client)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            s.settimeout(WAIT)
            conn, _ = s.accept()
            with conn:
                conn.settimeout(WAIT)
                got = b""
                while chunk := conn.recv(4096):  # until the client's shutdown(SHUT_WR)
                    got += chunk
                assert got == b"hello"
                conn.sendall(b"hi there")
            out, err = proc.communicate(timeout=WAIT)
        finally:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out, err) == (0, "hi there\n", "")


@pytest.mark.parametrize("server,kind,port", [
    ("udp_server", socket.SOCK_DGRAM, 7852), ("udp_server_sockit", socket.SOCK_DGRAM, 7852),
    ("tcp_server", socket.SOCK_STREAM, 8998), ("tcp_server_sockit", socket.SOCK_STREAM, 8998),
])
def test_server_defaults_to_the_notes(procs, server, kind, port):
    bind_or_skip(kind, port).close()
    srv = procs.tool(ex(server))
    srv.wait_err(rf"^listening on 127\.0\.0\.1:{port}$")


# --------------------------------------------------------------------------
# Broadcast (001)
# --------------------------------------------------------------------------

def _loopback_broadcast_works():
    """Linux delivers a datagram sent to 127.255.255.255, the broadcast
    address of lo's 127.0.0.0/8, to sockets bound to 0.0.0.0: a real
    broadcast without leaving the host. It does on the kernels this was
    written on; where it does not, the tests fall back to 127.0.0.1, which
    still exercises SO_BROADCAST (harmless on a unicast destination) and
    the receivers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("0.0.0.0", 0))
        rx.settimeout(1.0)
        tx.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        try:
            tx.sendto(b"probe", ("127.255.255.255", rx.getsockname()[1]))
            return rx.recv(16) == b"probe"
        except OSError:
            return False


LOOPBACK_BROADCAST = _loopback_broadcast_works()
BCAST = "127.255.255.255" if LOOPBACK_BROADCAST else "127.0.0.1"

BCAST_SENDERS = ["broadcast_sender", "broadcast_sender_sockit", "sockit udp send --broadcast"]
BCAST_RECEIVERS = ["broadcast_receiver", "broadcast_receiver_sockit", "sockit udp listen"]
BCAST_PAIRS = [(s, r) for s in BCAST_SENDERS for r in BCAST_RECEIVERS
               if not (s.startswith("sockit") and r.startswith("sockit"))]


def start_receiver(procs, kind, *args):
    if kind == "sockit udp listen":
        return serve(procs, SOCKIT, "udp", "listen", "-v", "-4", "-b", "0.0.0.0", *args)
    return serve(procs, ex(kind), *args)


def send_broadcast(kind, port, text):
    if kind == "sockit udp send --broadcast":
        r = run(SOCKIT, "udp", "send", "--broadcast", BCAST, port, text)
        assert (r.returncode, r.stderr) == (0, ""), r
        return
    r = run(ex(kind), BCAST, port, text)
    assert (r.returncode, r.stderr) == (0, ""), r
    assert r.stdout == f"sent {len(text)} bytes to {BCAST}:{port}\n"


@pytest.mark.parametrize("sender,receiver", BCAST_PAIRS,
                         ids=[f"{s}->{r}" for s, r in BCAST_PAIRS])
def test_broadcast_reaches_the_receiver(procs, sender, receiver):
    rx, port = start_receiver(procs, receiver, "0")
    send_broadcast(sender, port, "hello, everyone")
    rx.wait_out(r"^127\.0\.0\.1:\d+: hello, everyone$")


@pytest.mark.parametrize("receiver", ["broadcast_receiver", "broadcast_receiver_sockit"])
def test_broadcast_receiver_stops_after_count(procs, receiver):
    rx, port = start_receiver(procs, receiver, "--count", "2", "0")
    for text in ("one", "two"):
        send_broadcast("broadcast_sender", port, text)
    assert rx.wait() == 0
    assert re.fullmatch(r"127\.0\.0\.1:\d+: one\n127\.0\.0\.1:\d+: two\n", rx.out_text), rx.out_text


@pytest.mark.skipif(not LOOPBACK_BROADCAST, reason="no broadcast on lo here")
def test_every_receiver_on_a_shared_port_gets_the_broadcast(procs):
    """SO_REUSEADDR lets receivers share a port; a broadcast (unlike a
    unicast datagram) is delivered to each of them."""
    plain, port = start_receiver(procs, "broadcast_receiver", "--count", "1", "0")
    lib, _ = start_receiver(procs, "broadcast_receiver_sockit", "--count", "1", port)
    send_broadcast("broadcast_sender_sockit", port, "to all")
    for rx in (plain, lib):
        assert rx.wait() == 0
        assert re.fullmatch(r"127\.0\.0\.1:\d+: to all\n", rx.out_text), rx.out_text


# --------------------------------------------------------------------------
# Errors, stops, and the source itself
# --------------------------------------------------------------------------

SERVERS = ["udp_server", "udp_server_sockit", "tcp_server", "tcp_server_sockit",
           "broadcast_receiver", "broadcast_receiver_sockit"]
CLIENTS = ["udp_client", "udp_client_sockit", "tcp_client", "tcp_client_sockit",
           "broadcast_sender", "broadcast_sender_sockit"]


@pytest.mark.parametrize("name", SERVERS + CLIENTS)
def test_usage_error(name):
    r = run(ex(name), *["1"] * 5)
    assert (r.returncode, r.stdout) == (2, ""), r
    assert r.stderr.startswith(f"usage: {name} ")


@pytest.mark.parametrize("port", ["70000", "abc"])
@pytest.mark.parametrize("name", SERVERS + CLIENTS)
def test_bad_port_is_refused(procs, name, port):
    """70000 is no port. getaddrinfo (glibc) takes it modulo 65536, so a
    program that leaves the check to it binds or sends to port 4464."""
    args = [port] if name in SERVERS else ["127.0.0.1", port, "x"]
    p = procs.tool(ex(name), *args)
    deadline = time.monotonic() + WAIT
    while p.popen.poll() is None and "listening on" not in p.err and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "listening on" not in p.err, f"{name} {port}: bound a port: {p.err!r}"
    status = p.wait()
    assert status != 0 and p.out_text == "", (status, p.out_text, p.err)
    assert p.err.startswith("example: ") and f"'{port}'" in p.err, p.err


# The second server on a port already served must fail: two programs
# cannot both own one port. For TCP, SO_REUSEADDR only lets a listener
# rebind past TIME_WAIT; for UDP on Linux it lets every socket that sets it
# bind the same address and port, and unicast datagrams then go to the
# newest one only, so a second server silently takes the first one's
# clients. udp_server sets no SO_REUSEADDR; sk_udp_open() sets it whenever
# sk_sock_opts.reuse_addr is on, which sk_sock_opts_init() makes the default.
SECOND_BIND = [("udp", k) for k in ["udp_server", "udp_server_sockit", "sockit serve",
                                    "sockit udp listen"]] + \
              [("tcp", k) for k in ["tcp_server", "tcp_server_sockit", "sockit serve",
                                    "sockit tcp listen"]]


@pytest.mark.parametrize("proto,kind", SECOND_BIND, ids=[f"{p}-{k}" for p, k in SECOND_BIND])
def test_second_server_on_a_served_port_fails(procs, proto, kind):
    argv_of = udp_server_argv if proto == "udp" else tcp_server_argv
    argv, tag = argv_of(kind)
    port = serve(procs, *argv, proto=tag)[1]
    second = procs.tool(*argv_of(kind, port)[0])
    bound = f"listening on 127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT
    while second.popen.poll() is None and bound not in second.err \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bound not in second.err, \
        f"a second {kind} bound {proto} port {port} as well: {second.err!r}"
    assert second.wait() != 0
    assert "address already in use" in second.err.lower(), second.err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("name", ["udp_server_sockit", "tcp_server_sockit",
                                  "broadcast_receiver_sockit"])
def test_sockit_servers_stop_cleanly(procs, name, sig):
    """The libsockit versions take signals through the loop (signalfd), so
    they stop, free everything and exit 0."""
    p, _ = serve(procs, ex(name), "0")
    assert p.stop(sig) == 0
    assert "example:" not in p.err


# The steps each plain program numbers, in the notes' words (004 for UDP
# and TCP, 001 for broadcast).
NOTES_STEPS = {
    "udp_server.c": ["1. 建立socket", "2. 绑定ip和port", "3. 接受对方消息", "4. 给对方发送反馈"],
    "udp_client.c": ["1. 建立通信的socket", "2. 发送内容到指定服务器", "3. 接受服务器给定的反馈内容"],
    "tcp_server.c": ["1. 建立socket", "2. 绑定端口和地址", "3. 监听接入的访问socket",
                     "4. 接受访问的socket", "5. 接受对方的发送内容", "6. 给对方发送反馈信息",
                     "7. 关闭链接通路"],
    "tcp_client.c": ["1. 建立通信socket", "2. 链接对方,请求跟对方建立通路", "3. 发送内容到对方服务器",
                     "4. 接受对方的反馈", "5. 关闭链接通路"],
    "broadcast_sender.c": ["1. 创建套接字", "2. 绑定地址和端口号", "设置广播选项", "3. 收发数据",
                           "4. 关闭套接字"],
    "broadcast_receiver.c": ["1. 创建套接字", "2. 绑定地址和端口号", "3. 收发数据", "4. 关闭套接字"],
}


@pytest.mark.parametrize("name", sorted(NOTES_STEPS))
def test_plain_example_numbers_the_notes_steps(name):
    source = (ROOT / "examples" / name).read_text(encoding="utf-8")
    assert "sockit" not in re.sub(r"/\*.*?\*/", "", source, flags=re.S), \
        f"{name} is the plain POSIX version: no libsockit in its code"
    for step in NOTES_STEPS[name]:
        assert f"/* {step} (" in source or f"/* {step}." in source, \
            f"{name}: no comment for the notes' step {step!r}"
