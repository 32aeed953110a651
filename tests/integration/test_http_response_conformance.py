"""The HTTP/1.1 response parser against an independent corpus: llhttp's
response tests, converted to JSON in tests/data/conformance (see its README
for the source, the commit and the MIT licence notice).

Every case is parsed whole and split at every byte (tests/tools/
http_response_dump does the splitting, and reads the bytes as sockit's
client does: 1xx interim, the connection's end after a response that closes
it). The 55 cases without a policy caveat must agree with the corpus on the
verdict and, for each complete response, on status, reason, version,
headers, body and keep-alive. An `ok` case is read as the corpus says it
holds: with the connection closed after its bytes; an `incomplete` one both
ways (still waiting with the connection open; truncated, an error, once it
closes). The 22 caveated cases are where llhttp's policy and sockit's differ
or may differ; the responses section of docs/http-conformance.md records what
sockit does with each and why, and test_caveated_case_matches_the_record
keeps that record true.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, SOCKIT

CORPUS = ROOT / "tests" / "data" / "conformance" / "http1-responses.json"
DUMP = Path(SOCKIT).parent / "tests" / "http_response_dump"
RECORD = ROOT / "docs" / "http-conformance.md"

CASES = json.loads(CORPUS.read_text()) if CORPUS.exists() else []


def policy_caveats(case):
    return [c for c in case.get("caveats", []) if not c.startswith("pause-harness")]


PLAIN = [c for c in CASES if not policy_caveats(c)]
CAVEATED = [c for c in CASES if policy_caveats(c)]


def parse(case, eof):
    args = [str(DUMP)] + (["--eof"] if eof else [])
    if case.get("request_method") == "HEAD":
        args.append("--head")
    out = subprocess.run(args, input=case["raw"].encode("latin-1"), capture_output=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.decode("latin-1"))
    assert got["splits_agree"], f"split at byte {got['bad_split']} parses differently"
    return got


def test_corpus_is_present_and_complete():
    assert CORPUS.exists(), f"{CORPUS} is missing: the conformance corpus lives in tests/data"
    assert len(CASES) == 77 and len(PLAIN) == 55 and len(CAVEATED) == 22


@pytest.mark.parametrize("case", PLAIN, ids=[c["id"] for c in PLAIN])
def test_uncaveated_case_agrees(case):
    expect = case["expect"]
    if expect == "incomplete":
        assert parse(case, eof=False)["verdict"] == "incomplete"
        # Closed there, the response is cut short: never used as complete.
        assert case["eof"] == "unsafe"
        got = parse(case, eof=True)
        assert got["verdict"] == "error", got
    else:
        got = parse(case, eof=expect == "ok")
        assert got["verdict"] == expect, (got, case.get("error"))
    for want, have in zip([m for m in case["messages"] if m.get("complete")], got["messages"]):
        assert have["status"] == want["status"]
        assert have["reason"] == want["reason"]
        assert have["version"] == want["version"]
        assert have["headers"] == want["headers"]
        assert have["body"] == want["body"]
        assert have["framing"] == want["framing"]
        if "keep_alive" in want:
            assert have["keep_alive"] == want["keep_alive"]


def recorded_verdicts():
    """{case id: verdict} from the responses table of docs/http-conformance.md,
    whose ids carry a `responses/` prefix (the request corpus reuses ids)."""
    rows = re.findall(r"^\| `responses/([^`]+)` \| (ok|error|incomplete|upgrade) \| "
                      r"(ok|error|incomplete) \|", RECORD.read_text(), flags=re.M)
    return {case_id: ours for case_id, _theirs, ours in rows}


@pytest.mark.parametrize("case", CAVEATED, ids=[c["id"] for c in CAVEATED])
def test_caveated_case_matches_the_record(case):
    got = parse(case, eof=case.get("eof") in ("safe", "safe_with_cb"))
    record = recorded_verdicts()
    assert case["id"] in record, f"{case['id']} is not in docs/http-conformance.md"
    assert got["verdict"] == record[case["id"]], got
