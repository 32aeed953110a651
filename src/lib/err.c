/* One table gives both the text and the name of every sockit error code. */
#include <sockit/err.h>
#include <sockit/http_parse.h>

#include <stddef.h>
#include <string.h>

struct err_entry {
	int code;
	const char *name;
	const char *text;
};

static const struct err_entry sockit_errors[] = {
	{ SK_EADDR_EMPTY, "SK_EADDR_EMPTY", "address is empty" },
	{ SK_EADDR_CHAR, "SK_EADDR_CHAR", "unexpected character" },
	{ SK_EADDR_OCTETS, "SK_EADDR_OCTETS", "an IPv4 address has exactly 4 octets" },
	{ SK_EADDR_OCTET_EMPTY, "SK_EADDR_OCTET_EMPTY", "empty octet" },
	{ SK_EADDR_OCTET_RANGE, "SK_EADDR_OCTET_RANGE", "octet is greater than 255" },
	{ SK_EADDR_LEADING_ZERO, "SK_EADDR_LEADING_ZERO",
	  "leading zeros are not permitted" },
	{ SK_EADDR_HEXTET_LEN, "SK_EADDR_HEXTET_LEN", "a group has at most 4 hex digits" },
	{ SK_EADDR_GROUPS, "SK_EADDR_GROUPS", "an IPv6 address has 8 groups of hex digits" },
	{ SK_EADDR_DOUBLE_COLON, "SK_EADDR_DOUBLE_COLON", "at most one '::' is permitted" },
	{ SK_EADDR_LONE_COLON, "SK_EADDR_LONE_COLON",
	  "a leading or trailing ':' must be part of '::'" },
	{ SK_EADDR_ZONE, "SK_EADDR_ZONE", "invalid zone after '%'" },
	{ SK_EADDR_FAMILY, "SK_EADDR_FAMILY", "IPv4 and IPv6 cannot be mixed" },
	{ SK_EPREFIX_SYNTAX, "SK_EPREFIX_SYNTAX", "not a prefix length or netmask" },
	{ SK_EPREFIX_RANGE, "SK_EPREFIX_RANGE", "prefix length out of range" },
	{ SK_EPREFIX_SLASH, "SK_EPREFIX_SLASH", "only one '/' is permitted" },
	{ SK_EMASK_NONCONTIGUOUS, "SK_EMASK_NONCONTIGUOUS",
	  "netmask is not contiguous (ones must all come before zeroes)" },
	{ SK_ERANGE_ORDER, "SK_ERANGE_ORDER", "the first address is above the last" },
	{ SK_EPREFIX_SHORTER, "SK_EPREFIX_SHORTER",
	  "the new prefix is shorter than the network's" },
	{ SK_EPORT_SYNTAX, "SK_EPORT_SYNTAX", "not a port number or service name" },
	{ SK_EPORT_RANGE, "SK_EPORT_RANGE", "port is out of range 0-65535" },
	{ SK_ENONAME, "SK_ENONAME", "name not known" },
	{ SK_EINCOMPLETE, "SK_EINCOMPLETE", "more bytes needed" },
	{ SK_EHTTP_BAD_REQUEST, "SK_EHTTP_BAD_REQUEST", "malformed HTTP request" },
	{ SK_EHTTP_URI_TOO_LONG, "SK_EHTTP_URI_TOO_LONG", "request line too long" },
	{ SK_EHTTP_FIELDS_TOO_BIG, "SK_EHTTP_FIELDS_TOO_BIG", "request header fields too large" },
	{ SK_EHTTP_NOT_IMPLEMENTED, "SK_EHTTP_NOT_IMPLEMENTED", "transfer coding not implemented" },
	{ SK_EHTTP_VERSION, "SK_EHTTP_VERSION", "HTTP version not supported" },
	{ SK_EHTTP_BODY_TOO_BIG, "SK_EHTTP_BODY_TOO_BIG", "request body too large" },
	{ SK_EHTTP_BAD_RESPONSE, "SK_EHTTP_BAD_RESPONSE", "malformed HTTP response" },
	{ SK_EHTTP_HEAD_TOO_BIG, "SK_EHTTP_HEAD_TOO_BIG", "response head too large" },
	{ SK_EHTTP_TRUNCATED, "SK_EHTTP_TRUNCATED", "connection closed before the end of the response" },
	{ SK_EHTTP_NO_RESPONSE, "SK_EHTTP_NO_RESPONSE", "connection closed without a response" },
	{ SK_EHTTP_BAD_ENCODING, "SK_EHTTP_BAD_ENCODING", "compressed body does not decode" },
	{ SK_EHTTP_NO_TLS, "SK_EHTTP_NO_TLS", "https needs TLS, which this build lacks" },
	{ SK_EURL_SYNTAX, "SK_EURL_SYNTAX", "malformed URL" },
	{ SK_EURL_SCHEME, "SK_EURL_SCHEME", "unsupported URL scheme (http:// and https:// only)" },
	{ SK_EURL_HOST, "SK_EURL_HOST", "invalid host in URL" },
	{ SK_EURL_PORT, "SK_EURL_PORT", "invalid port in URL (1-65535)" },
	{ SK_EURL_TOO_LONG, "SK_EURL_TOO_LONG", "URL too long" },
};

static const struct err_entry *find_entry(int err)
{
	for (size_t i = 0; i < sizeof sockit_errors / sizeof sockit_errors[0]; i++)
		if (sockit_errors[i].code == err)
			return &sockit_errors[i];
	return NULL;
}

const char *sk_strerror(int err)
{
	const struct err_entry *e = find_entry(err);

	if (e)
		return e->text;
	if (err == SK_OK)
		return "success";
	if (err < 0 && err > -1000) {
		/* Not strerror(): for an unknown value it formats "Unknown error N"
		 * into memory it allocates. strerrordesc_np (glibc 2.32) returns a
		 * constant text or NULL. */
		const char *text = strerrordesc_np(-err);
		if (text)
			return text;
	}
	return "unknown error";
}

const char *sk_errname(int err)
{
	const struct err_entry *e = find_entry(err);

	if (e)
		return e->name;
	if (err == SK_OK)
		return "SK_OK";
	if (err < 0 && err > -1000) {
		const char *name = strerrorname_np(-err);
		if (name)
			return name;
	}
	return "SK_EUNKNOWN";
}
