/* The version of libsockit: the one these headers describe (SOCKIT_VERSION)
 * and the one a program is linked with (sk_version()). */
#ifndef SOCKIT_VERSION_H
#define SOCKIT_VERSION_H

#define SOCKIT_VERSION "0.1.0"

/* The library's version string, for a program to compare with SOCKIT_VERSION. */
const char *sk_version(void);

#endif
