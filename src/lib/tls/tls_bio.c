/* The BIO between OpenSSL and the loop: OpenSSL never touches the socket.
 * It reads the ciphertext view the loop delivered (no copy into a buffer of
 * ours) and appends what it writes to io->cout, whose storage the TLS
 * transport (stream/conn_tls.c) then hands to the loop with the send. */
#include <string.h>

#include "tls/tls_internal.h"

static int bio_write(BIO *b, const char *p, int len)
{
	struct sk__tls_io *io = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	return sk_buf_append(&io->cout, p, (size_t)len) == 0 ? len : -1;
}

static int bio_read(BIO *b, char *p, int len)
{
	struct sk__tls_io *io = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (!io->in_len) {
		if (io->in_eof)
			return 0;
		BIO_set_retry_read(b);
		return -1;
	}
	size_t n = io->in_len < (size_t)len ? io->in_len : (size_t)len;
	memcpy(p, io->in_p, n);
	io->in_p += n;
	io->in_len -= n;
	return (int)n;
}

/* Only flush is answered (it has nothing to do: cout goes out when the
 * transport sends); OpenSSL asks nothing else of a source/sink BIO. */
static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

BIO_METHOD *sk__tls_bio_method_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sockit conn");
	if (m && (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
	          !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create))) {
		BIO_meth_free(m);
		m = NULL;
	}
	return m;
}
