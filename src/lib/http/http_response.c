/* The response writer: a status line, the Date and Server lines, the
 * framing headers, more headers, a small body, all built in the
 * connection's out buffer, then handed to the connection to send
 * (sk__http_send). Error responses are whole: a short HTML page saying
 * why. Handlers write through these; nothing here knows a method. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sockit/version.h>

#include "http/http_internal.h"

static const char *reason_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

void sk__http_append(struct http_conn *c, const void *p, size_t len)
{
	if (c->out_failed)
		return;
	if (sk_buf_append(&c->out, p, len) < 0)
		c->out_failed = true; /* sk__http_send sends a 500 instead of a cut response */
}

static void append_str(struct http_conn *c, const char *s)
{
	sk__http_append(c, s, strlen(s));
}

/* The Date and Server lines, formatted once a second. */
static const char *current_date(struct sk_http_server *s)
{
	time_t now = time(NULL);
	if (now != s->date_sec) {
		s->date_sec = now;
		sk__http_format_date(now, s->date);
		int n = snprintf(s->date_lines, sizeof s->date_lines, "Date: %s\r\nServer: sockit/%s\r\n",
		                 s->date, SOCKIT_VERSION);
		s->date_lines_len = n > 0 ? (size_t)n : 0;
	}
	return s->date;
}

void sk__http_begin(struct http_conn *c, int status, uint64_t body_len)
{
	/* Built with memcpy: this runs once per response (bench/http.sh). */
	char line[256];
	c->status = status;
	c->out_failed = false;
	sk_buf_consume(&c->out, c->out.len);
	const char *reason = reason_phrase(status);
	size_t n = 0;
	memcpy(line, "HTTP/1.1 ", 9);
	n = 9;
	line[n++] = (char)('0' + status / 100);
	line[n++] = (char)('0' + status / 10 % 10);
	line[n++] = (char)('0' + status % 10);
	line[n++] = ' ';
	size_t rl = strlen(reason);
	memcpy(line + n, reason, rl);
	n += rl;
	memcpy(line + n, "\r\n", 2);
	n += 2;
	sk__http_append(c, line, n);
	const char *date = current_date(c->srv);
	sk__http_append(c, c->srv->date_lines, c->srv->date_lines_len);
	(void)date;
	if (c->close_after)
		sk__http_append(c, "Connection: close\r\n", 19);
	else if (c->req.minor == 0)
		sk__http_append(c, "Connection: keep-alive\r\n", 24);
	/* RFC 9110 §6.4.1: 1xx, 204 and 304 have no Content-Length body. */
	if (status != 204 && status != 304 && status >= 200) {
		char digits[24];
		size_t d = sizeof digits;
		uint64_t v = body_len;
		do
			digits[--d] = (char)('0' + v % 10);
		while ((v /= 10));
		sk__http_append(c, "Content-Length: ", 16);
		sk__http_append(c, digits + d, sizeof digits - d);
		sk__http_append(c, "\r\n", 2);
	}
}

void sk__http_header(struct http_conn *c, const char *name, const char *value)
{
	append_str(c, name);
	append_str(c, ": ");
	append_str(c, value);
	append_str(c, "\r\n");
}

void sk__http_end_head(struct http_conn *c)
{
	append_str(c, "\r\n");
}

void sk__http_error(struct http_conn *c, int status, const char *why)
{
	char body[512];
	int n = snprintf(body, sizeof body,
	                 "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%d %s</title>"
	                 "</head><body><h1>%d %s</h1>%s%s%s</body></html>\n",
	                 status, reason_phrase(status), status, reason_phrase(status),
	                 why ? "<p>" : "", why ? why : "", why ? "</p>" : "");
	/* After a malformed request the byte stream cannot be trusted. */
	if (status == 400 || status == 408 || status == 413 || status == 414 || status == 431 ||
	    status == 501 || status == 505)
		c->close_after = true;
	sk__http_begin(c, status, (uint64_t)n);
	sk__http_header(c, "Content-Type", "text/html; charset=utf-8");
	if (status == 405 || status == 501)
		sk__http_header(c, "Allow", c->srv->allow);
	if (status == 503)
		sk__http_header(c, "Retry-After", "1"); /* RFC 9110 §10.2.3: a busy moment, not an outage */
	sk__http_end_head(c);
	if (!sk__http_method_is(&c->req, "HEAD")) {
		sk__http_append(c, body, (size_t)n);
		c->body_sent = (uint64_t)n;
	}
	sk__http_send(c);
}
