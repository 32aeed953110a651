"""`sockit http serve` in a real browser: tests/browser/listing.spec.mjs
drives Debian's Chromium through playwright-core (list, upload through the
form, download, delete) and saves a screenshot of the listing to
build/artifacts/listing.png ($SOCKIT_ARTIFACTS overrides the folder).
The same over HTTPS (`http serve --tls`), with a test CA made here and
trusted in an NSS database (certutil) that Chromium reads from its HOME,
as a user's would be: listing-https.png.

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
from tlsutil import Pki

BROWSER_DIR = ROOT / "tests" / "browser"
SPEC = BROWSER_DIR / "listing.spec.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = (ROOT / os.environ.get("SOCKIT_ARTIFACTS", "build/artifacts")).resolve()

# The script gives itself 30 s; this is the backstop if node itself hangs.
TIMEOUT = 60
DEPS_HINT = "run `make deps-browser` (scripts/deps.sh browser, then npm ci in tests/browser)"


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def nss_homes(pki, d):
    """d/home, whose NSS database trusts pki's CA for TLS servers, and
    d/bare, whose database is empty."""
    certutil = shutil.which("certutil")
    if not certutil:
        pytest.fail(f"certutil is missing: {DEPS_HINT}")
    for name in ("home", "bare"):
        db = d / name / ".pki" / "nssdb"
        db.mkdir(parents=True)
        subprocess.run([certutil, "-d", f"sql:{db}", "-N", "--empty-password"], check=True,
                       capture_output=True, timeout=30)
    subprocess.run([certutil, "-d", f"sql:{d / 'home' / '.pki' / 'nssdb'}", "-A", "-t", "C,,",
                    "-n", "sockit test CA", "-i", pki.path("ca.pem")], check=True,
                   capture_output=True, timeout=30)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_listing_in_chromium(scheme, tmp_path):
    node = shutil.which("node")
    if not node:
        pytest.fail(f"node is not on PATH: {DEPS_HINT}")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: {DEPS_HINT}")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.fail(f"tests/browser/node_modules/playwright-core is missing: {DEPS_HINT}")
    screenshot = ARTIFACTS / ("listing-https.png" if scheme == "https" else "listing.png")
    screenshot.unlink(missing_ok=True)

    env = dict(os.environ, SOCKIT=str(Path(SOCKIT).resolve()), SOCKIT_ARTIFACTS=str(ARTIFACTS))
    steps = 4
    if scheme == "https":
        pki = Pki(tmp_path)
        pki.ca("ca", "sockit test CA")
        pki.cert("server", "localhost", "DNS:localhost,IP:127.0.0.1")
        nss_homes(pki, tmp_path)
        env["SOCKIT_TLS_DIR"] = str(tmp_path)
        # The spec's request API (a second download) runs in node, not in
        # Chromium: node trusts the CA through this, read as it starts.
        env["NODE_EXTRA_CA_CERTS"] = pki.path("ca.pem")
        steps = 5  # and a browser without the CA refuses the certificate
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
    assert "# fail 0" in out and f"# pass {steps}" in out, out

    assert screenshot.is_file(), f"no screenshot at {screenshot}:\n{out}"
    head = screenshot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{screenshot} is not a PNG: {head!r}"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width >= 300 and height >= 200, f"screenshot is {width}x{height}"
