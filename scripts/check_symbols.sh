#!/bin/sh
# Every external symbol libsockit.a defines starts with sk_ (the public API,
# include/sockit/) or sk__ (internals shared between the library's files,
# declared in a layer's internal header): a program linking the library can
# define its own http_get or ring_new. Fails, naming each other symbol and
# the object that defines it. Symbols the sanitizers add to instrumented
# objects (__asan_*, __odr_asan_*, __ubsan_*) are theirs, not ours.
#   sh scripts/check_symbols.sh build/libsockit.a        (run by make test)
set -eu
lib=${1:?usage: check_symbols.sh LIBSOCKIT_A}
bad=$(nm -g --defined-only -A "$lib" | awk 'NF == 3 { sym = $3; obj = $1; sub(/:[0-9a-f]*$/, "", obj);
	if (sym !~ /^sk_/ && sym !~ /^__(asan|odr_asan|ubsan|sancov)/) print obj ": " sym }')
if [ -n "$bad" ]; then
	echo "$bad" | sed 's/^/check_symbols: not sk_ or sk__: /' >&2
	exit 1
fi
n=$(nm -g --defined-only "$lib" | awk 'NF == 3' | wc -l)
echo "check_symbols: $n external symbols in $lib, each sk_ or sk__"
