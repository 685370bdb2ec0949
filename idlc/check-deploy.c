/* check-deploy.c: the deployment annotations of interfaces.
 *
 * @bus_name, @exec, @systemd_service and @user describe the service that
 * serves a file's interfaces (the .service file, bus policy and systemd
 * unit of gen-deploy.c). They go on an interface; a file whose interfaces
 * are served by one program may repeat them on each, and then every copy
 * must say the same. The values end up in files other programs parse
 * (dbus-daemon, systemd), so each is held to what those programs accept
 * and to what needs no quoting there.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "check-internal.h"
#include "diag.h"
#include "xml-import.h"

#define BUS_NAME_MAX  255 /* D-Bus specification: bus names */
#define UNIT_NAME_MAX 255 /* systemd: UNIT_NAME_MAX */
#define USER_NAME_MAX 32  /* useradd: what every system tool accepts */

static const struct {
        IdlAnnotKind kind;
        const char *idl; /* as written after '@' */
        const char *xml; /* the D-Bus annotation that carries it in XML */
} deploy_annots[] = {
        { IDL_A_BUS_NAME, "bus_name", IDL_XML_BUS_NAME },
        { IDL_A_EXEC, "exec", IDL_XML_EXEC },
        { IDL_A_SYSTEMD_SERVICE, "systemd_service", IDL_XML_SYSTEMD_SERVICE },
        { IDL_A_USER, "user", IDL_XML_USER },
};
#define N_DEPLOY (sizeof(deploy_annots) / sizeof(deploy_annots[0]))

/* Why name cannot be owned on a bus (D-Bus specification, "Bus names"), or
 * NULL. Unique names (":1.42") are the bus's to give, never a service's. */
static const char *bad_bus_name(const char *name, char *buf, size_t size, bool *ret_dash) {
        size_t elems = 0, len = strlen(name);
        const char *p = name;

        *ret_dash = false;
        if (len == 0)
                return "it is empty";
        if (len > BUS_NAME_MAX) {
                snprintf(buf, size, "%zu characters, D-Bus allows %d", len, BUS_NAME_MAX);
                return buf;
        }
        if (*name == ':')
                return "it is a unique connection name; a service owns a well-known name";
        for (;;) {
                const char *e = p;
                while (*e && *e != '.')
                        e++;
                if (e == p)
                        return "empty element";
                if (isdigit((unsigned char)*p)) {
                        snprintf(buf, size, "element '%.*s' starts with a digit", (int)(e - p), p);
                        return buf;
                }
                for (const char *q = p; q < e; q++) {
                        if (*q == '-')
                                *ret_dash = true;
                        else if (!(isalnum((unsigned char)*q) || *q == '_')) {
                                snprintf(buf, size, "invalid character '%c'", *q);
                                return buf;
                        }
                }
                elems++;
                if (!*e)
                        break;
                p = e + 1;
        }
        if (elems < 2)
                return "it needs at least two elements separated by '.'";
        return NULL;
}

/* The command is written unquoted into Exec= of a .service file and
 * ExecStart= of a unit: words separated by single spaces, the first an
 * absolute path, and nothing either parser would read specially. */
static const char *bad_exec(const char *cmd, char *buf, size_t size) {
        if (*cmd != '/')
                return "the program must be an absolute path (it starts the service with no PATH search)";
        for (const char *p = cmd; *p; p++) {
                unsigned char ch = (unsigned char)*p;
                if (ch < 0x20 || ch == 0x7f)
                        return "it contains a control character";
                if (strchr("\"'\\$%`;&|<>", ch)) {
                        snprintf(buf, size,
                                 "character '%c' would need quoting in a .service file "
                                 "or a systemd unit; write the command without it",
                                 ch);
                        return buf;
                }
                if (ch == ' ' && (p[1] == ' ' || p[1] == '\0'))
                        return "words must be separated by single spaces";
        }
        if (cmd[strlen(cmd) - 1] == '/')
                return "the program is a directory";
        return NULL;
}

/* A systemd service unit name: "calc.service", "dbus-org.example.Calc.service". */
static const char *bad_unit(const char *name, char *buf, size_t size) {
        static const char suffix[] = ".service";
        size_t len = strlen(name), n = sizeof(suffix) - 1;

        if (len > UNIT_NAME_MAX) {
                snprintf(buf, size, "%zu characters, systemd allows %d", len, UNIT_NAME_MAX);
                return buf;
        }
        if (len <= n || strcmp(name + len - n, suffix) != 0)
                return "expected a unit name ending in '.service'";
        for (const char *p = name; p < name + len - n; p++) {
                if (!(isalnum((unsigned char)*p) || strchr(":-_.\\@", *p))) {
                        snprintf(buf, size, "invalid character '%c' in a unit name", *p);
                        return buf;
                }
        }
        if (strchr(name, '@') && name[len - n - 1] == '@')
                return "a template unit ('name@.service') cannot be started by name";
        return NULL;
}

/* A system user name as useradd accepts it: [a-z_][a-z0-9_-]*, at most 32. */
static const char *bad_user(const char *name, char *buf, size_t size) {
        size_t len = strlen(name);

        if (len == 0)
                return "it is empty";
        if (len > USER_NAME_MAX) {
                snprintf(buf, size, "%zu characters, at most %d", len, USER_NAME_MAX);
                return buf;
        }
        if (!(islower((unsigned char)*name) || *name == '_'))
                return "it must start with a lowercase letter or '_'";
        for (const char *p = name; *p; p++) {
                if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' || *p == '-')) {
                        snprintf(buf, size, "invalid character '%c'", *p);
                        return buf;
                }
        }
        return NULL;
}

static void check_value(const IdlAnnot *a, const char *idl, IdlLoc loc) {
        char buf[160];
        const char *why = NULL;
        bool dash = false;

        if (!a->value || !*a->value) {
                idl_error(loc, "annotation '@%s' needs a non-empty value", idl);
                return;
        }
        switch (a->kind) {
        case IDL_A_BUS_NAME:
                why = bad_bus_name(a->value, buf, sizeof(buf), &dash);
                if (!why && dash)
                        idl_warning(loc,
                                    "bus name '%s' contains '-', which the D-Bus specification "
                                    "discourages in new names",
                                    a->value);
                break;
        case IDL_A_EXEC:
                why = bad_exec(a->value, buf, sizeof(buf));
                break;
        case IDL_A_SYSTEMD_SERVICE:
                why = bad_unit(a->value, buf, sizeof(buf));
                break;
        case IDL_A_USER:
                why = bad_user(a->value, buf, sizeof(buf));
                break;
        default:
                break;
        }
        if (why)
                idl_error(loc, "invalid value '%s' for '@%s': %s", a->value, idl, why);
}

static void check_file(IdlFile *f) {
        const IdlAnnot *first[N_DEPLOY] = { NULL };

        for (size_t i = 0; i < f->n_decls; i++) {
                const IdlDecl *d = f->decls[i];
                if (!d || d->kind != IDL_D_INTERFACE)
                        continue;
                for (size_t k = 0; k < d->meta.n_annots; k++) {
                        const IdlAnnot *a = d->meta.annots[k];
                        IdlLoc loc;
                        if (!a)
                                continue;
                        loc = check_loc(a->loc, f);
                        for (size_t j = 0; j < N_DEPLOY; j++) {
                                if (a->kind == IDL_A_DBUS && a->name &&
                                    strcmp(a->name, deploy_annots[j].xml) == 0) {
                                        idl_error(loc,
                                                  "write '@%s(...)' instead of '@annotation(\"%s\", ...)'",
                                                  deploy_annots[j].idl, deploy_annots[j].xml);
                                        continue;
                                }
                                if (a->kind != deploy_annots[j].kind)
                                        continue;
                                check_value(a, deploy_annots[j].idl, loc);
                                if (!first[j]) {
                                        first[j] = a;
                                } else if (strcmp(check_str(first[j]->value), check_str(a->value)) != 0) {
                                        idl_error(loc,
                                                  "'@%s(\"%s\")' differs from the one given before; "
                                                  "the interfaces of a file are served by one program",
                                                  deploy_annots[j].idl, check_str(a->value));
                                        idl_note(check_loc(first[j]->loc, f), "previous '@%s' is here",
                                                 deploy_annots[j].idl);
                                }
                        }
                }
        }
}

void check_deploy(CheckCtx *c) {
        for (size_t i = 0; i < c->u->n_files; i++)
                if (c->u->files[i])
                        check_file(c->u->files[i]);
}
