#!/bin/sh
# sockit http serve next to nginx (plain and with open_file_cache), h2o,
# lighttpd and python3 -m http.server: one run on loopback, the server pinned
# to CPU 0 and wrk -t1 to CPU 1, 1 KiB / 64 KiB / 10 MiB files at 64
# connections plus 1 KiB at 256 and 1, and 10 MiB once more read by
# bench/loadgen.c (256 KiB per read, where wrk's 8 KiB reads make wrk the
# limit); prints medians, ratios and the targets.
#   sh bench/http.sh [/abs/path/to/sockit]
# BENCH_SECS (10) per point, BENCH_ROUNDS (3); quick try: BENCH_SECS=2 BENCH_ROUNDS=1.
# About 21 minutes at the defaults. Details: bench/http_bench.py.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sockit=${1:-$here/../build/sockit}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sockit-bench-http.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cc -O2 -o "$tmp/loadgen" "$here/loadgen.c"
/usr/bin/python3 "$here/http_bench.py" "$sockit" "$tmp" "$tmp/loadgen"
