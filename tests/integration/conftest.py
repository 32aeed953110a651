"""Shared fixtures for the integration tests: they drive the real binary.

The binary is $SOCKIT (the Makefile sets it to the build under test, plain or
sanitized), else build/sockit in the repository.
"""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOCKIT = os.environ.get("SOCKIT", str(ROOT / "build" / "sockit"))

# Every child gets a deadline: a hung process fails its test instead of CI.
DEFAULT_TIMEOUT = 60


class Result:
    def __init__(self, proc):
        self.status = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return f"Result(status={self.status}, out={self.out[:300]!r}, err={self.err[:300]!r})"


def run_sockit(*args, input=None, timeout=DEFAULT_TIMEOUT, binary=False, env=None):
    """Runs sockit with args; input is str (or bytes with binary=True)."""
    if input is None:
        stdin = subprocess.DEVNULL
    else:
        stdin = None
    proc = subprocess.run(
        [SOCKIT, *args],
        input=input,
        stdin=stdin,
        capture_output=True,
        timeout=timeout,
        text=not binary,
        env=env,
    )
    return Result(proc)


@pytest.fixture
def sockit():
    return run_sockit
