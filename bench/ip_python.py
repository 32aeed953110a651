"""Python peer for bench/ip.sh: the same work as `sockit ip --json -`.

    python3 bench/ip_python.py gen N SEED > FILE   N random IPv4 CIDR lines
    python3 bench/ip_python.py run < FILE          JSON Lines on stdout

`run` reads one input per line, parses it with ipaddress.ip_interface and
writes json.dumps of an object with the keys sockit prints, in sockit's order.
Host counts use the formula (never hosts()); /31 and /32 have no broadcast.
"""
import ipaddress
import json
import random
import sys


def gen(n, seed):
    rng = random.Random(seed)
    bits = rng.getrandbits
    rand_prefix = rng.randrange
    lines = []
    for _ in range(n):
        a = bits(32)
        lines.append("%d.%d.%d.%d/%d\n" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255,
                                           rand_prefix(33)))
    sys.stdout.write("".join(lines))


def ipv4_class(first_octet):
    if first_octet < 128:
        return "A"
    if first_octet < 192:
        return "B"
    if first_octet < 224:
        return "C"
    if first_octet < 240:
        return "D"
    return "E"


def describe(line):
    iface = ipaddress.ip_interface(line)
    net = iface.network
    prefix = net.prefixlen
    v4 = iface.version == 4
    bits = 32 if v4 else 128
    num_addresses = 1 << (bits - prefix)
    network = net.network_address
    last = net.broadcast_address
    if v4 and prefix <= 30:
        broadcast = str(last)
        first_host, last_host = network + 1, last - 1
        num_hosts = num_addresses - 2
    else:
        broadcast = None
        first_host, last_host = network, last
        num_hosts = num_addresses
    rec = {
        "input": line,
        "version": iface.version,
        "address": str(iface.ip),
        "prefix": prefix,
        "netmask": str(iface.netmask),
        "hostmask": str(iface.hostmask),
        "network": str(network),
        "broadcast": broadcast,
        "first_host": str(first_host),
        "last_host": str(last_host),
        "num_addresses": num_addresses,
        "num_hosts": num_hosts,
        "class": ipv4_class(iface.packed[0]) if v4 else None,
        "private": iface.is_private,
        "global": iface.is_global,
        "loopback": iface.is_loopback,
        "multicast": iface.is_multicast,
        "link_local": iface.is_link_local,
        "reserved": iface.is_reserved,
        "unspecified": iface.is_unspecified,
    }
    return rec


def run():
    dumps = json.dumps
    write = sys.stdout.write
    failed = 0
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line.endswith("\r"):
            line = line[:-1]
        try:
            rec = describe(line)
        except ValueError as e:
            failed += 1
            rec = {"input": line, "error": str(e)}
        write(dumps(rec) + "\n")
    sys.stdout.flush()
    return 1 if failed else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "gen":
        gen(int(argv[2]), int(argv[3]))
        return 0
    if len(argv) == 2 and argv[1] == "run":
        return run()
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
