"""`sockit http serve` in a real browser: tests/browser/listing.spec.mjs
drives Debian's Chromium through playwright-core (list, upload through the
form, download, delete) and saves a screenshot of the listing to
build/artifacts/listing.png ($SOCKIT_ARTIFACTS overrides the folder).

Missing tools fail here rather than skip: `make deps-browser` (which
`make integration` runs first) installs Chromium and the node modules.
"""
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, SOCKIT

BROWSER_DIR = ROOT / "tests" / "browser"
SPEC = BROWSER_DIR / "listing.spec.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = (ROOT / os.environ.get("SOCKIT_ARTIFACTS", "build/artifacts")).resolve()
SCREENSHOT = ARTIFACTS / "listing.png"

# The script gives itself 30 s; this is the backstop if node itself hangs.
TIMEOUT = 60
DEPS_HINT = "run `make deps-browser` (scripts/deps.sh browser, then npm ci in tests/browser)"


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_listing_in_chromium():
    node = shutil.which("node")
    if not node:
        pytest.fail(f"node is not on PATH: {DEPS_HINT}")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: {DEPS_HINT}")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.fail(f"tests/browser/node_modules/playwright-core is missing: {DEPS_HINT}")
    SCREENSHOT.unlink(missing_ok=True)

    env = dict(os.environ, SOCKIT=str(Path(SOCKIT).resolve()), SOCKIT_ARTIFACTS=str(ARTIFACTS))
    # Its own session, so a timeout can end node, Chromium and sockit together.
    proc = subprocess.Popen([node, str(SPEC)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        out, _ = proc.communicate()
        pytest.fail(f"listing.spec.mjs still running after {TIMEOUT} s:\n{out}")
    finally:
        kill_group(proc.pid)  # anything it left behind (a Chromium helper)
        proc.wait()
    assert proc.returncode == 0, f"listing.spec.mjs exited {proc.returncode}:\n{out}"
    assert "# fail 0" in out and "# pass 4" in out, out

    assert SCREENSHOT.is_file(), f"no screenshot at {SCREENSHOT}:\n{out}"
    head = SCREENSHOT.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{SCREENSHOT} is not a PNG: {head!r}"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width >= 300 and height >= 200, f"screenshot is {width}x{height}"
