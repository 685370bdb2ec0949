/* test-check-ast.c: idl_check() on trees built by hand, the way the XML
 * import builds them: nameless arguments, names the IDL lexer cannot
 * produce, NULL everywhere. Also the fields check fills in, the C name
 * rules and the basic-type table. */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "ast.h"
#include "check.h"
#include "check-internal.h"
#include "diag.h"
#include "types.h"

static char *diag_buf;
static size_t diag_len;
static FILE *diag_out;

static IdlLoc L(int line) {
        return (IdlLoc){ "t.xml", line, 1 };
}

static void diag_begin(void) {
        free(diag_buf);
        diag_buf = NULL;
        idl_diag_reset();
        diag_out = open_memstream(&diag_buf, &diag_len);
        idl_diag_set_stream(diag_out);
}

/* Run the checker; returns its error count, leaves the text in diag_buf. */
static int run(IdlUnit *u) {
        int n;

        diag_begin();
        n = idl_check(u);
        fclose(diag_out);
        idl_diag_set_stream(NULL);
        return n;
}

static bool said(const char *s) {
        return diag_buf && strstr(diag_buf, s);
}

static void done(IdlUnit *u) {
        idl_unit_free(u);
        free(diag_buf);
        diag_buf = NULL;
}

static IdlUnit *unit(IdlFile **ret_file) {
        IdlUnit *u = idl_xcalloc(1, sizeof(*u));
        IdlFile *f = idl_xcalloc(1, sizeof(*f));

        f->path = idl_xstrdup("t.xml");
        f->module = idl_xstrdup("t");
        f->from_xml = true;
        IDL_PUSH(u->files, u->n_files, f);
        *ret_file = f;
        return u;
}

static IdlDecl *decl(IdlFile *f, IdlDeclKind kind, const char *name) {
        IdlDecl *d = idl_xcalloc(1, sizeof(*d));

        d->kind = kind;
        d->name = name ? idl_xstrdup(name) : NULL;
        d->file = f;
        d->meta.loc = L(1);
        IDL_PUSH(f->decls, f->n_decls, d);
        return d;
}

static IdlMember *member(IdlDecl *i, IdlMemberKind kind, const char *name) {
        IdlMember *m = idl_xcalloc(1, sizeof(*m));

        m->kind = kind;
        m->name = name ? idl_xstrdup(name) : NULL;
        m->iface = i;
        m->meta.loc = L(2);
        IDL_PUSH(i->members, i->n_members, m);
        return m;
}

static IdlField *arg(IdlField ***list, size_t *n, IdlTypeKind kind, const char *name) {
        IdlField *a = idl_xcalloc(1, sizeof(*a));

        a->name = name ? idl_xstrdup(name) : NULL;
        a->type = kind == (IdlTypeKind)-1 ? NULL : idl_type_new(kind, L(3));
        a->meta.loc = L(3);
        idl_push((void ***)list, n, a);
        return a;
}

static void annot(IdlMeta *m, IdlAnnotKind kind, const char *name, const char *value) {
        IdlAnnot *a = idl_xcalloc(1, sizeof(*a));

        a->kind = kind;
        a->name = name ? idl_xstrdup(name) : NULL;
        a->value = value ? idl_xstrdup(value) : NULL;
        a->loc = L(4);
        IDL_PUSH(m->annots, m->n_annots, a);
}

static void test_nameless_args(void) {
        IdlFile *f;
        IdlUnit *u = unit(&f);
        IdlDecl *i = decl(f, IDL_D_INTERFACE, "org.freedesktop.DBus");
        IdlMember *m = member(i, IDL_M_METHOD, "RequestName");

        arg(&m->in, &m->n_in, IDL_T_STRING, NULL);
        arg(&m->in, &m->n_in, IDL_T_UINT32, NULL);
        arg(&m->out, &m->n_out, IDL_T_UINT32, NULL);
        is_int(run(u), 0, "nameless XML arguments are fine");
        is_str(m->in[0]->name, "arg0", "first input named arg0");
        is_str(m->in[1]->name, "arg1", "second input named arg1");
        is_str(m->out[0]->name, "arg2", "output numbered after the inputs");
        is_str(m->in_sig, "su", "input signature");
        is_str(m->out_sig, "u", "output signature");
        is_str(i->c_name, "t_dbus", "DBus -> t_dbus (module t; no underscore inside an acronym)");
        is_str(m->c_name, "request_name", "RequestName -> request_name");
        done(u);
}

static void test_null_everywhere(void) {
        IdlFile *f;
        IdlUnit *u = unit(&f);
        IdlDecl *i = decl(f, IDL_D_INTERFACE, NULL);
        IdlDecl *s = decl(f, IDL_D_STRUCT, NULL);
        IdlDecl *e = decl(f, IDL_D_ENUM, "E");
        IdlDecl *td = decl(f, IDL_D_TYPEDEF, "T");
        IdlMember *m = member(i, IDL_M_METHOD, NULL);
        IdlMember *p = member(i, IDL_M_PROPERTY, "P");
        IdlRaise *r = idl_xcalloc(1, sizeof(*r));
        IdlEnumValue *v = idl_xcalloc(1, sizeof(*v));
        IdlType *named = idl_type_new(IDL_T_NAMED, L(5));

        arg(&m->in, &m->n_in, (IdlTypeKind)-1, NULL);
        arg(&s->fields, &s->n_fields, IDL_T_INT32, NULL);
        arg(&s->fields, &s->n_fields, (IdlTypeKind)-1, "x");
        IDL_PUSH(m->raises, m->n_raises, r);
        IDL_PUSH(e->values, e->n_values, v);
        annot(&m->meta, IDL_A_DBUS, NULL, NULL);
        annot(&p->meta, IDL_A_EMITS_CHANGED, "emits_changed", NULL);
        annot(&i->meta, IDL_A_UNKNOWN, NULL, NULL);
        IDL_PUSH(i->members, i->n_members, NULL);
        IDL_PUSH(f->decls, f->n_decls, NULL);
        td->target = idl_type_new(IDL_T_MAP, L(6)); /* no key, no value */
        named->elem = NULL;
        p->type = named; /* NAMED without a name */
        ok(run(u) > 0, "a tree full of NULLs gives errors, not a crash");
        ok(said("interface without a name"), "nameless interface reported");
        ok(said("struct without a name"), "nameless struct reported");
        ok(said("unknown type ''"), "nameless type reference reported");
        done(u);
}

static void test_xml_names(void) {
        IdlFile *f;
        IdlUnit *u = unit(&f);
        IdlDecl *a = decl(f, IDL_D_INTERFACE, "org.2example.A");
        IdlDecl *b = decl(f, IDL_D_INTERFACE, "org..B");
        IdlDecl *c = decl(f, IDL_D_INTERFACE, "org.ex-ample.C");
        IdlMember *m = member(a, IDL_M_METHOD, "Foo.Bar");
        IdlMember *s = member(b, IDL_M_SIGNAL, "9Lives");
        IdlMember *q = member(c, IDL_M_METHOD, "Quit");

        arg(&q->in, &q->n_in, IDL_T_STRING, "foo-bar");
        (void)m;
        (void)s;
        run(u);
        ok(said("t.xml:1:1: error: invalid interface name 'org.2example.A': element '2example' starts with a digit"),
           "interface element starting with a digit");
        ok(said("error: invalid interface name 'org..B': empty element"), "empty interface element");
        ok(said("error: invalid interface name 'org.ex-ample.C': invalid character '-'"),
           "dash in an interface name");
        ok(said("error: invalid method name 'Foo.Bar': invalid character '.'"), "dot in a member name");
        ok(said("error: invalid signal name '9Lives': it starts with a digit"), "member starting with a digit");
        ok(said("error: invalid parameter name 'foo-bar': expected a C identifier"), "argument not a C identifier");
        done(u);
}

static void test_filled_fields(void) {
        IdlFile *f;
        IdlUnit *u = unit(&f);
        IdlDecl *pt = decl(f, IDL_D_STRUCT, "Point");
        IdlDecl *en = decl(f, IDL_D_ENUM, "Rounding");
        IdlDecl *i = decl(f, IDL_D_INTERFACE, "org.example.NetworkManager");
        IdlMember *m = member(i, IDL_M_METHOD, "GetURL");
        IdlMember *err = member(i, IDL_M_ERROR, "DivideByZero");
        IdlMember *pr = member(i, IDL_M_PROPERTY, "Int64Value");
        IdlMember *pr2 = member(i, IDL_M_PROPERTY, "Other");
        IdlRaise *r = idl_xcalloc(1, sizeof(*r));
        IdlField *fa;
        const char *vals[] = { "NEAREST", "DOWN", "UP" };

        arg(&pt->fields, &pt->n_fields, IDL_T_INT32, "x");
        arg(&pt->fields, &pt->n_fields, IDL_T_INT32, "y");
        en->base = idl_type_new(IDL_T_UINT32, L(1));
        for (int k = 0; k < 3; k++) {
                IdlEnumValue *v = idl_xcalloc(1, sizeof(*v));
                v->name = idl_xstrdup(vals[k]);
                if (k == 1) {
                        v->has_value = true;
                        v->magnitude = 7;
                }
                IDL_PUSH(en->values, en->n_values, v);
        }
        fa = arg(&m->in, &m->n_in, IDL_T_NAMED, "where");
        fa->type->name = idl_xstrdup("Point");
        r->name = idl_xstrdup("DivideByZero");
        IDL_PUSH(m->raises, m->n_raises, r);
        pr->type = idl_type_new(IDL_T_INT64, L(2));
        pr2->type = idl_type_new(IDL_T_STRING, L(2));
        annot(&m->meta, IDL_A_DBUS, "org.freedesktop.DBus.Deprecated", "true");
        annot(&i->meta, IDL_A_EMITS_CHANGED, "emits_changed", "invalidates");
        annot(&pr2->meta, IDL_A_DBUS, "org.freedesktop.DBus.Property.EmitsChangedSignal", "const");

        is_int(run(u), 0, "a well-formed tree checks clean");
        is_str(pt->c_name, "t_point", "struct C name: module_snake");
        is_str(pt->signature, "(ii)", "struct signature");
        is_str(en->signature, "u", "enum signature");
        is_str(en->values[0]->c_name, "T_ROUNDING_NEAREST", "enumerator C name");
        is_int(en->values[1]->value, 7, "explicit value");
        is_int(en->values[2]->value, 8, "implicit value: previous + 1");
        ok(fa->type->decl == pt, "named type resolved");
        is_str(m->in_sig, "(ii)", "argument signature through a struct");
        is_str(i->c_name, "t_network_manager", "NetworkManager -> t_network_manager (module t)");
        is_str(m->c_name, "get_url", "GetURL -> get_url");
        is_str(pr->c_name, "int64_value", "Int64Value -> int64_value");
        is_str(err->dbus_error, "org.example.NetworkManager.Error.DivideByZero", "D-Bus error name");
        ok(r->error == err, "raises resolved to the error member");
        ok(m->deprecated, "org.freedesktop.DBus.Deprecated sets deprecated");
        is_int(pr->emits, IDL_EMITS_INVALIDATES, "@emits_changed on the interface is the default");
        is_int(pr2->emits, IDL_EMITS_CONST, "EmitsChangedSignal annotation on a property");

        /* Twice on the same unit: the set-by-check fields are replaced, not leaked. */
        is_int(run(u), 0, "checking twice is harmless");
        is_str(pt->c_name, "t_point", "C name still right after a second check");
        done(u);
}

static void test_noreply_annotation(void) {
        IdlFile *f;
        IdlUnit *u = unit(&f);
        IdlDecl *i = decl(f, IDL_D_INTERFACE, "org.example.X");
        IdlMember *m = member(i, IDL_M_METHOD, "Fire");
        IdlMember *n = member(i, IDL_M_METHOD, "Ask");

        annot(&m->meta, IDL_A_DBUS, "org.freedesktop.DBus.Method.NoReply", "true");
        annot(&n->meta, IDL_A_DBUS, "org.freedesktop.DBus.Method.NoReply", "true");
        arg(&n->out, &n->n_out, IDL_T_INT32, "answer");
        is_int(run(u), 1, "NoReply annotation with outputs: one error");
        ok(m->noreply, "NoReply annotation sets noreply");
        ok(said("error: @noreply method 'Ask' cannot have outputs"), "NoReply with outputs reported");
        done(u);
}

static void test_empty_struct_and_signal_outputs(void) {
        IdlFile *f;
        IdlUnit *u = unit(&f);
        IdlDecl *s = decl(f, IDL_D_STRUCT, "Empty");
        IdlDecl *i = decl(f, IDL_D_INTERFACE, "org.example.X");
        IdlMember *sig = member(i, IDL_M_SIGNAL, "Changed");
        IdlMember *p = member(i, IDL_M_PROPERTY, "Thing");
        IdlType *t = idl_type_new(IDL_T_NAMED, L(2));

        arg(&sig->out, &sig->n_out, IDL_T_INT32, "v");
        t->name = idl_xstrdup("Empty");
        p->type = t;
        (void)s;
        run(u);
        ok(said("error: struct 'Empty' has no fields"), "struct without fields (XML import)");
        ok(said("error: signal 'Changed' cannot have outputs"), "signal with outputs");
        done(u);
}

static void test_xml_c_name_clash(void) {
        IdlFile *f;
        IdlUnit *u = unit(&f);
        IdlDecl *i = decl(f, IDL_D_INTERFACE, "org.freedesktop.NetworkManager");
        IdlMember *m = member(i, IDL_M_METHOD, "GetDevices");
        IdlMember *p = member(i, IDL_M_PROPERTY, "Devices");
        IdlMember *g = member(i, IDL_M_METHOD, "GetAll");

        p->type = idl_type_new(IDL_T_OBJPATH, L(2));
        is_int(run(u), 0, "XML: C name clashes are resolved, not errors");
        is_str(m->c_name, "get_devices", "the first keeps its C name");
        is_str(p->c_name, "devices_property", "the property gets name_property");
        is_str(g->c_name, "get_all_method", "a method GetAll next to properties gets get_all_method");
        ok(said("warning: C name of property 'Devices' is 'devices_property': "
                "'t_network_manager_get_devices' is already the C name of method 'GetDevices'"),
           "the rename is a warning naming both sides");
        done(u);

        u = unit(&f);
        f->from_xml = false;
        i = decl(f, IDL_D_INTERFACE, "org.freedesktop.NetworkManager");
        member(i, IDL_M_METHOD, "GetDevices");
        p = member(i, IDL_M_PROPERTY, "Devices");
        p->type = idl_type_new(IDL_T_OBJPATH, L(2));
        is_int(run(u), 1, "IDL: the same clash is an error (use @c_name)");
        done(u);
}

static void test_types_table(void) {
        int64_t v = 0;

        is_str(idl_basic_type(IDL_T_OBJPATH)->idl_name, "objpath", "objpath row");
        is_int(idl_basic_type(IDL_T_SHM)->sig, 'h', "shm is an fd on the wire");
        ok(idl_basic_type(IDL_T_ARRAY) == NULL, "no row for arrays");
        ok(idl_basic_type_by_name("uint16")->kind == IDL_T_UINT16, "lookup by keyword");
        ok(idl_basic_type_by_sig('h')->kind == IDL_T_FD, "'h' means fd");
        ok(idl_kind_is_basic(IDL_T_STRING) && !idl_kind_is_basic(IDL_T_VARIANT), "basic predicate");
        ok(idl_kind_is_fixed(IDL_T_DOUBLE) && !idl_kind_is_fixed(IDL_T_STRING), "fixed predicate");
        ok(idl_int_fits(IDL_T_INT64, true, (uint64_t)INT64_MAX + 1, &v) && v == INT64_MIN, "INT64_MIN fits");
        ok(!idl_int_fits(IDL_T_INT64, true, (uint64_t)INT64_MAX + 2, NULL), "below INT64_MIN");
        ok(idl_int_fits(IDL_T_UINT64, false, UINT64_MAX, NULL), "UINT64_MAX fits");
        ok(!idl_int_fits(IDL_T_BYTE, false, 256, NULL), "256 is not a byte");
        ok(idl_int_fits(IDL_T_UINT32, true, 0, &v) && v == 0, "-0 fits unsigned");
        ok(!idl_int_fits(IDL_T_DOUBLE, false, 1, NULL), "double is not an integer");
}

static void test_snake(void) {
        static const char *const cases[][2] = {
                { "Calculator", "calculator" }, { "NetworkManager", "network_manager" },
                { "DBus", "dbus" }, { "GetURL", "get_url" }, { "HTTPServer", "httpserver" },
                { "Int64Value", "int64_value" }, { "Foo_Bar", "foo_bar" }, { "x", "x" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *s = check_snake(cases[i][0]);
                is_str(s, cases[i][1], cases[i][0]);
                free(s);
        }
}

int main(void) {
        TAP_RUN(test_nameless_args);
        TAP_RUN(test_null_everywhere);
        TAP_RUN(test_xml_names);
        TAP_RUN(test_filled_fields);
        TAP_RUN(test_noreply_annotation);
        TAP_RUN(test_empty_struct_and_signal_outputs);
        TAP_RUN(test_xml_c_name_clash);
        TAP_RUN(test_types_table);
        TAP_RUN(test_snake);
        return tap_done();
}
