/* Internals of the ip layer (src/lib/ip/), shared between its files;
 * never installed, never in include/. */
#ifndef SOCKIT_IP_INTERNAL_H
#define SOCKIT_IP_INTERNAL_H

/* Checks that every numeric row of the classification tables in ip_special.c
 * equals the CIDR text written beside it, and that every registry row is a
 * network address. Returns the text of the first bad row, or NULL. For tests. */
const char *sk__ip_check_tables(void);

#endif
