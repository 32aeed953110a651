#!/bin/sh
# sockit udp next to its peers (socat, ncat, OpenBSD nc),
# one run on loopback, pinned to separate cores; prints medians and ratios.
#   sh bench/udp.sh [path/to/sockit]
# BENCH_SOCKIT_BEFORE=/path/to/old/sockit adds the old binary to the same run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sockit=${1:-$here/../build/sockit}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/loadgen" "$here/loadgen.c"
/usr/bin/python3 "$here/net_bench.py" udp "$sockit" "$tmp/loadgen"
