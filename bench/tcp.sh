#!/bin/sh
# sockit tcp next to its peers (socat, ncat, OpenBSD nc, iperf3 as the ceiling),
# one run on loopback, pinned to separate cores; prints medians and ratios.
#   sh bench/tcp.sh [path/to/sockit]
# BENCH_SOCKIT_BEFORE=/path/to/old/sockit adds the old binary to the same run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sockit=${1:-$here/../build/sockit}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/loadgen" "$here/loadgen.c"
/usr/bin/python3 "$here/net_bench.py" tcp "$sockit" "$tmp/loadgen"
