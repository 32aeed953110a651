/* A view of bytes someone else owns: network data is a pointer and a length,
 * never a C string. A slice is valid only while the memory it points into is. */
#ifndef SOCKIT_SLICE_H
#define SOCKIT_SLICE_H

#include <stddef.h>

struct sk_slice {
	const char *p;
	size_t len;
};

#endif
