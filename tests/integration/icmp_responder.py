"""An ICMP echo responder for test_netcmds.py, run as root inside a network
namespace whose kernel answers no echo itself (icmp_echo_ignore_all=1):
it answers each echo request COPIES times, after DELAY seconds, so the
tests can make duplicate and late replies without netem.

    python3 icmp_responder.py COPIES DELAY
Prints "ready" once its socket is open; runs until killed.
"""
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    copies, delay = int(sys.argv[1]), float(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("ready", flush=True)
    while True:
        pkt, (src, _) = s.recvfrom(65535)
        ihl = (pkt[0] & 0xF) * 4
        icmp = pkt[ihl:]
        if len(icmp) < 8 or icmp[0] != 8:
            continue
        reply = bytearray(b"\0" + icmp[1:])
        reply[2:4] = b"\0\0"
        reply[2:4] = struct.pack("!H", checksum(bytes(reply)))
        time.sleep(delay)
        for _ in range(copies):
            s.sendto(bytes(reply), (src, 0))


if __name__ == "__main__":
    main()
