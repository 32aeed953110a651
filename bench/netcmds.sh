#!/bin/sh
# sockit scan and ping next to their peers (nmap -sT, nc -z, fping -g), in
# network namespaces of their own so that no other program's ports or
# traffic count; prints medians and ratios. Needs root (ip netns).
#   sh bench/netcmds.sh [path/to/sockit]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sockit=${1:-$here/../build/sockit}
exec /usr/bin/python3 "$here/netcmds_bench.py" "$sockit"
