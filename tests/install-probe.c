/* Built against an installed busrpc with pkg-config by test-install.sh. */
#include <busrpc/busrpc.h>
#include <stdio.h>
#include <string.h>

int main(void) {
        const char *v = busrpc_version();
        printf("%s\n", v);
        return v && *v ? 0 : 1;
}
