/* gen-client.c: placeholder until this generator lands. */
#include <errno.h>
#include "gen.h"

int idl_gen_client(const IdlUnit *u, FILE *out) {
        (void)u;
        (void)out;
        return -ENOSYS;
}
