#!/bin/sh
# Every SK_E* error code has one home: include/sockit/err.h defines it, and
# the table in src/lib/base/err.c gives its text and name. Fails (listing
# file:line) when
#   - a header, source file, comment or doc names an SK_E* code that err.h
#     does not define ("SK_EHTTP_*" and "SK_EADDR_ or" name a family: some
#     code must start so);
#   - an SK_E* code is #defined anywhere but err.h;
#   - a sockit-specific code (below -1000) has no row in err.c's table, or
#     its row gives another name.
# SK_EV_* are the loop's event bits, not errors; "SK_EUNKNOWN" is the text
# sk_errname() gives a code it does not know, not a code.
#   sh scripts/check_errors.sh        (run by make test)
set -eu
cd "$(dirname "$0")/.."
err_h=include/sockit/err.h
err_c=src/lib/base/err.c
where="include src docs README.md"
fail=0

defined=$(sed -n 's/^#define \(SK_E[A-Z0-9_]*\)[[:space:](].*/\1/p' "$err_h")

is_defined() {
	for d in $defined; do
		case "$1" in
		*_ | *\*) case "$d" in "${1%\*}"*) return 0 ;; esac ;;
		*) [ "$d" = "$1" ] && return 0 ;;
		esac
	done
	return 1
}

# Each mention, as file:line:NAME.
mentions=$(grep -rnoE 'SK_E[A-Z0-9_]*[*]?' $where | grep -vE ':SK_EV_[A-Z0-9_]*[*]?$' || true)
for m in $mentions; do
	name=${m##*:}
	case "$name" in SK_EUNKNOWN) continue ;; esac
	if ! is_defined "$name"; then
		echo "check_errors: ${m%:*}: $name is not defined in $err_h" >&2
		fail=1
	fi
done

others=$(grep -rnE '^[[:space:]]*#[[:space:]]*define[[:space:]]+SK_E' $where | grep -v "^$err_h:" |
	grep -vE 'define[[:space:]]+SK_EV_' || true)
if [ -n "$others" ]; then
	echo "$others" | sed "s|^|check_errors: defined outside $err_h: |" >&2
	fail=1
fi

own=$(sed -n 's/^#define \(SK_E[A-Z0-9_]*\)[[:space:]]*(-1[0-9][0-9][0-9]).*/\1/p' "$err_h")
for name in $own; do
	if ! grep -q "{ $name, \"$name\"," "$err_c"; then
		echo "check_errors: $name has no row { $name, \"$name\", text } in $err_c" >&2
		fail=1
	fi
done

[ "$fail" -eq 0 ] && echo "check_errors: $(echo "$defined" | wc -w) codes in $err_h, each mention defined"
exit "$fail"
