#include <sockit/version.h>

const char *sk_version(void)
{
	return SOCKIT_VERSION;
}
