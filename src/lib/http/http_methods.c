/* The method table: which methods this server answers (GET, HEAD and
 * OPTIONS always; PUT and POST with uploads; DELETE when allowed), who
 * answers each, which read their own body, and what Allow says. A method
 * known but not enabled is a 405, an unknown one a 501. */
#include <stdio.h>

#include "http/http_internal.h"

/* What enables a method on a server. */
enum method_gate {
	ALWAYS,      /* every server answers it */
	UPLOAD,      /* opts.upload (--upload) */
	DELETE,      /* opts.allow_delete (--allow-delete) */
	NEVER,       /* known, never served: 405 rather than 501 (RFC 9110 §15.5.6) */
};

struct method {
	const char *name;
	void (*answer)(struct http_conn *c);
	enum method_gate gate;
	bool uses_body;  /* reads the request's body itself (an upload) */
};

static void answer_options(struct http_conn *c)
{
	sk__http_begin(c, 204, 0);
	sk__http_header(c, "Allow", c->srv->allow);
	sk__http_end_head(c);
	sk__http_send(c);
}

/* In the order Allow lists them. */
static const struct method methods[] = {
	{ "GET", sk__http_get, ALWAYS, false },
	{ "HEAD", sk__http_head, ALWAYS, false },
	{ "OPTIONS", answer_options, ALWAYS, false },
	{ "PUT", sk__http_put, UPLOAD, true },
	{ "POST", sk__http_post, UPLOAD, true },
	{ "DELETE", sk__http_delete, DELETE, false },
	{ "CONNECT", NULL, NEVER, false },
	{ "TRACE", NULL, NEVER, false },
	{ "PATCH", NULL, NEVER, false },
};

#define N_METHODS (sizeof methods / sizeof methods[0])

static bool enabled(const struct method *m, const struct sk_http_server_opts *o)
{
	switch (m->gate) {
	case ALWAYS: return true;
	case UPLOAD: return o->upload;
	case DELETE: return o->allow_delete;
	case NEVER: return false;
	}
	return false;
}

static const struct method *find(const struct http_conn *c)
{
	for (size_t i = 0; i < N_METHODS; i++)
		if (sk__http_method_is(&c->req, methods[i].name))
			return &methods[i];
	return NULL;
}

void sk__http_allow(const struct sk_http_server_opts *o, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < N_METHODS; i++) {
		if (!enabled(&methods[i], o))
			continue;
		int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", methods[i].name);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
}

bool sk__http_uses_body(const struct http_conn *c)
{
	const struct method *m = find(c);
	return m && enabled(m, &c->srv->o) && m->uses_body;
}

void sk__http_route(struct http_conn *c)
{
	const struct method *m = find(c);
	if (m && enabled(m, &c->srv->o))
		m->answer(c);
	else if (m)
		sk__http_error(c, 405, "this method is not enabled on this server");
	else
		sk__http_error(c, 501, "unknown method");
}
