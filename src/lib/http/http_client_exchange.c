/* The HTTP client's exchanges (http_client.h): the end of one, whatever
 * ended it (the response complete, a failure, the program's abort), the
 * callback sections that keep an exchange alive while the program runs
 * inside it, and what the program may ask of a live one. The files above
 * (http_client_io.c, http_client.c) call down into this one; it calls only
 * the program's callbacks. */
#include <sockit/err.h>

#include <stdlib.h>
#include <time.h>

#include "http/http_internal.h"

uint64_t sk__http_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --- callback sections ---------------------------------------------------- */

void sk__http_exchange_free(struct sk_http_exchange *ex)
{
	sk_buf_fini(&ex->head);
	free(ex->tunnel);
	free(ex);
}

void sk__http_enter(struct sk_http_exchange *ex)
{
	ex->depth++;
}

bool sk__http_leave(struct sk_http_exchange *ex)
{
	ex->depth--;
	if (ex->state != SK__HTTP_DONE)
		return false;
	if (ex->depth == 0)
		sk__http_exchange_free(ex);
	return true;
}

/* --- the end --------------------------------------------------------------- */

static void stop_connecting(struct sk_http_exchange *ex)
{
	sk_loop_timer_stop(ex->client->loop, &ex->connect_timer);
	if (ex->connect_fd >= 0) {
		sk_loop_del_fd(ex->client->loop, ex->connect_fd);
		sk_sock_close(ex->connect_fd, ex->client->opts.tracer);
		ex->connect_fd = -1;
	}
}

/* The connection may carry the next request only if this exchange left it
 * exactly at a message boundary: the response read to its end and nothing
 * after it, the request sent whole, and the server keeping it open. */
static bool leaves_conn_clean(const struct sk_http_exchange *ex, int err)
{
	return err == 0 && ex->recv == SK__HTTP_RECV_DONE && ex->res.keep_alive && ex->body_sent &&
	       !ex->dirty;
}

void sk__http_finish(struct sk_http_exchange *ex, int err)
{
	if (ex->state == SK__HTTP_DONE)
		return;
	struct sk_loop *loop = ex->client->loop;
	sk_loop_timer_stop(loop, &ex->kick);
	stop_connecting(ex);
	ex->state = SK__HTTP_DONE;
	ex->timing.total_us = sk__http_now_us() - ex->start_us;
	struct sk__http_conn *cc = ex->cc;
	bool keep = cc && cc->conn && leaves_conn_clean(ex, err);
	ex->cc = NULL;
	if (cc) {
		cc->ex = NULL;
		for (; ex->n_paused; ex->n_paused--)
			if (cc->conn)
				sk_conn_resume(cc->conn);
	}
	/* The final head (in cc->in) stays valid through on_done; the
	 * connection goes back to the pool, or closes, after it. A new
	 * exchange started from on_done begins on the loop's next pass and
	 * finds it there. */
	ex->depth++;
	ex->h->on_done(ex, err, ex->ud);
	ex->depth--;
	if (cc && cc->conn) {
		if (keep)
			cc->in_len = 0;
		else
			sk_conn_close(cc->conn, 0);
	}
	if (ex->depth == 0)
		sk__http_exchange_free(ex);
}

void sk_http_exchange_abort(struct sk_http_exchange *ex, int err)
{
	sk__http_finish(ex, err);
}

/* --- looking at an exchange ----------------------------------------------- */

const struct sk_http_response *sk_http_exchange_response(const struct sk_http_exchange *ex)
{
	return ex->has_final ? &ex->res : NULL;
}

const char *sk_http_exchange_why(const struct sk_http_exchange *ex)
{
	return ex->res.why ? ex->res.why : ex->why[0] ? ex->why : NULL;
}

struct sk_slice sk_http_exchange_request_head(const struct sk_http_exchange *ex)
{
	return (struct sk_slice){ sk_buf_head(&ex->head), ex->head.len };
}

int sk_http_exchange_peer(const struct sk_http_exchange *ex, struct sk_addr *out)
{
	if (ex->cc && ex->cc->conn)
		return sk_sock_peer_addr(sk_conn_rfd(ex->cc->conn), out);
	if (ex->addr_i == 0)
		return SK_EINVAL;
	*out = ex->addrs[ex->addr_i - 1];
	return 0;
}

int sk_http_exchange_tls_info(const struct sk_http_exchange *ex, struct sk_tls_info *out)
{
	if (!ex->cc || !ex->cc->conn || ex->cc->origin.scheme != SK_URL_HTTPS)
		return SK_EINVAL;
	return sk_conn_tls_info(ex->cc->conn, out);
}

void sk_http_exchange_timing(const struct sk_http_exchange *ex, struct sk_http_timing *out)
{
	*out = ex->timing;
}

void sk_http_exchange_pause(struct sk_http_exchange *ex)
{
	ex->n_paused++;
	if (ex->cc && ex->cc->conn)
		sk_conn_pause(ex->cc->conn);
}

void sk_http_exchange_resume(struct sk_http_exchange *ex)
{
	if (ex->n_paused == 0)
		return;
	ex->n_paused--;
	if (ex->cc && ex->cc->conn)
		sk_conn_resume(ex->cc->conn);
}
