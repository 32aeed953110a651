/* libsockit: sockets, event loop and protocols for the sockit toolkit.
 * Include this, or only the module headers you use. */
#ifndef SOCKIT_SOCKIT_H
#define SOCKIT_SOCKIT_H

#include <sockit/err.h>
#include <sockit/ip.h>
#include <sockit/loop.h>
#include <sockit/port.h>
#include <sockit/slice.h>
#include <sockit/sock.h>
#include <sockit/version.h>

#endif
