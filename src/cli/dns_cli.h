/* What the DNS commands (resolve.c, dns.c, dns_query.c, dns_print.c) share,
 * and their entry points for main.c's table. */
#ifndef SOCKIT_DNS_CLI_H
#define SOCKIT_DNS_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/dns.h>

int cmd_resolve(int argc, char **argv);
int cmd_dns(int argc, char **argv);

/* dns_query.c: the query subcommand and its options, for dns.c's help. */
int cmd_dns_query(int argc, char **argv);
extern const struct opt_cmd dns_query_cmd;

struct out;

/* How dns query prints a response. */
enum dns_format { DNS_TEXT, DNS_SHORT, DNS_JSON };

/* Prints a parsed response in the chosen layout. server_text ("127.0.0.1#53")
 * and proto ("UDP", "TCP") feed dig's closing lines. */
void dns_print_response(struct out *o, enum dns_format fmt, const struct sk_dns_msg *m,
                        const char *server_text, const char *proto, unsigned long rtt_ms);

/* Prints a JSON line for a query that got no usable response. */
void dns_print_json_error(struct out *o, const struct sk_dns_name *name, unsigned type,
                          const char *error);

/* --trace: the bytes of a message in hex, with the header's fields named. */
void dns_print_hex(const char *what, const unsigned char *p, size_t len);

/* The exit status a response's rcode and answer mean (0 answers, 1 NODATA,
 * 3 NXDOMAIN, 6 SERVFAIL/REFUSED/FORMERR/other). */
int dns_status_of(const struct sk_dns_msg *m);

#endif
