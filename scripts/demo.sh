#!/bin/sh
# `make run`: the course notes' whole system — their UDP server (port 7852)
# and TCP server (port 8998) — in one sockit process, after a look at the
# notes' subnet example. Stop it with Ctrl-C.
set -eu
sockit=${1:-build/sockit}

echo "The notes ask: are 172.16.10.1 and 172.16.10.2, netmask 255.255.255.0, on one subnet?"
echo "\$ sockit ip same 172.16.10.1 172.16.10.2 --mask 255.255.255.0"
"$sockit" ip same 172.16.10.1 172.16.10.2 --mask 255.255.255.0 || true
echo
echo "Now the notes' servers, in one process. From another terminal:"
echo "  sockit udp send -w 1 127.0.0.1 7852 'I love jingjing'"
echo "  echo hello | sockit tcp connect 127.0.0.1 8998"
echo "Ctrl-C stops it."
echo "\$ sockit serve -v"
exec "$sockit" serve -v
