/* Ports: numbers, ranges and the services database. */
#include <sockit/err.h>
#include <sockit/port.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>

int sk_port_parse(const char *text, size_t len, unsigned *port_out)
{
	if (len == 0)
		return SK_EPORT_SYNTAX;
	unsigned long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return SK_EPORT_SYNTAX;
		v = v * 10 + (unsigned long)(text[i] - '0');
		if (v > SK_PORT_MAX)
			return SK_EPORT_RANGE;
	}
	*port_out = (unsigned)v;
	return 0;
}

enum sk_port_range sk_port_range_of(unsigned port)
{
	if (port <= 1023)
		return SK_PORT_WELL_KNOWN;
	if (port <= 49151)
		return SK_PORT_REGISTERED;
	return SK_PORT_DYNAMIC;
}

const char *sk_port_range_name(enum sk_port_range range)
{
	static const char *const names[] = { "well-known", "registered", "dynamic" };
	return names[range];
}

void sk_port_range_bounds(enum sk_port_range range, unsigned *first, unsigned *last)
{
	static const unsigned bounds[][2] = { { 0, 1023 }, { 1024, 49151 }, { 49152, 65535 } };
	*first = bounds[range][0];
	*last = bounds[range][1];
}

/* getserv*_r need scratch space for the entry's strings; /etc/services lines
 * are short, and ERANGE (a longer line) is reported as not found. */
#define SERVENT_SCRATCH 1024

int sk_port_service_name(unsigned port, const char *proto, char *buf, size_t cap)
{
	struct servent ent, *found = NULL;
	char scratch[SERVENT_SCRATCH];
	if (port > SK_PORT_MAX || cap == 0)
		return SK_ENONAME;
	if (getservbyport_r((int)htons((uint16_t)port), proto, &ent, scratch, sizeof scratch,
	                    &found) != 0 || !found)
		return SK_ENONAME;
	size_t len = strlen(found->s_name);
	if (len >= cap)
		return SK_ENONAME;
	memcpy(buf, found->s_name, len + 1);
	return (int)len;
}

int sk_port_lookup(const char *name, const char *proto, unsigned *port_out)
{
	struct servent ent, *found = NULL;
	char scratch[SERVENT_SCRATCH];
	if (getservbyname_r(name, proto, &ent, scratch, sizeof scratch, &found) != 0 || !found)
		return SK_ENONAME;
	*port_out = ntohs((uint16_t)found->s_port);
	return 0;
}
