/* libFuzzer target for what ping, arp and ifaces read from the network and
 * the kernel: an ICMP echo reply as datagram and raw sockets of both
 * families hand it over (src/lib/net/icmp.c), an ARP packet
 * (sk_arp_parse) and a chain of netlink attributes (sk__nl_attrs,
 * sk__nl_ip). The first input byte picks nothing: every parser sees every
 * input, and what each returns must stay inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sockit/ip.h>
#include <sockit/neigh.h>

#include "net/net_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: ASan sees any read past the end. */
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	static const int families[] = { AF_INET, AF_INET6 };
	static const enum sk__icmp_kind kinds[] = { SK__ICMP_DGRAM, SK__ICMP_RAW };
	for (int f = 0; f < 2; f++) {
		for (int k = 0; k < 2; k++) {
			size_t icmp_len = 0;
			int ttl = -1;
			long off = sk__icmp_echo_reply(buf, size, families[f], kinds[k], &icmp_len, &ttl);
			if (off >= 0) {
				if ((size_t)off + icmp_len != size || icmp_len < 8)
					abort();
				if (ttl < -1 || ttl > 255)
					abort();
			}
		}
	}

	struct sk_ip sender;
	unsigned char mac[6];
	int op = sk_arp_parse(buf, size, &sender, mac);
	if (op < 0 || op > 2)
		abort();

	/* Netlink attributes: RTA_OK walks them; every attribute indexed lies
	 * inside the input. */
	const struct rtattr *tb[64];
	memset(tb, 0, sizeof tb);
	sk__nl_attrs((const struct rtattr *)(const void *)buf, size, tb, 63);
	for (int i = 0; i < 64; i++) {
		if (!tb[i])
			continue;
		const unsigned char *a = (const unsigned char *)tb[i];
		if (a < buf || a + sizeof(struct rtattr) > buf + size || a + tb[i]->rta_len > buf + size)
			abort();
		struct sk_ip ip;
		(void)sk__nl_ip(tb[i], &ip);
	}
	free(buf);
	return 0;
}
