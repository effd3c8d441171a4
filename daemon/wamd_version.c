/* The version wamd reports (--version, /metrics, /openapi.json): meson's
 * project version, and git describe of the tree it was built from when
 * there was one. */
#include "wamd.h"
#include "wamd_build_version.h"

const char *wamd_version(void)
{
	return WAMD_GIT_DESCRIBE[0] ? WAMD_PROJECT_VERSION " (git " WAMD_GIT_DESCRIBE ")" : WAMD_PROJECT_VERSION;
}
