#include "busrpc-internal.h"

BUSRPC_EXPORT const char *busrpc_version(void) {
        return PACKAGE_VERSION;
}
