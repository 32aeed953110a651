/* sockit error codes: every library function that can fail returns one.
 * Every SK_E* code is defined here, and nowhere else; src/lib/base/err.c
 * gives each its text and name (scripts/check_errors.sh checks both).
 *
 * Convention: a return value >= 0 is success (a count, an fd, bytes consumed);
 * a negative value is an SK_E* code. System failures are the negative errno
 * (SK_ECONNREFUSED == -ECONNREFUSED); failures errno cannot express live
 * below -1000 so the two ranges never collide. */
#ifndef SOCKIT_ERR_H
#define SOCKIT_ERR_H

#include <errno.h>

#define SK_OK 0

/* System errors, re-exported under our prefix so callers need not mix styles. */
#define SK_ENOMEM        (-ENOMEM)
#define SK_EINVAL        (-EINVAL)
#define SK_ERANGE        (-ERANGE)
#define SK_ENOSPC        (-ENOSPC)
#define SK_EPIPE         (-EPIPE)
#define SK_ENOENT        (-ENOENT)
#define SK_EEXIST        (-EEXIST)
#define SK_ECONNREFUSED  (-ECONNREFUSED)
#define SK_EINPROGRESS   (-EINPROGRESS) /* started; a callback reports the end */
#define SK_ETOOLARGE     (-EMSGSIZE) /* a buffer or message would pass its limit */

/* Address parsing (ip.h). Each names one rule of the text form, so the CLI can
 * say exactly which rule an input broke. */
#define SK_EADDR_EMPTY          (-1001) /* no characters where an address must be */
#define SK_EADDR_CHAR           (-1002) /* a character no address form allows here */
#define SK_EADDR_OCTETS         (-1003) /* IPv4 needs exactly four dotted octets */
#define SK_EADDR_OCTET_EMPTY    (-1004) /* "1..2.3" */
#define SK_EADDR_OCTET_RANGE    (-1005) /* an octet above 255 */
#define SK_EADDR_LEADING_ZERO   (-1006) /* "010": octal to inet_aton, decimal to others */
#define SK_EADDR_HEXTET_LEN     (-1007) /* more than four hex digits in a group */
#define SK_EADDR_GROUPS         (-1008) /* wrong number of IPv6 groups */
#define SK_EADDR_DOUBLE_COLON   (-1009) /* more than one "::" */
#define SK_EADDR_LONE_COLON     (-1010) /* leading or trailing ':' not part of "::" */
#define SK_EADDR_ZONE           (-1011) /* "%" with an empty, repeated or too long zone */
#define SK_EADDR_FAMILY         (-1012) /* an IPv4 and an IPv6 value where one family is needed */
#define SK_EPREFIX_SYNTAX       (-1013) /* after '/', neither a length nor a netmask */
#define SK_EPREFIX_RANGE        (-1014) /* prefix length above 32 (IPv4) or 128 (IPv6) */
#define SK_EPREFIX_SLASH        (-1015) /* more than one '/' */
#define SK_EMASK_NONCONTIGUOUS  (-1016) /* 255.0.255.0: ones and zeroes interleaved */
#define SK_ERANGE_ORDER         (-1017) /* a range whose first address is above its last */
#define SK_EPREFIX_SHORTER      (-1018) /* split into a prefix shorter than the network's */

/* Ports (port.h) */
#define SK_EPORT_SYNTAX         (-1030) /* not a decimal number */
#define SK_EPORT_RANGE          (-1031) /* above 65535 */
#define SK_ENONAME              (-1032) /* no such service or host name */

/* Incremental parsers (http_parse.h) */
#define SK_EINCOMPLETE          (-1100) /* need more bytes: not a failure */

/* HTTP requests (http_parse.h): sk_http_error_status() gives the status
 * that answers each. */
#define SK_EHTTP_BAD_REQUEST    (-1101) /* 400 */
#define SK_EHTTP_URI_TOO_LONG   (-1102) /* 414 */
#define SK_EHTTP_FIELDS_TOO_BIG (-1103) /* 431 */
#define SK_EHTTP_NOT_IMPLEMENTED (-1104) /* 501: a transfer coding we do not know */
#define SK_EHTTP_VERSION        (-1105) /* 505: not HTTP/1.x */
#define SK_EHTTP_BODY_TOO_BIG   (-1106) /* 413: set by servers, not the parser */

/* DNS (include/sockit/dns.h): each names the rule a message or a name broke. */
#define SK_EDNS_TRUNCATED  (-1200) /* the message ends inside a part its header counts */
#define SK_EDNS_LABEL      (-1201) /* a label length byte of the reserved kinds 01 and 10 */
#define SK_EDNS_POINTER    (-1202) /* a compression pointer that does not point backwards */
#define SK_EDNS_NAME_LONG  (-1203) /* a name longer than 255 bytes */
#define SK_EDNS_RDATA      (-1204) /* record data that does not have its type's shape */
#define SK_EDNS_TRAILING   (-1205) /* bytes after the last record the header counts */
#define SK_EDNS_QDCOUNT    (-1206) /* more than one question (RFC 9619) */
#define SK_EDNS_TOO_MANY   (-1207) /* more records than the caller's table holds */
#define SK_EDNS_NAME       (-1208) /* a name in text: empty label, label over 63, bad escape */
#define SK_EDNS_TYPE       (-1209) /* not a record type name or TYPEnnn */
#define SK_EDNS_ID         (-1210) /* a response that does not answer the question asked */
#define SK_EDNS_SYNTAX     (-1211) /* record data in text that its type cannot read */
/* True for the DNS codes that mean "the peer sent a bad message". */
#define SK_EDNS_IS_MALFORMED(err) ((err) <= SK_EDNS_TRUNCATED && (err) >= SK_EDNS_TOO_MANY)

/* TLS (tls.h). A configuration that cannot be built: */
#define SK_ETLS_CERT_FILE       (-1300) /* no PEM certificate in the file */
#define SK_ETLS_KEY_FILE        (-1301) /* no PEM private key in the file */
#define SK_ETLS_KEY_MISMATCH    (-1302) /* the key is not the certificate's */
#define SK_ETLS_PIN_SYNTAX      (-1303) /* a pin is not sha256:BASE64 of 32 bytes */
#define SK_ETLS_ALPN_SYNTAX     (-1304) /* ALPN: comma-separated names of 1-255 bytes */
/* A connection that failed (the conn's on_close and sk_tls_handshake_fn): */
#define SK_ETLS_HANDSHAKE       (-1310) /* the handshake failed (sk_tls_info.detail says why) */
#define SK_ETLS_TIMEOUT         (-1311) /* no handshake within the timeout */
#define SK_ETLS_NOT_TLS         (-1312) /* the peer does not speak TLS */
#define SK_ETLS_VERSION         (-1313) /* no TLS version in common */
#define SK_ETLS_ALERT           (-1314) /* the peer sent a fatal alert (detail names it) */
#define SK_ETLS_PROTOCOL        (-1315) /* bad TLS records after the handshake */
#define SK_ETLS_CERT_EXPIRED    (-1320) /* the certificate's notAfter has passed */
#define SK_ETLS_CERT_NOT_YET_VALID (-1321) /* its notBefore is in the future */
#define SK_ETLS_CERT_SELF_SIGNED (-1322) /* self-signed and not trusted */
#define SK_ETLS_CERT_UNKNOWN_ISSUER (-1323) /* no trusted issuer */
#define SK_ETLS_CERT_NAME       (-1324) /* not issued for the name asked for */
#define SK_ETLS_CERT_PIN        (-1325) /* its public key matches no pin */
#define SK_ETLS_CERT_INVALID    (-1326) /* refused for another reason (detail) */
#define SK_ETLS_NO_CERT         (-1327) /* a client certificate was required, none came */

/* A short, lowercase, stable description of err. Never NULL, never allocates;
 * unknown codes get a generic text. */
const char *sk_strerror(int err);

/* The symbolic name of err ("SK_EADDR_CHAR", "ECONNREFUSED"), for test output
 * and logs. Never NULL. */
const char *sk_errname(int err);

/* The HTTP client (http_response.h, http_url.h, http_client.h). Kept
 * apart from the codes above so that branches adding codes there merge. */
#define SK_EHTTP_BAD_RESPONSE   (-1110) /* a response that breaks RFC 9112's grammar or framing */
#define SK_EHTTP_HEAD_TOO_BIG   (-1111) /* a response head past SK_HTTP_MAX_RESPONSE_HEAD */
#define SK_EHTTP_TRUNCATED      (-1112) /* the connection ended inside a response */
#define SK_EHTTP_NO_RESPONSE    (-1113) /* the connection ended before a response began */
#define SK_EHTTP_BAD_ENCODING   (-1114) /* a gzip body that does not decode */
#define SK_EHTTP_TUNNEL         (-1115) /* the proxy refused a CONNECT tunnel (https://) */
#define SK_EURL_SYNTAX          (-1120) /* not scheme://[userinfo@]host[:port][/path][?query] */
#define SK_EURL_SCHEME          (-1121) /* a scheme other than http and https */
#define SK_EURL_HOST            (-1122) /* an empty or malformed host */
#define SK_EURL_PORT            (-1123) /* a port that is not 1-65535 */
#define SK_EURL_TOO_LONG        (-1124) /* longer than SK_URL_MAX */

#endif
