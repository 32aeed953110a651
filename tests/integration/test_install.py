"""`make install` and `make uninstall` into a DESTDIR: the binary, library,
headers, man page and sockit.pc land where PREFIX says, a program builds
against them through pkg-config, and uninstall removes every file."""
import os
import subprocess
from pathlib import Path

from conftest import ROOT, SOCKIT

PROGRAM = r"""
#include <sockit/sockit.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	struct sk_ip_cidr c;
	if (sk_ip_parse_cidr("172.16.10.1/24", 14, &c, NULL) != 0)
		return 1;
	struct sk_ip net = sk_ip_network(&c.addr, c.prefix);
	char text[SK_IP_STRLEN];
	sk_ip_format(&net, SK_IP_CANONICAL, text);
	printf("%s %s\n", text, sk_version());
	return strcmp(sk_version(), SOCKIT_VERSION) != 0;
}
"""


def make(*args, **kw):
    build = str(Path(SOCKIT).parent)
    return subprocess.run(["make", "-s", "-C", str(ROOT), f"BUILD={build}", *args],
                          capture_output=True, text=True, timeout=300, **kw)


def test_install_and_uninstall_into_destdir(tmp_path):
    stage = tmp_path / "stage"
    res = make("install", f"DESTDIR={stage}", "PREFIX=/opt/sk")
    assert res.returncode == 0, res.stderr
    prefix = stage / "opt" / "sk"
    for rel in ["bin/sockit", "lib/libsockit.a", "include/sockit/sockit.h",
                "include/sockit/ip.h", "share/man/man1/sockit.1", "lib/pkgconfig/sockit.pc"]:
        assert (prefix / rel).is_file(), rel
    assert os.access(prefix / "bin" / "sockit", os.X_OK)
    pc = (prefix / "lib" / "pkgconfig" / "sockit.pc").read_text()
    assert "prefix=/opt/sk" in pc and "@" not in pc

    # A program finds the library and headers through pkg-config.
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(stage))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "sockit"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    src = tmp_path / "prog.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "prog"
    cc = subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", str(src), "-o", str(exe), *flags],
                        capture_output=True, text=True)
    if "asan" in SOCKIT:  # the sanitized library needs its runtime
        cc = subprocess.run(["cc", "-std=c11", "-fsanitize=address,undefined", str(src), "-o",
                             str(exe), *flags], capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith("172.16.10.0 "), out

    res = make("uninstall", f"DESTDIR={stage}", "PREFIX=/opt/sk")
    assert res.returncode == 0, res.stderr
    left = [p for p in stage.rglob("*") if p.is_file()]
    assert left == [], left
