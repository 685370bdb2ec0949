/* compat.c: busrpc-idlc --compat OLD NEW, API evolution checks.
 *
 * Two checked units are compared the way peers see them: interfaces and
 * members by D-Bus name, arguments and fields by position and signature,
 * types by name (a struct on the wire is its signature, so its fields are
 * compared where it is declared, once, not at every use). Each change is
 * one diagnostic at NEW's location, with a note at OLD's.
 *
 * Who a change breaks, in the words of the messages:
 *   existing clients   programs built on OLD, talking to a service of NEW;
 *   existing services  services built on OLD, called by clients of NEW
 *                      through the members both versions have.
 * A new member is an addition: using it needs a new service, as always.
 *
 * Each change has a kind (wire, source, change, addition); the level
 * (--compat-level) decides which kinds are errors. docs/idl.md has the
 * table. This file reports, and compares interfaces and their members;
 * compat-types.c compares types, argument lists and struct fields.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compat-internal.h"

int idl_compat_level_parse(const char *s, IdlCompatLevel *ret) {
        static const char *const names[] = {
                [IDL_COMPAT_WIRE] = "wire", [IDL_COMPAT_SOURCE] = "source", [IDL_COMPAT_STRICT] = "strict",
        };

        for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
                if (strcmp(s, names[i]) == 0) {
                        *ret = (IdlCompatLevel)i;
                        return 0;
                }
        }
        return -1;
}

/* ---- reporting ---- */

IdlLoc compat_at(IdlLoc l, const IdlFile *f) {
        if (!l.file && f)
                l.file = f->path;
        if (l.line <= 0)
                l.line = 1, l.col = 1;
        if (l.col <= 0)
                l.col = 1;
        return l;
}

/* Where a diagnostic about a file as a whole goes: its module line, or its
 * first line. */
static IdlLoc file_loc(const IdlFile *f) {
        if (f->module_loc.line > 0)
                return compat_at(f->module_loc, f);
        return compat_at((IdlLoc){ f->path, 1, 1 }, f);
}

static const char *why(Kind k, int who) {
        switch (k) {
        case K_WIRE:
                return who == WHO_CLIENTS    ? "breaks existing clients"
                       : who == WHO_SERVICES ? "breaks existing services"
                                             : "breaks existing clients and services";
        case K_SOURCE: return "wire-compatible; changes the generated C API";
        case K_UNUSED: return "no member uses it on the wire; changes the generated C API";
        case K_CHANGE: return "compatible change";
        case K_ADD: return "compatible addition";
        }
        return "?";
}

/* Report one change at loc (NEW), with the note (owned, may be NULL) at
 * old_loc (OLD). The level makes it an error, a warning or a note. */
void compat_change(Cmp *c, Kind k, int who, IdlLoc loc, IdlLoc old_loc, char *note, const char *fmt, ...) {
        va_list ap;
        char *msg;
        int sev; /* 2 error, 1 warning, 0 note */

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        switch (k) {
        case K_WIRE: sev = 2; break;
        case K_SOURCE:
        case K_UNUSED: sev = c->level >= IDL_COMPAT_SOURCE ? 2 : 1; break;
        case K_CHANGE: sev = c->level >= IDL_COMPAT_STRICT ? 2 : 0; break;
        default: sev = 0; break;
        }
        if (sev == 2) {
                c->breaking++;
                idl_error(loc, "%s (%s)", msg ? msg : "?", why(k, who));
        } else if (sev == 1) {
                idl_warning(loc, "%s (%s)", msg ? msg : "?", why(k, who));
        } else {
                idl_note(loc, "%s (%s)", msg ? msg : "?", why(k, who));
        }
        if (note)
                idl_note(old_loc, "%s", note);
        free(note);
        free(msg);
}

/* ---- small helpers ---- */

static const char *str(const char *s) {
        return s ? s : "?";
}

const char *compat_field_name(const IdlField *f) {
        return f->dbus_name ? f->dbus_name : str(f->name);
}

static const char *member_kind(IdlMemberKind k) {
        switch (k) {
        case IDL_M_METHOD: return "method";
        case IDL_M_SIGNAL: return "signal";
        case IDL_M_PROPERTY: return "property";
        case IDL_M_ERROR: return "error";
        }
        return "member";
}

const char *compat_decl_kind(IdlDeclKind k) {
        switch (k) {
        case IDL_D_STRUCT: return "struct";
        case IDL_D_ENUM: return "enum";
        case IDL_D_FLAGS: return "flags";
        case IDL_D_TYPEDEF: return "typedef";
        case IDL_D_INTERFACE: return "interface";
        }
        return "declaration";
}

static const char *access_name(IdlAccess a) {
        return a == IDL_ACCESS_READ ? "readonly" : a == IDL_ACCESS_WRITE ? "writeonly" : "readwrite";
}

static const char *emits_name(IdlEmits e) {
        switch (e) {
        case IDL_EMITS_TRUE: return "true";
        case IDL_EMITS_INVALIDATES: return "invalidates";
        case IDL_EMITS_CONST: return "const";
        case IDL_EMITS_FALSE: return "false";
        }
        return "?";
}

bool compat_has_c_name_annot(const IdlMeta *m) {
        return idl_meta_find_annot(m, IDL_A_C_NAME) != NULL;
}

/* ---- @since ---- */

static void since_newest(Cmp *c, const IdlMeta *m, const IdlFile *f) {
        const IdlAnnot *a = idl_meta_since(m);

        if (a && (!c->newest || idl_version_cmp(a->value, c->newest) > 0)) {
                c->newest = a->value;
                c->newest_loc = compat_at(a->loc, f);
        }
}

static void since_scan(Cmp *c, const IdlUnit *u) {
        for (size_t i = 0; i < u->n_files; i++) {
                const IdlFile *f = u->files[i];
                for (size_t j = 0; j < f->n_decls; j++) {
                        const IdlDecl *d = f->decls[j];
                        since_newest(c, &d->meta, f);
                        for (size_t k = 0; k < d->n_members; k++)
                                since_newest(c, &d->members[k]->meta, f);
                        for (size_t k = 0; k < d->n_values; k++)
                                since_newest(c, &d->values[k]->meta, f);
                }
        }
}

/* A member or interface that NEW adds: it should say since when. */
static void since_added(Cmp *c, const IdlMeta *m, IdlLoc loc, const char *what) {
        const IdlAnnot *a = idl_meta_since(m);

        if (!a) {
                if (c->newest)
                        idl_warning(loc, "new %s has no @since (the newest @since of the old version is \"%s\")",
                                    what, c->newest);
                else
                        idl_warning(loc, "new %s has no @since", what);
                return;
        }
        if (c->newest && idl_version_cmp(a->value, c->newest) <= 0) {
                idl_warning(a->loc.file ? compat_at(a->loc, NULL) : loc, "new %s has @since(\"%s\"), not newer than \"%s\", "
                            "the newest @since of the old version", what, a->value, c->newest);
                idl_note(c->newest_loc, "\"%s\" is here", c->newest);
        }
}

/* A member both versions have: the version that added it stays. */
void compat_since_kept(Cmp *c, const IdlMeta *om, const IdlMeta *nm, IdlLoc loc, const IdlFile *of,
                       const char *what) {
        const IdlAnnot *o = idl_meta_since(om), *n = idl_meta_since(nm);

        (void)c;
        if (!o)
                return;
        if (!n) {
                idl_warning(loc, "%s lost its @since(\"%s\")", what, o->value);
                idl_note(compat_at(o->loc, of), "@since(\"%s\") was here", o->value);
        } else if (idl_version_cmp(o->value, n->value) != 0) {
                idl_warning(n->loc.file ? compat_at(n->loc, NULL) : loc, "@since of %s changed from \"%s\" to \"%s\"", what, o->value,
                            n->value);
                idl_note(compat_at(o->loc, of), "@since(\"%s\") was here", o->value);
        }
}

/* ---- what every declaration and member has ---- */

/* C names: compared unless a renamed module explains the change. */
void compat_cmp_c_name(Cmp *c, const char *what, const char *owhat, const IdlMeta *om, const char *oc, const IdlMeta *nm,
                       const char *nc, IdlLoc loc, IdlLoc old_loc, bool module_dependent) {
        if (!oc || !nc || strcmp(oc, nc) == 0)
                return;
        if (module_dependent && c->module_renamed && !compat_has_c_name_annot(om) && !compat_has_c_name_annot(nm))
                return;
        compat_change(c, K_SOURCE, WHO_BOTH, loc, old_loc, NOTE("%s was here", owhat), "C name of %s changed from '%s' to '%s'",
               what, oc, nc);
}

void compat_cmp_deprecated(Cmp *c, const char *what, const char *owhat, bool o, bool n, IdlLoc loc, IdlLoc old_loc) {
        if (o == n)
                return;
        compat_change(c, K_CHANGE, WHO_BOTH, loc, old_loc, NOTE("%s was here", owhat), "%s is %s deprecated", what,
               n ? "now" : "no longer");
}

/* ---- interface members ---- */

static const IdlMember *find_member(const IdlDecl *d, const IdlMember *like, bool errors) {
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if ((m->kind == IDL_M_ERROR) == errors && m->name && strcmp(m->name, like->name) == 0)
                        return m;
        }
        return NULL;
}

static bool raises(const IdlMember *m, const char *name) {
        for (size_t i = 0; i < m->n_raises; i++)
                if (m->raises[i]->name && strcmp(m->raises[i]->name, name) == 0)
                        return true;
        return false;
}

/* Arguments that moved between a method's inputs and outputs, filtered out
 * of both lists (the copies; caller frees). */
static void split_moves(Cmp *c, const IdlMember *o, const IdlMember *n, const char *what, IdlField ***oin,
                        size_t *noin, IdlField ***nin, size_t *nnin, IdlField ***oout, size_t *noout,
                        IdlField ***nout, size_t *nnout) {
        const IdlFile *of = o->iface->file, *nf = n->iface->file;

        *oin = idl_xcalloc(o->n_in + 1, sizeof(**oin));
        *nin = idl_xcalloc(n->n_in + 1, sizeof(**nin));
        *oout = idl_xcalloc(o->n_out + 1, sizeof(**oout));
        *nout = idl_xcalloc(n->n_out + 1, sizeof(**nout));
        *noin = *nnin = *noout = *nnout = 0;
        for (size_t i = 0; i < o->n_in; i++) {
                const char *name = compat_field_name(o->in[i]);
                size_t j = compat_find_field(n->out, n->n_out, name);
                if (compat_find_field(n->in, n->n_in, name) == SIZE_MAX && j != SIZE_MAX &&
                    compat_find_field(o->out, o->n_out, name) == SIZE_MAX) {
                        compat_change(c, K_WIRE, WHO_BOTH, compat_at(n->out[j]->meta.loc, nf), compat_at(o->in[i]->meta.loc, of),
                               NOTE("argument '%s' was here", name),
                               "argument '%s' of %s moved from the inputs to the outputs", name, what);
                        continue;
                }
                (*oin)[(*noin)++] = o->in[i];
        }
        for (size_t i = 0; i < o->n_out; i++) {
                const char *name = compat_field_name(o->out[i]);
                size_t j = compat_find_field(n->in, n->n_in, name);
                if (compat_find_field(n->out, n->n_out, name) == SIZE_MAX && j != SIZE_MAX &&
                    compat_find_field(o->in, o->n_in, name) == SIZE_MAX) {
                        compat_change(c, K_WIRE, WHO_BOTH, compat_at(n->in[j]->meta.loc, nf), compat_at(o->out[i]->meta.loc, of),
                               NOTE("output '%s' was here", name),
                               "output '%s' of %s moved from the outputs to the inputs", name, what);
                        continue;
                }
                (*oout)[(*noout)++] = o->out[i];
        }
        /* NEW's side: leave out what moved in from the other list. */
        for (size_t i = 0; i < n->n_in; i++) {
                const char *name = compat_field_name(n->in[i]);
                if (compat_find_field(o->in, o->n_in, name) == SIZE_MAX && compat_find_field(*oout, *noout, name) == SIZE_MAX &&
                    compat_find_field(o->out, o->n_out, name) != SIZE_MAX && compat_find_field(n->out, n->n_out, name) == SIZE_MAX)
                        continue;
                (*nin)[(*nnin)++] = n->in[i];
        }
        for (size_t i = 0; i < n->n_out; i++) {
                const char *name = compat_field_name(n->out[i]);
                if (compat_find_field(o->out, o->n_out, name) == SIZE_MAX && compat_find_field(*oin, *noin, name) == SIZE_MAX &&
                    compat_find_field(o->in, o->n_in, name) != SIZE_MAX && compat_find_field(n->in, n->n_in, name) == SIZE_MAX)
                        continue;
                (*nout)[(*nnout)++] = n->out[i];
        }
}

static void cmp_method(Cmp *c, const IdlMember *o, const IdlMember *n, const char *what, IdlLoc loc,
                       IdlLoc old_loc) {
        const IdlFile *of = o->iface->file, *nf = n->iface->file;
        IdlField **oin, **nin, **oout, **nout;
        size_t noin, nnin, noout, nnout;
        List in = { what, "argument", old_loc, loc, of, nf, K_WIRE, WHO_BOTH };
        List out = { what, "output", old_loc, loc, of, nf, K_WIRE, WHO_BOTH };

        split_moves(c, o, n, what, &oin, &noin, &nin, &nnin, &oout, &noout, &nout, &nnout);
        compat_cmp_list(c, &in, oin, noin, nin, nnin);
        compat_cmp_list(c, &out, oout, noout, nout, nnout);
        free(oin);
        free(nin);
        free(oout);
        free(nout);

        /* The server of a @noreply method never replies (runtime/call.c). */
        if (!o->noreply && n->noreply)
                compat_change(c, K_WIRE, WHO_CLIENTS, loc, old_loc, NOTE("%s was here", what),
                       "%s is now @noreply: the service no longer replies", what);
        else if (o->noreply && !n->noreply)
                compat_change(c, K_WIRE, WHO_SERVICES, loc, old_loc, NOTE("%s was here", what),
                       "%s is no longer @noreply: old services do not reply", what);

        /* A client is built knowing the errors it may get. */
        for (size_t i = 0; i < n->n_raises; i++) {
                const IdlRaise *r = n->raises[i];
                if (r->name && !raises(o, r->name))
                        compat_change(c, K_WIRE, WHO_CLIENTS, compat_at(r->loc, nf), old_loc, NOTE("%s was here", what),
                               "%s may now raise '%s'", what, r->name);
        }
        for (size_t i = 0; i < o->n_raises; i++) {
                const IdlRaise *r = o->raises[i];
                if (r->name && !raises(n, r->name))
                        compat_change(c, K_CHANGE, WHO_BOTH, loc, compat_at(r->loc, of), NOTE("'%s' was raised here", r->name),
                               "%s no longer raises '%s'", what, r->name);
        }
}

/* Whether clients lose nothing they could rely on: a notification that
 * appears, a value that now comes with it, or a property that no longer
 * changes at all. */
static bool emits_compatible(IdlEmits o, IdlEmits n) {
        return o == n || o == IDL_EMITS_FALSE || n == IDL_EMITS_CONST ||
               (o == IDL_EMITS_INVALIDATES && n == IDL_EMITS_TRUE);
}

static void cmp_property(Cmp *c, const IdlMember *o, const IdlMember *n, const char *what, IdlLoc loc,
                         IdlLoc old_loc) {
        Diff d = compat_type_diff(o->type, n->type);
        bool o_r = o->access != IDL_ACCESS_WRITE, o_w = o->access != IDL_ACCESS_READ;
        bool n_r = n->access != IDL_ACCESS_WRITE, n_w = n->access != IDL_ACCESS_READ;

        if (d != D_SAME) {
                char *t = compat_retype_text(o->type, n->type, d);
                compat_change(c, d == D_WIRE ? K_WIRE : K_SOURCE, WHO_BOTH, loc, old_loc, NOTE("%s was here", what),
                       "%s changed type %s", what, t);
                free(t);
        }
        if (o->access != n->access) {
                /* Losing Get or Set breaks whoever used it; gaining one is
                 * an addition. */
                bool lost = (o_r && !n_r) || (o_w && !n_w);
                compat_change(c, lost ? K_WIRE : K_ADD, WHO_CLIENTS, loc, lost ? old_loc : NO_LOC,
                       lost ? NOTE("%s was %s here", what, access_name(o->access)) : NULL,
                       "%s is now %s (was %s)", what, access_name(n->access), access_name(o->access));
        }
        if (o->emits != n->emits)
                compat_change(c, emits_compatible(o->emits, n->emits) ? K_CHANGE : K_WIRE, WHO_CLIENTS, loc, old_loc,
                       NOTE("%s was here", what), "%s changed @emits_changed from \"%s\" to \"%s\"", what,
                       emits_name(o->emits), emits_name(n->emits));
}

static void cmp_member(Cmp *c, const IdlMember *o, const IdlMember *n) {
        IdlLoc loc = compat_at(n->meta.loc, n->iface->file), old_loc = compat_at(o->meta.loc, o->iface->file);
        char *what = idl_xasprintf("%s '%s'", member_kind(n->kind), n->name);

        if (o->kind != n->kind) {
                compat_change(c, K_WIRE, WHO_BOTH, loc, old_loc, NOTE("%s '%s' was here", member_kind(o->kind), o->name),
                       "'%s' changed from a %s to a %s", n->name, member_kind(o->kind), member_kind(n->kind));
                free(what);
                return;
        }
        switch (n->kind) {
        case IDL_M_METHOD:
                cmp_method(c, o, n, what, loc, old_loc);
                break;
        case IDL_M_SIGNAL: {
                List l = { what, "argument", old_loc, loc, o->iface->file, n->iface->file, K_WIRE, WHO_BOTH };
                compat_cmp_list(c, &l, o->in, o->n_in, n->in, n->n_in);
                break;
        }
        case IDL_M_PROPERTY:
                cmp_property(c, o, n, what, loc, old_loc);
                break;
        case IDL_M_ERROR:
                break;
        }
        compat_cmp_c_name(c, what, what, &o->meta, o->c_name, &n->meta, n->c_name, loc, old_loc, false);
        compat_cmp_deprecated(c, what, what, o->deprecated, n->deprecated, loc, old_loc);
        compat_since_kept(c, &o->meta, &n->meta, loc, o->iface->file, what);
        free(what);
}

static void cmp_interface(Cmp *c, const IdlDecl *o, const IdlDecl *n) {
        IdlLoc loc = compat_at(n->meta.loc, n->file), old_loc = compat_at(o->meta.loc, o->file);
        char *what = idl_xasprintf("interface '%s'", n->name);
        char *owhat = idl_xasprintf("interface '%s'", o->name);

        for (size_t i = 0; i < n->n_members; i++) {
                const IdlMember *nm = n->members[i], *om;
                if (!nm->name)
                        continue;
                om = find_member(o, nm, nm->kind == IDL_M_ERROR);
                if (om) {
                        cmp_member(c, om, nm);
                } else {
                        char *mw = idl_xasprintf("%s '%s'", member_kind(nm->kind), nm->name);
                        IdlLoc mloc = compat_at(nm->meta.loc, n->file);
                        compat_change(c, K_ADD, WHO_BOTH, mloc, NO_LOC, NULL, "new %s in %s", mw, what);
                        since_added(c, &nm->meta, mloc, mw);
                        free(mw);
                }
        }
        for (size_t i = 0; i < o->n_members; i++) {
                const IdlMember *om = o->members[i];
                if (!om->name || find_member(n, om, om->kind == IDL_M_ERROR))
                        continue;
                /* An error the service stops raising breaks nobody on the
                 * wire; its generated name and reply function are gone. */
                compat_change(c, om->kind == IDL_M_ERROR ? K_SOURCE : K_WIRE, WHO_CLIENTS, loc,
                       compat_at(om->meta.loc, o->file), NOTE("%s '%s' was here", member_kind(om->kind), om->name),
                       "%s '%s' removed from %s", member_kind(om->kind), om->name, what);
        }
        compat_cmp_c_name(c, what, owhat, &o->meta, o->c_name, &n->meta, n->c_name, loc, old_loc, true);
        compat_cmp_deprecated(c, what, owhat, o->deprecated, n->deprecated, loc, old_loc);
        compat_since_kept(c, &o->meta, &n->meta, loc, o->file, what);
        free(what);
        free(owhat);
}

/* ---- the units ---- */

static const IdlDecl *find_decl(const IdlFile *f, const char *name, bool iface) {
        for (size_t i = 0; i < f->n_decls; i++) {
                const IdlDecl *d = f->decls[i];
                if ((d->kind == IDL_D_INTERFACE) == iface && d->name && strcmp(d->name, name) == 0)
                        return d;
        }
        return NULL;
}

static const IdlDecl *find_type(const IdlUnit *u, const char *name) {
        for (size_t i = 0; i < u->n_files; i++) {
                const IdlDecl *d = find_decl(u->files[i], name, false);
                if (d)
                        return d;
        }
        return NULL;
}

/* Same members (kind and name), so probably the same interface renamed. */
static bool same_members(const IdlDecl *a, const IdlDecl *b) {
        if (a->n_members == 0 || a->n_members != b->n_members)
                return false;
        for (size_t i = 0; i < a->n_members; i++) {
                const IdlMember *m = a->members[i], *o;
                if (!m->name || !(o = find_member(b, m, m->kind == IDL_M_ERROR)) || o->kind != m->kind)
                        return false;
        }
        return true;
}

/* The OLD interface that NEW's n renames, if exactly one fits. */
static const IdlDecl *renamed_from(const Cmp *c, const IdlDecl *n) {
        const IdlDecl *found = NULL;

        for (size_t i = 0; i < c->of->n_decls; i++) {
                const IdlDecl *o = c->of->decls[i];
                if (o->kind != IDL_D_INTERFACE || find_decl(c->nf, o->name, true) || !same_members(o, n))
                        continue;
                if (found)
                        return NULL;
                found = o;
        }
        return found;
}

static bool is_renamed(const Cmp *c, const IdlDecl *o) {
        for (size_t i = 0; i < c->nf->n_decls; i++) {
                const IdlDecl *n = c->nf->decls[i];
                if (n->kind == IDL_D_INTERFACE && !find_decl(c->of, n->name, true) && renamed_from(c, n) == o)
                        return true;
        }
        return false;
}

static bool type_compared(Cmp *c, const IdlDecl *d, const IdlFile *main) {
        return d->file == main || compat_flow_of(c, d->name) != 0;
}

int idl_compat(const IdlUnit *old_u, const IdlUnit *new_u, IdlCompatLevel level) {
        Cmp c = { .ou = old_u, .nu = new_u, .level = level };

        if (!old_u || !new_u || old_u->n_files == 0 || new_u->n_files == 0)
                return 0;
        c.of = old_u->files[0];
        c.nf = new_u->files[0];
        compat_flow_file(&c, c.of);
        compat_flow_file(&c, c.nf);
        since_scan(&c, old_u);

        /* XML cannot name a module: its module is the file's name, which is
         * where the file was saved, not the API. */
        if (c.of->module && c.nf->module && strcmp(c.of->module, c.nf->module) != 0) {
                c.module_renamed = true;
                if (!c.of->from_xml && !c.nf->from_xml)
                        compat_change(&c, K_SOURCE, WHO_BOTH, file_loc(c.nf), file_loc(c.of),
                               NOTE("module '%s' was here", c.of->module),
                               "module renamed from '%s' to '%s': every generated C name changes",
                               c.of->module, c.nf->module);
        }

        /* NEW's declarations, in its order, then what it lost. */
        for (size_t fi = 0; fi < new_u->n_files; fi++) {
                const IdlFile *f = new_u->files[fi];
                for (size_t i = 0; i < f->n_decls; i++) {
                        const IdlDecl *n = f->decls[i], *o;
                        if (!n->name)
                                continue;
                        if (n->kind == IDL_D_INTERFACE) {
                                if (f != c.nf)
                                        continue;
                                if ((o = find_decl(c.of, n->name, true))) {
                                        cmp_interface(&c, o, n);
                                } else if ((o = renamed_from(&c, n))) {
                                        compat_change(&c, K_WIRE, WHO_BOTH, compat_at(n->meta.loc, f), compat_at(o->meta.loc, o->file),
                                               NOTE("interface '%s' was here", o->name),
                                               "interface '%s' renamed to '%s'", o->name, n->name);
                                        cmp_interface(&c, o, n);
                                } else {
                                        char *w = idl_xasprintf("interface '%s'", n->name);
                                        compat_change(&c, K_ADD, WHO_BOTH, compat_at(n->meta.loc, f), NO_LOC, NULL, "new %s", w);
                                        since_added(&c, &n->meta, compat_at(n->meta.loc, f), w);
                                        free(w);
                                }
                                continue;
                        }
                        if (!type_compared(&c, n, c.nf))
                                continue;
                        o = find_type(old_u, n->name);
                        if (o)
                                compat_cmp_type_decl(&c, o, n);
                        else if (f == c.nf)
                                compat_change(&c, K_ADD, WHO_BOTH, compat_at(n->meta.loc, f), NO_LOC, NULL, "new %s '%s'",
                                       compat_decl_kind(n->kind), n->name);
                }
        }
        for (size_t fi = 0; fi < old_u->n_files; fi++) {
                const IdlFile *f = old_u->files[fi];
                for (size_t i = 0; i < f->n_decls; i++) {
                        const IdlDecl *o = f->decls[i];
                        if (!o->name)
                                continue;
                        if (o->kind == IDL_D_INTERFACE) {
                                if (f != c.of || find_decl(c.nf, o->name, true) || is_renamed(&c, o))
                                        continue;
                                /* Old clients call it; new clients never did. */
                                compat_change(&c, K_WIRE, WHO_CLIENTS, file_loc(c.nf), compat_at(o->meta.loc, f),
                                       NOTE("interface '%s' was here", o->name), "interface '%s' removed", o->name);
                                continue;
                        }
                        if (f != c.of || find_type(new_u, o->name))
                                continue;
                        /* Its uses changed type and say so; here only its C
                         * declaration is gone. */
                        compat_change(&c, K_SOURCE, WHO_BOTH, file_loc(c.nf), compat_at(o->meta.loc, f),
                               NOTE("%s '%s' was here", compat_decl_kind(o->kind), o->name), "%s '%s' removed",
                               compat_decl_kind(o->kind), o->name);
                }
        }
        free(c.flows);
        return c.breaking;
}
