/* gzip bodies (http_client.h): zlib's inflate, streaming, with the one
 * rule that matters for a download: a stream that does not end properly
 * (a cut connection, a bad checksum) is an error, never a short file. */
#include <sockit/err.h>
#include <sockit/http_client.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Output per inflate call: decoded bytes go to the callback in pieces of
 * this size (gzip expands text up to ~10x; a small piece keeps it on the
 * stack's side of the cache). */
#define OUT_PIECE (64 * 1024)

struct sk_http_gunzip {
	z_stream z;
	sk_http_gunzip_fn *fn;
	void *ud;
	bool ended; /* the stream's trailer was read and checked */
	char out[OUT_PIECE];
};

int sk_http_gunzip_new(sk_http_gunzip_fn *fn, void *ud, struct sk_http_gunzip **out)
{
	struct sk_http_gunzip *g = calloc(1, sizeof *g);
	if (!g)
		return SK_ENOMEM;
	/* 32 + MAX_WBITS: gzip or zlib framing, detected from the header
	 * (servers label zlib streams "gzip" often enough). */
	if (inflateInit2(&g->z, 32 + MAX_WBITS) != Z_OK) {
		free(g);
		return SK_ENOMEM;
	}
	g->fn = fn;
	g->ud = ud;
	*out = g;
	return 0;
}

int sk_http_gunzip_feed(struct sk_http_gunzip *g, const char *p, size_t len)
{
	while (len > 0) {
		if (g->ended)
			return SK_EHTTP_BAD_ENCODING; /* bytes after the end */
		uInt in = len > 1u << 30 ? 1u << 30 : (uInt)len;
		g->z.next_in = (Bytef *)(uintptr_t)p;
		g->z.avail_in = in;
		do {
			g->z.next_out = (Bytef *)g->out;
			g->z.avail_out = sizeof g->out;
			int rc = inflate(&g->z, Z_NO_FLUSH);
			if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
				return SK_EHTTP_BAD_ENCODING;
			size_t n = sizeof g->out - g->z.avail_out;
			if (n)
				g->fn(g->out, n, g->ud);
			if (rc == Z_STREAM_END) {
				g->ended = true;
				break;
			}
			if (rc == Z_BUF_ERROR && n == 0)
				break;
		} while (g->z.avail_in > 0 || g->z.avail_out == 0);
		size_t used = in - g->z.avail_in;
		if (g->ended && g->z.avail_in > 0)
			return SK_EHTTP_BAD_ENCODING;
		p += used;
		len -= used;
	}
	return 0;
}

int sk_http_gunzip_finish(struct sk_http_gunzip *g)
{
	return g->ended ? 0 : SK_EHTTP_BAD_ENCODING;
}

void sk_http_gunzip_free(struct sk_http_gunzip *g)
{
	if (!g)
		return;
	inflateEnd(&g->z);
	free(g);
}
