/* One table gives both the text and the name of every sockit error code. */
#include <sockit/err.h>

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
	{ SK_ETLS_CERT_FILE, "SK_ETLS_CERT_FILE", "no PEM certificate in the file" },
	{ SK_ETLS_KEY_FILE, "SK_ETLS_KEY_FILE", "no PEM private key in the file" },
	{ SK_ETLS_KEY_MISMATCH, "SK_ETLS_KEY_MISMATCH", "the private key does not match the certificate" },
	{ SK_ETLS_PIN_SYNTAX, "SK_ETLS_PIN_SYNTAX",
	  "expected sha256: and the base64 of a 32-byte SHA-256 hash" },
	{ SK_ETLS_ALPN_SYNTAX, "SK_ETLS_ALPN_SYNTAX",
	  "expected comma-separated protocol names of 1 to 255 bytes" },
	{ SK_ETLS_HANDSHAKE, "SK_ETLS_HANDSHAKE", "TLS handshake failed" },
	{ SK_ETLS_TIMEOUT, "SK_ETLS_TIMEOUT", "TLS handshake timed out" },
	{ SK_ETLS_NOT_TLS, "SK_ETLS_NOT_TLS", "the peer does not speak TLS" },
	{ SK_ETLS_VERSION, "SK_ETLS_VERSION", "no TLS version in common with the peer" },
	{ SK_ETLS_ALERT, "SK_ETLS_ALERT", "the peer sent a TLS alert" },
	{ SK_ETLS_PROTOCOL, "SK_ETLS_PROTOCOL", "TLS protocol error" },
	{ SK_ETLS_CERT_EXPIRED, "SK_ETLS_CERT_EXPIRED", "certificate has expired" },
	{ SK_ETLS_CERT_NOT_YET_VALID, "SK_ETLS_CERT_NOT_YET_VALID", "certificate is not yet valid" },
	{ SK_ETLS_CERT_SELF_SIGNED, "SK_ETLS_CERT_SELF_SIGNED", "self-signed certificate" },
	{ SK_ETLS_CERT_UNKNOWN_ISSUER, "SK_ETLS_CERT_UNKNOWN_ISSUER", "certificate issuer unknown" },
	{ SK_ETLS_CERT_NAME, "SK_ETLS_CERT_NAME", "certificate name mismatch" },
	{ SK_ETLS_CERT_PIN, "SK_ETLS_CERT_PIN", "certificate pin mismatch" },
	{ SK_ETLS_CERT_INVALID, "SK_ETLS_CERT_INVALID", "certificate refused" },
	{ SK_ETLS_NO_CERT, "SK_ETLS_NO_CERT", "the peer sent no certificate" },
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
	{ SK_EHTTP_TUNNEL, "SK_EHTTP_TUNNEL", "proxy refused the tunnel" },
	{ SK_EURL_SYNTAX, "SK_EURL_SYNTAX", "malformed URL" },
	{ SK_EURL_SCHEME, "SK_EURL_SCHEME", "unsupported URL scheme (http:// and https:// only)" },
	{ SK_EURL_HOST, "SK_EURL_HOST", "invalid host in URL" },
	{ SK_EURL_PORT, "SK_EURL_PORT", "invalid port in URL (1-65535)" },
	{ SK_EURL_TOO_LONG, "SK_EURL_TOO_LONG", "URL too long" },
	{ SK_EDNS_TRUNCATED, "SK_EDNS_TRUNCATED", "message ends inside a part its header counts" },
	{ SK_EDNS_LABEL, "SK_EDNS_LABEL", "bad label length byte" },
	{ SK_EDNS_POINTER, "SK_EDNS_POINTER", "compression pointer loop (a pointer not backwards)" },
	{ SK_EDNS_NAME_LONG, "SK_EDNS_NAME_LONG", "name longer than 255 bytes" },
	{ SK_EDNS_RDATA, "SK_EDNS_RDATA", "record data does not match its type" },
	{ SK_EDNS_TRAILING, "SK_EDNS_TRAILING", "bytes after the last record" },
	{ SK_EDNS_QDCOUNT, "SK_EDNS_QDCOUNT", "more than one question" },
	{ SK_EDNS_TOO_MANY, "SK_EDNS_TOO_MANY", "too many records" },
	{ SK_EDNS_NAME, "SK_EDNS_NAME", "not a domain name" },
	{ SK_EDNS_TYPE, "SK_EDNS_TYPE", "not a record type" },
	{ SK_EDNS_ID, "SK_EDNS_ID", "response does not match the query" },
	{ SK_EDNS_SYNTAX, "SK_EDNS_SYNTAX", "record data does not parse" },
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
