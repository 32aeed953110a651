"""Differential test: `sockit ip --json` against Python's ipaddress module.

More than 100,000 seeded inputs (random IPv4 and IPv6 in every textual shape,
the borders of every special range ipaddress knows, and invalid or mutated
strings) go through one `sockit ip --json -` batch run; each JSON record must
agree with ipaddress.ip_interface() of the same string, field by field, by
the rules in ipdiff_gen.compare(). The oracle is Debian's /usr/bin/python3
(3.11.2 with the 2024 is_private/is_global backport): another interpreter
answers some special-range questions differently, so the test refuses to run
under one (it fails, it does not skip).

Run: SOCKIT=build/sockit /usr/bin/python3 -m pytest -s tests/integration/test_ip_differential.py
"""
import ipaddress
import json
import os
import sys
import time

from conftest import SOCKIT, run_sockit

import ipdiff_gen as gen

SEED = 20261122
N_INPUTS = 100_000
SHOW = 20  # disagreements listed in a failure message


def require_debian_python():
    exe = os.path.realpath(sys.executable)
    assert exe == os.path.realpath("/usr/bin/python3"), (
        f"the ipaddress oracle must be Debian's /usr/bin/python3, not {sys.executable} ({exe}); "
        "run: /usr/bin/python3 -m pytest ...")
    assert sys.version_info[:3] == (3, 11, 2), f"expected Python 3.11.2, got {sys.version}"
    # The 2024 fix (gh-113171 backport): exception list, and IPv4-mapped
    # addresses judged by their IPv4 address.
    assert hasattr(ipaddress._IPv4Constants, "_private_networks_exceptions"), \
        "this ipaddress lacks the 2024 is_private/is_global fix"
    assert ipaddress.ip_address("::ffff:8.8.8.8").is_global, \
        "this ipaddress lacks the IPv4-mapped is_global fix"
    assert not ipaddress.ip_address("192.0.0.9").is_private


def run_batch(inputs):
    """One `sockit ip --json -` run over inputs; returns (records, status, stderr)."""
    data = "".join(s + "\n" for s in inputs).encode("utf-8")
    res = run_sockit("ip", "--json", "-", input=data, binary=True, timeout=120)
    out = res.out.decode("utf-8", errors="surrogateescape")
    lines = out.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            records.append(("unparseable JSON", line))
    return records, res.status, res.err.decode("utf-8", errors="replace")


def batch_view(s):
    """What batch mode makes of the line s: spaces and tabs around it do not
    count; None for a line it skips (blank, or a # comment)."""
    t = s.strip(" \t")
    return None if t == "" or t.startswith("#") else t


def differential(inputs):
    """Runs inputs through sockit and Python; returns a summary dict."""
    t0 = time.monotonic()
    records, status, err = run_batch(inputs)
    t_sockit = time.monotonic() - t0
    # Python judges each line as batch mode reads it; skipped lines have no record.
    inputs = [t for t in map(batch_view, inputs) if t is not None]

    problems = []  # (input, field, sockit, python)
    agreed = n_valid = n_invalid = 0
    for i, s in enumerate(inputs):
        iface = gen.python_interface(s)
        if iface is None:
            n_invalid += 1
        else:
            n_valid += 1
        rec = records[i] if i < len(records) else "<no record: output too short>"
        diffs = gen.compare(s, iface, rec)
        if diffs:
            problems.extend((s, f, got, want) for f, got, want in diffs)
        else:
            agreed += 1

    if len(records) != len(inputs):
        problems.append(("<batch>", "record count", len(records), len(inputs)))
    want_status = 1 if n_invalid else 0
    if status != want_status:
        problems.append(("<batch>", "exit status", status, want_status))
    if err:
        problems.append(("<batch>", "stderr", err[:300], ""))
    return {
        "total": len(inputs), "agreed": agreed, "valid": n_valid, "invalid": n_invalid,
        "problems": problems, "t_sockit": t_sockit, "t_total": time.monotonic() - t0,
    }


def summary_text(name, r):
    text = (f"{name}: {r['agreed']} of {r['total']} inputs agreed "
            f"({r['valid']} valid, {r['invalid']} invalid per Python); "
            f"{len(r['problems'])} disagreements; sockit {r['t_sockit']:.2f}s, "
            f"total {r['t_total']:.2f}s")
    if r["problems"]:
        text += "\nfirst disagreements (input -> field: sockit vs python):"
        for s, field, got, want in r["problems"][:SHOW]:
            text += f"\n  {s!r} -> {field}: {got!r} vs {want!r}"
    return text


def check(name, inputs):
    r = differential(inputs)
    text = summary_text(name, r)
    print("\n" + text)
    assert not r["problems"] and r["agreed"] == r["total"], text
    return r


def hosts_by_python(iface):
    hosts = list(iface.network.hosts())
    return int(hosts[0]), int(hosts[-1]), len(hosts)


def test_interpreter_is_debian_python():
    require_debian_python()
    assert os.path.exists(SOCKIT), f"no sockit binary at {SOCKIT}"


def test_hosts_formula_matches_python():
    """The oracle's first/last host and host count come from a formula (big
    networks cannot be listed); check it against list(hosts()) wherever
    listing is cheap."""
    require_debian_python()
    bases = ["0.0.0.0", "10.1.2.3", "192.0.0.170", "255.255.255.255", "127.0.0.1",
             "::", "::1", "fe80::1", "2001:db8::abcd", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
             "::ffff:1.2.3.4"]
    checked = 0
    for base in bases:
        bits = 32 if ":" not in base else 128
        for p in range(bits - 12, bits + 1):
            iface = ipaddress.ip_interface(f"{base}/{p}")
            assert gen.host_bounds(iface) == hosts_by_python(iface), f"{base}/{p}"
            checked += 1
    assert checked > 100


def test_fixed_cases_agree():
    """The hand-picked valid and invalid forms and every special-range border,
    alone: a small run whose failures are easy to read."""
    require_debian_python()
    fixed = gen.FIXED_VALID + gen.FIXED_INVALID + gen.edge_cases(gen.special_networks())
    inputs = [s for s in fixed if gen.acceptable(s)]
    # The fixed invalid list must really be invalid, and the valid one valid.
    wrongly_valid = [s for s in gen.FIXED_INVALID if gen.python_interface(s) is not None]
    wrongly_invalid = [s for s in gen.FIXED_VALID if gen.python_interface(s) is None]
    assert not wrongly_valid and not wrongly_invalid, (wrongly_valid, wrongly_invalid)
    check("fixed cases", inputs)


def test_differential_100k():
    require_debian_python()
    t0 = time.monotonic()
    inputs = gen.generate(N_INPUTS, SEED)
    t_gen = time.monotonic() - t0
    assert len(inputs) >= 100_000
    assert all("\n" not in s and not s.endswith("\r") for s in inputs)

    # Self-check of the oracle's hosts() formula on the small networks drawn.
    verified = 0
    for s in inputs:
        iface = gen.python_interface(s)
        if iface is None:
            continue
        small = iface.network.prefixlen >= (24 if iface.version == 4 else 120)
        if small and verified < 3000:
            assert gen.host_bounds(iface) == hosts_by_python(iface), s
            verified += 1
    assert verified >= 1000

    r = check(f"differential (seed {SEED}, generated in {t_gen:.2f}s, "
              f"{verified} hosts() checks)", inputs)
    # The mix the issue asks for: plenty of both kinds.
    assert r["valid"] >= 70_000 and r["invalid"] >= 10_000, summary_text("mix", r)
