/* Field-value helpers the request, response and multipart parsers share.
 * They call nothing else in the library: every parser may use them. */
#include <sockit/slice.h>

#include <string.h>
#include <strings.h>

#include "http/http_internal.h"

const unsigned char sk__http_tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
	['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
	['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
	['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* The checks run left to right, so that a line split anywhere fails with
 * the same reason as whole (the parsers' promise). */
const char *sk__http_field_line(const char *line, size_t n, bool is_complete,
                                struct sk_http_header *out)
{
	const unsigned char *s = (const unsigned char *)line;
	if (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		return "obsolete line folding (a line starting with whitespace)";
	size_t i = 0;
	while (i < n && sk__http_is_tchar(s[i]))
		i++;
	if (i == n)
		return is_complete ? "header without a colon" : NULL;
	if (s[i] != ':')
		return s[i] == ' ' || s[i] == '\t' ? "whitespace before a header's colon"
		                                   : "invalid character in a header name";
	if (i == 0)
		return "empty header name";
	size_t name_end = i++;
	for (size_t k = i; k < n; k++)
		if (!sk__http_is_field_char(s[k]))
			return "control character in a header value";
	if (!is_complete)
		return NULL;
	size_t start = i, end = n;
	while (start < end && (s[start] == ' ' || s[start] == '\t'))
		start++;
	while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
		end--;
	out->name = (struct sk_slice){ line, name_end };
	out->value = (struct sk_slice){ line + start, end - start };
	return NULL;
}

bool sk__http_slice_ieq(struct sk_slice s, const char *word)
{
	size_t n = strlen(word);
	return s.len == n && strncasecmp(s.p, word, n) == 0;
}

int sk__http_for_each_element(struct sk_slice value, void *ud,
                              int (*fn)(struct sk_slice element, void *ud))
{
	size_t i = 0;
	while (i <= value.len) {
		size_t start = i;
		while (i < value.len && value.p[i] != ',')
			i++;
		size_t end = i;
		while (start < end && (value.p[start] == ' ' || value.p[start] == '\t'))
			start++;
		while (end > start && (value.p[end - 1] == ' ' || value.p[end - 1] == '\t'))
			end--;
		if (end > start) {
			int err = fn((struct sk_slice){ value.p + start, end - start }, ud);
			if (err)
				return err;
		}
		i++;
	}
	return 0;
}
