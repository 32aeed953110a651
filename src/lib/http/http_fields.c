/* Field-value helpers the request, response and multipart parsers share.
 * They call nothing else in the library: every parser may use them. */
#include <sockit/slice.h>

#include <string.h>
#include <strings.h>

#include "http/http_internal.h"

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
