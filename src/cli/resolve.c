/* `sockit resolve`: what a program sees for a name — getaddrinfo, which
 * reads /etc/hosts, nsswitch.conf and the search domains before it asks
 * DNS — and getnameinfo for an address. `sockit dns query` shows the other
 * side: what one DNS server answers. */
#include "cli.h"
#include "dns_cli.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

struct resolve {
	int family;
	bool json;
	struct out *out;
};

static const struct opt resolve_opts[] = {
	OPT_FAMILY_('4', struct resolve, family, AF_INET, "IPv4 addresses only"),
	OPT_FAMILY_('6', struct resolve, family, AF_INET6, "IPv6 addresses only"),
	OPT_FLAG_(0, "json", struct resolve, json, "one JSON object per input per line"),
	OPT_END_,
};

static const struct opt_cmd resolve_cmd = { "resolve", "resolve", resolve_opts, NULL };

const struct help_part resolve_help[] = {
	{ "usage: sockit resolve [-4|-6] [--json] NAME|ADDRESS...\n"
	  "\n"
	  "Looks each NAME up as programs do (getaddrinfo: /etc/hosts, nsswitch.conf,\n"
	  "search domains, then DNS) and prints every address with its family and the\n"
	  "canonical name; an ADDRESS is looked up the other way (getnameinfo). To see\n"
	  "what a DNS server itself answers, use 'sockit dns query'.\n"
	  "\n", &resolve_cmd },
	{ "\n"
	  "exit status: 0 found, 1 the name has no address of the family asked for,\n"
	  "2 usage, 3 no such name or address, 5 the resolver did not answer in time;\n"
	  "with several inputs the worst of them\n", NULL },
	{ 0 },
};

static const char *family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

/* A getaddrinfo/getnameinfo failure in our words and statuses. */
static int gai_failure(const struct resolve *r, const char *input, int rc, int family_asked,
                       bool other_family)
{
	const char *why;
	int st;
	if (other_family) {
		why = family_asked == AF_INET6 ? "no IPv6 address (the name has IPv4 ones)"
		                               : "no IPv4 address (the name has IPv6 ones)";
		st = EXIT_FAIL;
	} else if (rc == EAI_NONAME) {
		why = "no such name";
		st = EXIT_RESOLVE;
	} else if (rc == EAI_NODATA || rc == EAI_ADDRFAMILY) {
		why = "the name exists but has no address";
		st = EXIT_FAIL;
	} else if (rc == EAI_AGAIN) {
		why = "the resolver did not answer in time (temporary failure)";
		st = EXIT_TIMEOUT;
	} else {
		why = gai_strerror(rc);
		st = EXIT_FAIL;
	}
	char q[QUOTE_MAX], ctx[QUOTE_MAX + 16];
	snprintf(ctx, sizeof ctx, "resolve: %s", quote(input, strlen(input), q));
	report(ctx, "%s", why);
	if (r->json) {
		out_str(r->out, "{\"input\": \"");
		out_json_str(r->out, input, strlen(input));
		out_str(r->out, "\", \"error\": \"");
		out_json_str(r->out, why, strlen(why));
		out_str(r->out, "\"}\n");
	}
	return st;
}

static int lookup_address(struct resolve *r, const char *input)
{
	struct sk_addr addr;
	size_t n;
	if (sk_addr_resolve(input, "0", AF_UNSPEC, SOCK_STREAM, false, &addr, 1, &n) < 0)
		return gai_failure(r, input, EAI_NONAME, 0, false);
	char host[NI_MAXHOST];
	int rc = getnameinfo(&addr.u.sa, addr.len, host, sizeof host, NULL, 0, NI_NAMEREQD);
	if (rc != 0)
		return gai_failure(r, input, rc, 0, false);
	if (r->json) {
		out_str(r->out, "{\"input\": \"");
		out_json_str(r->out, input, strlen(input));
		out_str(r->out, "\", \"name\": \"");
		out_json_str(r->out, host, strlen(host));
		out_str(r->out, "\"}\n");
	} else {
		out_printf(r->out, "%s: %s\n", input, host);
	}
	return EXIT_OK;
}

static void print_addresses(struct resolve *r, const char *input, const struct addrinfo *list)
{
	const char *canon = list->ai_canonname ? list->ai_canonname : input;
	if (r->json) {
		out_str(r->out, "{\"input\": \"");
		out_json_str(r->out, input, strlen(input));
		out_str(r->out, "\", \"canonical\": \"");
		out_json_str(r->out, canon, strlen(canon));
		out_str(r->out, "\", \"addresses\": [");
	} else {
		out_printf(r->out, "%s: canonical name %s\n", input, canon);
	}
	bool first = true;
	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		struct sk_addr a = { .len = ai->ai_addrlen };
		memcpy(&a.u.storage, ai->ai_addr, ai->ai_addrlen);
		struct sk_ip ip;
		char text[SK_IP_STRLEN];
		if (sk_addr_to_ip(&a, &ip, NULL) < 0)
			continue;
		sk_ip_format(&ip, SK_IP_CANONICAL, text);
		const char *fam = family_name(ai->ai_family);
		if (r->json)
			out_printf(r->out, "%s{\"address\": \"%s\", \"family\": \"%s\"}", first ? "" : ", ",
			           text, fam);
		else
			out_printf(r->out, "  %s  %s\n", text, fam);
		first = false;
	}
	if (r->json)
		out_str(r->out, "]}\n");
}

static int lookup_name(struct resolve *r, const char *input)
{
	struct addrinfo hints = { .ai_family = r->family, .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_CANONNAME };
	struct addrinfo *list = NULL;
	int rc = getaddrinfo(input, NULL, &hints, &list);
	if (rc != 0) {
		/* With -4 or -6: is it the family that is missing, or the name? */
		bool other = false;
		if (r->family != AF_UNSPEC && rc != EAI_AGAIN) {
			struct addrinfo any = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
			struct addrinfo *l2 = NULL;
			other = getaddrinfo(input, NULL, &any, &l2) == 0;
			if (l2)
				freeaddrinfo(l2);
		}
		return gai_failure(r, input, rc, r->family, other);
	}
	print_addresses(r, input, list);
	freeaddrinfo(list);
	return EXIT_OK;
}

int cmd_resolve(int argc, char **argv)
{
	struct resolve r = { .family = AF_UNSPEC, .out = out_stdout("resolve") };
	struct parse ps;
	int st = parse_options(&ps, &resolve_cmd, argc, argv, &r);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	if (ps.n_operands == 0)
		return usage_error("resolve", "expected a NAME or an ADDRESS");
	int status = EXIT_OK;
	for (int i = 0; i < ps.n_operands; i++) {
		struct sk_ip ip;
		const char *in = ps.operands[i];
		if (in[0] == 0) {
			status = usage_error("resolve", "'': an empty name");
			continue;
		}
		bool is_addr = sk_ip_parse(in, strlen(in), &ip, NULL) == 0;
		st = is_addr ? lookup_address(&r, in) : lookup_name(&r, in);
		if (st > status)
			status = st;
	}
	return status;
}
