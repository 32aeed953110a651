/* Shared by the files of `sockit ip`: ip.c (options, inputs, batch),
 * ip_print.c (records), ip_explain.c (the binary walk-through) and
 * ip_same.c (`same` and `range`). */
#ifndef SOCKIT_IP_CLI_H
#define SOCKIT_IP_CLI_H

#include "cli.h"

void print_ip_json(struct out *o, const char *input, size_t input_len, const struct sk_ip_cidr *c,
                   const struct sk_ip_info *info);
void print_ip_text(struct out *o, const struct sk_ip_cidr *c, const struct sk_ip_info *info);
void print_error_json(struct out *o, const char *input, size_t input_len, const char *reason);
void print_block_json(struct out *o, const struct sk_ip *net, unsigned prefix);
void print_block_text(struct out *o, const struct sk_ip *net, unsigned prefix);

/* A block of --hosts: the block, the hosts asked for and the hosts it holds. */
void print_hosts_json(struct out *o, const struct sk_ip *net, unsigned prefix,
                      unsigned long long requested);
void print_hosts_text(struct out *o, const struct sk_ip *net, unsigned prefix,
                      unsigned long long requested);

/* The --explain block for one address. */
void explain_ip(struct out *o, const char *input, size_t input_len, const struct sk_ip_cidr *c,
                const struct sk_ip_info *info);

/* An address and its mask in binary (IPv4: dotted octets) or grouped hex
 * (IPv6) followed by the AND, as the course notes write it. */
void explain_and(struct out *o, const struct sk_ip *ip, unsigned prefix);

extern const struct opt_cmd ip_same_cmd, ip_range_cmd;
int cmd_ip_same(int argc, char **argv);
int cmd_ip_range(int argc, char **argv);

#endif
