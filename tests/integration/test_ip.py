"""Integration tests for `sockit ip`: records, errors, batch mode, --classful,
--explain, --split, `ip same` and `ip range`.

Expected values come from the spec of the issue and, where the spec defers to
it, from Python's ipaddress module (Debian's /usr/bin/python3), with the
spec's own canonical text: RFC 5952 for IPv6 and ::ffff:1.2.3.4 for
IPv4-mapped addresses.
"""
import ipaddress
import json
import os
import pty
import random
import re
import subprocess
from pathlib import Path

import pytest

from conftest import DEFAULT_TIMEOUT, SOCKIT

# --------------------------------------------------------------------------
# Oracle helpers
# --------------------------------------------------------------------------

KEYS_V4 = [
    "input", "version", "address", "prefix", "netmask", "hostmask", "network",
    "broadcast", "first_host", "last_host", "num_addresses", "num_hosts", "class",
    "private", "global", "loopback", "multicast", "link_local", "reserved",
    "unspecified",
]
KEYS_V6 = KEYS_V4 + ["compressed", "exploded", "ipv4_mapped"]
ERROR_KEYS = ["input", "error"]
BLOCK_KEYS = ["cidr", "network", "prefix", "num_addresses"]
SAME_KEYS = ["a", "b", "prefix", "netmask", "network_a", "network_b", "same"]

ROOT = Path(__file__).resolve().parents[2]


def load_reasons():
    """src/lib/base/err.c's table, as the CLI prints it (first letter lowered)."""
    text = (ROOT / "src" / "lib" / "base" / "err.c").read_text()
    rows = re.findall(r'\{\s*(SK_E\w+),\s*"SK_E\w+",\s*"((?:[^"\\]|\\.)*)"\s*\}', text)
    table = {code: msg.replace('\\"', '"') for code, msg in rows}
    lowered = {code: msg[:1].lower() + msg[1:] for code, msg in table.items()}
    keys = {
        "empty": "SK_EADDR_EMPTY", "char": "SK_EADDR_CHAR", "octets": "SK_EADDR_OCTETS",
        "octet_empty": "SK_EADDR_OCTET_EMPTY", "octet_range": "SK_EADDR_OCTET_RANGE",
        "leading_zero": "SK_EADDR_LEADING_ZERO", "hextet_len": "SK_EADDR_HEXTET_LEN",
        "groups": "SK_EADDR_GROUPS", "double_colon": "SK_EADDR_DOUBLE_COLON",
        "lone_colon": "SK_EADDR_LONE_COLON", "zone": "SK_EADDR_ZONE",
        "prefix_syntax": "SK_EPREFIX_SYNTAX", "prefix_range": "SK_EPREFIX_RANGE",
        "slash": "SK_EPREFIX_SLASH", "noncontiguous": "SK_EMASK_NONCONTIGUOUS",
        "order": "SK_ERANGE_ORDER", "shorter": "SK_EPREFIX_SHORTER",
    }
    reasons = {key: lowered[code] for key, code in keys.items()}
    # Printed without lowering where it is not at the start of a message.
    reasons["family"] = table["SK_EADDR_FAMILY"]
    return reasons


REASONS = load_reasons()
ALL_REASONS = tuple(REASONS.values())

ACRONYMS = re.compile(r"\b(IPv4|IPv6|RFC|IANA|TCP|UDP|JSON|CIDR)\b")


def assert_message_style(err):
    """Every stderr line: 'sockit: ' prefix, lowercase apart from quoted user
    input and acronyms, no trailing period."""
    assert err, "expected a message on stderr"
    for line in err.splitlines():
        assert line.startswith("sockit: "), line
        assert not line.rstrip().endswith("."), line
        body = re.sub(r"'[^']*'", "''", line[len("sockit: "):])
        body = ACRONYMS.sub("", body)
        assert body == body.lower(), f"uppercase outside quoted input: {line!r}"


def compress6(value):
    """RFC 5952 §4 text of a 128-bit value, never in mixed notation."""
    groups = [(value >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best, best_len, i = -1, 1, 0
    while i < 8:
        if groups[i]:
            i += 1
            continue
        j = i
        while j < 8 and groups[j] == 0:
            j += 1
        if j - i > best_len:
            best, best_len = i, j - i
        i = j
    if best < 0:
        return ":".join(f"{g:x}" for g in groups)
    left = ":".join(f"{g:x}" for g in groups[:best])
    right = ":".join(f"{g:x}" for g in groups[best + best_len:])
    return f"{left}::{right}"


def canon(version, value):
    """The spec's canonical text of an address."""
    if version == 4:
        return str(ipaddress.IPv4Address(value))
    if value >> 32 == 0xFFFF:
        return "::ffff:" + str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return compress6(value)


def mask_text(version, value):
    """Masks are bit patterns: never mixed notation."""
    return str(ipaddress.IPv4Address(value)) if version == 4 else compress6(value)


def ip_class(value):
    top = value >> 28
    if top < 0x8:
        return "A"
    if top < 0xC:
        return "B"
    if top < 0xE:
        return "C"
    if top == 0xE:
        return "D"
    return "E"


CLASS_PREFIX = {"A": 8, "B": 16, "C": 24, "D": 32, "E": 32}


def expected_record(text, classful=False):
    iface = ipaddress.ip_interface(text)
    version = iface.version
    bits = 32 if version == 4 else 128
    addr = int(iface.ip)
    prefix = iface.network.prefixlen
    if classful and version == 4 and "/" not in text:
        prefix = CLASS_PREFIX[ip_class(addr)]
    all_ones = (1 << bits) - 1
    hostmask = (1 << (bits - prefix)) - 1
    netmask = all_ones ^ hostmask
    net = addr & netmask
    last = net | hostmask
    iface = (ipaddress.IPv4Interface if version == 4 else ipaddress.IPv6Interface)((addr, prefix))
    network = iface.network
    host_bits = bits - prefix
    if host_bits == 0:
        first_host, last_host, num_hosts = addr, addr, 1
    elif host_bits == 1:
        first_host, last_host, num_hosts = net, last, 2
    elif version == 4:
        first_host, last_host, num_hosts = net + 1, last - 1, (1 << host_bits) - 2
    else:
        first_host, last_host, num_hosts = net + 1, last, (1 << host_bits) - 1
    if network.num_addresses <= 1024:
        # The formula above must agree with Python's hosts().
        hosts = [int(h) for h in network.hosts()]
        assert (hosts[0], hosts[-1], len(hosts)) == (first_host, last_host, num_hosts)
    # Flags: the address's own, as Python's IPv4Address/IPv6Address answer
    # them, with Python's interface rules: unspecified needs a /32 or /128
    # (0.0.0.0/8 is a network, not "no address"; Python 3.11's
    # IPv4Interface.is_unspecified is always False, python/cpython#115766,
    # fixed upstream to this rule) and IPv6 loopback a /128.
    flags_of = iface.ip
    rec = {
        "input": text,
        "version": version,
        "address": canon(version, addr),
        "prefix": prefix,
        "netmask": mask_text(version, netmask),
        "hostmask": mask_text(version, hostmask),
        "network": canon(version, net),
        "broadcast": canon(version, last) if version == 4 and prefix <= 30 else None,
        "first_host": canon(version, first_host),
        "last_host": canon(version, last_host),
        "num_addresses": 1 << host_bits,
        "num_hosts": num_hosts,
        "class": ip_class(addr) if version == 4 else None,
        "private": flags_of.is_private,
        "global": flags_of.is_global,
        "loopback": flags_of.is_loopback,
        "multicast": flags_of.is_multicast,
        "link_local": flags_of.is_link_local,
        "reserved": flags_of.is_reserved,
        "unspecified": flags_of.is_unspecified,
    }
    if prefix != bits:
        rec["unspecified"] = False
        if version == 6:
            rec["loopback"] = False
    if version == 6:
        ip = iface.ip
        rec["compressed"] = compress6(addr)
        rec["exploded"] = ip.exploded
        rec["ipv4_mapped"] = str(ip.ipv4_mapped) if ip.ipv4_mapped else None
    return rec


def json_lines(out):
    assert out.endswith("\n"), out[-200:]
    return [json.loads(line) for line in out.splitlines()]


def one_json(res):
    recs = json_lines(res.out)
    assert len(recs) == 1, res
    return recs[0]


def blocks_of(out):
    """Splits readable output into blocks, insisting on exactly one blank line
    between blocks and none before, after or doubled."""
    assert out.endswith("\n") and not out.endswith("\n\n"), repr(out[-120:])
    assert not out.startswith("\n"), repr(out[:120])
    assert "\n\n\n" not in out, "more than one blank line between blocks: " + repr(out)
    return out[:-1].split("\n\n")


# --------------------------------------------------------------------------
# JSON records
# --------------------------------------------------------------------------

RECORD_INPUTS = [
    # IPv4: prefixes, netmasks, hostmasks, every special kind of range
    "172.16.10.1/255.255.255.0",
    "192.168.1.10/26",
    "10.1.2.3/8",
    "10.1.2.3",
    "1.2.3.4/0",
    "1.2.3.4/1",
    "1.2.3.4/16",
    "1.2.3.4/30",
    "1.2.3.4/31",
    "1.2.3.5/31",
    "1.2.3.4/32",
    "1.2.3.4/024",
    "1.2.3.4/0.0.0.255",
    "1.2.3.4/255.255.255.255",
    "1.2.3.4/0.0.0.0",
    "1.2.3.4/255.255.255.128",
    "0.0.0.0",
    "0.0.0.0/0",
    "0.0.0.0/8",
    "100.64.1.1/10",
    "127.0.0.1",
    "127.0.0.1/8",
    "169.254.7.7/16",
    "172.31.255.255",
    "192.0.0.9",
    "192.0.2.1/24",
    "198.18.0.1/15",
    "224.0.0.1",
    "239.255.255.255/8",
    "240.0.0.1/4",
    "255.255.255.255",
    "8.8.8.8",
    # IPv6
    "::",
    "::/0",
    "::1",
    "::1/64",
    "::/128",
    "2001:db8::1/64",
    "2001:db8::/32",
    "2001:DB8:0:0:1:0:0:1/96",
    "2001:db8:0:1:1:1:1:1/127",
    "2001:db8::7/128",
    "fe80::1/10",
    "fe80::abcd:1/64",
    "fc00::1/7",
    "ff02::1",
    "ff00::/8",
    "::ffff:1.2.3.4",
    "::ffff:1.2.3.4/120",
    "::ffff:1.2.3.4/80",
    "::ffff:0:0/96",
    "::ffff:192.168.0.1/112",
    "::1.2.3.4",
    "64:ff9b::1.2.3.4/96",
    "2002::/16",
    "2606:4700::1111",
    "1:0:0:2:0:0:0:3",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1",
]


@pytest.mark.parametrize("text", RECORD_INPUTS)
def test_json_record_matches_spec(sockit, text):
    res = sockit("ip", "--json", text)
    assert res.status == 0, res
    assert res.err == ""
    rec = one_json(res)
    keys = KEYS_V6 if ":" in text else KEYS_V4
    assert list(rec) == keys
    assert rec == expected_record(text)


def test_json_record_one_line_per_input_in_order(sockit):
    inputs = ["10.0.0.1/8", "2001:db8::1/64", "192.168.0.1", "::1"]
    res = sockit("ip", "--json", *inputs)
    assert res.status == 0, res
    recs = json_lines(res.out)
    assert [r["input"] for r in recs] == inputs
    assert recs == [expected_record(t) for t in inputs]


def test_json_option_after_operand(sockit):
    res = sockit("ip", "10.0.0.1/8", "--json")
    assert res.status == 0, res
    assert one_json(res) == expected_record("10.0.0.1/8")


@pytest.mark.parametrize("text, address", [
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),       # leftmost of two equal runs
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),    # never one group as '::'
    ("2001:DB8::ABCD", "2001:db8::abcd"),                # lower case
    ("1:0:0:0:2:0:0:0", "1::2:0:0:0"),
    ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),                   # the longest run
    ("1:0:2:0:0:3:0:0", "1:0:2::3:0:0"),
    ("0:0:0:0:0:0:0:0", "::"),
    ("0:0:0:0:0:0:0:1", "::1"),
    ("1:0:0:0:0:0:0:0", "1::"),
    ("0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7"),
    ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
    ("fe80:0000:0000:0000:0204:61ff:fe9d:f156", "fe80::204:61ff:fe9d:f156"),
    ("::FFFF:C000:0280", "::ffff:192.0.2.128"),          # IPv4-mapped: dotted tail
    ("0:0:0:0:0:ffff:0.0.0.0", "::ffff:0.0.0.0"),
    ("::ffff:255.255.255.255", "::ffff:255.255.255.255"),
    ("::1.2.3.4", "::102:304"),                          # IPv4-compatible is not mapped
    ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
])
def test_canonical_ipv6_text(sockit, text, address):
    assert canon(6, int(ipaddress.IPv6Address(text))) == address  # the oracle agrees
    rec = one_json(sockit("ip", "--json", text))
    assert rec["address"] == address
    assert rec["network"] == address
    assert rec["exploded"] == ipaddress.IPv6Address(text).exploded
    res = sockit("ip", text)
    assert res.status == 0, res
    assert address in res.out


@pytest.mark.parametrize("text, netmask, hostmask", [
    ("::ffff:1.2.3.4/80", "ffff:ffff:ffff:ffff:ffff::", "::ffff:ffff:ffff"),
    ("::ffff:1.2.3.4/96", "ffff:ffff:ffff:ffff:ffff:ffff::", "::ffff:ffff"),
    ("::ffff:1.2.3.4/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::"),
    ("2001:db8::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("2001:db8::/64", "ffff:ffff:ffff:ffff::", "::ffff:ffff:ffff:ffff"),
])
def test_ipv6_masks_never_mixed(sockit, text, netmask, hostmask):
    rec = one_json(sockit("ip", "--json", text))
    assert (rec["netmask"], rec["hostmask"]) == (netmask, hostmask)
    res = sockit("ip", text)
    assert res.status == 0, res
    mask_lines = [l for l in res.out.splitlines() if "mask" in l.lower()]
    assert mask_lines, res.out
    for line in mask_lines:
        assert "." not in line, line


@pytest.mark.parametrize("text, num_addresses, num_hosts", [
    ("::/0", 340282366920938463463374607431768211456, 340282366920938463463374607431768211455),
    ("::/1", 2 ** 127, 2 ** 127 - 1),
    ("2001:db8::/64", 2 ** 64, 2 ** 64 - 1),
    ("2001:db8::/63", 2 ** 65, 2 ** 65 - 1),
    ("2001:db8::/65", 2 ** 63, 2 ** 63 - 1),
    ("2001:db8::/96", 2 ** 32, 2 ** 32 - 1),
    ("2001:db8::/127", 2, 2),
    ("2001:db8::/128", 1, 1),
    ("0.0.0.0/0", 4294967296, 4294967294),
    ("10.0.0.0/8", 16777216, 16777214),
    ("10.0.0.0/30", 4, 2),
    ("10.0.0.0/31", 2, 2),
    ("10.0.0.0/32", 1, 1),
])
def test_counts_are_exact_integers(sockit, text, num_addresses, num_hosts):
    res = sockit("ip", "--json", text)
    assert res.status == 0, res
    # Plain JSON integers, not strings or floats with lost precision.
    assert f'"num_addresses": {num_addresses},' in res.out
    assert f'"num_hosts": {num_hosts},' in res.out
    rec = one_json(res)
    assert rec["num_addresses"] == num_addresses and rec["num_hosts"] == num_hosts
    text_res = sockit("ip", text)
    assert str(num_addresses) in text_res.out
    assert str(num_hosts) in text_res.out


@pytest.mark.parametrize("text, broadcast", [
    ("10.0.0.0/8", "10.255.255.255"),
    ("192.168.1.77/30", "192.168.1.79"),
    ("192.168.1.77/31", None),
    ("192.168.1.77/32", None),
    ("192.168.1.77", None),
    ("0.0.0.0/0", "255.255.255.255"),
    ("2001:db8::/64", None),
    ("::/0", None),
    ("::ffff:1.2.3.4/120", None),
])
def test_broadcast(sockit, text, broadcast):
    assert one_json(sockit("ip", "--json", text))["broadcast"] == broadcast


@pytest.mark.parametrize("text, cls", [
    ("0.0.0.0", "A"), ("127.255.255.255", "A"),
    ("128.0.0.0", "B"), ("191.255.255.255", "B"),
    ("192.0.0.0", "C"), ("223.255.255.255", "C"),
    ("224.0.0.0", "D"), ("239.255.255.255", "D"),
    ("240.0.0.0", "E"), ("255.255.255.255", "E"),
    ("::1", None), ("::ffff:10.0.0.1", None),
])
def test_class(sockit, text, cls):
    assert one_json(sockit("ip", "--json", text))["class"] == cls
    res = sockit("ip", text)
    if cls:
        assert re.search(rf"\bclass\b.*\b{cls}\b", res.out, re.I), res.out


@pytest.mark.parametrize("text, prefix", [
    ("10.1.2.3", 32), ("255.255.255.255", 32), ("::", 128), ("2001:db8::1", 128),
])
def test_no_prefix_is_single_host(sockit, text, prefix):
    rec = one_json(sockit("ip", "--json", text))
    assert rec["prefix"] == prefix
    assert rec["num_addresses"] == 1 and rec["num_hosts"] == 1
    assert rec["first_host"] == rec["last_host"] == rec["address"] == rec["network"]


def test_zone_is_kept_on_the_address(sockit):
    rec = one_json(sockit("ip", "--json", "fe80::1%eth0/64"))
    assert rec["input"] == "fe80::1%eth0/64"
    assert rec["address"] == "fe80::1%eth0"
    assert rec["network"] == "fe80::"
    assert rec["prefix"] == 64 and rec["link_local"] is True


# --------------------------------------------------------------------------
# --classful
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text, prefix, network", [
    ("10.1.2.3", 8, "10.0.0.0"),
    ("127.0.0.1", 8, "127.0.0.0"),
    ("172.16.5.4", 16, "172.16.0.0"),
    ("191.255.1.1", 16, "191.255.0.0"),
    ("192.168.1.1", 24, "192.168.1.0"),
    ("223.1.2.3", 24, "223.1.2.0"),
    ("224.0.0.1", 32, "224.0.0.1"),
    ("240.0.0.1", 32, "240.0.0.1"),
    ("10.1.2.3/30", 30, "10.1.2.0"),      # a given prefix wins
    ("172.16.5.4/24", 24, "172.16.5.0"),
    ("192.168.1.1/32", 32, "192.168.1.1"),
    ("192.168.1.1/255.255.0.0", 16, "192.168.0.0"),
    ("2001:db8::1", 128, "2001:db8::1"),  # IPv6 has no classes
    ("::ffff:10.0.0.1", 128, "::ffff:10.0.0.1"),
])
def test_classful(sockit, text, prefix, network):
    res = sockit("ip", "--classful", "--json", text)
    assert res.status == 0, res
    rec = one_json(res)
    assert (rec["prefix"], rec["network"]) == (prefix, network)
    assert rec == expected_record(text, classful=True)
    short = sockit("ip", "-c", "-j", text)
    assert one_json(short) == rec


def test_classful_text(sockit):
    res = sockit("ip", "--classful", "172.16.5.4")
    assert res.status == 0, res
    assert "172.16.0.0/16" in res.out
    assert "255.255.0.0" in res.out
    assert "172.16.255.255" in res.out


def test_without_classful_no_class_mask(sockit):
    assert one_json(sockit("ip", "--json", "10.1.2.3"))["prefix"] == 32


# --------------------------------------------------------------------------
# Readable output
# --------------------------------------------------------------------------

def test_text_block_worked_example(sockit):
    res = sockit("ip", "172.16.10.1/255.255.255.0")
    assert res.status == 0, res
    assert res.err == ""
    out = res.out
    for needle in ["172.16.10.1", "172.16.10.0/24", "255.255.255.0", "0.0.0.255",
                   "172.16.10.255", "172.16.10.254", "256", "254"]:
        assert needle in out, needle
    assert re.search(r"172\.16\.10\.1\b.*172\.16\.10\.254", out), out
    assert re.search(r"\bclass\b.*\bB\b", out, re.I), out
    assert "private" in out.lower()
    assert len(blocks_of(out)) == 1


def test_text_ipv6_block(sockit):
    res = sockit("ip", "2001:db8::1/64")
    assert res.status == 0, res
    out = res.out
    for needle in ["2001:db8::1", "2001:db8::/64", "ffff:ffff:ffff:ffff::",
                   "2001:0db8:0000:0000:0000:0000:0000:0001",
                   "18446744073709551616", "18446744073709551615"]:
        assert needle in out, needle
    assert not re.search(r"^\s*class\b", out, re.I | re.M)


def test_text_blocks_separated_by_one_blank_line(sockit):
    inputs = ["10.0.0.1/8", "2001:db8::1/64", "192.168.1.1/31"]
    res = sockit("ip", *inputs)
    assert res.status == 0, res
    blocks = blocks_of(res.out)
    assert len(blocks) == 3
    for block, text in zip(blocks, inputs):
        assert text.split("/")[0] in block


def test_text_blocks_with_a_bad_argument_between(sockit):
    res = sockit("ip", "10.0.0.1/8", "bad", "192.168.1.1/24")
    assert res.status == 2
    blocks = blocks_of(res.out)
    assert len(blocks) == 2
    assert "10.0.0.0/8" in blocks[0] and "192.168.1.0/24" in blocks[1]


def test_text_blocks_with_a_bad_last_argument(sockit):
    res = sockit("ip", "10.0.0.1/8", "bad")
    assert res.status == 2
    assert len(blocks_of(res.out)) == 1


# --------------------------------------------------------------------------
# Errors on the command line
# --------------------------------------------------------------------------

BAD_INPUTS = [
    # (input, reason key, offending part or None when any/none is fine)
    ("01.2.3.4", "leading_zero", "01"),
    ("1.02.3.4", "leading_zero", "02"),
    ("1.2.3.00", "leading_zero", "00"),
    ("256.1.1.1", "octet_range", "256"),
    ("1.2.3.1000", "octet_range", "1000"),
    ("1.2.3", "octets", None),
    ("1.2.3.4.5", "octets", None),
    ("1..3.4", "octet_empty", None),
    ("1.2.3.", "octet_empty", None),
    ("1::2::3", "double_colon", "::"),
    ("1.2.3.4/33", "prefix_range", "33"),
    ("::/129", "prefix_range", "129"),
    ("2001:db8::/999", "prefix_range", "999"),
    ("1.2.3.4/255.0.255.0", "noncontiguous", "255.0.255.0"),
    ("1.2.3.4/255.255.0.255", "noncontiguous", "255.255.0.255"),
    ("1.2.3.4/24/1", "slash", None),
    ("", "empty", None),
    ("1.2.3.4%eth0", "zone", None),
    ("fe80::1%", "zone", None),
    ("hello", "char", "h"),
    ("1.2.3.4 ", "char", " "),
    (" 1.2.3.4", "char", " "),
    ("1.2.3.x", "char", "x"),
    ("1.2.3.4/", "prefix_syntax", None),
    ("1.2.3.4/abc", "prefix_syntax", "abc"),
    ("1.2.3.4/-1", "prefix_syntax", "-1"),
    ("::1/255.255.255.0", "prefix_syntax", "255.255.255.0"),
    ("1:2:3:4:5:6:7:8:9", "groups", None),
    ("1:2:3:4:5:6:7", "groups", None),
    ("12345::", "hextet_len", "12345"),
    ("1::g", "char", "g"),
    (":1::2", "lone_colon", None),
    ("1::2:", "lone_colon", None),
    (":", "groups", None),
    (":::", None, None),
    ("/24", "empty", None),
    ("::ffff:1.2.3.256", "octet_range", "256"),
    ("[::1]", "char", "["),
]


@pytest.mark.parametrize("text, reason, part", BAD_INPUTS)
def test_bad_input_one_line_on_stderr(sockit, text, reason, part):
    res = sockit("ip", text)
    assert res.status == 2, res
    assert res.out == "", "nothing on stdout for a bad single input"
    lines = res.err.split("\n")
    assert lines[-1] == "" and len(lines) == 2, f"exactly one line: {res.err!r}"
    line = lines[0]
    prefix = f"sockit: ip: '{text}': "
    assert line.startswith(prefix), line
    msg = line[len(prefix):]
    if reason is None:
        assert msg.startswith(ALL_REASONS), msg
    else:
        expected = REASONS[reason]
        assert msg == expected or msg.startswith(expected + ": '"), msg
        if part is not None:
            assert msg == f"{expected}: '{part}'", msg
    assert_message_style(res.err)


@pytest.mark.parametrize("text", [t for t, _, _ in BAD_INPUTS if t])
def test_bad_input_with_json_is_still_a_usage_error(sockit, text):
    res = sockit("ip", "--json", text)
    assert res.status == 2, res
    assert res.out == ""
    assert res.err.startswith(f"sockit: ip: '{text}': ")
    assert res.err.count("\n") == 1


def test_good_arguments_still_print_with_bad_ones(sockit):
    res = sockit("ip", "--json", "10.0.0.1/8", "256.1.1.1", "2001:db8::1/64", "1.2.3")
    assert res.status == 2
    recs = json_lines(res.out)
    assert [r["input"] for r in recs] == ["10.0.0.1/8", "2001:db8::1/64"]
    assert recs == [expected_record("10.0.0.1/8"), expected_record("2001:db8::1/64")]
    err_lines = res.err.splitlines()
    assert len(err_lines) == 2
    assert err_lines[0].startswith("sockit: ip: '256.1.1.1': ")
    assert err_lines[1].startswith("sockit: ip: '1.2.3': ")
    assert_message_style(res.err)


def test_bad_first_argument_does_not_stop_the_rest(sockit):
    res = sockit("ip", "nope", "10.0.0.1")
    assert res.status == 2
    assert "10.0.0.1" in res.out
    assert res.err.startswith("sockit: ip: 'nope': ")


def test_error_for_input_with_newline_stays_one_line(sockit):
    res = sockit("ip", "1.2.3.4\nfoo")
    assert res.status == 2
    assert res.out == ""
    assert res.err.count("\n") == 1 and res.err.endswith("\n"), repr(res.err)
    assert res.err.startswith("sockit: ip: '")


@pytest.mark.parametrize("text", ["1" * 300, "x" * 400, "1.2.3.4/" + "9" * 300])
def test_error_for_long_input_is_quoted_cut_short(sockit, text):
    """A long input is quoted by its first ~150 bytes and "...", so the one
    line stays readable (batch lines may be 1 MiB); the reason follows."""
    res = sockit("ip", text)
    assert res.status == 2
    assert res.out == ""
    assert res.err.count("\n") == 1
    head, _, reason = res.err.partition("...': ")
    assert head.startswith("sockit: ip: '" + text[:100]), res.err[:120]
    assert text.startswith(head[len("sockit: ip: '"):])
    assert reason.strip() and len(res.err) < 400, res.err


# --------------------------------------------------------------------------
# Options and help
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args, mention", [
    (["ip", "--bogus", "1.2.3.4"], "--bogus"),
    (["ip", "1.2.3.4", "--bogus"], "--bogus"),
    (["ip", "-x", "1.2.3.4"], "-x"),
    (["ip", "--json=yes", "1.2.3.4"], "--json"),
    (["ip", "1.2.3.4", "--split"], "--split"),
    (["ip", "same", "--bogus", "1.1.1.1", "1.1.1.2"], "--bogus"),
    (["ip", "same", "1.1.1.1", "1.1.1.2", "--mask"], "--mask"),
    (["ip", "range", "--bogus", "1.1.1.1", "1.1.1.2"], "--bogus"),
])
def test_bad_option_is_usage_error(sockit, args, mention):
    res = sockit(*args)
    assert res.status == 2, res
    assert res.out == ""
    assert_message_style(res.err)
    assert any(mention in l for l in res.err.splitlines()), res.err


def test_bad_option_in_a_cluster_is_named(sockit):
    """-xs: the letter at fault is named, not the option before it."""
    res = sockit("ip", "--json", "-xs", "/26", "10.0.0.0/24")
    assert res.status == 2, res
    assert res.err == "sockit: ip: unknown option '-x'\nsockit: see 'sockit help ip'\n"


@pytest.mark.parametrize("args", [
    ["ip", "--help"], ["ip", "-h"], ["ip", "same", "--help"], ["ip", "range", "--help"],
])
def test_ip_help(sockit, args):
    res = sockit(*args)
    assert res.status == 0, res
    assert res.err == ""
    assert res.out.startswith("usage: sockit ip")
    for word in ["--json", "--explain", "--classful", "--split", "same", "range"]:
        assert word in res.out


def test_ip_help_same_as_help_ip(sockit):
    assert sockit("ip", "--help").out == sockit("help", "ip").out


def test_no_arguments_with_terminal_stdin_is_usage_error():
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([SOCKIT, "ip"], stdin=slave, capture_output=True, text=True,
                              timeout=DEFAULT_TIMEOUT)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("sockit: ip: ")
    assert_message_style(proc.stderr)


# --------------------------------------------------------------------------
# Batch mode
# --------------------------------------------------------------------------

def test_batch_json_records_and_errors_in_order(sockit):
    lines = ["10.0.0.1/8", "bad", "2001:db8::1/64", "1.2.3.4/33", "::1"]
    res = sockit("ip", "--json", "-", input="\n".join(lines) + "\n")
    assert res.status == 1, res
    assert res.err == ""
    recs = json_lines(res.out)
    assert [r["input"] for r in recs] == lines
    assert recs[0] == expected_record("10.0.0.1/8")
    assert recs[2] == expected_record("2001:db8::1/64")
    assert recs[4] == expected_record("::1")
    for i in (1, 3):
        assert list(recs[i]) == ERROR_KEYS
        assert recs[i]["error"].startswith(ALL_REASONS), recs[i]
    assert recs[1]["error"].startswith(REASONS["char"])
    assert recs[3]["error"] == REASONS["prefix_range"] + ": '33'"


def test_batch_without_dash_when_stdin_is_not_a_terminal(sockit):
    res = sockit("ip", "--json", input="10.0.0.1/8\n192.168.0.1\n")
    assert res.status == 0, res
    assert json_lines(res.out) == [expected_record("10.0.0.1/8"), expected_record("192.168.0.1")]


def test_batch_all_good_exits_zero(sockit):
    res = sockit("ip", "-", input="10.0.0.1/8\n2001:db8::/32\n")
    assert res.status == 0, res
    assert res.err == ""
    assert len(blocks_of(res.out)) == 2


def test_batch_empty_stdin(sockit):
    res = sockit("ip", "--json", "-", input="")
    assert res.status == 0, res
    assert res.out == "" and res.err == ""


def test_batch_crlf_and_last_line_without_newline(sockit):
    res = sockit("ip", "--json", "-", input="10.0.0.1/8\r\n2001:db8::1/64\r\n192.168.0.1")
    assert res.status == 0, res
    recs = json_lines(res.out)
    assert recs == [expected_record("10.0.0.1/8"), expected_record("2001:db8::1/64"),
                    expected_record("192.168.0.1")]


def test_batch_last_line_with_cr_and_no_newline(sockit):
    res = sockit("ip", "--json", "-", input="10.0.0.1/8\r")
    assert res.status == 0, res
    assert json_lines(res.out) == [expected_record("10.0.0.1/8")]


def test_batch_last_bad_line_without_newline(sockit):
    res = sockit("ip", "--json", "-", input="10.0.0.1\nnope")
    assert res.status == 1
    recs = json_lines(res.out)
    assert len(recs) == 2 and recs[1]["input"] == "nope" and "error" in recs[1]


def test_batch_non_utf8_bytes_give_valid_json(sockit):
    data = b"10.0.0.1/8\nbad\xff\xfe\x80\n\xc3\xa9t\xc3\xa9\n1.2.3.4\xc0\xaf\n::1\n"
    res = sockit("ip", "--json", "-", input=data, binary=True)
    assert res.status == 1, res
    lines = res.out.split(b"\n")
    assert lines[-1] == b""
    recs = [json.loads(l.decode("utf-8")) for l in lines[:-1]]  # strict UTF-8, valid JSON
    assert len(recs) == 5
    assert recs[0] == expected_record("10.0.0.1/8")
    assert recs[4] == expected_record("::1")
    for rec in recs[1:4]:
        assert list(rec) == ERROR_KEYS and isinstance(rec["input"], str)
        assert rec["error"].startswith(ALL_REASONS)
    assert recs[1]["input"].startswith("bad")
    assert recs[2]["input"] == "\u00e9t\u00e9"       # valid UTF-8 is kept as is
    assert recs[3]["input"].startswith("1.2.3.4")


def test_batch_control_characters_and_quotes_round_trip(sockit):
    bad = ['say "hi"', "back\\slash", "tab\there", "bell\x07", "1.2.3.4\x00x", "del\x7f"]
    data = "\n".join(bad) + "\n"
    res = sockit("ip", "--json", "-", input=data)
    assert res.status == 1, res
    recs = json_lines(res.out)
    assert [r["input"] for r in recs] == bad
    for rec in recs:
        assert list(rec) == ERROR_KEYS
        assert rec["error"].startswith(ALL_REASONS)
        # An offending part, when quoted, is never empty.
        assert not rec["error"].endswith(": ''"), rec


def test_batch_text_errors_name_the_line(sockit):
    res = sockit("ip", "-", input="10.0.0.1/8\n\n256.0.0.1\n192.168.0.1/24\n")
    assert res.status == 1, res
    err_lines = res.err.splitlines()
    assert len(err_lines) == 1, res.err
    assert "line 3" in err_lines[0] and "'256.0.0.1'" in err_lines[0]
    assert REASONS["octet_range"] in err_lines[0]
    assert_message_style(res.err)
    assert "10.0.0.0/8" in res.out and "192.168.0.0/24" in res.out


def test_batch_text_blocks_separated_by_one_blank_line_despite_bad_lines(sockit):
    res = sockit("ip", "-", input="10.0.0.1/8\nbad\n\n192.168.0.1/24\n")
    assert res.status == 1
    blocks = blocks_of(res.out)
    assert len(blocks) == 2


def test_batch_skips_blank_lines_and_comments_and_trims_spaces(sockit):
    """Lists written by hand: blank lines and # comments are skipped, spaces
    and tabs around an input do not count; lines keep their numbers."""
    data = "# office networks\n  10.0.0.1/8 \n\n\t192.168.1.1\t\r\n   \n# end\nbad # x\n"
    res = sockit("ip", "--json", input=data)
    assert res.status == 1, res
    assert [r["input"] for r in json_lines(res.out)] == ["10.0.0.1/8", "192.168.1.1", "bad # x"]
    res = sockit("ip", "-", input=data)
    assert res.err.startswith("sockit: ip: line 7: 'bad # x': "), res
    assert len(blocks_of(res.out)) == 2
    res = sockit("ip", input="# nothing but comments\n\n")
    assert (res.status, res.out, res.err) == (0, "", ""), res


def test_command_line_inputs_are_not_trimmed(sockit):
    res = sockit("ip", " 10.0.0.1")
    assert res.status == 2
    assert res.err == "sockit: ip: ' 10.0.0.1': unexpected character: ' '\n", res


@pytest.mark.parametrize("args, cidr", [
    (["10.0.0.1", "255.0.0.0"], "10.0.0.1/8"),
    (["172.16.10.1", "255.255.255.0"], "172.16.10.1/24"),
    (["10.0.0.1", "8"], "10.0.0.1/8"),
    (["10.0.0.1", "255.255.255.255"], "10.0.0.1/32"),
])
def test_address_and_netmask_as_two_arguments(sockit, args, cidr):
    """ipcalc's ADDRESS NETMASK form: one input, as if written with '/'."""
    res = sockit("ip", "--json", *args)
    assert res.status == 0, res
    (got,) = json_lines(res.out)
    (want,) = json_lines(sockit("ip", "--json", cidr).out)
    assert got.pop("input") == "/".join(args)
    want.pop("input")
    assert got == want


@pytest.mark.parametrize("args", [
    ["10.0.0.1", "10.0.0.2"],       # not a netmask: two hosts
    ["10.0.0.1", "0.0.0.0"],        # an address before a mask
    ["10.0.0.1/8", "255.0.0.0"],    # the first already has a prefix
    ["2001:db8::1", "ffff::"],      # IPv6 takes /64
    ["10.0.0.1", "255.0.0.0", "10.0.0.2"],
])
def test_two_addresses_stay_two_inputs(sockit, args):
    res = sockit("ip", "--json", *args)
    assert len(json_lines(res.out)) == len(args), res


def test_hosts_gives_the_smallest_subnets_that_fit_in_order(sockit):
    """As ipcalc -s: each count gets the smallest block whose usable hosts
    hold it; blocks are placed largest first (no gaps), listed in the order
    the counts were given."""
    res = sockit("ip", "--hosts", "10,50,20", "192.168.0.0/24")
    assert res.status == 0, res
    assert res.out == ("192.168.0.96/28  10 hosts requested, 14 usable\n"
                       "192.168.0.0/26  50 hosts requested, 62 usable\n"
                       "192.168.0.64/27  20 hosts requested, 30 usable\n")
    res = sockit("ip", "--json", "--hosts", "2,1", "10.0.0.0/30")
    assert json_lines(res.out) == [
        {"cidr": "10.0.0.0/31", "network": "10.0.0.0", "prefix": 31, "num_addresses": 2,
         "hosts_requested": 2, "num_hosts": 2},
        {"cidr": "10.0.0.2/32", "network": "10.0.0.2", "prefix": 32, "num_addresses": 1,
         "hosts_requested": 1, "num_hosts": 1}]
    res = sockit("ip", "--json", "--hosts", "1000", "2001:db8::/64")
    assert json_lines(res.out)[0]["cidr"] == "2001:db8::/118"


@pytest.mark.parametrize("args, message", [
    (["--hosts", "200,100", "192.168.0.0/24"],
     "sockit: ip: '192.168.0.0/24': --hosts '200,100': the subnets do not fit in 192.168.0.0/24"),
    (["--hosts", "50,x", "10.0.0.0/24"],
     "sockit: ip: --hosts '50,x': expected host counts such as 50,20,10 (at most 64)"),
    (["--hosts", "0", "10.0.0.0/24"],
     "sockit: ip: --hosts '0': expected host counts such as 50,20,10 (at most 64)"),
    (["--hosts", "5", "--split", "/26", "10.0.0.0/24"], "sockit: ip: --split and --hosts: choose one"),
    (["--hosts", "5", "-e", "10.0.0.0/24"],
     "sockit: ip: --explain cannot be combined with --hosts"),
])
def test_hosts_errors(sockit, args, message):
    res = sockit("ip", *args)
    assert res.status == 2, res
    assert res.err.splitlines()[0] == message


def test_batch_mixed_with_arguments(sockit):
    res = sockit("ip", "--json", "2.2.2.2", "-", "3.3.3.3", input="1.1.1.1\nbad\n")
    assert res.status == 1, res
    assert [r["input"] for r in json_lines(res.out)] == ["2.2.2.2", "1.1.1.1", "bad", "3.3.3.3"]


def test_batch_and_bad_argument_is_usage_status(sockit):
    res = sockit("ip", "--json", "-", "nope", input="1.1.1.1\nbad\n")
    assert res.status == 2
    assert [r["input"] for r in json_lines(res.out)] == ["1.1.1.1", "bad"]


def test_batch_overlong_line_does_not_stop_the_run(sockit):
    data = b"1.1.1.1\n" + b"x" * (2 * 1024 * 1024) + b"\n2.2.2.2\n"
    res = sockit("ip", "--json", "-", input=data, binary=True)
    assert res.status == 1
    recs = [json.loads(l) for l in res.out.decode().splitlines()]
    assert recs[0]["input"] == "1.1.1.1"
    assert recs[-1]["input"] == "2.2.2.2", "the line after the long one is still read"
    assert len(recs) == 3 and "error" in recs[1]


def test_batch_many_lines(sockit):
    rng = random.Random(7)
    addrs = [str(ipaddress.IPv4Address(rng.getrandbits(32))) + f"/{rng.randint(0, 32)}"
             for _ in range(5000)]
    res = sockit("ip", "--json", "-", input="\n".join(addrs) + "\n")
    assert res.status == 0, res.err
    recs = json_lines(res.out)
    assert len(recs) == len(addrs)
    for rec, text in list(zip(recs, addrs))[::250]:
        assert rec == expected_record(text)


def test_batch_split(sockit):
    res = sockit("ip", "--split", "/26", "-", input="10.0.0.0/24\n10.0.1.0/25\n")
    assert res.status == 0, res
    assert res.out.splitlines() == ["10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/26",
                                    "10.0.0.192/26", "10.0.1.0/26", "10.0.1.64/26"]


def test_batch_split_error_is_a_json_record(sockit):
    res = sockit("ip", "--split", "/16", "--json", "-", input="10.0.0.0/8\n10.0.0.0/24\n")
    assert res.status == 1
    recs = json_lines(res.out)
    assert len(recs) == 257
    assert list(recs[-1]) == ERROR_KEYS and recs[-1]["input"] == "10.0.0.0/24"
    assert REASONS["shorter"] in recs[-1]["error"]


# --------------------------------------------------------------------------
# --explain
# --------------------------------------------------------------------------

def test_explain_worked_example(sockit):
    res = sockit("ip", "--explain", "172.16.10.1/255.255.255.0")
    assert res.status == 0, res
    assert res.err == ""
    out = res.out
    assert "10101100.00010000.00001010.00000001" in out      # the address
    assert "11111111.11111111.11111111.00000000" in out      # the mask
    and_line = [l for l in out.splitlines() if "10101100.00010000.00001010.00000000" in l]
    assert and_line and "172.16.10.0" in and_line[0] and "AND" in and_line[0].upper()
    assert re.search(r"\bclass\b.*\bB\b", out, re.I)
    assert re.search(r"\b10\b", [l for l in out.splitlines() if re.search(r"\bclass\b", l, re.I)][0])
    assert "172.16.0.0/12" in out and "private-use" in out and "RFC 1918" in out
    assert "256" in out and "254" in out
    assert "172.16.10.1" in out and "172.16.10.254" in out


@pytest.mark.parametrize("text, needles", [
    ("192.168.1.10/26", ["11000000.10101000.00000001.00001010",
                         "11111111.11111111.11111111.11000000",
                         "11000000.10101000.00000001.00000000",
                         "192.168.1.0", "192.168.0.0/16", "RFC 1918", "64", "62", "110"]),
    ("10.1.1.1/8", ["00001010.00000001.00000001.00000001",
                    "11111111.00000000.00000000.00000000",
                    "00001010.00000000.00000000.00000000",
                    "10.0.0.0/8", "RFC 1918", "16777216", "16777214"]),
    ("224.0.0.5", ["11100000.00000000.00000000.00000101", "1110", "multicast", "RFC 5771"]),
    ("240.1.2.3/4", ["11110000.00000000.00000000.00000000", "1111", "240.0.0.0/4"]),
    ("100.64.1.1/10", ["100.64.0.0/10", "RFC 6598", "4194304", "4194302"]),
    ("8.8.8.8/24", ["00001000.00001000.00001000.00001000", "8.8.8.0", "global"]),
    ("2001:db8::1/36", ["2001:db8::/32", "RFC 3849",
                        "4951760157141521099596496896", "4951760157141521099596496895"]),
    ("fe80::1/64", ["fe80::/10", "RFC 4291", "18446744073709551616"]),
])
def test_explain(sockit, text, needles):
    res = sockit("ip", "--explain", text)
    assert res.status == 0, res
    for needle in needles:
        assert needle in res.out, (needle, res.out)


@pytest.mark.parametrize("text, cls, bits", [
    ("10.0.0.1", "A", "0"), ("172.16.0.1", "B", "10"), ("192.168.0.1", "C", "110"),
    ("224.0.0.1", "D", "1110"), ("250.0.0.1", "E", "1111"),
])
def test_explain_class_from_leading_bits(sockit, text, cls, bits):
    out = sockit("ip", "-e", text).out
    class_lines = [l for l in out.splitlines() if re.search(r"\bclass\b", l, re.I)]
    assert class_lines, out
    assert re.search(rf"\b{cls}\b", class_lines[0]) and re.search(rf"\b{bits}\b", class_lines[0])


def test_explain_several_inputs_blank_line_between(sockit):
    res = sockit("ip", "--explain", "10.0.0.1/8", "2001:db8::1/64")
    assert res.status == 0, res
    assert len(blocks_of(res.out)) == 2


def test_explain_classful_uses_the_class_mask(sockit):
    res = sockit("ip", "--explain", "--classful", "10.1.1.1")
    assert res.status == 0, res
    out = res.out
    assert "11111111.00000000.00000000.00000000" in out       # 255.0.0.0
    assert "00001010.00000000.00000000.00000000" in out       # 10.0.0.0
    assert "single host" not in out, "a /8 is not a single host:\n" + out


@pytest.mark.parametrize("args", [
    ["--explain", "--json", "1.2.3.4"],
    ["--json", "--explain", "1.2.3.4"],
    ["-e", "-j", "1.2.3.4"],
    ["1.2.3.4", "--json", "--explain"],
])
def test_explain_with_json_is_usage_error(sockit, args):
    res = sockit("ip", *args)
    assert res.status == 2, res
    assert res.out == ""
    assert_message_style(res.err)
    assert "explain" in res.err and "json" in res.err


def test_explain_bad_input(sockit):
    res = sockit("ip", "--explain", "300.1.1.1")
    assert res.status == 2
    assert res.out == ""
    assert res.err == f"sockit: ip: '300.1.1.1': {REASONS['octet_range']}: '300'\n"


# --------------------------------------------------------------------------
# --split
# --------------------------------------------------------------------------

def py_split(text, new_prefix):
    net = ipaddress.ip_interface(text).network
    return [f"{canon(net.version, int(s.network_address))}/{s.prefixlen}"
            for s in net.subnets(new_prefix=new_prefix)]


SPLITS = [
    ("10.0.0.0/24", 26),
    ("10.0.0.77/24", 26),
    ("10.0.0.0/24", 24),
    ("10.0.0.0/24", 32),
    ("192.168.0.0/16", 18),
    ("192.168.0.0/16", 24),
    ("1.2.3.4", 32),
    ("0.0.0.0/0", 3),
    ("255.255.255.0/24", 26),
    ("172.16.0.0/255.240.0.0", 16),
    ("2001:db8::/32", 34),
    ("2001:db8::/64", 66),
    ("2001:db8::5/120", 124),
    ("::/0", 3),
    ("::ffff:10.0.0.0/120", 122),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124", 126),
    ("2001:db8::1", 128),
]


@pytest.mark.parametrize("text, n", SPLITS)
@pytest.mark.parametrize("form", ["/{}", "{}"])
def test_split_text(sockit, text, n, form):
    res = sockit("ip", "--split", form.format(n), text)
    assert res.status == 0, res
    assert res.err == ""
    assert res.out.splitlines() == py_split(text, n)


@pytest.mark.parametrize("text, n", SPLITS)
def test_split_json(sockit, text, n):
    res = sockit("ip", "--json", "--split", f"/{n}", text)
    assert res.status == 0, res
    recs = json_lines(res.out)
    expected = py_split(text, n)
    assert len(recs) == len(expected)
    bits = 32 if ":" not in text else 128
    for rec, cidr in zip(recs, expected):
        assert list(rec) == BLOCK_KEYS
        assert rec == {"cidr": cidr, "network": cidr.split("/")[0], "prefix": n,
                       "num_addresses": 2 ** (bits - n)}


def test_split_equals_form_and_short_option(sockit):
    want = py_split("10.0.0.0/24", 25)
    assert sockit("ip", "--split=/25", "10.0.0.0/24").out.splitlines() == want
    assert sockit("ip", "-s", "25", "10.0.0.0/24").out.splitlines() == want


def test_split_several_networks(sockit):
    res = sockit("ip", "--split", "/25", "10.0.0.0/24", "192.168.0.0/24")
    assert res.status == 0, res
    assert res.out.splitlines() == py_split("10.0.0.0/24", 25) + py_split("192.168.0.0/24", 25)


def test_split_ipv4_and_ipv6_together(sockit):
    res = sockit("ip", "--split", "/26", "10.0.0.0/24")
    res6 = sockit("ip", "--split", "/66", "2001:db8::/64")
    both = sockit("ip", "--split", "/66", "10.0.0.0/24", "2001:db8::/64")
    # /66 is out of range for IPv4: the IPv4 input fails, the IPv6 one prints.
    assert both.status == 2
    assert both.out.splitlines() == py_split("2001:db8::/64", 66)
    assert both.err.startswith("sockit: ip: '10.0.0.0/24': ")
    assert REASONS["prefix_range"] in both.err
    assert res.status == res6.status == 0


def test_split_with_classful(sockit):
    res = sockit("ip", "--classful", "--split", "/10", "10.1.2.3")
    assert res.status == 0, res
    assert res.out.splitlines() == ["10.0.0.0/10", "10.64.0.0/10", "10.128.0.0/10",
                                    "10.192.0.0/10"]


@pytest.mark.parametrize("text, split, reason", [
    ("10.0.0.0/24", "/23", "shorter"),
    ("10.0.0.0/24", "23", "shorter"),
    ("10.0.0.0/24", "/0", "shorter"),
    ("2001:db8::/32", "/16", "shorter"),
    ("10.0.0.0/24", "/33", "prefix_range"),
    ("10.0.0.0/24", "/100", "prefix_range"),
    ("::/0", "/129", "prefix_range"),
    ("10.0.0.0/24", "/x", "prefix_syntax"),
    ("10.0.0.0/24", "", "prefix_syntax"),
    ("10.0.0.0/24", "/", "prefix_syntax"),
    ("10.0.0.0/24", "/-1", "prefix_syntax"),
])
def test_split_errors(sockit, text, split, reason):
    res = sockit("ip", "--split", split, text)
    assert res.status == 2, res
    assert res.out == ""
    lines = res.err.splitlines()
    assert len(lines) == 1, res.err
    assert lines[0].startswith(f"sockit: ip: '{text}': ")
    assert REASONS[reason] in lines[0]
    assert_message_style(res.err)


def test_split_with_explain_is_usage_error(sockit):
    res = sockit("ip", "--explain", "--split", "/25", "10.0.0.0/24")
    assert res.status == 2
    assert res.out == ""
    assert_message_style(res.err)


# --------------------------------------------------------------------------
# ip same
# --------------------------------------------------------------------------

def test_same_worked_example(sockit):
    res = sockit("ip", "same", "172.16.10.1", "172.16.10.2", "--mask", "255.255.255.0")
    assert res.status == 0, res
    assert res.err == ""
    out = res.out
    assert "10101100.00010000.00001010.00000001" in out
    assert "10101100.00010000.00001010.00000010" in out
    assert "11111111.11111111.11111111.00000000" in out
    # Both ANDs, each yielding 172.16.10.0.
    assert out.count("10101100.00010000.00001010.00000000") >= 2
    assert "172.16.10.0" in out
    assert "same" in out.lower()


def test_same_different_text(sockit):
    res = sockit("ip", "same", "172.16.10.1", "172.16.11.2", "--mask", "24")
    assert res.status == 1, res
    assert res.err == ""
    assert "172.16.10.0" in res.out and "172.16.11.0" in res.out
    assert "10101100.00010000.00001011.00000000" in res.out


SAME_JSON = [
    (["172.16.10.1", "172.16.10.2", "--mask", "255.255.255.0"],
     {"a": "172.16.10.1", "b": "172.16.10.2", "prefix": 24, "netmask": "255.255.255.0",
      "network_a": "172.16.10.0", "network_b": "172.16.10.0", "same": True}, 0),
    (["172.16.10.1", "172.16.11.2", "--mask", "24"],
     {"a": "172.16.10.1", "b": "172.16.11.2", "prefix": 24, "netmask": "255.255.255.0",
      "network_a": "172.16.10.0", "network_b": "172.16.11.0", "same": False}, 1),
    (["172.16.10.1", "172.16.11.2", "--mask", "255.255.254.0"],
     {"a": "172.16.10.1", "b": "172.16.11.2", "prefix": 23, "netmask": "255.255.254.0",
      "network_a": "172.16.10.0", "network_b": "172.16.10.0", "same": True}, 0),
    (["10.0.0.1", "11.0.0.1", "--mask", "0"],
     {"a": "10.0.0.1", "b": "11.0.0.1", "prefix": 0, "netmask": "0.0.0.0",
      "network_a": "0.0.0.0", "network_b": "0.0.0.0", "same": True}, 0),
    (["10.0.0.1", "10.0.0.1", "--mask", "32"],
     {"a": "10.0.0.1", "b": "10.0.0.1", "prefix": 32, "netmask": "255.255.255.255",
      "network_a": "10.0.0.1", "network_b": "10.0.0.1", "same": True}, 0),
    (["10.0.0.1", "10.0.0.2", "--mask", "32"],
     {"a": "10.0.0.1", "b": "10.0.0.2", "prefix": 32, "netmask": "255.255.255.255",
      "network_a": "10.0.0.1", "network_b": "10.0.0.2", "same": False}, 1),
    (["2001:db8::1", "2001:db8::ffff", "--mask", "64"],
     {"a": "2001:db8::1", "b": "2001:db8::ffff", "prefix": 64,
      "netmask": "ffff:ffff:ffff:ffff::", "network_a": "2001:db8::",
      "network_b": "2001:db8::", "same": True}, 0),
    (["2001:db8::1", "2001:db9::1", "--mask", "32"],
     {"a": "2001:db8::1", "b": "2001:db9::1", "prefix": 32, "netmask": "ffff:ffff::",
      "network_a": "2001:db8::", "network_b": "2001:db9::", "same": False}, 1),
    (["::ffff:10.0.0.1", "::ffff:10.0.0.200", "--mask", "120"],
     {"a": "::ffff:10.0.0.1", "b": "::ffff:10.0.0.200", "prefix": 120,
      "netmask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00", "network_a": "::ffff:10.0.0.0",
      "network_b": "::ffff:10.0.0.0", "same": True}, 0),
]


@pytest.mark.parametrize("args, expected, status", SAME_JSON)
def test_same_json(sockit, args, expected, status):
    res = sockit("ip", "same", "--json", *args)
    assert res.status == status, res
    assert res.err == ""
    rec = one_json(res)
    assert list(rec) == SAME_KEYS
    assert rec == expected


@pytest.mark.parametrize("args, prefix, same", [
    (["10.0.0.1/8", "10.200.0.1"], 8, True),           # prefix on A
    (["10.0.0.1", "10.200.0.1/8"], 8, True),           # prefix on B
    (["10.0.0.1/24", "10.0.1.1/24"], 24, False),       # the same prefix on both
    (["10.0.0.1/255.255.0.0", "10.0.1.1"], 16, True),  # a netmask on A
    (["10.0.0.1/8", "10.1.0.1/16", "--mask", "16"], 16, False),  # --mask settles a conflict
    (["10.0.0.1/24", "10.0.1.1/24", "--mask", "8"], 8, True),     # --mask wins
    (["2001:db8::1/48", "2001:db8:0:1::1"], 48, True),
    (["2001:db8::1/64", "2001:db8:0:1::1"], 64, False),
])
def test_same_mask_sources(sockit, args, prefix, same):
    res = sockit("ip", "same", "--json", *args)
    assert res.status == (0 if same else 1), res
    rec = one_json(res)
    assert rec["prefix"] == prefix and rec["same"] is same
    net_a = ipaddress.ip_interface(f"{rec['a']}/{prefix}").network
    net_b = ipaddress.ip_interface(f"{rec['b']}/{prefix}").network
    assert rec["network_a"] == canon(net_a.version, int(net_a.network_address))
    assert rec["network_b"] == canon(net_b.version, int(net_b.network_address))
    assert (net_a == net_b) is same


@pytest.mark.parametrize("args", [
    ["10.0.0.1", "10.0.0.2"],                            # no mask at all
    ["10.0.0.1/8", "10.0.0.2/16"],                       # differing prefixes
    ["10.0.0.1/8", "::1/8"],                             # mixed families
    ["10.0.0.1", "::1", "--mask", "8"],
    ["::ffff:10.0.0.1", "10.0.0.1", "--mask", "8"],
    ["10.0.0.1"],                                        # wrong operand counts
    [],
    ["10.0.0.1", "10.0.0.2", "10.0.0.3", "--mask", "8"],
    ["10.0.0.1", "bad", "--mask", "8"],                  # bad operands
    ["300.0.0.1", "10.0.0.1", "--mask", "8"],
    ["10.0.0.1/33", "10.0.0.1"],
    ["10.0.0.1", "10.0.0.2", "--mask", "255.0.255.0"],   # bad masks
    ["10.0.0.1", "10.0.0.2", "--mask", "33"],
    ["10.0.0.1", "10.0.0.2", "--mask", "abc"],
    ["10.0.0.1", "10.0.0.2", "--mask", ""],
    ["2001:db8::1", "2001:db8::2", "--mask", "129"],
    ["2001:db8::1", "2001:db8::2", "--mask", "255.255.0.0"],
])
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_same_usage_errors(sockit, args, json_flag):
    res = sockit("ip", "same", *json_flag, *args)
    assert res.status == 2, res
    assert res.out == ""
    assert_message_style(res.err)
    assert res.err.startswith("sockit: ip same: ")


# --------------------------------------------------------------------------
# ip range
# --------------------------------------------------------------------------

def py_range(first, last):
    a, b = ipaddress.ip_address(first), ipaddress.ip_address(last)
    return [f"{canon(n.version, int(n.network_address))}/{n.prefixlen}"
            for n in ipaddress.summarize_address_range(a, b)]


def random_ranges():
    rng = random.Random(20240501)
    cases = []
    for _ in range(15):  # IPv4, anywhere
        a, b = sorted(rng.getrandbits(32) for _ in range(2))
        cases.append((str(ipaddress.IPv4Address(a)), str(ipaddress.IPv4Address(b))))
    for _ in range(10):  # IPv4, short spans with awkward alignment
        a = rng.getrandbits(32) & ~0xFFF
        a += rng.randint(0, 0x7FF)
        b = min(a + rng.randint(0, 5000), 2 ** 32 - 1)
        cases.append((str(ipaddress.IPv4Address(a)), str(ipaddress.IPv4Address(b))))
    for _ in range(15):  # IPv6, anywhere
        a, b = sorted(rng.getrandbits(128) for _ in range(2))
        cases.append((compress6(a), compress6(b)))
    for _ in range(10):  # IPv6, spans crossing the 64-bit halves
        a = (rng.getrandbits(64) << 64) | (2 ** 64 - rng.randint(1, 2 ** 40))
        b = a + rng.randint(0, 2 ** 41)
        cases.append((compress6(a), compress6(b)))
    return cases


FIXED_RANGES = [
    ("0.0.0.0", "255.255.255.255"),
    ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("10.0.0.5", "10.0.0.20"),
    ("5.5.5.5", "5.5.5.5"),
    ("0.0.0.0", "0.0.0.0"),
    ("255.255.255.255", "255.255.255.255"),
    ("0.0.0.1", "255.255.255.254"),
    ("255.255.255.0", "255.255.255.255"),
    ("128.0.0.0", "255.255.255.255"),
    ("0.0.0.0", "127.255.255.255"),
    ("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"),
    ("::", "::"),
    ("::1", "::4"),
    ("::ffff:1.2.3.0", "::ffff:1.2.3.255"),
    ("::ffff:1.2.3.4", "::ffff:1.2.4.9"),
    ("2001:db8::", "2001:db8:0:0:ffff:ffff:ffff:ffff"),
    ("2001:db8::ffff:ffff:ffff:ffff", "2001:db8:0:1::"),
    ("8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
]


@pytest.mark.parametrize("first, last", FIXED_RANGES + random_ranges())
def test_range_matches_python(sockit, first, last):
    res = sockit("ip", "range", first, last)
    assert res.status == 0, res
    assert res.err == ""
    assert res.out.splitlines() == py_range(first, last)


def test_range_whole_spaces(sockit):
    assert sockit("ip", "range", "0.0.0.0", "255.255.255.255").out == "0.0.0.0/0\n"
    assert sockit("ip", "range", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").out == "::/0\n"


def test_range_known_answer(sockit):
    res = sockit("ip", "range", "10.0.0.5", "10.0.0.20")
    assert res.out.splitlines() == ["10.0.0.5/32", "10.0.0.6/31", "10.0.0.8/29",
                                    "10.0.0.16/30", "10.0.0.20/32"]


@pytest.mark.parametrize("first, last", [
    ("10.0.0.5", "10.0.0.20"), ("::1", "::4"), ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("::ffff:1.2.3.4", "::ffff:1.2.4.9"),
])
def test_range_json(sockit, first, last):
    res = sockit("ip", "range", "--json", first, last)
    assert res.status == 0, res
    recs = json_lines(res.out)
    want = py_range(first, last)
    assert [r["cidr"] for r in recs] == want
    bits = 128 if ":" in first else 32
    for rec in recs:
        assert list(rec) == BLOCK_KEYS
        net, prefix = rec["cidr"].split("/")
        assert rec["network"] == net and rec["prefix"] == int(prefix)
        assert rec["num_addresses"] == 2 ** (bits - int(prefix))


@pytest.mark.parametrize("args", [
    ["10.0.0.9", "10.0.0.5"],                      # first above last
    ["::2", "::1"],
    ["ffff::", "::"],
    ["1.2.3.4", "::1"],                            # mixed families
    ["::1", "1.2.3.4"],
    ["::ffff:1.2.3.4", "1.2.3.5"],
    ["1.2.3.4"],                                   # wrong operand counts
    [],
    ["1.2.3.4", "1.2.3.5", "1.2.3.6"],
    ["1.2.3.4/24", "1.2.3.5"],                     # not plain addresses
    ["bad", "1.2.3.5"],
    ["1.2.3.4", "1.2.3.256"],
])
def test_range_usage_errors(sockit, args):
    res = sockit("ip", "range", *args)
    assert res.status == 2, res
    assert res.out == ""
    assert res.err.startswith("sockit: ip range: ")
    assert_message_style(res.err)


def test_range_order_and_family_reasons(sockit):
    assert REASONS["order"] in sockit("ip", "range", "10.0.0.9", "10.0.0.5").err
    assert REASONS["family"] in sockit("ip", "range", "1.2.3.4", "::1").err


# --------------------------------------------------------------------------
# Where options may stand
# --------------------------------------------------------------------------

def test_options_before_same_and_range(sockit):
    res = sockit("ip", "--json", "same", "172.16.10.1", "172.16.10.2", "--mask", "24")
    assert res.status == 0, res
    assert one_json(res)["same"] is True
    res = sockit("ip", "--json", "range", "10.0.0.5", "10.0.0.20")
    assert res.status == 0, res
    assert [r["cidr"] for r in json_lines(res.out)] == py_range("10.0.0.5", "10.0.0.20")


@pytest.mark.parametrize("mask", ["/24", "24", "255.255.255.0"])
def test_same_mask_forms(sockit, mask):
    res = sockit("ip", "same", "--json", "172.16.10.1", "172.16.10.2", "--mask", mask)
    assert res.status == 0, res
    rec = one_json(res)
    assert (rec["prefix"], rec["netmask"], rec["same"]) == (24, "255.255.255.0", True)
