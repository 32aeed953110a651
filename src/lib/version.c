#include <sockit/sockit.h>

const char *sk_version(void)
{
	return SOCKIT_VERSION;
}
