/* busrpc-idlc: placeholder entry point until the front end lands. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                printf("busrpc-idlc %s\n", PACKAGE_VERSION);
                return 0;
        }
        fprintf(stderr, "busrpc-idlc: not implemented yet\n");
        return 2;
}
