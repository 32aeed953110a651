#!/bin/sh
# sockit http get next to curl and wget, against nginx (sendfile) on
# loopback: 1 GiB to /dev/null and to a file, 2,000 small GETs in one
# invocation (one kept-alive connection), one small GET from start to
# exit (median of 50), and 1 GiB over https:// (TLS 1.3, a P-256
# certificate made for the run). nginx is pinned to CPU 1, the clients to CPU 0; the
# tools run in turn, their order alternating between rounds; figures are
# medians with their ratio to curl, and the issue's targets are checked.
#   sh bench/http_client.sh [/abs/path/to/sockit]
# BENCH_ROUNDS (5), BENCH_BIG_MIB (1024), BENCH_SMALL_GETS (2000).
# About 6 minutes at the defaults. Details: bench/http_client_bench.py.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sockit=${1:-$here/../build/sockit}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sockit-bench-http-client.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
/usr/bin/python3 "$here/http_client_bench.py" "$sockit" "$tmp"
