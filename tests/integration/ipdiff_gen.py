"""Input generator and Python-side oracle for the `sockit ip` differential test.

The oracle is the standard library's ipaddress module as shipped with Debian's
/usr/bin/python3 (3.11.2 with the 2024 is_private/is_global backport). Other
builds of Python answer some of the special-range questions differently, so
test_ip_differential.py checks the interpreter before it trusts this module.

Everything here is deterministic given the seed handed to `generate`.
"""
import ipaddress
import random

V4_BITS = 32
V6_BITS = 128
V4_ALL = (1 << V4_BITS) - 1
V6_ALL = (1 << V6_BITS) - 1

# Prefix lengths the issue names as borders, per family.
V4_EDGE_PREFIXES = (0, 1, 8, 30, 31, 32)
V6_EDGE_PREFIXES = (0, 1, 63, 64, 127, 128)

# Zone names: printable ASCII without '%' (Python: at most one '%') and '/'
# (the prefix separator, split on first). Space, quote and backslash stay in:
# they exercise JSON escaping of the echoed address.
ZONE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in "%/")
ZONE_MAX = 64

# Characters used by the mutation fuzzer: mostly the grammar's own alphabet,
# plus whitespace, NUL, DEL and a few non-ASCII digits and letters.
MUTATION_CHARS = (
    "0123456789" * 3
    + "abcdefABCDEF" * 2
    + ":::...///%%"
    + "gGxX-+ _"
    + "\t\x00\x7f\x0b"
    + "\u00e9\u0663\uff11\u00b2"
)

# The invalid forms the issue lists, and more of the same kind. Each is
# rejected by ipaddress.ip_interface (checked at generation time: a string
# Python accepts is simply a valid input, never an expectation of failure).
FIXED_INVALID = [
    "01.2.3.4", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1::2::3", ":1::2", "1::2:",
    "1:2:3:4:5:6:7:8:9", "12345::", "1.2.3.4/33", "::/129", "1.2.3.4/255.0.255.0",
    "1.2.3.4/24/1", "", "/24", "1.2.3.4/", " 1.2.3.4", "1.2.3.4 ", "g::1",
    "1.2.3.4%eth0", "::1%", "::1%a%b",
    # IPv4 octets
    "1.2.3.04", "1.2.3.00", "00.0.0.0", "0.0.0.00", "255.255.255.256", "1.2.3.-4",
    "-1.2.3.4", "1..2.3", ".1.2.3.4", "1.2.3.4.", "1.2.3.", "1.2.3.4444", "0x1.2.3.4",
    "1.2.3.4\t", "\t1.2.3.4", "1.2.3.4\x00", "1.2.3.4\x00/24", "\uff11.2.3.4",
    "1.2.3.\u0664", "1.2.3.4/\uff13\uff12", "1.2.3.4/\u00b2", "1.2.3.4/3\u00b2",
    # IPv4 prefixes and masks
    "1.2.3.4/-1", "1.2.3.4/+24", "1.2.3.4/ 24", "1.2.3.4/24 ", "1.2.3.4/2 4",
    "1.2.3.4/0x18", "1.2.3.4/24.0", "1.2.3.4//24", "//24", "1.2.3.4/24/",
    "1.2.3.4/255.255.255.1", "1.2.3.4/255.255.0.255", "1.2.3.4/0.0.255.0",
    "1.2.3.4/255.255.255", "1.2.3.4/255.255.255.0.0", "1.2.3.4/255.255.255.00",
    "1.2.3.4/0255.255.255.0", "1.2.3.4/256.0.0.0", "1.2.3.4/33", "1.2.3.4/0033",
    "1.2.3.4/4294967296", "1.2.3.4/24%eth0", "0.0.0.0/33", "255.255.255.255/-0",
    # IPv6 shape
    ":", ":::", "::::", "1:::2", "::1::", "::1::2", "1::2::", "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8", "1::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:", ":1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "ffff0::", "::fffff", "0x1::", "::g",
    "1:2:3:4:5:6:7:8:9:0", "fe80:::1", "fe80::1::", "1 ::", ":: ", " ::",
    # IPv6 with IPv4 tails
    "::ffff:1.2.3", "::ffff:1.2.3.4.5", "::ffff:01.2.3.4", "::ffff:1.2.3.256",
    "::1.2.3.4:5", "1.2.3.4::", "1.2.3.4::1", "1:2:3:4:5:6:7:1.2.3.4",
    "1:2:3:4:5:6:1.2.3.4:1", "::1.2.3.4.5", "::1.2.3", "1:2:3:4:5:6::1.2.3.4",
    "::ffff:1.2.3.4/129", "::1.2.3.4::", "::1.2.3.04",
    # IPv6 prefixes
    "::/129", "::1/-1", "::1/+64", "::1/ 64", "::1/64 ", "::1/1e2", "::1/0x40",
    "::1/ffff::", "::1/ffff:ffff:ffff:ffff::", "::1/255.255.255.0", "::1/64/1",
    "::1/", "::1//64", "::1/00129", "::1/64%eth0",
    # zones
    "fe80::1%", "fe80::1%%", "fe80::1%eth0%", "%eth0", "fe80::1%/64", "fe80::%%/64",
    "fe80::1%a/b/64", "1.2.3.4%", "1.2.3.4%1/24", "%", "::%1%2",
    # words
    "localhost", "example.com", "abc", "x", "-", "/", ".", "0", "1", "01", "1.2",
]

# Valid forms worth pinning down by hand (the generator produces the rest).
FIXED_VALID = [
    "0.0.0.0", "255.255.255.255", "0.0.0.0/0", "255.255.255.255/32", "0.0.0.0/32",
    "255.255.255.255/0", "1.2.3.4/024", "1.2.3.4/00", "1.2.3.4/0032", "10.1.2.3/0000000008",
    "1.2.3.4/255.255.255.0", "1.2.3.4/0.0.0.255", "1.2.3.4/255.255.255.255",
    "1.2.3.4/0.0.0.0", "1.2.3.4/0.0.0.1", "1.2.3.4/255.255.255.254", "1.2.3.4/128.0.0.0",
    "1.2.3.4/127.255.255.255", "1.2.3.4/0.255.255.255", "192.168.1.77/255.255.255.252",
    "192.168.1.77/0.0.0.3",
    "::", "::1", "::/0", "::1/128", "::/128", "::1/127", "::1/64", "::/1", "::1/0",
    "::ffff:1.2.3.4", "::ffff:102:304", "::FFFF:1.2.3.4", "0:0:0:0:0:ffff:1.2.3.4",
    "0000:0000:0000:0000:0000:ffff:0102:0304", "::ffff:10.0.0.1", "::ffff:100.64.0.1",
    "::ffff:8.8.8.8", "::ffff:192.0.0.9", "::ffff:127.0.0.1", "::ffff:0.0.0.0",
    "::ffff:255.255.255.255", "::ffff:0:0/96", "::ffff:1.2.3.4/120", "::ffff:1.2.3.4/80",
    "::ffff:1.2.3.4/95", "::ffff:1.2.3.4/97",
    "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4", "::0.0.0.1", "::0.0.0.0", "1::1.2.3.4",
    "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7", "1::3:4:5:6:7:8", "1:2:3:4:5:6:7:8",
    "2001:DB8::1", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8:0:0:1:0:0:1",
    "2001:db8::1:0:0:1", "2001:0:0:1::1", "fe80::1%eth0/64", "fe80::1%eth0",
    "fe80::%eth0/64", "::1%lo", "fe80::1%0", "fe80::1%" + "z" * 64,
    "fe80::1%a b", "fe80::1%\"q\"", "fe80::1%back\\slash", "ff02::1%eth0/8",
    "::ffff:1.2.3.4%eth0/96", "::1/0128", "::1/000", "fe80::/10", "fec0::/10",
    "fec0::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::/8", "2002::/16",
    "100::/64", "2001:1::1", "2001:1::2", "2001:1::3", "2001:3::/32",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0",
    "8000::/1", "::ffff:0.0.0.0/80",
]


# ---------------------------------------------------------------- oracle

def _hosts_bounds(version, prefix, net_int, bcast_int):
    """First host, last host and host count of a network, by the rules of
    ipaddress's hosts() (verified against list(hosts()) by the test)."""
    bits = V4_BITS if version == 4 else V6_BITS
    if prefix == bits:
        return net_int, net_int, 1
    if prefix == bits - 1:
        return net_int, bcast_int, 2
    if version == 4:
        return net_int + 1, bcast_int - 1, bcast_int - net_int - 1
    return net_int + 1, bcast_int, bcast_int - net_int


def host_bounds(iface):
    net = iface.network
    return _hosts_bounds(iface.version, net.prefixlen, int(net.network_address),
                         int(net.broadcast_address))


def v4_text(n):
    return str(ipaddress.IPv4Address(n))


def v6_canonical_text(n):
    """RFC 5952 text as sockit must print addresses: IPv4-mapped ones in the
    §5 mixed form, every other address as Python's compressed text."""
    if (n >> 32) == 0xFFFF:
        return "::ffff:" + v4_text(n & V4_ALL)
    return ipaddress.IPv6Address(n).compressed


def addr_text(version, n):
    return v4_text(n) if version == 4 else v6_canonical_text(n)


def mask_text(version, n):
    return v4_text(n) if version == 4 else ipaddress.IPv6Address(n).compressed


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


def zone_ok(zone):
    return 0 < len(zone) <= ZONE_MAX and all(0x20 <= ord(c) < 0x7F for c in zone)


def python_interface(s):
    """ipaddress.ip_interface(s), or None where Python rejects s."""
    try:
        return ipaddress.ip_interface(s)
    except ValueError:
        return None


def unspecified(iface):
    """The one documented difference in a flag: CPython 3.11's
    IPv4Interface.is_unspecified is always False (it compares an interface
    with a plain address, which never matches: python/cpython#115766, fixed
    upstream by also asking the network). sockit gives the fixed answer, the
    rule IPv6Interface already follows: the address and its network are both
    unspecified, i.e. only 0.0.0.0/32 and ::/128."""
    if iface.version == 4:
        return int(iface.ip) == 0 and iface.network.prefixlen == 32
    return iface.is_unspecified


def expected(iface):
    """The sockit JSON record Python implies for a valid input, as a dict of
    field -> expected value, where address-like fields hold (int, zone) pairs
    that compare() checks by the integer + canonical-text rules."""
    version = iface.version
    net = iface.network
    prefix = net.prefixlen
    ip_int = int(iface.ip)
    net_int = int(net.network_address)
    first, last, nhosts = host_bounds(iface)
    zone = iface.scope_id if version == 6 else None
    exp = {
        "version": version,
        "address": (ip_int, zone),
        "prefix": prefix,
        "netmask": int(iface.netmask),
        "hostmask": int(iface.hostmask),
        "network": (net_int, zone),
        "broadcast": (str(net.broadcast_address)
                      if version == 4 and prefix <= 30 else None),
        "first_host": (first, zone),
        "last_host": (last, zone),
        "num_addresses": net.num_addresses,
        "num_hosts": nhosts,
        "class": ipv4_class(ip_int >> 24) if version == 4 else None,
        "private": iface.is_private,
        "global": iface.is_global,
        "loopback": iface.is_loopback,
        "multicast": iface.is_multicast,
        "link_local": iface.is_link_local,
        "reserved": iface.is_reserved,
        "unspecified": unspecified(iface),
    }
    if version == 6:
        exp["compressed"] = iface.ip.compressed
        exp["exploded"] = iface.ip.exploded
        mapped = iface.ipv4_mapped
        exp["ipv4_mapped"] = None if mapped is None else str(mapped)
    return exp


V4_KEYS = frozenset([
    "input", "version", "address", "prefix", "netmask", "hostmask", "network",
    "broadcast", "first_host", "last_host", "num_addresses", "num_hosts", "class",
    "private", "global", "loopback", "multicast", "link_local", "reserved",
    "unspecified",
])
V6_KEYS = V4_KEYS | {"compressed", "exploded", "ipv4_mapped"}
ERROR_KEYS = frozenset(["input", "error"])

ADDRESS_FIELDS = ("address", "network", "first_host", "last_host")
MASK_FIELDS = ("netmask", "hostmask")


def _check_address(field, version, got, want_int, want_zone, out):
    """Integer + canonical text + zone rules for address-like fields. The
    address itself must carry Python's scope id exactly; network and hosts may
    omit it, but a zone they do carry must be the same one."""
    if not isinstance(got, str):
        out.append((field, got, f"<address {want_int}>"))
        return
    text, sep, zone = got.partition("%")
    want_text = addr_text(version, want_int)
    shown_want = want_text + ("%" + want_zone if want_zone and field == "address" else "")
    if sep:
        if want_zone is None or zone != want_zone:
            out.append((field, got, shown_want))
            return
    elif field == "address" and want_zone is not None:
        out.append((field, got, shown_want))
        return
    try:
        got_int = int(ipaddress.ip_address(text))
        got_version = ipaddress.ip_address(text).version
    except ValueError:
        out.append((field, got, shown_want))
        return
    if got_version != version or got_int != want_int or text != want_text:
        out.append((field, got, shown_want))


def compare(s, iface, rec):
    """Disagreements between sockit's record rec and Python's view of input s
    (iface is None where Python rejects s): a list of (field, sockit, python)."""
    out = []
    if not isinstance(rec, dict):
        return [("<record>", rec, "a JSON object")]
    if rec.get("input") != s:
        out.append(("input", rec.get("input"), s))
    if iface is None:
        if set(rec) != ERROR_KEYS or not isinstance(rec.get("error"), str) or not rec["error"]:
            shown = {k: v for k, v in rec.items() if k != "input"}
            out.append(("validity", shown, "invalid (ValueError)"))
        return out
    if "error" in rec:
        out.append(("validity", "error: " + str(rec["error"]), f"valid: {iface}"))
        return out
    want_keys = V4_KEYS if iface.version == 4 else V6_KEYS
    if set(rec) != want_keys:
        out.append(("<keys>", sorted(set(rec) ^ want_keys), "symmetric difference should be empty"))
    exp = expected(iface)
    version = exp["version"]
    for field, want in exp.items():
        got = rec.get(field, "<missing>")
        if field in ADDRESS_FIELDS:
            _check_address(field, version, got, want[0], want[1], out)
        elif field in MASK_FIELDS:
            want_text = mask_text(version, want)
            if got != want_text:
                out.append((field, got, want_text))
        elif type(got) is not type(want) or got != want:
            # type check: True must not pass for 1, nor 1 for True
            out.append((field, got, want))
    return out


# ------------------------------------------------------------- generators

def special_networks():
    """Every network the ipaddress constants know, plus the ranges the issue
    names explicitly; sorted and deduplicated, IPv4 first."""
    nets = set()
    for consts in (ipaddress._IPv4Constants, ipaddress._IPv6Constants):
        for name, value in vars(consts).items():
            if not name.startswith("_") or name.startswith("__"):
                continue
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                    nets.add(item)
                elif isinstance(item, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                    nets.add(ipaddress.ip_network(item))
    for extra in ("127.0.0.0/8", "100.64.0.0/10", "0.0.0.0/32", "255.255.255.255/32",
                  "::ffff:0:0/96", "fec0::/10", "::/128", "::1/128",
                  # class borders
                  "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/4"):
        nets.add(ipaddress.ip_network(extra))
    return sorted(nets, key=lambda n: (n.version, n.network_address, n.prefixlen))


def _hextets(n):
    return [(n >> (112 - 16 * i)) & 0xFFFF for i in range(8)]


def _fmt_hextet(rng, h, case):
    digits = "%x" % h
    pad = rng.random()
    if pad < 0.15:
        digits = digits.rjust(4, "0")
    elif pad < 0.25:
        digits = digits.rjust(rng.randint(len(digits), 4), "0")
    if case == "upper":
        digits = digits.upper()
    elif case == "mixed":
        digits = "".join(c.upper() if rng.random() < 0.5 else c for c in digits)
    return digits


def v6_random_text(rng, n, *, v4_tail=None, canonical_ok=True):
    """A random valid textual form of IPv6 address n: compressed or not, any
    zero run (or none) folded into '::', random case and leading zeros, and an
    optional dotted-quad tail."""
    style = rng.random()
    if canonical_ok and style < 0.25:
        text = ipaddress.IPv6Address(n).compressed
        return text.upper() if rng.random() < 0.2 else text
    if canonical_ok and style < 0.35:
        text = ipaddress.IPv6Address(n).exploded
        return text.upper() if rng.random() < 0.2 else text
    hx = _hextets(n)
    if v4_tail is None:
        v4_tail = rng.random() < (0.6 if (n >> 32) == 0xFFFF else 0.12)
    units = hx[:6] if v4_tail else hx
    case = rng.choice(["lower", "lower", "upper", "mixed"])
    parts = [_fmt_hextet(rng, h, case) for h in units]
    # choose a zero run to fold: none, the longest, or any run of zeros
    runs = []
    i = 0
    while i < len(units):
        if units[i] == 0:
            j = i
            while j < len(units) and units[j] == 0:
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    fold = None
    if runs and rng.random() < 0.8:
        a, b = rng.choice(runs)
        start = rng.randint(a, b - 1)
        end = rng.randint(start + 1, b)
        fold = (start, end)
    tail = [v4_text(n & V4_ALL)] if v4_tail else []
    if fold is None:
        return ":".join(parts + tail)
    left = ":".join(parts[:fold[0]])
    right = ":".join(parts[fold[1]:] + tail)
    return left + "::" + right


def random_zone(rng):
    r = rng.random()
    if r < 0.4:
        return rng.choice(["eth0", "lo", "en0", "wlan0", "1", "0", "eth0.100", "br-lan"])
    if r < 0.5:
        return "".join(rng.choice(ZONE_CHARS) for _ in range(ZONE_MAX))
    length = rng.randint(1, 16) if r < 0.9 else rng.randint(17, ZONE_MAX)
    return "".join(rng.choice(ZONE_CHARS) for _ in range(length))


def prefix_text(rng, p):
    r = rng.random()
    if r < 0.08:
        return "0" * rng.randint(1, 3) + str(p)
    return str(p)


def v4_random_addr(rng, specials):
    r = rng.random()
    if r < 0.55:
        return rng.getrandbits(32)
    if r < 0.9:
        net = rng.choice(specials)
        return int(net.network_address) + rng.randrange(net.num_addresses)
    # near a random power-of-two border
    b = rng.randint(0, 32)
    base = (rng.getrandbits(32) >> b) << b
    return (base + rng.choice([-2, -1, 0, 1, 2])) & V4_ALL


def v4_suffix(rng):
    """'' or '/prefix' or '/netmask' or '/hostmask' for a random prefix."""
    r = rng.random()
    p = rng.choice(V4_EDGE_PREFIXES) if rng.random() < 0.3 else rng.randint(0, 32)
    if r < 0.1:
        return ""
    if r < 0.7:
        return "/" + prefix_text(rng, p)
    netmask = (V4_ALL << (32 - p)) & V4_ALL
    if r < 0.85:
        return "/" + v4_text(netmask)
    return "/" + v4_text(netmask ^ V4_ALL)


def gen_v4(rng, specials4):
    return v4_text(v4_random_addr(rng, specials4)) + v4_suffix(rng)


def v6_random_addr(rng, specials6, specials4):
    r = rng.random()
    if r < 0.3:
        return rng.getrandbits(128)
    if r < 0.5:
        # random hextets with many zeros, for '::' placement
        n = 0
        for _ in range(8):
            n = (n << 16) | (0 if rng.random() < 0.45 else
                             rng.choice([rng.getrandbits(16), rng.getrandbits(4), 1, 0xFFFF]))
        return n
    if r < 0.8:
        net = rng.choice(specials6)
        return int(net.network_address) + rng.randrange(net.num_addresses)
    if r < 0.9:
        # IPv4-mapped, often of an IPv4 special range
        if rng.random() < 0.5:
            net = rng.choice(specials4)
            v4 = int(net.network_address) + rng.randrange(net.num_addresses)
        else:
            v4 = rng.getrandbits(32)
        return (0xFFFF << 32) | v4
    if r < 0.95:
        return rng.getrandbits(32)  # IPv4-compatible (::a.b.c.d)
    b = rng.randint(0, 128)
    base = (rng.getrandbits(128) >> b) << b
    return (base + rng.choice([-2, -1, 0, 1, 2])) & V6_ALL


def v6_suffix(rng, n):
    r = rng.random()
    if r < 0.12:
        return ""
    if (n >> 32) == 0xFFFF and r < 0.4:
        p = 96 + rng.choice([0, 1, 8, 24, 30, 31, 32, rng.randint(0, 32)])
    elif rng.random() < 0.3:
        p = rng.choice(V6_EDGE_PREFIXES)
    else:
        p = rng.randint(0, 128)
    return "/" + prefix_text(rng, p)


def gen_v6(rng, specials6, specials4):
    n = v6_random_addr(rng, specials6, specials4)
    text = v6_random_text(rng, n)
    if rng.random() < 0.1:
        text += "%" + random_zone(rng)
    return text + v6_suffix(rng, n)


def edge_cases(specials):
    """Deterministic border inputs: first, last and just-outside addresses of
    every special network, each with the network's own prefix, the issue's
    border prefixes and a host prefix; IPv4 ones also IPv4-mapped."""
    out = []
    for net in specials:
        v = net.version
        bits = V4_BITS if v == 4 else V6_BITS
        top = V4_ALL if v == 4 else V6_ALL
        lo = int(net.network_address)
        hi = int(net.broadcast_address)
        points = [lo, hi] + [x for x in (lo - 1, hi + 1) if 0 <= x <= top]
        plens = sorted({net.prefixlen, max(net.prefixlen - 1, 0), min(net.prefixlen + 1, bits), bits}
                       | set(V4_EDGE_PREFIXES if v == 4 else V6_EDGE_PREFIXES))
        for x in points:
            text = addr_text(v, x) if v == 4 else ipaddress.IPv6Address(x).compressed
            out.append(text)
            for p in plens:
                out.append(f"{text}/{p}")
            if v == 6:
                out.append(ipaddress.IPv6Address(x).exploded.upper() + f"/{net.prefixlen}")
            if v == 4:
                for form in ("::ffff:" + v4_text(x), "::ffff:%x:%x" % (x >> 16, x & 0xFFFF)):
                    out.append(form)
                    for p in (96, 96 + net.prefixlen, 127, 128):
                        out.append(f"{form}/{p}")
    for p in range(0, 33):
        out.append(f"0.0.0.0/{p}")
        out.append(f"255.255.255.255/{p}")
        out.append(f"1.2.3.4/{v4_text((V4_ALL << (32 - p)) & V4_ALL)}")
        out.append(f"1.2.3.4/{v4_text(((V4_ALL << (32 - p)) & V4_ALL) ^ V4_ALL)}")
    for p in range(0, 129):
        out.append(f"::/{p}")
        out.append(f"::1/{p}")
        out.append(f"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/{p}")
        out.append(f"::ffff:1.2.3.4/{p}")
    return out


def random_edge(rng, specials):
    """A random border input: just around a special network's ends, with a
    random or border prefix, sometimes in a non-canonical or mapped form."""
    net = rng.choice(specials)
    v = net.version
    bits = V4_BITS if v == 4 else V6_BITS
    top = V4_ALL if v == 4 else V6_ALL
    lo, hi = int(net.network_address), int(net.broadcast_address)
    x = rng.choice([lo, hi, lo - 1, hi + 1, lo + 1, hi - 1])
    x = min(max(x, 0), top)
    r = rng.random()
    p = (net.prefixlen if r < 0.3 else
         rng.choice(V4_EDGE_PREFIXES if v == 4 else V6_EDGE_PREFIXES) if r < 0.7 else
         rng.randint(0, bits))
    if v == 4:
        if rng.random() < 0.2:
            return v6_random_text(rng, (0xFFFF << 32) | x) + "/" + prefix_text(rng, 96 + p)
        return v4_text(x) + "/" + prefix_text(rng, p)
    text = v6_random_text(rng, x)
    if rng.random() < 0.08:
        text += "%" + random_zone(rng)
    return text + "/" + prefix_text(rng, p)


def mutate(rng, s):
    """One to three random single-character edits of s."""
    chars = list(s)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        op = rng.random()
        if op < 0.33 and chars:
            del chars[rng.randrange(len(chars))]
        elif op < 0.66:
            chars.insert(rng.randint(0, len(chars)), rng.choice(MUTATION_CHARS))
        elif chars:
            chars[rng.randrange(len(chars))] = rng.choice(MUTATION_CHARS)
    return "".join(chars)


def structural_invalid(rng, specials4, specials6):
    """Grammar-level breakage of an otherwise well-formed input."""
    k = rng.randrange(12)
    o = [rng.randint(0, 255) for _ in range(4)]
    if k == 0:  # leading zero in an octet
        i = rng.randrange(4)
        parts = [str(x) for x in o]
        parts[i] = "0" * rng.randint(1, 2) + parts[i]
        return ".".join(parts)
    if k == 1:  # octet out of range
        i = rng.randrange(4)
        o[i] = rng.choice([256, 300, 999, 1000, 65535])
        return ".".join(map(str, o))
    if k == 2:  # wrong number of octets
        return ".".join(map(str, o[:rng.choice([1, 2, 3])] + ([o[0]] * rng.choice([0, 1, 2]))))
    if k == 3:  # prefix out of range
        if rng.random() < 0.5:
            return gen_v4(rng, specials4).split("/")[0] + "/" + str(rng.randint(33, 200))
        return gen_v6(rng, specials6, specials4).split("/")[0] + "/" + str(rng.randint(129, 300))
    if k == 4:  # a mask that is neither a netmask nor a hostmask (almost surely)
        return v4_text(rng.getrandbits(32)) + "/" + v4_text(rng.getrandbits(32))
    if k == 5:  # too many hextets
        return ":".join("%x" % rng.getrandbits(16) for _ in range(rng.choice([9, 10])))
    if k == 6:  # two '::'
        return "%x::%x::%x" % (rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(16))
    if k == 7:  # hextet too long
        return "%x:%05x::" % (rng.getrandbits(16), rng.getrandbits(20) | 0x10000)
    if k == 8:  # IPv4 with a zone
        return gen_v4(rng, specials4).split("/")[0] + "%" + random_zone(rng)
    if k == 9:  # too few hextets, no '::'
        return ":".join("%x" % rng.getrandbits(16) for _ in range(rng.randint(2, 7)))
    if k == 10:  # two slashes
        return gen_v4(rng, specials4) + "/" + str(rng.randint(0, 32))
    # an IPv6 netmask form (Python only takes a prefix length for IPv6)
    p = rng.randint(0, 128)
    return "2001:db8::1/" + ipaddress.IPv6Address((V6_ALL << (128 - p)) & V6_ALL).compressed


def acceptable(s):
    """Inputs the differential test may use: one line, no trailing CR (sockit
    strips one for CRLF files), and no zone sockit deliberately refuses."""
    if "\n" in s or s.endswith("\r"):
        return False
    if "%" in s:
        iface = python_interface(s)
        if iface is not None and iface.version == 6 and not zone_ok(iface.scope_id or ""):
            return False
    return True


def generate(n, seed):
    """n inputs, reproducible from seed: ~40% random IPv4, ~30% random IPv6,
    ~15% borders of special ranges (all fixed ones first) and ~15% invalid or
    mutated strings (all fixed ones first), shuffled together."""
    rng = random.Random(seed)
    specials = special_networks()
    specials4 = [x for x in specials if x.version == 4]
    specials6 = [x for x in specials if x.version == 6]

    n_v4 = n * 40 // 100
    n_v6 = n * 30 // 100
    n_edge = n * 15 // 100
    n_bad = n - n_v4 - n_v6 - n_edge

    def fill(count, fixed, make):
        got = [s for s in fixed if acceptable(s)][:count]
        while len(got) < count:
            s = make()
            if acceptable(s):
                got.append(s)
        return got

    inputs = []
    inputs += fill(n_v4, [], lambda: gen_v4(rng, specials4))
    inputs += fill(n_v6, [], lambda: gen_v6(rng, specials6, specials4))
    inputs += fill(n_edge, FIXED_VALID + edge_cases(specials), lambda: random_edge(rng, specials))

    def bad():
        r = rng.random()
        if r < 0.6:
            base = rng.choice([gen_v4, gen_v6, None])
            src = (gen_v4(rng, specials4) if base is gen_v4 else
                   gen_v6(rng, specials6, specials4) if base is gen_v6 else
                   random_edge(rng, specials))
            # Mutations mostly break the input; prefer ones that do, so the
            # invalid share stays near 15%, but keep a surviving one if none.
            for _ in range(3):
                s = mutate(rng, src)
                if python_interface(s) is None:
                    break
            return s
        return structural_invalid(rng, specials4, specials6)

    inputs += fill(n_bad, FIXED_INVALID, bad)
    rng.shuffle(inputs)
    return inputs
