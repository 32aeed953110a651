#!/bin/sh
# Worst-case memory of each `sockit tcp listen` mode with its default limits
# (1100 clients against --max-conns 1024, each doing what costs most);
# the figures behind the README's table.
#   sh bench/tcp_memory.sh [path/to/sockit]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 "$here/tcp_memory.py" "${1:-$here/../build/sockit}" 1100
