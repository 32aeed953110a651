/* The words `ip` uses for interface and address bits, and MAC text. */
#include <sockit/err.h>
#include <sockit/ifaces.h>

#include <stdio.h>

#include "base/base_internal.h"

struct bit_name {
	unsigned bit;
	const char *name;
};

/* The IFF_* bits of <linux/if.h> (net/if.h lacks the last three). */
static const struct bit_name link_flags[] = {
	{ 0x1, "UP" },          { 0x2, "BROADCAST" },   { 0x4, "DEBUG" },
	{ 0x8, "LOOPBACK" },    { 0x10, "POINTOPOINT" },{ 0x20, "NOTRAILERS" },
	{ 0x40, "RUNNING" },    { 0x80, "NOARP" },      { 0x100, "PROMISC" },
	{ 0x200, "ALLMULTI" },  { 0x400, "MASTER" },    { 0x800, "SLAVE" },
	{ 0x1000, "MULTICAST" },{ 0x2000, "PORTSEL" },  { 0x4000, "AUTOMEDIA" },
	{ 0x8000, "DYNAMIC" },  { 0x10000, "LOWER_UP" },{ 0x20000, "DORMANT" },
	{ 0x40000, "ECHO" },
};

/* IFA_F_* of <linux/if_addr.h>; bit 0x01 is "secondary" for IPv4 and
 * "temporary" (RFC 4941 privacy address) for IPv6. */
static const struct bit_name addr_flags[] = {
	{ 0x02, "nodad" },       { 0x04, "optimistic" },   { 0x08, "dadfailed" },
	{ 0x10, "home" },        { 0x20, "deprecated" },   { 0x40, "tentative" },
	{ 0x80, "permanent" },   { 0x100, "mngtmpaddr" },  { 0x200, "noprefixroute" },
	{ 0x400, "autojoin" },   { 0x800, "stable-privacy" },
};

static const char *const operstates[] = {
	"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP",
};

static const char *find_bit(const struct bit_name *t, size_t n, unsigned bit)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].bit == bit)
			return t[i].name;
	return NULL;
}

const char *sk_iface_flag_name(unsigned bit)
{
	return find_bit(link_flags, sizeof link_flags / sizeof link_flags[0], bit);
}

const char *sk_iface_addr_flag_name(unsigned bit, unsigned version)
{
	if (bit == 0x01)
		return version == SK_IP_V4 ? "secondary" : "temporary";
	return find_bit(addr_flags, sizeof addr_flags / sizeof addr_flags[0], bit);
}

const char *sk_iface_operstate_name(unsigned operstate)
{
	return operstate < sizeof operstates / sizeof operstates[0] ? operstates[operstate]
	                                                           : "UNKNOWN";
}

const char *sk_iface_scope_name(unsigned scope)
{
	switch (scope) {
	case 0:
		return "global";
	case 200:
		return "site";
	case 253:
		return "link";
	case 254:
		return "host";
	default:
		return NULL;
	}
}

size_t sk_mac_format(const unsigned char *mac, size_t len, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	if (len > SK_MAC_MAX)
		len = SK_MAC_MAX;
	for (size_t i = 0; i < len; i++) {
		if (i)
			buf[n++] = ':';
		buf[n++] = hex[mac[i] >> 4];
		buf[n++] = hex[mac[i] & 0xf];
	}
	buf[n] = '\0';
	return n;
}

int sk_mac_parse(const char *text, size_t len, unsigned char *out)
{
	unsigned char mac[SK_MAC_MAX];
	size_t n = 0, i = 0;
	while (i < len) {
		int v = 0, digits = 0;
		while (i < len && text[i] != ':' && digits < 3) {
			int h = sk__hex_value((unsigned char)text[i++]);
			if (h < 0)
				return SK_EINVAL;
			v = v * 16 + h;
			digits++;
		}
		if (digits == 0 || digits > 2 || n == SK_MAC_MAX)
			return SK_EINVAL;
		mac[n++] = (unsigned char)v;
		if (i < len && text[i++] == ':' && i == len)
			return SK_EINVAL; /* a trailing ':' */
	}
	if (n == 0)
		return SK_EINVAL;
	for (size_t k = 0; k < n; k++)
		out[k] = mac[k];
	return (int)n;
}
