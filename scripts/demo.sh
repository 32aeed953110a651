#!/bin/sh
# `make run`: the course notes' whole system — their UDP server, their TCP
# server and the HTTP file server over this directory — in one sockit
# process, after a look at the notes' subnet example. Stop it with Ctrl-C.
#
# usage: scripts/demo.sh [SOCKIT]
#   PORTS='UDP TCP HTTP' chooses the ports (default '7852 8998 8000'), for
#   when one of them is taken: make run PORTS='7853 8999 8080'
set -eu
sockit=${1:-build/sockit}
# sockit is not on PATH: show the path that works from here.
case $sockit in
/* | ./* | ../*) shown=$sockit ;;
*) shown=./$sockit ;;
esac
set -- ${PORTS:-7852 8998 8000}
if [ $# -ne 3 ]; then
	echo "PORTS must be three ports, UDP TCP HTTP: make run PORTS='7853 8999 8080'" >&2
	exit 2
fi
udp=$1 tcp=$2 http=$3

echo "The notes ask: are 172.16.10.1 and 172.16.10.2, netmask 255.255.255.0, on one subnet?"
echo "\$ $shown ip same 172.16.10.1 172.16.10.2 --mask 255.255.255.0"
"$sockit" ip same 172.16.10.1 172.16.10.2 --mask 255.255.255.0 || true
echo
echo "Now the notes' servers in one process: UDP on port $udp, TCP on port $tcp, and"
echo "port $http serves this directory ($(pwd)) over HTTP. From another terminal:"
echo "  $shown udp send -w 1 127.0.0.1 $udp 'I love jingjing'"
echo "  echo hello | $shown tcp connect 127.0.0.1 $tcp"
echo "  curl http://127.0.0.1:$http/     (or open it in a browser)"
echo "Ctrl-C stops it."
echo "\$ $shown serve -v --udp 127.0.0.1:$udp:reply --tcp 127.0.0.1:$tcp:reply --http 127.0.0.1:$http"
# A handler, not an ignored signal: sockit gets Ctrl-C and stops cleanly,
# then this script says nothing more.
trap : INT TERM
status=0
"$sockit" serve -v --udp "127.0.0.1:$udp:reply" --tcp "127.0.0.1:$tcp:reply" \
	--http "127.0.0.1:$http" || status=$?
if [ "$status" -eq 4 ]; then
	echo >&2
	echo "A port the demo needs is taken (the line above says which). Choose others:" >&2
	echo "  make run PORTS='$((udp + 1)) $((tcp + 1)) $((http + 80))'    (UDP, TCP and HTTP ports)" >&2
fi
exit "$status"
