/* http:// and https:// URLs (RFC 3986, RFC 9110 §4.2) as an HTTP client
 * needs them: parsed once into the parts a request is made of, resolved
 * against a base for redirects, compared by origin, and matched against a
 * no_proxy list.
 *
 * What is kept as given and what is changed:
 * - percent-encoding is kept exactly (%2F stays %2F, %2e%2e is no dot
 *   segment), a space and bytes above 0x7E are percent-encoded (as
 *   browsers and curl do with a Location that holds them), control bytes
 *   are refused (a CR or LF would split the request);
 * - dot segments ("/a/../b") are removed (RFC 3986 §5.2.4), as the server
 *   would do, so the path sent is the one resolved;
 * - the fragment is dropped: it never leaves the client (RFC 9110 §7.1);
 * - a reg-name host is lowercased (RFC 3986 §3.2.2: case-insensitive);
 * - userinfo is kept apart: never in the request line or Host, given to
 *   the caller to use as credentials (or not).
 *
 * A struct sk_url is plain data in fixed arrays: copy it with `=`; nothing
 * to free. Nothing here allocates, blocks or resolves names. */
#ifndef SOCKIT_HTTP_URL_H
#define SOCKIT_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/err.h>

/* The request target (path and query) a URL may have: the request line
 * limit servers apply (SK_HTTP_MAX_REQUEST_LINE), less room for the method
 * and version. */
#define SK_URL_MAX 8000
/* A DNS name is at most 253 bytes (RFC 1035); an IPv6 literal with a zone
 * fits too. Userinfo gets the same room. */
#define SK_URL_HOST_MAX 256
/* Room for any sk_url_format() result. */
#define SK_URL_TEXT_MAX (SK_URL_MAX + 2 * SK_URL_HOST_MAX + 32)

enum sk_url_scheme { SK_URL_HTTP, SK_URL_HTTPS };

struct sk_url {
	enum sk_url_scheme scheme;
	char host[SK_URL_HOST_MAX];     /* NUL-terminated: a lowercase name, an IPv4 address,
	                                   or an IPv6 address without brackets ("fe80::1%eth0"
	                                   with a zone, decoded from "%25eth0") */
	bool is_ipv6;
	unsigned port;                  /* given, or the scheme's: 80, 443 */
	bool has_port;                  /* given in the URL */
	char userinfo[SK_URL_HOST_MAX]; /* "user:pass" as given (still percent-encoded) */
	bool has_userinfo;
	char target[SK_URL_MAX];        /* path [ "?" query ], "/" at least */
};

/* The scheme's port: 80 for http, 443 for https. */
unsigned sk_url_default_port(enum sk_url_scheme scheme);

/* Parses text[0..len) as an absolute http:// or https:// URL. Text
 * without "scheme://" is read as http:// ("localhost:8000/x"), as curl and
 * wget read it. Returns 0 and *out, or SK_EURL_SYNTAX, SK_EURL_SCHEME,
 * SK_EURL_HOST, SK_EURL_PORT, SK_EURL_TOO_LONG (*out is then untouched). */
int sk_url_parse(const char *text, size_t len, struct sk_url *out);

/* Resolves the reference ref[0..len) (a Location value: absolute, "//host/x",
 * "/x", "x", "?q" or empty) against base (RFC 3986 §5.2). Userinfo is kept
 * only while the authority is base's. out may be base. Returns as
 * sk_url_parse. */
int sk_url_resolve(const struct sk_url *base, const char *ref, size_t len, struct sk_url *out);

/* Same scheme, host and port (RFC 6454): where credentials may go. */
bool sk_url_same_origin(const struct sk_url *a, const struct sk_url *b);

/* "scheme://host[:port]/target" (the port only when not the default; an
 * IPv6 host in brackets; never the userinfo), NUL-terminated in buf of cap
 * bytes (SK_URL_TEXT_MAX always suffices). Returns the length, or
 * SK_ETOOLARGE. */
int sk_url_format(const struct sk_url *u, char *buf, size_t cap);

/* The Host field's value: host[:port] (RFC 9110 §7.2), the port only when
 * not the scheme's, an IPv6 host in brackets without its zone (RFC 6874
 * §2: a zone means nothing to the server). Returns the length or
 * SK_ETOOLARGE. */
int sk_url_authority(const struct sk_url *u, char *buf, size_t cap);

/* The userinfo percent-decoded ("user:p@ss"), in buf of cap bytes
 * (NUL-terminated; it may hold NUL bytes, hence the length). Returns the
 * length, or SK_ETOOLARGE. */
int sk_url_userinfo(const struct sk_url *u, char *buf, size_t cap);

/* The last path segment, percent-decoded (for `-O`): "" when the path ends
 * in '/'. Returns the length or SK_ETOOLARGE. The caller judges whether it
 * is a safe file name. */
int sk_url_last_segment(const struct sk_url *u, char *buf, size_t cap);

/* Whether u's host is in a no_proxy list (curl's and wget's rules): entries
 * separated by commas or spaces; "*" matches every host; a name matches
 * itself and its subdomains (a leading '.' is the same: ".example.com" and
 * "example.com" both match a.example.com and example.com); an IP address
 * or CIDR block ("10.0.0.0/8", "::1") matches an address host in it. Case
 * is ignored; a port after an entry is ignored. */
bool sk_url_no_proxy_matches(const char *list, const struct sk_url *u);

#endif
