#!/bin/sh
# `make run`: sockit ip at work on the course notes' own example. When
# `sockit serve` lands, this runs it instead.
set -eu
sockit=${1:-build/sockit}
show() {
	printf '\n$ sockit %s\n' "$*"
	"$sockit" "$@" || true
}
echo "The notes ask: are 172.16.10.1 and 172.16.10.2, netmask 255.255.255.0, on one subnet?"
show ip same 172.16.10.1 172.16.10.2 --mask 255.255.255.0
show ip 172.16.10.1/255.255.255.0
show ip --explain 172.16.10.1/24
show ip --json 2001:db8::1/64
show port 80
