"""Integration tests for `sockit serve`: the service specs it takes (an
empty ADDR is every address, IPv6 in brackets), the messages for the specs
it does not, and what -v logs. The notes' default system and the servers'
answers are tested in test_examples.py; the services themselves in
test_tcp.py, test_udp.py and test_http.py."""
import re
import socket

import pytest

from netutil import WAIT, recv_exact

SEE_HELP = "sockit: see 'sockit help serve'"
LINE = r"^listening on (\[[0-9a-f:.]+\]|[0-9.]+):(\d+) \({}\)$"


@pytest.mark.parametrize("args, message", [
    (["--http", "8000"], "--http '8000': expected ADDR:PORT, such as ':8000' (every address) "
                         "or '127.0.0.1:8000'"),
    (["--tcp", "8998:echo"], "--tcp '8998:echo': expected ADDR:PORT:MODE, such as "
                             "':8998:echo' (every address) or '127.0.0.1:8998:echo'"),
    (["--tcp", "::1:8998:echo"], "--tcp '::1:8998:echo': expected ADDR:PORT:MODE (an empty "
                                 "ADDR is every address; IPv6 in brackets: [::1]:PORT:MODE)"),
    (["--udp", "127.0.0.1:7852"], "--udp '127.0.0.1:7852': expected ADDR:PORT:MODE (an empty "
                                  "ADDR is every address; IPv6 in brackets: [::1]:PORT:MODE)"),
    (["--http", "127.0.0.1:8000:files"], "--http '127.0.0.1:8000:files': expected ADDR:PORT "
                                         "(an empty ADDR is every address; IPv6 in brackets: "
                                         "[::1]:PORT)"),
    (["--tcp", "127.0.0.1:0:nosuch"], "--tcp '127.0.0.1:0:nosuch': unknown mode (expected echo, "
                                      "discard, chargen, daytime, reply, chat)"),
    (["extra"], "unexpected argument 'extra'"),
])
def test_usage_errors(sockit, args, message):
    res = sockit("serve", *args)
    assert res.status == 2, res
    assert res.err.splitlines() == [f"sockit: serve: {message}", SEE_HELP]


def test_empty_address_is_every_address_and_ipv6_goes_in_brackets(procs, tmp_path):
    (tmp_path / "f.txt").write_bytes(b"file\n")
    srv = procs.sockit("serve", "--tcp", ":0:echo", "--http", "[::1]:0", "--udp", "[::1]:0:echo",
                       "--root", str(tmp_path))
    tcp = srv.wait_err(LINE.format("tcp echo"))
    http = srv.wait_err(LINE.format(re.escape(f"http files {tmp_path}")))
    udp = srv.wait_err(LINE.format("udp echo"))
    assert (tcp.group(1), http.group(1), udp.group(1)) == ("[::]", "[::1]", "[::1]")
    # ':PORT' is the dual-stack wildcard: both families reach it.
    for host in ("127.0.0.1", "::1"):
        s = procs.connect(int(tcp.group(2)), host)
        s.sendall(b"both\n")
        assert recv_exact(s, 5) == b"both\n"
    c = procs.connect(int(http.group(2)), "::1")
    c.sendall(b"GET /f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert recv_exact(c, 12) == b"HTTP/1.1 200"
    u = procs.udp(socket.AF_INET6)
    u.sendto(b"six", ("::1", int(udp.group(2))))
    assert u.recvfrom(100)[0] == b"six"
    assert srv.stop() == 0


def test_verbose_logs_each_datagram(procs):
    """serve -v shows the datagrams its UDP services answer, as udp listen
    -v does."""
    srv = procs.sockit("serve", "-v", "--udp", "127.0.0.1:0:echo")
    port = int(srv.wait_err(LINE.format("udp echo")).group(2))
    u = procs.udp()
    u.sendto(b"hello", ("127.0.0.1", port))
    assert u.recvfrom(100)[0] == b"hello"
    mine = u.getsockname()[1]
    srv.wait_err(rf"^sockit: serve: udp 127\.0\.0\.1:{port}: 127\.0\.0\.1:{mine}: 5 bytes$",
                 timeout=WAIT)
    assert srv.stop() == 0
