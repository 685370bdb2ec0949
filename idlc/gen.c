/* gen.c: what the generators share.
 *
 * The outputs of one compilation are named after the main file's module
 * (which defaults to the file's base name), so "module calc;" gives calc.h,
 * calc-client.c, calc-server.c, calc.xml and calc.idl whatever the input
 * file is called.
 */
#include "gen.h"

const char *idl_gen_basename(const IdlUnit *u) {
        if (!u || u->n_files == 0 || !u->files[0]->module || !u->files[0]->module[0])
                return "out";
        return u->files[0]->module;
}
