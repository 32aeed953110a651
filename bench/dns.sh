#!/bin/sh
# sockit dns next to its peers: dns serve vs dnsmasq under dnsperf, dns query
# -f vs kdig and dig -f, and one query start to exit vs kdig and dig; one run
# on loopback, pinned to separate cores; prints medians and ratios.
#   sh bench/dns.sh [path/to/sockit]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sockit=${1:-$here/../build/sockit}
/usr/bin/python3 "$here/dns_bench.py" "$sockit"
