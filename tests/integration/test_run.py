"""`make run` (scripts/demo.sh): the first five minutes. It shows commands
that work as printed (sockit is not on PATH: ./build/sockit), says what
port 8000 serves, and when a port is taken says so and how to choose
others."""
import os
import re
import signal
import socket

import pytest

from conftest import ROOT, SOCKIT
from netutil import free_port

DEMO = str(ROOT / "scripts" / "demo.sh")


@pytest.fixture
def demo(procs):
    """demo(ports): demo.sh run from the repository with the binary's
    relative path, as make runs it, in a process group of its own as a
    terminal would (Ctrl-C reaches the script and sockit). The group is
    killed at the end."""
    groups = []

    def start(ports):
        def child():
            os.setsid()
            os.chdir(ROOT)
        rel = os.path.relpath(SOCKIT, ROOT)
        env = dict(os.environ, PORTS=" ".join(map(str, ports)))
        p = procs.spawn("sh", DEMO, rel, env=env, preexec_fn=child)
        groups.append(p.pid)
        return p, rel
    yield start
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_demo_prints_commands_that_work_and_what_port_8000_serves(procs, demo):
    ports = [free_port(), free_port(), free_port()]
    p, rel = demo(ports)
    for proto, port in zip(("udp", "tcp", "http"), ports):
        p.wait_err(rf"^listening on 127\.0\.0\.1:{port} \({proto} ")
    out = p.out_text
    assert f"  ./{rel} udp send -w 1 127.0.0.1 {ports[0]} 'I love jingjing'\n" in out
    assert f"  echo hello | ./{rel} tcp connect 127.0.0.1 {ports[1]}\n" in out
    assert f"port {ports[2]} serves this directory ({ROOT}) over HTTP" in out
    assert f"  curl http://127.0.0.1:{ports[2]}/" in out
    # What it printed works, run as printed from the repository.
    s = socket.create_connection(("127.0.0.1", ports[1]), timeout=5)
    s.sendall(b"hello\n")
    assert s.recv(100).startswith(b"Received msg: hello from ('127.0.0.1', ")
    s.close()
    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C
    assert p.wait() == 0, p.err


def test_demo_says_which_port_is_taken_and_how_to_choose_others(procs, demo):
    taken = procs.track(socket.socket())
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    tcp = taken.getsockname()[1]
    ports = [free_port(), tcp, free_port()]
    p, _ = demo(ports)
    assert p.wait() == 4, p.err
    assert re.search(rf"^sockit: serve: tcp 127\.0\.0\.1:{tcp}: address already in use$", p.err,
                     re.M), p.err
    assert p.err.endswith(
        "A port the demo needs is taken (the line above says which). Choose others:\n"
        f"  make run PORTS='{ports[0] + 1} {tcp + 1} {ports[2] + 80}'    "
        "(UDP, TCP and HTTP ports)\n"), p.err
