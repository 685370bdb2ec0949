/* gen-c-marshal.c: the type descriptors a generated header defines.
 *
 * Generated code does not marshal: the runtime's one marshaller
 * (busrpc_value_*(), busrpc_args_*()) reads, writes, copies and clears
 * every value by a constant busrpc_type. This file writes those tables,
 * once per type, in the header of the module where the type is written:
 *  - basic types use the runtime's own (busrpc_type_int32, ...);
 *  - an enum lists its declared values, flags their mask: the runtime
 *    refuses anything else from the wire (InvalidArgs), so a C switch can
 *    trust a received value;
 *  - a struct lists its fields (type, offsetof, name); arrays and maps
 *    name their element (and key) descriptors;
 *  - a shm with @max_size has a descriptor of its own per bound and
 *    module (busrpc__calc_shm_65536).
 * All are static const and BUSRPC_UNUSED: a program that includes the
 * header and uses none of them builds quietly with -Wall -Wextra.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "gen-c.h"

/* A shm's bound: its @max_size in bytes, or 0 (the connection's). */
static uint64_t shm_max(const IdlMeta *meta) {
        const IdlAnnot *a = meta ? idl_meta_find_annot(meta, IDL_A_MAX_SIZE) : NULL;
        uint64_t v = 0;

        if (!a || !check_parse_size(a->value, &v))
                return 0;
        return v;
}

static const char *module_of(const IdlFile *f) {
        return f && f->module && *f->module ? f->module : "out";
}

static bool is_shm(const CType *t) {
        return t->kind == CT_BASIC && t->basic->kind == IDL_T_SHM;
}

char *genc_tref(GenC *g, const CType *t, const IdlMeta *meta, const IdlFile *f) {
        uint64_t max = is_shm(t) ? shm_max(meta) : 0;

        (void)g;
        if (max)
                return idl_xasprintf("&busrpc__%s_shm_%" PRIu64, module_of(f), max);
        if (t->kind == CT_BASIC)
                return idl_xasprintf("&busrpc_type_%s", t->basic->idl_name);
        return idl_xasprintf("&busrpc__%s", t->name);
}

/* ---- shm bounds ---- */

static void add_bound(uint64_t **v, size_t *n, const CType *t, const IdlMeta *meta) {
        uint64_t max = t && is_shm(t) ? shm_max(meta) : 0;

        if (!max)
                return;
        for (size_t i = 0; i < *n; i++)
                if ((*v)[i] == max)
                        return;
        *v = realloc(*v, (*n + 1) * sizeof(**v));
        if (!*v)
                abort();
        (*v)[(*n)++] = max;
}

static void add_bounds(GenC *g, uint64_t **v, size_t *n, IdlField **a, size_t na, const IdlFile *f) {
        for (size_t i = 0; i < na; i++)
                if (a[i])
                        add_bound(v, n, genc_type(g, a[i]->type, f), &a[i]->meta);
}

static void emit_bounds(GenC *g) {
        uint64_t *v = NULL;
        size_t n = 0;

        for (size_t i = 0; i < g->main->n_decls; i++) {
                const IdlDecl *d = g->main->decls[i];
                if (d->kind == IDL_D_STRUCT)
                        add_bounds(g, &v, &n, d->fields, d->n_fields, d->file);
                if (d->kind != IDL_D_INTERFACE)
                        continue;
                for (size_t j = 0; j < d->n_members; j++) {
                        add_bounds(g, &v, &n, d->members[j]->in, d->members[j]->n_in, d->file);
                        add_bounds(g, &v, &n, d->members[j]->out, d->members[j]->n_out, d->file);
                }
        }
        for (size_t i = 0; i < n; i++)
                genc_p(g, "static const busrpc_type busrpc__%s_shm_%" PRIu64 " BUSRPC_UNUSED = {\n"
                          "        BUSRPC_KIND_SHM, 0, 0, sizeof(busrpc_shm *), \"h\", \"shm\",\n"
                          "        NULL, NULL, NULL, 0, NULL, 0, 0, UINT64_C(%" PRIu64 "),\n};\n\n",
                       g->module, v[i], v[i]);
        free(v);
}

/* ---- one descriptor ---- */

static void emit_enum(GenC *g, const CType *t) {
        const IdlDecl *d = t->decl;
        size_t n = 0;

        if (d->kind == IDL_D_FLAGS) {
                uint64_t mask = 0;
                for (size_t i = 0; i < d->n_values; i++)
                        mask |= (uint64_t)d->values[i]->value;
                /* the bits of the wire type only (a negative int16 flag is 0xffff...) */
                if (t->basic->sig != 'x' && t->basic->sig != 't')
                        mask &= t->basic->sig == 'y' ? 0xffu : (t->basic->sig == 'n' || t->basic->sig == 'q') ? 0xffffu
                                                                                                          : 0xffffffffu;
                genc_p(g, "static const busrpc_type busrpc__%s BUSRPC_UNUSED = {\n"
                          "        BUSRPC_KIND_FLAGS, '%c', 0, sizeof(%s), \"%s\", \"%s\",\n"
                          "        NULL, NULL, NULL, 0, NULL, 0, UINT64_C(0x%" PRIx64 "), 0,\n};\n\n",
                       t->name, t->basic->sig, t->name, t->sig, t->name, mask);
                return;
        }
        genc_p(g, "static const uint64_t busrpc__%s__values[] BUSRPC_UNUSED = {", t->name);
        for (size_t i = 0; i < d->n_values; i++) {
                bool dup = false;
                for (size_t j = 0; j < i; j++)
                        dup |= d->values[j]->value == d->values[i]->value;
                if (dup)
                        continue;
                genc_p(g, "%s UINT64_C(0x%" PRIx64 ")", n ? "," : "", (uint64_t)d->values[i]->value);
                n++;
        }
        genc_p(g, " };\n");
        genc_p(g, "static const busrpc_type busrpc__%s BUSRPC_UNUSED = {\n"
                  "        BUSRPC_KIND_ENUM, '%c', 0, sizeof(%s), \"%s\", \"%s\",\n"
                  "        NULL, NULL, NULL, 0, busrpc__%s__values, %zu, 0, 0,\n};\n\n",
               t->name, t->basic->sig, t->name, t->sig, t->name, t->name, n);
}

static void emit_struct(GenC *g, const CType *t) {
        const IdlDecl *d = t->decl;

        genc_p(g, "static const busrpc_field busrpc__%s__fields[] BUSRPC_UNUSED = {\n", t->name);
        for (size_t i = 0; i < d->n_fields; i++) {
                char *ref = genc_tref(g, t->fields[i], &d->fields[i]->meta, d->file);
                genc_p(g, "        { %s, offsetof(%s, %s), \"%s\" },\n", ref, t->name, d->fields[i]->name,
                       d->fields[i]->name);
                free(ref);
        }
        genc_p(g, "};\n");
        genc_p(g, "static const busrpc_type busrpc__%s BUSRPC_UNUSED = {\n"
                  "        BUSRPC_KIND_STRUCT, 0, 0, sizeof(%s), \"%s\", \"%s\",\n"
                  "        NULL, NULL, busrpc__%s__fields, %zu, NULL, 0, 0, 0,\n};\n\n",
               t->name, t->name, t->sig, t->name, t->name, d->n_fields);
}

static void emit_container(GenC *g, const CType *t) {
        char *elem = genc_tref(g, t->key ? t->key : t->elem, NULL, NULL);
        char *value = t->key ? genc_tref(g, t->elem, NULL, NULL) : NULL;

        genc_p(g, "static const busrpc_type busrpc__%s BUSRPC_UNUSED = {\n"
                  "        BUSRPC_KIND_%s, 0, 0, sizeof(%s), \"%s\", \"%s\",\n"
                  "        %s, %s, NULL, 0, NULL, 0, 0, 0,\n};\n\n",
               t->name, t->kind == CT_MAP ? "MAP" : "ARRAY", t->name, t->sig, t->name, elem, value ? value : "NULL");
        free(elem);
        free(value);
}

/* Depth first: what a descriptor points at is defined before it (the
 * checker refuses recursive types, so this ends). */
static void emit_one(GenC *g, CType *t) {
        if (!t || t->kind == CT_BASIC || !genc_is_local(g, t) || t->mark == 3)
                return;
        t->mark = 3;
        switch (t->kind) {
        case CT_STRUCT:
                for (size_t i = 0; i < t->decl->n_fields; i++)
                        emit_one(g, t->fields[i]);
                emit_struct(g, t);
                break;
        case CT_MAP:
                emit_one(g, t->key);
                /* fall through */
        case CT_ARRAY:
                emit_one(g, t->elem);
                emit_container(g, t);
                break;
        case CT_ENUM:
                emit_enum(g, t);
                break;
        default:
                break;
        }
}

void genc_emit_descriptors(GenC *g) {
        bool any = false;

        for (size_t i = 0; i < g->n_types && !any; i++)
                any = genc_is_local(g, g->types[i]);
        if (!any)
                return;
        genc_p(g, "/* The descriptors the runtime's marshaller reads and writes these types by\n"
                  " * (internal: generated code passes them; see docs/generated-api.md). A\n"
                  " * busrpc_type is: kind, wire, 0, size, signature, name,\n"
                  " * elem, value, fields, n_fields, values, n_values, mask, max_size. */\n");
        emit_bounds(g);
        for (size_t i = 0; i < g->n_types; i++)
                g->types[i]->mark = 0;
        for (size_t i = 0; i < g->n_types; i++)
                emit_one(g, g->types[i]);
}
