#!/bin/sh
# Makes sure the Debian packages a make target needs are installed.
#   scripts/deps.sh build|test|asan|valgrind|bench|fuzz|browser ...
# As root it installs what is missing with apt-get; otherwise it prints the
# exact command to run and fails, so a build never half-works.
set -eu

pkgs_for() {
	case "$1" in
	build) echo "gcc make libc6-dev pkg-config liburing-dev libssl-dev zlib1g-dev" ;;
	test) echo "gcc make libc6-dev libcmocka-dev python3 python3-pytest netbase groff-base man-db socat ncat netcat-openbsd iproute2 procps strace bind9-dnsutils knot-dnsutils dnsmasq-base util-linux mount iputils-ping iputils-arping nmap openssl" ;;
	asan) pkgs_for test ;;
	valgrind) echo "valgrind libcmocka-dev" ;;
	bench) echo "python3 util-linux socat ncat netcat-openbsd iperf3 nginx h2o lighttpd wrk dnsperf dnsmasq-base knot-dnsutils bind9-dnsutils fping nmap openssl" ;;
	fuzz) echo "clang libclang-rt-14-dev" ;;
	# The browser tests (tests/browser): Chromium, fonts for its screenshot,
	# certutil for the NSS database in which the HTTPS run trusts its test
	# CA, and Node.js with npm unless the machine has its own (Debian's nodejs
	# conflicts with an installed upstream one, which bundles npm).
	browser) echo "chromium fonts-liberation libnss3-tools"; command -v npm >/dev/null || echo "nodejs npm" ;;
	*) echo "scripts/deps.sh: unknown group '$1'" >&2; exit 2 ;;
	esac
}

want=""
for group in "$@"; do
	want="$want $(pkgs_for "$group")"
done

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "sockit: missing Debian packages:$missing" >&2
	echo "sockit: run: sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
# make -j runs several groups at once: one installs at a time (apt-get
# would fail on dpkg's lock), and the next re-checks what is still missing.
if [ -z "${SOCKIT_DEPS_LOCKED:-}" ] && command -v flock >/dev/null; then
	export SOCKIT_DEPS_LOCKED=1
	exec flock "${TMPDIR:-/tmp}/sockit-deps.lock" "$0" "$@"
fi
echo "sockit: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them once when needed.
if ! $cmd >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	$cmd >/dev/null
fi
