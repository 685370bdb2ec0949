/* fuzz-idl.c: libFuzzer target over both front ends of busrpc-idlc.
 *
 * Each input is parsed as IDL and, when it starts with '<', imported as
 * D-Bus introspection XML too. A tree that parses without error is
 * checked, as main.c does; a tree that checks clean goes through every
 * generator (to /dev/null), and its XML must import and check clean again
 * with the same canonical IDL: the round trip IDL -> XML -> IDL is the
 * oracle. Any crash, leak, sanitizer report or broken round trip is a bug.
 *
 * Built by tests/xml.mk with clang -fsanitize=fuzzer,address,undefined;
 * `make fuzz` runs it, tests/test-fuzz.sh runs it for 20 seconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "gen.h"
#include "parse.h"
#include "xml-import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static IdlUnit *unit_of(IdlFile *f) {
        IdlUnit *u = idl_xcalloc(1, sizeof(*u));
        IDL_PUSH(u->files, u->n_files, f);
        return u;
}

/* out of generator gen for u, in a malloc'd buffer; NULL when it failed. */
static char *gen_to_string(int (*gen)(const IdlUnit *, FILE *), const IdlUnit *u, size_t *len) {
        char *buf = NULL;
        FILE *f = open_memstream(&buf, len);
        int r;

        if (!f)
                return NULL;
        r = gen(u, f);
        if (fclose(f) != 0 || r < 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* XML -> AST under the module of the original (import takes it from the
 * file name); aborts when the XML does not import and check clean. */
static IdlUnit *import_clean(const char *xml, size_t len, const IdlUnit *orig) {
        int errors = idl_diag_errors();
        IdlFile *f = idl_xml_import("rt.xml", xml, len);
        IdlUnit *u;

        if (!f) {
                fprintf(stderr, "round trip: the generated XML does not import\n%s", xml);
                abort();
        }
        free(f->module);
        f->module = orig->files[0]->module ? idl_xstrdup(orig->files[0]->module) : NULL;
        u = unit_of(f);
        if (idl_diag_errors() != errors || idl_check(u) != 0) {
                fprintf(stderr, "round trip: the generated XML has errors\n%s", xml);
                abort();
        }
        return u;
}

/* IDL -> XML -> IDL is a fixed point after the first step: the XML of a
 * clean unit imports clean, and printing and reading it again changes
 * neither the IDL nor the XML. (The first step may reorder declarations
 * and drops the types of a file without interfaces: docs/idl-xml.md.) */
static void round_trip(const IdlUnit *u) {
        size_t xlen1, xlen2, ilen2, ilen3;
        char *x1 = NULL, *x2 = NULL, *i2 = NULL, *i3 = NULL;
        IdlUnit *u2 = NULL, *u3 = NULL;

        /* Imports are not followed here: their types would be unknown. */
        if (u->files[0]->n_imports)
                return;
        if (!(x1 = gen_to_string(idl_gen_xml, u, &xlen1)))
                goto out;
        idl_diag_add_source("rt.xml", x1, xlen1);
        u2 = import_clean(x1, xlen1, u);
        i2 = gen_to_string(idl_gen_idl, u2, &ilen2);
        x2 = gen_to_string(idl_gen_xml, u2, &xlen2);
        if (!i2 || !x2)
                goto out;
        idl_diag_add_source("rt.xml", x2, xlen2);
        u3 = import_clean(x2, xlen2, u);
        i3 = gen_to_string(idl_gen_idl, u3, &ilen3);
        if (!i3 || ilen2 != ilen3 || memcmp(i2, i3, ilen2) != 0 ||
            xlen1 != xlen2 || memcmp(x1, x2, xlen1) != 0) {
                fprintf(stderr, "round trip: not a fixed point\n--- xml 1\n%s--- xml 2\n%s"
                        "--- idl 2\n%s--- idl 3\n%s", x1, x2, i2, i3 ? i3 : "(none)\n");
                abort();
        }
out:
        idl_unit_free(u2);
        idl_unit_free(u3);
        free(x1);
        free(x2);
        free(i2);
        free(i3);
}

static void run(const char *path, const char *text, size_t len, bool xml) {
        IdlFile *f;
        IdlUnit *u;

        idl_diag_add_source(path, text, len);
        f = xml ? idl_xml_import(path, text, len) : idl_parse_idl(path, text, len);
        if (!f)
                return;
        u = unit_of(f);
        if (idl_diag_errors() == 0 && idl_check(u) == 0) {
                idl_gen_header(u, devnull);
                idl_gen_client(u, devnull);
                idl_gen_server(u, devnull);
                idl_gen_xml(u, devnull);
                idl_gen_idl(u, devnull);
                round_trip(u);
        }
        idl_unit_free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *)data;

        if (!devnull && !(devnull = fopen("/dev/null", "w")))
                abort();
        idl_diag_reset();
        idl_diag_set_stream(devnull);
        run("fuzz.idl", text, size, false);
        if (size > 0 && text[0] == '<') {
                idl_diag_reset();
                run("fuzz.xml", text, size, true);
        }
        idl_diag_reset();
        return 0;
}
