/* iputils' words for ICMP errors, so `sockit ping` reads like ping(8). */
#include <sockit/err.h>
#include <sockit/ping.h>

#include <errno.h>

struct icmp_text {
	unsigned char version, type, code;
	const char *text;
};

static const struct icmp_text texts[] = {
	{ 4, 3, 0, "Destination Net Unreachable" },
	{ 4, 3, 1, "Destination Host Unreachable" },
	{ 4, 3, 2, "Destination Protocol Unreachable" },
	{ 4, 3, 3, "Destination Port Unreachable" },
	{ 4, 3, 4, "Frag needed and DF set" },
	{ 4, 3, 5, "Source Route Failed" },
	{ 4, 3, 6, "Destination Net Unknown" },
	{ 4, 3, 7, "Destination Host Unknown" },
	{ 4, 3, 9, "Destination Net Prohibited" },
	{ 4, 3, 10, "Destination Host Prohibited" },
	{ 4, 3, 13, "Communication prohibited by filter" },
	{ 4, 11, 0, "Time to live exceeded" },
	{ 4, 11, 1, "Frag reassembly time exceeded" },
	{ 6, 1, 0, "Destination unreachable: No route" },
	{ 6, 1, 1, "Destination unreachable: Administratively prohibited" },
	{ 6, 1, 3, "Destination unreachable: Address unreachable" },
	{ 6, 1, 4, "Destination unreachable: Port unreachable" },
	{ 6, 2, 0, "Packet too big" },
	{ 6, 3, 0, "Time exceeded: Hop limit" },
};

const char *sk_ping_error_text(const struct sk_ping_result *r)
{
	if (r->event == SK_PING_ICMP_ERROR && r->icmp_type) {
		unsigned version = r->from.version == SK_IP_V4 ? 4 : 6;
		for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
			if (texts[i].version == version && texts[i].type == r->icmp_type &&
			    texts[i].code == r->icmp_code)
				return texts[i].text;
	}
	/* Errors of our own stack: the neighbour never answered ARP or NDP
	 * (EHOSTUNREACH), no route (ENETUNREACH). */
	switch (r->err) {
	case -EHOSTUNREACH:
		return "Destination Host Unreachable";
	case -ENETUNREACH:
		return "Destination Net Unreachable";
	default:
		return sk_strerror(r->err);
	}
}
