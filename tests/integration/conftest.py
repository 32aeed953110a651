"""Shared fixtures for the integration tests: they drive the real binary.

The binary is $SOCKIT (the Makefile sets it to the build under test, plain or
sanitized), else build/sockit in the repository.

Fixtures: `sockit` runs it once and returns a Result; `procs` is a group of
processes and sockets (netutil.Procs) cleaned up after the test. A module
that sets IO_MODES = ["io_uring", "epoll"] runs each of its tests that use
`procs` once per I/O path of the loop (SOCKIT_IO_URING=0 is the epoll one).
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


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error")


def assert_no_sanitizer_report(err, what="sockit"):
    if isinstance(err, bytes):
        err = err.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        assert mark not in err, f"{what}: sanitizer report on stderr:\n{err}"


def run_sockit(*args, input=None, timeout=DEFAULT_TIMEOUT, binary=False, env=None):
    """Runs sockit with args; input is str (or bytes with binary=True). A
    sanitizer report on stderr (make asan) fails the test."""
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
    assert_no_sanitizer_report(proc.stderr, f"sockit {' '.join(map(str, args))}")
    return Result(proc)


@pytest.fixture
def sockit():
    return run_sockit


def pytest_generate_tests(metafunc):
    modes = getattr(metafunc.module, "IO_MODES", None)
    if modes and "io_mode" in metafunc.fixturenames:
        metafunc.parametrize("io_mode", modes, indirect=True)


@pytest.fixture
def io_mode(request):
    """The loop's I/O path ("io_uring" or "epoll") in a module with
    IO_MODES, else None (what the environment says)."""
    mode = getattr(request, "param", None)
    if mode == "io_uring" and os.environ.get("SOCKIT_IO_URING") == "0":
        pytest.skip("SOCKIT_IO_URING=0 is set: the epoll path only")
    return mode


@pytest.fixture
def procs(io_mode):
    import netutil  # it imports this module: not at the top
    env = None
    if io_mode is not None:
        env = dict(os.environ)
        if io_mode == "epoll":
            env["SOCKIT_IO_URING"] = "0"
        else:
            env.pop("SOCKIT_IO_URING", None)
    group = netutil.Procs(env=env)
    yield group
    group.cleanup()
