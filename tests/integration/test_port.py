"""Integration tests for `sockit port N|NAME`: IANA ranges (RFC 6335) and
service names from /etc/services, both ways."""
import json
import re
import socket

import pytest

PORT_KEYS = ["port", "range", "tcp", "udp"]
ACRONYMS = re.compile(r"\b(IPv4|IPv6|RFC|IANA|TCP|UDP|JSON|CIDR)\b")


def assert_message_style(err):
    assert err, "expected a message on stderr"
    for line in err.splitlines():
        assert line.startswith("sockit: "), line
        assert not line.rstrip().endswith("."), line
        body = ACRONYMS.sub("", re.sub(r"'[^']*'", "''", line[len("sockit: "):]))
        assert body == body.lower(), f"uppercase outside quoted input: {line!r}"


def service(port, proto):
    """The system's answer, through the same services database."""
    try:
        return socket.getservbyport(port, proto)
    except OSError:
        return None


def range_of(port):
    if port <= 1023:
        return "well-known"
    if port <= 49151:
        return "registered"
    return "dynamic"


BORDERS = [
    (0, "well-known"), (1, "well-known"), (1023, "well-known"),
    (1024, "registered"), (8080, "registered"), (49151, "registered"),
    (49152, "dynamic"), (60000, "dynamic"), (65535, "dynamic"),
]


@pytest.mark.parametrize("port, rng", BORDERS)
def test_range_json(sockit, port, rng):
    res = sockit("port", "--json", str(port))
    assert res.status == 0, res
    assert res.err == ""
    lines = res.out.splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert list(rec) == PORT_KEYS
    assert rec == {"port": port, "range": rng, "tcp": service(port, "tcp"),
                   "udp": service(port, "udp")}


@pytest.mark.parametrize("port, rng", BORDERS)
def test_range_text(sockit, port, rng):
    res = sockit("port", str(port))
    assert res.status == 0, res
    assert res.err == ""
    assert re.search(rf"\b{port}\b", res.out)
    assert rng in res.out
    bounds = {"well-known": "0-1023", "registered": "1024-49151", "dynamic": "49152-65535"}
    assert bounds[rng] in res.out


@pytest.mark.parametrize("port, tcp, udp", [
    (22, "ssh", service(22, "udp")),
    (53, "domain", "domain"),
    (80, "http", service(80, "udp")),
    (443, "https", service(443, "udp")),
    (25, "smtp", service(25, "udp")),
    (123, service(123, "tcp"), "ntp"),
])
def test_service_names(sockit, port, tcp, udp):
    assert service(port, "tcp") == tcp and service(port, "udp") == udp  # the system agrees
    rec = json.loads(sockit("port", "--json", str(port)).out)
    assert (rec["tcp"], rec["udp"]) == (tcp, udp)
    out = sockit("port", str(port)).out
    for name in (tcp, udp):
        if name:
            assert re.search(rf"\b{re.escape(name)}\b", out)


def test_ssh_and_domain_text(sockit):
    out = sockit("port", "22").out
    assert re.search(r"tcp.*\bssh\b", out, re.I)
    out = sockit("port", "53").out
    assert re.search(r"tcp.*\bdomain\b", out, re.I) and re.search(r"udp.*\bdomain\b", out, re.I)


@pytest.mark.parametrize("name, port", [
    ("http", 80), ("https", 443), ("ssh", 22), ("domain", 53), ("smtp", 25),
    ("www", 80),      # an alias
    ("ntp", 123),     # udp only
])
def test_name_lookup(sockit, name, port):
    assert socket.getservbyname(name, "udp" if name == "ntp" else "tcp") == port
    res = sockit("port", "--json", name)
    assert res.status == 0, res
    rec = json.loads(res.out)
    assert rec["port"] == port
    assert rec["range"] == range_of(port)
    text = sockit("port", name)
    assert text.status == 0
    assert re.search(rf"\b{port}\b", text.out)


def test_several_ports_json(sockit):
    res = sockit("port", "--json", "22", "http", "65535")
    assert res.status == 0, res
    recs = [json.loads(l) for l in res.out.splitlines()]
    assert [r["port"] for r in recs] == [22, 80, 65535]


def test_several_ports_text_blank_line_between(sockit):
    res = sockit("port", "22", "53")
    assert res.status == 0, res
    blocks = res.out.rstrip("\n").split("\n\n")
    assert len(blocks) == 2 and "\n\n\n" not in res.out


@pytest.mark.parametrize("args", [
    ["65536"], ["99999999999999999999"], ["-1"], ["--", "-1"], ["12a"], ["80.5"],
    ["+80"], ["--", "-80"],
])
def test_bad_number_is_usage_error(sockit, args):
    res = sockit("port", *args)
    assert res.status == 2, res
    assert res.out == ""
    assert_message_style(res.err)


def test_out_of_range_message(sockit):
    res = sockit("port", "65536")
    assert res.err == "sockit: port: '65536': port is out of range 0-65535\n"


def test_unknown_name_exit_3(sockit):
    res = sockit("port", "nosuchservicexyz")
    assert res.status == 3, res
    assert res.out == ""
    assert "'nosuchservicexyz'" in res.err
    assert res.err.count("\n") == 1
    assert_message_style(res.err)


def test_good_ports_still_print_with_bad_ones(sockit):
    res = sockit("port", "--json", "22", "nosuchservicexyz", "53", "70000")
    assert res.status in (2, 3)
    assert [json.loads(l)["port"] for l in res.out.splitlines()] == [22, 53]
    assert len(res.err.splitlines()) == 2
    assert_message_style(res.err)


def test_no_port_is_usage_error(sockit):
    res = sockit("port")
    assert res.status == 2
    assert res.out == ""
    assert_message_style(res.err)


def test_unknown_option(sockit):
    res = sockit("port", "--bogus", "80")
    assert res.status == 2
    assert res.out == ""
    assert "--bogus" in res.err
    assert_message_style(res.err)


@pytest.mark.parametrize("args", [["port", "--help"], ["port", "-h"], ["help", "port"]])
def test_help(sockit, args):
    res = sockit(*args)
    assert res.status == 0, res
    assert res.err == ""
    assert res.out.startswith("usage: sockit port")
    assert "--json" in res.out
