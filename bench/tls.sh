#!/bin/sh
# TLS, one run on loopback, server and clients pinned to separate cores,
# medians and ratios, one P-256 certificate for every tool:
#   - bulk: sockit tcp connect --tls -> tcp listen --tls next to socat
#     OPENSSL: and ncat --ssl (bench/tls_bench.py)
#   - HTTPS: sockit http serve --tls next to nginx: 1 KiB keep-alive
#     requests/s and CPU per request, full handshakes/s and CPU per
#     handshake, 10 MiB downloads (bench/https_bench.py)
#   sh bench/tls.sh [path/to/sockit]
# BENCH_TLS_PARTS ("bulk https") picks parts; BENCH_SECS, BENCH_ROUNDS as for
# bench/http.sh. About 6 minutes for HTTPS at the defaults.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sockit=${1:-$here/../build/sockit}
parts=${BENCH_TLS_PARTS:-bulk https}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sockit-bench-tls.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for part in $parts; do
	case $part in
	bulk) /usr/bin/python3 "$here/tls_bench.py" "$sockit" ;;
	https)
		cc -O2 -o "$tmp/tls_hs" "$here/tls_hs.c" -lssl -lcrypto
		/usr/bin/python3 "$here/https_bench.py" "$sockit" "$tmp" "$tmp/tls_hs" ;;
	*) echo "bench/tls.sh: unknown part '$part' (bulk, https)" >&2; exit 2 ;;
	esac
done
