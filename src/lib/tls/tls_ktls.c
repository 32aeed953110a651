/* kTLS: what the machine offers. Asked once, at start, so that a server
 * can say which path its records take (-v). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls/tls_internal.h"

/* A connected TCP socket over loopback (the ULP attaches only to an
 * established connection): the listener's backlog completes the
 * handshake, so no accept is needed. */
static int loopback_pair(int *listener, int *client)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	*listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*listener < 0 || *client < 0)
		return -errno;
	if (bind(*listener, (struct sockaddr *)&a, sizeof a) < 0 || listen(*listener, 1) < 0 ||
	    getsockname(*listener, (struct sockaddr *)&a, &len) < 0 ||
	    connect(*client, (struct sockaddr *)&a, sizeof a) < 0)
		return -errno;
	return 0;
}

int sk_tls_ktls_probe(void)
{
#ifdef OPENSSL_NO_KTLS
	return -EOPNOTSUPP;
#else
	int listener = -1, client = -1;
	int err = loopback_pair(&listener, &client);
	if (err == 0 && setsockopt(client, IPPROTO_TCP, TCP_ULP, "tls", 3) < 0)
		err = -errno;
	if (client >= 0)
		close(client);
	if (listener >= 0)
		close(listener);
	return err;
#endif
}
