"""`sockit resolve` (getaddrinfo, getnameinfo) and `sockit dns query`'s
default server, in a private mount and network namespace: /etc/hosts,
/etc/resolv.conf and /etc/nsswitch.conf are bind-mounted files of the test,
and the only DNS server is `sockit dns serve` on the namespace's own
loopback. Nothing leaves the machine, nor even the namespace."""
import json
import shutil
import subprocess

import pytest

from conftest import SOCKIT
from netutil import assert_no_sanitizer_report

HOSTS = """\
127.0.0.1   localhost
::1         localhost ip6-localhost
10.1.2.3    lab1.test lab1
2001:db8::3 lab1.test
10.1.2.4    v4only.test
"""

# The whole of test. is served, so names under it that the zone lacks are
# NXDOMAIN (the hosts file's too, when looked up for a family they lack).
ZONE = """\
$ORIGIN test.
$TTL 300
@ SOA ns h 1 3600 900 604800 60
ns A 127.0.0.1
www.example A 192.0.2.10
www.example AAAA 2001:db8::10
v6only.example AAAA 2001:db8::66
alias.example CNAME www.example
"""

SCRIPT = r"""
set -u
T="$1"; S="$2"
ip link set lo up
ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
mount --bind "$T/hosts" /etc/hosts
mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf
mount --bind "$T/resolv.conf" /etc/resolv.conf
"$S" dns serve -v -p 53 -b 127.0.0.1 "$T/zone" 2>"$T/serve.err" &
SERVE=$!
"$S" dns serve -v -p 53 -b 127.0.0.2 --drop 100 "$T/zone" 2>"$T/slow.err" &
SLOW=$!
for i in $(seq 100); do
    grep -q "listening on" "$T/serve.err" && grep -q "listening on" "$T/slow.err" && break
    sleep 0.05
done
run() { name=$1; shift; "$@" >"$T/$name.out" 2>"$T/$name.err"; echo $? >"$T/$name.rc"; }
run hosts_name     "$S" resolve lab1.test
run hosts_json     "$S" resolve --json lab1 localhost
run hosts_v6       "$S" resolve -6 lab1.test
run hosts_no_v6    "$S" resolve -6 v4only.test
run localhost      "$S" resolve localhost ::1 127.0.0.1
run dns_name       "$S" resolve www.example.test
run dns_cname      "$S" resolve --json alias.example.test
run dns_no_v4      "$S" resolve -4 v6only.example.test
run dns_nxdomain   "$S" resolve nope.example.test
run addr_hosts     "$S" resolve 10.1.2.3
run mixed          "$S" resolve lab1 nope.example.test
run query_default  "$S" dns query www.example.test --short
mount --bind "$T/resolv.slow" /etc/resolv.conf
run timeout        "$S" resolve slow.example.test
run query_timeout  "$S" dns query www.example.test --timeout 0.2 --retries 0
kill $SERVE $SLOW
wait
"""


@pytest.fixture
def ns(tmp_path):
    if not shutil.which("unshare"):
        pytest.fail("unshare (util-linux) is not installed")
    (tmp_path / "hosts").write_text(HOSTS)
    (tmp_path / "zone").write_text(ZONE)
    (tmp_path / "nsswitch.conf").write_text("hosts: files dns\n")
    (tmp_path / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    (tmp_path / "resolv.slow").write_text("nameserver 127.0.0.2\noptions timeout:1 attempts:1\n")
    script = tmp_path / "run.sh"
    script.write_text(SCRIPT)
    res = subprocess.run(["unshare", "-mn", "sh", str(script), str(tmp_path), SOCKIT],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res

    class Results:
        def __getitem__(self, name):
            rc = int((tmp_path / f"{name}.rc").read_text())
            out = (tmp_path / f"{name}.out").read_text()
            err = (tmp_path / f"{name}.err").read_text()
            assert_no_sanitizer_report(err)
            return rc, out, err
    for name in ("serve.err", "slow.err"):
        assert_no_sanitizer_report((tmp_path / name).read_text())
    return Results()


def test_resolve_in_a_private_namespace(ns):
    rc, out, err = ns["hosts_name"]
    assert rc == 0 and err == ""
    assert out.splitlines()[0] == "lab1.test: canonical name lab1.test"
    assert "  10.1.2.3  IPv4" in out.splitlines() and "  2001:db8::3  IPv6" in out.splitlines()

    rc, out, _ = ns["hosts_json"]
    docs = [json.loads(line) for line in out.splitlines()]
    assert docs[0]["input"] == "lab1" and docs[0]["canonical"] == "lab1.test"
    # the alias is on the IPv4 line only, as getent ahosts lab1 shows
    assert {a["address"] for a in docs[0]["addresses"]} == {"10.1.2.3"}
    assert {a["address"] for a in docs[1]["addresses"]} >= {"127.0.0.1"}

    rc, out, _ = ns["hosts_v6"]
    assert rc == 0 and "10.1.2.3" not in out and "2001:db8::3" in out

    rc, out, err = ns["hosts_no_v6"]
    assert rc == 1 and out == ""
    assert err == "sockit: resolve: 'v4only.test': no IPv6 address (the name has IPv4 ones)\n"

    rc, out, _ = ns["localhost"]
    assert rc == 0
    assert "  127.0.0.1  IPv4" in out.splitlines()
    assert "::1: localhost" in out.splitlines() and "127.0.0.1: localhost" in out.splitlines()


def test_resolve_through_dns_and_its_statuses(ns):
    rc, out, _ = ns["dns_name"]
    assert rc == 0
    assert "  192.0.2.10  IPv4" in out.splitlines() and "  2001:db8::10  IPv6" in out.splitlines()

    rc, out, _ = ns["dns_cname"]
    doc = json.loads(out)
    assert rc == 0 and doc["canonical"] == "www.example.test"

    rc, _, err = ns["dns_no_v4"]
    assert rc == 1 and "no IPv4 address (the name has IPv6 ones)" in err

    rc, out, err = ns["dns_nxdomain"]
    assert rc == 3 and out == ""
    assert err == "sockit: resolve: 'nope.example.test': no such name\n"

    rc, out, _ = ns["addr_hosts"]
    assert rc == 0 and out == "10.1.2.3: lab1.test\n"

    rc, out, _ = ns["mixed"]
    assert rc == 3 and out.startswith("lab1: canonical name lab1.test\n")

    rc, _, err = ns["timeout"]
    assert rc == 5, err
    assert err == ("sockit: resolve: 'slow.example.test': the resolver did not answer in time "
                   "(temporary failure)\n")


def test_dns_query_defaults_to_resolv_conf(ns):
    rc, out, err = ns["query_default"]
    assert rc == 0, err
    assert out == "192.0.2.10\n"
    rc, out, err = ns["query_timeout"]
    assert rc == 5
    assert err == ("sockit: dns query: www.example.test. A: no response from 127.0.0.2#53 "
                   "within 200 ms (1 try)\n")


def test_resolve_usage(sockit):
    res = sockit("resolve")
    assert res.status == 2 and "expected a NAME or an ADDRESS" in res.err
    res = sockit("resolve", "--bogus")
    assert res.status == 2 and "unknown option '--bogus'" in res.err
