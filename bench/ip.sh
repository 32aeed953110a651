#!/bin/sh
# Benchmark: `sockit ip --json -` batch mode against a Python script doing the
# same work (bench/ip_python.py: ipaddress.ip_interface + json.dumps per line),
# side by side in one run.
#
#   sh bench/ip.sh [/path/to/sockit]        (default: build/sockit)
#
# Input: BENCH_LINES (1,000,000) random IPv4 CIDR lines from a fixed seed, in a
# temporary directory removed on exit. Each run is pinned to one core
# (taskset -c BENCH_CPU, default 1); runs alternate sockit, python, sockit, ...
# (BENCH_SOCKIT_RUNS=5, BENCH_PY_RUNS=3) and the table shows medians. Python
# reads the first BENCH_PY_LINES lines of the same file (default: all of them).
# Targets: sockit >= 1,000,000 lines/s and >= 50x the Python script's lines/s.
# Exit status: 0 when the runs worked (whatever the verdict), 1 when something
# failed; with BENCH_STRICT=1 a missed target also exits 1.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
sockit=${1:-$root/build/sockit}
python=/usr/bin/python3
peer=$here/ip_python.py

lines=${BENCH_LINES:-1000000}
py_lines=${BENCH_PY_LINES:-$lines}
seed=${BENCH_SEED:-20240601}
sockit_runs=${BENCH_SOCKIT_RUNS:-5}
py_runs=${BENCH_PY_RUNS:-3}
cpu=${BENCH_CPU:-1}
target_rate=1000000
target_ratio=50

die() {
	echo "bench/ip.sh: $*" >&2
	exit 1
}

[ -x "$sockit" ] || die "no sockit binary at '$sockit' (run make first, or pass its path)"
[ -x "$python" ] || die "$python is missing (Debian package python3)"
[ "$py_lines" -le "$lines" ] || die "BENCH_PY_LINES ($py_lines) is more than BENCH_LINES ($lines)"

# Pin to one core when we can; say so when we cannot.
if command -v taskset >/dev/null 2>&1 && taskset -c "$cpu" true 2>/dev/null; then
	pin="taskset -c $cpu"
	pin_note="pinned to CPU $cpu (taskset)"
else
	pin=""
	pin_note="NOT pinned (taskset missing or CPU $cpu unavailable)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sockit-bench-ip.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

input=$tmp/cidrs.txt
"$python" "$peer" gen "$lines" "$seed" >"$input" || die "generating the input failed"
got=$(wc -l <"$input")
[ "$got" -eq "$lines" ] || die "generated $got lines, wanted $lines"
py_input=$input
if [ "$py_lines" -lt "$lines" ]; then
	py_input=$tmp/cidrs-prefix.txt
	head -n "$py_lines" "$input" >"$py_input"
fi

# Sanity: the first 1000 lines give 1000 JSON lines and exit 0, and the
# Python peer prints the same bytes (so both really do the same work).
head -n 1000 "$input" >"$tmp/head.txt"
"$sockit" ip --json - <"$tmp/head.txt" >"$tmp/head.sockit" ||
	die "sanity check: sockit exited $? on the first 1000 lines"
n_json=$(grep -c '^{.*}$' "$tmp/head.sockit" || true)
n_all=$(wc -l <"$tmp/head.sockit")
if [ "$n_json" -ne 1000 ] || [ "$n_all" -ne 1000 ]; then
	die "sanity check: sockit printed $n_all lines ($n_json JSON objects) for 1000 inputs"
fi
! grep -q '"error"' "$tmp/head.sockit" || die "sanity check: sockit reported errors on valid input"
"$python" "$peer" run <"$tmp/head.txt" >"$tmp/head.python" ||
	die "sanity check: the Python peer exited $? on the first 1000 lines"
if cmp -s "$tmp/head.sockit" "$tmp/head.python"; then
	same="identical"
else
	n_diff=$(diff "$tmp/head.sockit" "$tmp/head.python" | grep -c '^<' || true)
	same="DIFFERENT ($n_diff of 1000 lines differ)"
fi

now() {
	date +%s.%N
}

# One timed run over the whole input (stdout to /dev/null); the wall time in
# seconds is appended to $tmp/t.TOOL.
run_sockit() {
	t0=$(now)
	$pin "$sockit" ip --json - <"$input" >/dev/null || die "sockit run exited $?"
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.4f\n", $2 - $1 }' >>"$tmp/t.sockit"
}

run_python() {
	t0=$(now)
	$pin "$python" "$peer" run <"$py_input" >/dev/null || die "python run exited $?"
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.4f\n", $2 - $1 }' >>"$tmp/t.python"
}

echo "sockit ip --json - vs Python ipaddress+json, $lines random IPv4 CIDR lines (seed $seed)"
echo "sockit: $sockit"
echo "python: $python $("$python" -c 'import platform; print(platform.python_version())') ($peer)"
if [ "$py_lines" -lt "$lines" ]; then
	echo "python input: the first $py_lines lines of the same file (rates compared in lines/s)"
fi
echo "method: $pin_note; alternating runs, $sockit_runs sockit / $py_runs python; medians; timer date +%s.%N"
echo "sanity: first 1000 lines -> 1000 JSON lines, exit 0; sockit vs python output: $same"

: >"$tmp/t.sockit"
: >"$tmp/t.python"
i=0
while [ "$i" -lt "$sockit_runs" ] || [ "$i" -lt "$py_runs" ]; do
	[ "$i" -lt "$sockit_runs" ] && run_sockit
	[ "$i" -lt "$py_runs" ] && run_python
	i=$((i + 1))
done

median() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
runs_list() {
	tr '\n' ' ' <"$1" | sed 's/ $//'
}

s_med=$(median "$tmp/t.sockit")
p_med=$(median "$tmp/t.python")

awk -v sl="$lines" -v pl="$py_lines" -v sm="$s_med" -v pm="$p_med" \
	-v sn="$sockit_runs" -v pn="$py_runs" -v tr="$target_rate" -v tx="$target_ratio" \
	-v sruns="$(runs_list "$tmp/t.sockit")" -v pruns="$(runs_list "$tmp/t.python")" '
function commas(n,   s, out) {
	s = sprintf("%.0f", n)
	out = ""
	while (length(s) > 3) {
		out = "," substr(s, length(s) - 2) out
		s = substr(s, 1, length(s) - 3)
	}
	return s out
}
BEGIN {
	srate = sl / sm
	prate = pl / pm
	ratio = srate / prate
	print ""
	printf "%-8s %5s %10s %10s %14s\n", "tool", "runs", "lines", "median s", "lines/s"
	printf "%-8s %5d %10s %10.3f %14s\n", "sockit", sn, commas(sl), sm, commas(srate)
	printf "%-8s %5d %10s %10.3f %14s\n", "python", pn, commas(pl), pm, commas(prate)
	printf "ratio sockit/python (lines/s): %.1fx\n", ratio
	print "runs (s): sockit " sruns "; python " pruns
	print ""
	printf "target sockit >= %s lines/s: %s (%s lines/s)\n", commas(tr), \
		(srate >= tr ? "meets" : "MISSES"), commas(srate)
	printf "target sockit >= %dx python: %s (%.1fx)\n", tx, (ratio >= tx ? "meets" : "MISSES"), ratio
	exit (srate >= tr && ratio >= tx) ? 0 : 3
}' || {
	st=$?
	[ "$st" -eq 3 ] || die "summary failed"
	[ "${BENCH_STRICT:-0}" = 1 ] && exit 1
}
exit 0
