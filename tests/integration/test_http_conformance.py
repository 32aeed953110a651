"""The HTTP/1.1 request parser against an independent corpus: llhttp's
request tests, converted to JSON in tests/data/conformance (see its README
for the source, the commit and the MIT licence notice).

Every case is parsed whole and split at every byte (tests/tools/
http_parse_dump does the splitting and reports whether every split gave the
whole result). The 106 cases without a policy caveat must agree with the
corpus on the verdict and, for each complete request, on method, target,
version, headers and body. The 30 caveated cases are where llhttp's policy
and sockit's differ or may differ; docs/http-conformance.md records what
sockit does with each and why, and test_caveated_cases_match_the_record
keeps that record true.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, SOCKIT

CORPUS = ROOT / "tests" / "data" / "conformance" / "http1-requests.json"
DUMP = Path(SOCKIT).parent / "tests" / "http_parse_dump"
RECORD = ROOT / "docs" / "http-conformance.md"


def load_cases():
    if not CORPUS.exists():
        return []
    return json.loads(CORPUS.read_text())


CASES = load_cases()


def policy_caveats(case):
    return [c for c in case.get("caveats", []) if not c.startswith("pause-harness")]


PLAIN = [c for c in CASES if not policy_caveats(c)]
CAVEATED = [c for c in CASES if policy_caveats(c)]


def parse(raw, eof=False):
    """The dump tool's verdict; eof: the peer closes after raw (finish.md)."""
    out = subprocess.run([str(DUMP)] + (["--eof"] if eof else []), input=raw.encode("latin-1"),
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.decode("latin-1"))


def test_corpus_is_present_and_complete():
    assert CORPUS.exists(), f"{CORPUS} is missing: the conformance corpus lives in tests/data"
    assert len(CASES) == 136 and len(PLAIN) == 106 and len(CAVEATED) == 30


@pytest.mark.parametrize("case", PLAIN, ids=[c["id"] for c in PLAIN])
def test_uncaveated_case_agrees(case):
    got = parse(case["raw"], eof="eof" in case)
    assert got["splits_agree"], f"split at byte {got['bad_split']} parses differently"
    assert got["verdict"] == case["expect"], (got, case.get("error"))
    for want, have in zip([m for m in case["messages"] if m.get("complete")], got["messages"]):
        assert have["method"] == want["method"]
        assert have["target"] == want["url"]
        assert have["version"] == want["version"]
        assert have["headers"] == want["headers"]
        assert have["body"] == want["body"]


def recorded_verdicts():
    """{case id: verdict} from the table in docs/http-conformance.md."""
    rows = re.findall(r"^\| `([^`]+)` \| (ok|error|incomplete|upgrade) \| (ok|error|incomplete) \|",
                      RECORD.read_text(), flags=re.M)
    return {case_id: ours for case_id, _theirs, ours in rows}


@pytest.mark.parametrize("case", CAVEATED, ids=[c["id"] for c in CAVEATED])
def test_caveated_cases_match_the_record(case):
    got = parse(case["raw"])
    assert got["splits_agree"], f"split at byte {got['bad_split']} parses differently"
    record = recorded_verdicts()
    assert case["id"] in record, f"{case['id']} is not in docs/http-conformance.md"
    assert got["verdict"] == record[case["id"]], got
