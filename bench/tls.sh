#!/bin/sh
# sockit tcp connect --tls -> tcp listen --tls next to socat OPENSSL: and
# ncat --ssl: bulk MiB/s, one run on loopback, pinned to separate cores;
# prints the cipher each agreed on, medians and ratios.
#   sh bench/tls.sh [path/to/sockit]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sockit=${1:-$here/../build/sockit}
/usr/bin/python3 "$here/tls_bench.py" "$sockit"
