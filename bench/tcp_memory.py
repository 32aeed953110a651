"""Worst-case memory of `sockit tcp listen` with its default limits.

For each server mode: start the server with no limit flags, open more
connections than the default --max-conns (1024), and have every client do
what costs the server most in that mode: send without ever reading (echo,
chargen: the server's queue fills), pipeline whole messages without reading
and end with an unfinished one (reply: the framer and the queue fill), hold
an unfinished message (chat, len32). Prints the clients served, the clients
refused, the server's peak RSS and the RSS per served client.

    python3 bench/tcp_memory.py path/to/sockit [N]

The server's fd limit is raised so that --max-conns, not the fd limit, is
what stops it. Loopback only; the machine needs about 2 GB of kernel socket
buffers for N = 1100.
"""
import os
import re
import resource
import select
import socket
import subprocess
import sys
import time

LISTENING = re.compile(rb"listening on (?:\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")
MSG = 16 * 1024  # the default --max-msg


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pump(socks, payload, seconds, once=False):
    """Sends payload on every socket for as long as the kernel takes it
    (once: until each socket has taken it once)."""
    offsets = {s: 0 for s in socks}
    end = time.monotonic() + seconds
    while offsets and time.monotonic() < end:
        progress = False
        for s in list(offsets):
            at = offsets[s] % len(payload)
            try:
                n = s.send(payload[at:])
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                del offsets[s]
                continue
            progress = True
            offsets[s] += n
            if once and offsets[s] >= len(payload):
                del offsets[s]
        if not progress:
            time.sleep(0.05)


def run(sockit, args, n, client, seconds=6):
    def more_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    srv = subprocess.Popen([sockit, "tcp", "listen", "-v", *args, "0"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           preexec_fn=more_fds)
    line = srv.stderr.readline()
    port = int(LISTENING.search(line).group(1))
    base = rss_kib(srv.pid)
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    peak = 0
    end = time.monotonic() + seconds
    client(socks, min(seconds, 4))
    while time.monotonic() < end:
        peak = max(peak, rss_kib(srv.pid))
        time.sleep(0.1)
    peak = max(peak, rss_kib(srv.pid))
    srv.terminate()
    err = srv.communicate(timeout=30)[1].decode("utf-8", "replace")
    served = err.count("connection from")
    refused = err.count("refused: --max-conns")
    for s in socks:
        s.close()
    per = (peak - base) / served if served else 0
    print(f"{' '.join(args):28} served {served:5}  refused {refused:5}  "
          f"RSS {base / 1024:6.1f} -> {peak / 1024:6.1f} MiB  ({per:6.1f} KiB per client)",
          flush=True)


def never_read(socks, seconds):
    pump(socks, b"x" * 65536, seconds)


def pipelined_then_partial(socks, seconds):
    msg = b"m" * (MSG - 1) + b"\n"
    pump(socks, msg * 64, seconds, once=True)
    pump(socks, b"p" * (MSG - 1), 1, once=True)


def partial_line(socks, seconds):
    pump(socks, b"p" * (MSG - 1), seconds, once=True)


def partial_len32(socks, seconds):
    pump(socks, MSG.to_bytes(4, "big") + b"q" * (MSG - 1), seconds, once=True)


def nothing(socks, seconds):
    pass


def main():
    sockit = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1100
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    run(sockit, ["--echo"], n, never_read)
    run(sockit, ["--discard"], n, never_read)
    run(sockit, ["--chargen"], n, nothing)
    run(sockit, ["--reply"], n, pipelined_then_partial)
    run(sockit, ["--reply", "--frame", "len32"], n, partial_len32)
    run(sockit, ["--chat"], n, partial_line)


if __name__ == "__main__":
    main()
