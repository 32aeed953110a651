/* ARP requests of our own (RFC 826) over an AF_PACKET datagram socket, as
 * arping sends them: the kernel adds the Ethernet header from sll_addr. */
#include <sockit/err.h>
#include <sockit/neigh.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

/* The Ethernet/IPv4 ARP packet: the fixed header, then sender and target
 * hardware and protocol addresses (6 + 4 bytes each). */
struct arp_packet {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;
	uint8_t sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

_Static_assert(sizeof(struct arp_packet) == SK_ARP_LEN, "ARP packet layout");

int sk_arp_open(unsigned ifindex)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (fd < 0)
		return -errno;
	struct sockaddr_ll ll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = (int)ifindex,
	};
	if (bind(fd, (struct sockaddr *)&ll, sizeof ll) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int sk_arp_send_request(int fd, unsigned ifindex, const unsigned char *src_mac,
                        const struct sk_ip *src_ip, const struct sk_ip *target)
{
	if (src_ip->version != SK_IP_V4 || target->version != SK_IP_V4)
		return SK_EINVAL;
	struct arp_packet p = {
		.htype = htons(ARPHRD_ETHER),
		.ptype = htons(ETH_P_IP),
		.hlen = 6,
		.plen = 4,
		.op = htons(ARPOP_REQUEST),
	};
	memcpy(p.sha, src_mac, 6);
	sk_ip_to_bytes(src_ip, p.spa);
	sk_ip_to_bytes(target, p.tpa);
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = (int)ifindex,
		.sll_halen = 6,
	};
	memset(to.sll_addr, 0xff, 6);
	ssize_t n;
	do
		n = sendto(fd, &p, sizeof p, 0, (struct sockaddr *)&to, sizeof to);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int sk_arp_parse(const void *packet, size_t len, struct sk_ip *sender_out,
                 unsigned char *sender_mac_out)
{
	struct arp_packet p;
	if (len < sizeof p)
		return 0;
	memcpy(&p, packet, sizeof p);
	if (ntohs(p.htype) != ARPHRD_ETHER || ntohs(p.ptype) != ETH_P_IP || p.hlen != 6 ||
	    p.plen != 4)
		return 0;
	unsigned op = ntohs(p.op);
	if (op != ARPOP_REQUEST && op != ARPOP_REPLY)
		return 0;
	*sender_out = sk_ip_from_bytes(SK_IP_V4, p.spa);
	memcpy(sender_mac_out, p.sha, 6);
	return (int)op;
}
