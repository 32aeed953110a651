"""`sockit dns serve` and `sockit dns query`, with dig and kdig as oracles,
dnsmasq as a second server, a hostile server written here, and the faults
of dns serve. Everything talks to 127.0.0.1 only."""
import json
import re
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import SOCKIT
from netutil import WAIT, Procs, assert_no_sanitizer_report, free_port

ZONE = """\
$ORIGIN example.test.
$TTL 300
@   IN SOA ns1 hostmaster ( 2024010101 ; serial
        3600 900 604800 60 )   ; refresh retry expire minimum
    IN NS ns1
ns1 IN A 127.0.0.1
www 600 IN A 192.0.2.10
www IN AAAA 2001:db8::10
alias IN CNAME www
chain IN CNAME alias
out IN CNAME www.elsewhere.invalid.
mail IN MX 10 mx1.example.test.
    IN MX 20 mx2
mx1 A 192.0.2.25
mx2 A 192.0.2.26
txt IN TXT "hello world" "second \\"quoted\\""
_sip._tcp IN SRV 10 60 5060 sip
sip A 192.0.2.30
@ CAA 0 issue "letsencrypt.org"
a.b.c A 192.0.2.99
private TYPE65280 \\# 3 010203
big 60 IN TXT "{x}"
    IN TXT "{y}"
    IN TXT "{z}"
""".format(x="x" * 200, y="y" * 200, z="z" * 200)

HOSTS = """\
# a hosts file served as records
192.0.2.77   lab1.hosts.test lab1
2001:db8::77 lab1.hosts.test
"""

# (name, type): every kind of answer the zone gives.
QUESTIONS = [
    ("www.example.test", "A"), ("www.example.test", "AAAA"), ("WwW.ExAmPlE.TeSt", "A"),
    ("chain.example.test", "A"), ("alias.example.test", "AAAA"), ("alias.example.test", "CNAME"),
    ("out.example.test", "A"), ("mail.example.test", "MX"), ("txt.example.test", "TXT"),
    ("_sip._tcp.example.test", "SRV"), ("example.test", "CAA"), ("example.test", "SOA"),
    ("example.test", "NS"), ("nope.example.test", "A"), ("www.example.test", "MX"),
    ("b.c.example.test", "A"), ("a.b.c.example.test", "A"), ("private.example.test", "TYPE65280"),
    ("www.other.test", "A"), ("lab1.hosts.test", "A"), ("lab1.hosts.test", "AAAA"),
    ("lab1", "A"), ("lab1.hosts.test", "MX"), ("77.2.0.192.in-addr.arpa", "PTR"),
]


@pytest.fixture
def procs():
    p = Procs()
    yield p
    for proc in p.procs:
        proc.kill()
        if proc.is_sockit:
            assert_no_sanitizer_report(proc.err, " ".join(proc.argv[:3]))


@pytest.fixture
def zonefiles(tmp_path):
    zone = tmp_path / "example.zone"
    zone.write_text(ZONE)
    hosts = tmp_path / "lab.hosts"
    hosts.write_text(HOSTS)
    return [str(zone), str(hosts)]


def serve(procs, files, *args):
    """Starts dns serve on 127.0.0.1, a free port; returns (proc, port)."""
    p = procs.sockit("dns", "serve", "-v", "-p", "0", "-b", "127.0.0.1", *args, *files)
    m = p.wait_err(r"^listening on 127\.0\.0\.1:(\d+)$")
    return p, int(m.group(1))


@pytest.fixture
def server(procs, zonefiles):
    return serve(procs, zonefiles)[1]


def run(argv, timeout=30):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def query(port, *args, timeout=30):
    return run([SOCKIT, "dns", "query", f"@127.0.0.1:{port}", *args], timeout)


# --- reading dig's (and our) text output -----------------------------------------

def parse_text(text):
    """status, flags and the answer and authority records of dig-style text
    (dig's, kdig's or ours), records normalised to one space per field."""
    status = re.search(r"status: (\w+)", text).group(1)
    flags = set(re.search(r";; [Ff]lags: ([a-z ]*);", text).group(1).split())
    sections, cur = {"ANSWER": [], "AUTHORITY": []}, None
    for line in text.splitlines():
        m = re.match(r";; (\w+) SECTION:", line)
        if m:
            cur = m.group(1) if m.group(1) in sections else None
            continue
        if not line.strip() or line.startswith(";"):
            if not line.strip():
                cur = None
            continue
        if cur:
            sections[cur].append(normalise(line))
    return status, flags, sections["ANSWER"], sections["AUTHORITY"]


def normalise(line):
    name, ttl, cls, typ, *data = line.split(None, 4)
    data = data[0].strip() if data else ""
    # kdig prints generic data with spaces between hex groups; dig not
    if data.startswith("\\# "):
        n, *hexes = data.split()[1:]
        data = f"\\# {n} {''.join(hexes).upper()}"
    return (name.lower(), ttl, cls, typ, data)


def dig(port, name, qtype, *extra):
    res = run(["dig", f"@127.0.0.1", "-p", str(port), "+norec", "+time=2", "+tries=1", *extra,
               name, qtype])
    assert res.returncode == 0, res
    return parse_text(res.stdout)


def kdig(port, name, qtype, *extra):
    res = run(["kdig", "@127.0.0.1", "-p", str(port), "+norec", "+time=2", "+retry=0", *extra,
               name, qtype])
    assert res.returncode == 0, res
    return parse_text(res.stdout)


# --- dns serve, with dig and kdig as oracles ---------------------------------------

EXPECTED = {
    ("www.example.test", "A"): ("NOERROR", ["www.example.test. 600 IN A 192.0.2.10"]),
    ("chain.example.test", "A"): ("NOERROR", [
        "chain.example.test. 300 IN CNAME alias.example.test.",
        "alias.example.test. 300 IN CNAME www.example.test.",
        "www.example.test. 600 IN A 192.0.2.10"]),
    ("out.example.test", "A"): ("NOERROR", ["out.example.test. 300 IN CNAME www.elsewhere.invalid."]),
    ("mail.example.test", "MX"): ("NOERROR", ["mail.example.test. 300 IN MX 10 mx1.example.test.",
                                              "mail.example.test. 300 IN MX 20 mx2.example.test."]),
    ("txt.example.test", "TXT"): ("NOERROR", [
        'txt.example.test. 300 IN TXT "hello world" "second \\"quoted\\""']),
    ("_sip._tcp.example.test", "SRV"): ("NOERROR", [
        "_sip._tcp.example.test. 300 IN SRV 10 60 5060 sip.example.test."]),
    ("example.test", "CAA"): ("NOERROR", ['example.test. 300 IN CAA 0 issue "letsencrypt.org"']),
    ("nope.example.test", "A"): ("NXDOMAIN", []),
    ("www.example.test", "MX"): ("NOERROR", []),
    ("b.c.example.test", "A"): ("NOERROR", []),
    ("www.other.test", "A"): ("REFUSED", []),
    ("lab1.hosts.test", "AAAA"): ("NOERROR", ["lab1.hosts.test. 0 IN AAAA 2001:db8::77"]),
    ("77.2.0.192.in-addr.arpa", "PTR"): ("NOERROR", [
        "77.2.0.192.in-addr.arpa. 0 IN PTR lab1.hosts.test."]),
    ("private.example.test", "TYPE65280"): ("NOERROR", [
        "private.example.test. 300 IN TYPE65280 \\# 3 010203"]),
}


@pytest.mark.parametrize("name,qtype", sorted(EXPECTED))
def test_serve_answers_what_the_zone_says_dig(server, name, qtype):
    status, flags, answer, authority = dig(server, name, qtype)
    want_status, want = EXPECTED[(name, qtype)]
    assert status == want_status
    assert answer == [normalise(r) for r in want]
    assert "qr" in flags and "tc" not in flags
    assert ("aa" in flags) == (want_status != "REFUSED")
    # NXDOMAIN and NODATA carry the zone's SOA, TTL min(SOA TTL, MINIMUM) (RFC 2308)
    if not want and want_status != "REFUSED":
        assert authority == [normalise("example.test. 60 IN SOA ns1.example.test. "
                                       "hostmaster.example.test. 2024010101 3600 900 604800 60")]


@pytest.mark.parametrize("name,qtype", QUESTIONS)
def test_serve_kdig_dig_and_sockit_agree(server, name, qtype):
    d = dig(server, name, qtype)
    k = kdig(server, name, qtype)
    res = query(server, name, qtype, "--norecurse")
    s = parse_text(res.stdout)
    assert d[0] == k[0] == s[0]
    assert d[2] == k[2] == s[2] and d[3] == k[3] == s[3]
    assert d[1] == s[1] and k[1] == d[1]
    want_status = {"NOERROR": 0 if d[2] and any(r[3] == qtype for r in d[2]) else 1,
                   "NXDOMAIN": 3, "REFUSED": 6}[d[0]]
    assert res.returncode == want_status, res


def test_serve_truncates_to_the_edns_size_and_tcp_has_it_all(server):
    # 3 x 200-byte TXT: ~650 bytes, over 512 without EDNS, under 1232 with it
    status, flags, answer, _ = dig(server, "big.example.test", "TXT", "+noedns", "+ignore")
    assert "tc" in flags and answer == []
    status, flags, answer, _ = dig(server, "big.example.test", "TXT", "+bufsize=600", "+ignore")
    assert "tc" in flags and answer == []
    status, flags, answer, _ = dig(server, "big.example.test", "TXT")
    assert "tc" not in flags and len(answer) == 3
    status, flags, answer, _ = dig(server, "big.example.test", "TXT", "+noedns")  # retries on TCP
    assert len(answer) == 3
    status, flags, answer, _ = kdig(server, "big.example.test", "TXT", "+tcp")
    assert len(answer) == 3


def test_serve_echoes_the_0x20_case_and_answers_any(server):
    res = query(server, "WwW.eXaMpLe.TeSt", "--json", "--0x20")
    assert res.returncode == 0, res
    status, flags, answer, _ = dig(server, "www.example.test", "ANY")
    assert {r[3] for r in answer} == {"A", "AAAA"}


def test_serve_formerr_notimp_and_no_answer_to_responses(server):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(WAIT)
    s.connect(("127.0.0.1", server))
    s.send(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www")  # question cut short
    r = s.recv(4096)
    assert r[:2] == b"\x12\x34" and r[3] & 0xf == 1  # FORMERR
    q = build_query(0x4321, "www.example.test", 1)
    s.send(q[:2] + bytes([q[2] | 0x20]) + q[3:])  # opcode 4 (NOTIFY)
    r = s.recv(4096)
    assert r[3] & 0xf == 4  # NOTIMP
    s.send(q[:2] + bytes([q[2] | 0x80]) + q[3:])  # a response: never answered
    s.send(q)
    r = s.recv(4096)
    assert r[:2] == b"\x43\x21" and r[3] & 0xf == 0


def test_serve_tcp_pipelined(server):
    c = socket.create_connection(("127.0.0.1", server), timeout=WAIT)
    msgs = [build_query(i, "www.example.test", 1) for i in range(1, 6)]
    c.sendall(b"".join(struct.pack("!H", len(m)) + m for m in msgs))
    got = b""
    ids = []
    while len(ids) < 5:
        got += c.recv(65536)
        while len(got) >= 2 and len(got) >= 2 + struct.unpack("!H", got[:2])[0]:
            n = struct.unpack("!H", got[:2])[0]
            ids.append(struct.unpack("!H", got[2:4])[0])
            got = got[2 + n:]
    assert ids == [1, 2, 3, 4, 5]


BAD_ZONES = [
    ("$ORIGIN x.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww A 999.1.1.1\n", 4,
     "'999.1.1.1' is not an IPv4 address"),
    ("$ORIGIN x.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww CNAME a\nwww A 1.2.3.4\n", 4,
     "'www.x.test.' has a CNAME and other data"),
    ("$ORIGIN x.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww.y.test. A 1.2.3.4\n", 4,
     "'www.y.test.' is outside the zone 'x.test.'"),
    ("$ORIGIN x.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ SOA ns h 1 2 3 4 5\n", 4,
     "a second SOA record"),
    ("$ORIGIN x.test.\n$TTL 60\n@ SOA ns h ( 1 2 3 4 5\n", 3, "'(' without ')'"),
    ("$ORIGIN x.test.\n@ SOA ns h 1 2 3 4 5\n", 2, "no TTL"),
    ("$TTL 60\n@ SOA ns h 1 2 3 4 5\n", 2, "'@' is relative and no $ORIGIN is set"),
    ("$ORIGIN x.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww FOO 1\n", 4,
     "'FOO' is not a record type"),
    ("$ORIGIN x.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n" + "a" * 64 + " A 1.2.3.4\n", 4,
     "is not a domain name"),
    ("$ORIGIN x.test.\n$TTL 60\n$INCLUDE other\n", 3, "'$INCLUDE' is not supported"),
    ("$ORIGIN x.test.\n$TTL 60\n@ MX 10\n", 3, "MX needs more data"),
    ("$ORIGIN x.test.\n$TTL 60\nwww A 1.2.3.4\n", 0, "no SOA record"),
    ("$ORIGIN x.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ TXT \"open\n", 4,
     "a quoted string without its closing"),
    ("10.0.0.1 good.test\n10.0.0.300 bad.test\n", 2, "'10.0.0.300' is not an IPv4 or IPv6 address"),
]


@pytest.mark.parametrize("text,line,why", BAD_ZONES)
def test_serve_refuses_a_bad_zone_with_file_line_and_reason(tmp_path, text, line, why):
    f = tmp_path / "bad.zone"
    f.write_text(text)
    res = run([SOCKIT, "dns", "serve", "-p", "0", "-b", "127.0.0.1", str(f)], timeout=10)
    assert res.returncode == 7, res
    where = f"{f}:{line}" if line else f"{f}"
    assert res.stderr.startswith(f"sockit: dns serve: {where}: "), res.stderr
    assert why in res.stderr
    assert len(res.stderr.splitlines()) == 1


def test_serve_usage_and_missing_file(tmp_path):
    res = run([SOCKIT, "dns", "serve", "-p", "0"])
    assert res.returncode == 2 and "expected at least one zone or hosts FILE" in res.stderr
    res = run([SOCKIT, "dns", "serve", "-p", "0", str(tmp_path / "none.zone")])
    assert res.returncode == 7
    assert res.stderr == f"sockit: dns serve: '{tmp_path / 'none.zone'}': no such file or directory\n"
    res = run([SOCKIT, "dns", "serve", "--drop", "101", "x"])
    assert res.returncode == 2 and "--drop '101'" in res.stderr
    res = run([SOCKIT, "dns", "bogus"])
    assert res.returncode == 2 and "expected 'query' or 'serve'" in res.stderr


def test_serve_port_in_use(procs, zonefiles):
    _, port = serve(procs, zonefiles)
    res = run([SOCKIT, "dns", "serve", "-p", str(port), "-b", "127.0.0.1", *zonefiles], timeout=10)
    assert res.returncode == 4, res
    assert "address already in use" in res.stderr


# --- dns query: output, statuses ---------------------------------------------------

def test_query_statuses(server):
    assert query(server, "www.example.test").returncode == 0
    assert query(server, "www.example.test", "MX").returncode == 1      # NODATA
    assert query(server, "nope.example.test").returncode == 3           # NXDOMAIN
    assert query(server, "www.other.test").returncode == 6              # REFUSED
    res = query(server, "chain.example.test", "--short")
    assert res.returncode == 0
    assert res.stdout == "alias.example.test.\nwww.example.test.\n192.0.2.10\n"


def test_query_json_is_rfc8427(server):
    res = query(server, "chain.example.test", "--json")
    assert res.returncode == 0, res
    doc = json.loads(res.stdout)
    assert doc["QR"] == 1 and doc["AA"] == 1 and doc["RCODE"] == 0 and doc["TC"] == 0
    assert doc["QNAME"] == "chain.example.test." and doc["QTYPE"] == 1
    assert doc["QTYPEname"] == "A" and doc["ANCOUNT"] == 3
    chain = [(r["NAME"], r["TYPEname"], r.get("rdataCNAME") or r.get("rdataA"))
             for r in doc["answerRRs"]]
    assert chain == [("chain.example.test.", "CNAME", "alias.example.test."),
                     ("alias.example.test.", "CNAME", "www.example.test."),
                     ("www.example.test.", "A", "192.0.2.10")]
    assert doc["answerRRs"][2]["RDATAHEX"] == "C000020A" and doc["answerRRs"][2]["TTL"] == 600
    res = query(server, "nope.example.test", "--json")
    doc = json.loads(res.stdout)
    assert doc["RCODE"] == 3 and doc["authorityRRs"][0]["TYPEname"] == "SOA"


def test_query_reverse(server):
    res = run([SOCKIT, "dns", "query", "-x", "192.0.2.77", f"@127.0.0.1:{server}", "--short"])
    assert res.returncode == 0, res
    assert res.stdout == "lab1.hosts.test.\n"
    res = run([SOCKIT, "dns", "query", "-x", "2001:db8::77", "-p", str(server), "@127.0.0.1",
               "--short"])
    assert res.stdout == "lab1.hosts.test.\n"
    assert run([SOCKIT, "dns", "query", "-x", "nope", "@127.0.0.1"]).returncode == 2


def test_query_trace_shows_calls_and_named_header_fields(server):
    res = query(server, "www.example.test", "--trace")
    assert res.returncode == 0, res
    assert re.search(r"^socket\(AF_INET, SOCK_DGRAM\) = \d+$", res.stderr, re.M)
    assert re.search(r"^sendto\(\d+, \d+, 127\.0\.0\.1:\d+\)$", res.stderr, re.M)
    assert re.search(r"^query to 127\.0\.0\.1#\d+ \(UDP\), \d+ bytes:$", res.stderr, re.M)
    assert re.search(r"^  0000  [0-9a-f]{2} [0-9a-f]{2} 01 00 00 01 00 00", res.stderr, re.M)
    assert re.search(r"header: id \d+ \(0x[0-9a-f]{4}\); flags 0x8500 = qr 1, opcode QUERY, "
                     r"aa 1, tc 0, rd 1, ra 0, z 0, ad 0, cd 0, rcode NOERROR", res.stderr)
    assert "counts: qdcount 1, ancount 1, nscount 0, arcount 1" in res.stderr


def test_query_usage_errors():
    for args, msg in [(["www.x", "BOGUS"], "'BOGUS': not a record type"),
                      (["a..b"], "'a..b': not a domain name"),
                      ([], "expected NAME [TYPE], -x ADDRESS or -f FILE"),
                      (["x", "--short", "--json"], "--short and --json exclude each other"),
                      (["x", "--timeout", "abc"], "--timeout 'abc': not a number of seconds"),
                      (["x", "--inflight", "0"], "--inflight 0"),
                      (["@127.0.0.1:99999", "x"], "port '99999': not a port number")]:
        res = run([SOCKIT, "dns", "query", *args])
        assert res.returncode == 2, (args, res)
        assert msg in res.stderr, (args, res.stderr)


def test_query_network_error_is_4():
    port = free_port()
    res = run([SOCKIT, "dns", "query", f"@127.0.0.1:{port}", "x.test", "--timeout", "2"])
    assert res.returncode == 4, res
    assert "connection refused" in res.stderr
    res = run([SOCKIT, "dns", "query", f"@127.0.0.1:{port}", "x.test", "--tcp"])
    assert res.returncode == 4, res


# --- faults --------------------------------------------------------------------------

def test_fault_truncate_makes_the_client_retry_over_tcp(procs, zonefiles):
    _, port = serve(procs, zonefiles, "--truncate")
    res = query(port, "www.example.test", "-v")
    assert res.returncode == 0, res
    assert "SERVER: 127.0.0.1#%d (TCP)" % port in res.stdout
    assert "truncated (TC): asking again over TCP" in res.stderr
    status, flags, answer, _ = dig(port, "www.example.test", "A", "+ignore")
    assert "tc" in flags and answer == []


def test_fault_delay_retry_then_answer_and_timeout(procs, zonefiles):
    _, port = serve(procs, zonefiles, "--delay", "300")
    # each try waits 100 ms; the first try's answer comes while a later try flies
    res = query(port, "www.example.test", "--timeout", "0.1", "--retries", "9", "-v", "--short")
    assert res.returncode == 0, res
    assert res.stdout == "192.0.2.10\n"
    assert "asking again" in res.stderr
    res = query(port, "www.example.test", "--timeout", "0.1", "--retries", "1")
    assert res.returncode == 5, res
    assert res.stderr == (f"sockit: dns query: www.example.test. A: no response from "
                          f"127.0.0.1#{port} within 100 ms (2 tries)\n")


def test_fault_servfail_and_drop(procs, zonefiles):
    _, port = serve(procs, zonefiles, "--servfail", "www.example.test")
    assert query(port, "www.example.test").returncode == 6
    assert query(port, "mail.example.test", "MX").returncode == 0
    status, *_ = dig(port, "www.example.test", "A")
    assert status == "SERVFAIL"
    _, port = serve(procs, zonefiles, "--drop", "100")
    res = query(port, "www.example.test", "--timeout", "0.2", "--retries", "1")
    assert res.returncode == 5, res
    _, port = serve(procs, zonefiles, "--drop", "50")
    res = query(port, "www.example.test", "--timeout", "0.2", "--retries", "20")
    assert res.returncode == 0, res


# --- a hostile server ------------------------------------------------------------------

def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build_query(qid, name, qtype):
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", qtype, 1)


def question_of(q):
    """The question section's bytes of a query (up to the OPT record)."""
    at = 12
    while q[at]:
        at += 1 + q[at]
    return q[12:at + 5]


def answer(q, records=b"", ancount=None, flags=0x8180, qid=None, question=None):
    qid = struct.unpack("!H", q[:2])[0] if qid is None else qid
    question = question_of(q) if question is None else question
    n = (1 if records else 0) if ancount is None else ancount
    return struct.pack("!HHHHHH", qid, flags, 1, n, 0, 0) + question + records


A_RR = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01"


class Hostile:
    """A UDP server on loopback that answers each query with the datagrams
    respond(query) returns, in order."""

    def __init__(self, respond):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.respond = respond
        self.queries = []
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            self.queries.append(q)
            for d in self.respond(q):
                self.sock.sendto(d, peer)

    def close(self):
        self.sock.close()


@pytest.fixture
def hostile():
    made = []

    def make(respond):
        h = Hostile(respond)
        made.append(h)
        return h
    yield make
    for h in made:
        h.close()


def test_hostile_wrong_id_and_question_are_ignored_then_the_answer_taken(hostile):
    def respond(q):
        qid = struct.unpack("!H", q[:2])[0]
        wrong_q = encode_name("evil.test") + b"\x00\x01\x00\x01"
        return [answer(q, A_RR, qid=qid ^ 0x5555),           # wrong ID
                answer(q, A_RR, question=wrong_q),            # wrong question
                answer(q, A_RR)]                              # the real one
    h = hostile(respond)
    res = query(h.port, "www.example.test", "-v", "--short")
    assert res.returncode == 0, res
    assert res.stdout == "192.0.2.1\n"
    assert "ignored 1 datagram with an ID no query in flight has" in res.stderr
    assert "ignored 1 datagram whose question is not the one asked" in res.stderr


def test_hostile_0x20_case_not_echoed_is_ignored(hostile):
    def respond(q):
        return [answer(q, A_RR, question=question_of(q).lower())]
    h = hostile(respond)
    res = query(h.port, "wwwwwwwwwwwwwww.example.test", "--0x20", "--timeout", "0.3",
                "--retries", "0", "-v")
    assert res.returncode == 5, res
    assert "did not echo the name's case (--0x20)" in res.stderr


def malformed(kind, q):
    qs = question_of(q)
    if kind == "compression loop":
        # an answer whose name points at itself
        return answer(q, b"\xc0\x1e" + A_RR[2:]) if False else \
            answer(q, b"\xc0" + bytes([12 + len(qs)]) + A_RR[2:])
    if kind == "truncated packet":
        return answer(q, A_RR)[:-3]
    if kind == "bad label length byte":
        return answer(q, b"\x45abc\x00" + A_RR[2:])
    if kind == "name over 255 bytes":
        return answer(q, (b"\x3f" + b"a" * 63) * 4 + b"\x00" + A_RR[2:])
    if kind == "count larger than the packet":
        return answer(q, A_RR, ancount=7)
    if kind == "pointer forward":
        return answer(q, b"\xc0\xff" + A_RR[2:])
    if kind == "A record of 5 bytes":
        return answer(q, A_RR[:-6] + b"\x00\x05\xc0\x00\x02\x01\x01")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind,reason", [
    ("compression loop", "compression pointer loop"),
    ("truncated packet", "message ends inside a part its header counts"),
    ("bad label length byte", "bad label length byte"),
    ("name over 255 bytes", "name longer than 255 bytes"),
    ("count larger than the packet", "message ends inside a part its header counts"),
    ("pointer forward", "compression pointer loop"),
    ("A record of 5 bytes", "record data does not match its type"),
])
def test_hostile_malformed_response_is_a_clean_error_6(hostile, kind, reason):
    h = hostile(lambda q: [malformed(kind, q)])
    for fmt in ([], ["--json"]):
        res = query(h.port, "www.example.test", "--timeout", "2", *fmt, timeout=10)
        assert res.returncode == 6, (kind, res)
        assert re.fullmatch(rf"sockit: dns query: www\.example\.test\. A: malformed response from "
                            rf"127\.0\.0\.1#{h.port}: {reason}.*\n", res.stderr), res.stderr
        assert_no_sanitizer_report(res.stderr)
        if fmt:
            assert json.loads(res.stdout)["error"].startswith("malformed response")


# --- -f: many in flight, in input order -------------------------------------------------

def test_query_file_in_order_with_inflight(server, tmp_path):
    names = []
    for i in range(300):
        names.append(["www.example.test A", "nope%d.example.test" % i, "mail.example.test MX",
                      "chain.example.test", "www.example.test MX"][i % 5])
    f = tmp_path / "names"
    f.write_text("# comment\n\n" + "\n".join(names) + "\n")
    res = query(server, "-f", str(f), "--inflight", "50", "--json")
    assert res.returncode == 3, res  # the worst: NXDOMAIN
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(lines) == 300
    for want, got in zip(names, lines):
        assert got["QNAME"] == want.split()[0] + "."
    assert [x["RCODE"] for x in lines[:5]] == [0, 3, 0, 0, 0]
    # stdin, text blocks, and the same answers as one at a time
    res2 = run([SOCKIT, "dns", "query", f"@127.0.0.1:{server}", "-f", "-", "--short"])
    res2 = subprocess.run([SOCKIT, "dns", "query", f"@127.0.0.1:{server}", "-f", "-", "--short"],
                          input="mail.example.test MX\nwww.example.test\n", capture_output=True,
                          text=True, timeout=30)
    assert res2.stdout == "10 mx1.example.test.\n20 mx2.example.test.\n192.0.2.10\n"
    assert res2.returncode == 0


def test_query_file_bad_line(server, tmp_path):
    f = tmp_path / "names"
    f.write_text("www.example.test\nbad..name\n")
    res = query(server, "-f", str(f), "--short")
    assert res.returncode == 2
    assert res.stdout == "192.0.2.10\n"
    assert f"sockit: dns query: {f}:2: 'bad..name': not a domain name" in res.stderr


# --- dns query against dnsmasq, with dig as the oracle -------------------------------------

@pytest.fixture
def dnsmasq(tmp_path, procs):
    if not shutil.which("dnsmasq"):
        pytest.fail("dnsmasq is not installed (scripts/deps.sh test)")
    hosts = tmp_path / "dnsmasq.hosts"
    hosts.write_text("192.0.2.50 h1.lab.test h1\n2001:db8::50 h1.lab.test\n192.0.2.51 h2.lab.test\n")
    port = free_port()
    p = procs.spawn("dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                    f"--addn-hosts={hosts}", "--listen-address=127.0.0.1", "--bind-interfaces",
                    f"--port={port}", "--user=root", "--group=root", "--pid-file=",
                    "--local=/lab.test/", "--domain=lab.test",
                    "--mx-host=lab.test,h1.lab.test,10", "--txt-record=t.lab.test,\"a b\",c",
                    "--cname=www.lab.test,h1.lab.test", "--srv-host=_x._tcp.lab.test,h2.lab.test,80")
    deadline = time.monotonic() + WAIT
    while True:
        r = run(["dig", "@127.0.0.1", "-p", str(port), "+time=1", "+tries=1", "h1.lab.test"])
        if r.returncode == 0:
            break
        assert time.monotonic() < deadline and p.running(), p.err
        time.sleep(0.1)
    return port


@pytest.mark.parametrize("name,qtype", [
    ("h1.lab.test", "A"), ("h1.lab.test", "AAAA"), ("h2.lab.test", "AAAA"), ("www.lab.test", "A"),
    ("lab.test", "MX"), ("t.lab.test", "TXT"), ("_x._tcp.lab.test", "SRV"), ("none.lab.test", "A"),
    ("50.2.0.192.in-addr.arpa", "PTR"), ("h1", "A")])
def test_query_agrees_with_dig_against_dnsmasq(dnsmasq, name, qtype):
    d = run(["dig", "@127.0.0.1", "-p", str(dnsmasq), "+time=2", "+tries=1", name, qtype])
    s = query(dnsmasq, name, qtype)
    assert d.returncode == 0
    dp, sp = parse_text(d.stdout), parse_text(s.stdout)
    assert dp[0] == sp[0] and dp[1] == sp[1]
    assert sorted(dp[2]) == sorted(sp[2]) and sorted(dp[3]) == sorted(sp[3])
    assert s.returncode == {"NOERROR": 0 if sp[2] else 1, "NXDOMAIN": 3}.get(sp[0], 6)


def test_query_tcp_norecurse_and_ipv6(procs, zonefiles, server):
    res = query(server, "www.example.test", "--tcp", "--norecurse", "--trace")
    assert res.returncode == 0, res
    assert "SERVER: 127.0.0.1#%d (TCP)" % server in res.stdout
    assert re.search(r"^;; flags: qr aa;", res.stdout, re.M)  # no rd asked, none echoed
    assert re.search(r"^socket\(AF_INET, SOCK_STREAM\) = \d+$", res.stderr, re.M)
    assert "query to 127.0.0.1#%d (TCP)" % server in res.stderr
    p = procs.sockit("dns", "serve", "-v", "-p", "0", "-b", "::1", *zonefiles)
    port = int(p.wait_err(r"^listening on \[::1\]:(\d+)$").group(1))
    res = run([SOCKIT, "dns", "query", f"@[::1]:{port}", "www.example.test", "AAAA", "--short"])
    assert res.returncode == 0, res
    assert res.stdout == "2001:db8::10\n"
    res = run([SOCKIT, "dns", "query", "@::1", "-p", str(port), "www.example.test", "--json"])
    assert json.loads(res.stdout)["answerRRs"][0]["rdataA"] == "192.0.2.10"


def test_serve_logs_each_query_with_v(procs, zonefiles):
    p, port = serve(procs, zonefiles)
    query(port, "nope.example.test")
    p.wait_err(r"^sockit: dns serve: udp 127\.0\.0\.1:\d+: nope\.example\.test\. A: NXDOMAIN$")
    assert p.stop() == 0
    assert re.search(r"answered 1 over UDP \(0 truncated\), 0 over TCP; 0 dropped", p.err)
