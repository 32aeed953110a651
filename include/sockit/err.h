/* sockit error codes: every library function that can fail returns one.
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
#define SK_EHTTP_NO_TLS         (-1115) /* https:// in a build without the TLS transport */
#define SK_EURL_SYNTAX          (-1120) /* not scheme://[userinfo@]host[:port][/path][?query] */
#define SK_EURL_SCHEME          (-1121) /* a scheme other than http and https */
#define SK_EURL_HOST            (-1122) /* an empty or malformed host */
#define SK_EURL_PORT            (-1123) /* a port that is not 1-65535 */
#define SK_EURL_TOO_LONG        (-1124) /* longer than SK_URL_MAX */

#endif
