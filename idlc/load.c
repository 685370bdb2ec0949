/* load.c: read the main file and everything it imports, each file once.
 *
 * An import is looked up next to the importing file first, then in each
 * -I directory in order. Files are told apart by their canonical path
 * (realpath), so "a.idl" and "./dir/../a.idl" are one file. A file that
 * imports itself, directly or through others, is an import cycle: an
 * error at the import that closes the cycle.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "parse.h"
#include "xml-import.h"

typedef struct Loader {
        IdlUnit *u;
        char **real;   /* canonical path of u->files[i] */
        bool *loading; /* u->files[i] is on the import stack */
        size_t cap;
        IdlFile **stack;
        size_t depth;
} Loader;

static int read_all(const char *path, char **ret_text, size_t *ret_len) {
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        size_t len = 0, cap = 0;

        if (!f)
                return -errno;
        for (;;) {
                size_t n;
                if (cap - len < 4096) {
                        cap = cap ? cap * 2 : 8192;
                        char *p = realloc(buf, cap + 1);
                        if (!p) {
                                free(buf);
                                fclose(f);
                                return -ENOMEM;
                        }
                        buf = p;
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0)
                        break;
        }
        if (ferror(f)) {
                int r = errno ? -errno : -EIO;
                free(buf);
                fclose(f);
                return r;
        }
        fclose(f);
        if (!buf)
                buf = idl_xmalloc(1);
        buf[len] = '\0';
        *ret_text = buf;
        *ret_len = len;
        return 0;
}

static bool looks_like_xml(const char *path, const char *text, size_t len) {
        size_t n = strlen(path);

        if (n >= 4 && strcmp(path + n - 4, ".xml") == 0)
                return true;
        for (size_t i = 0; i < len; i++) {
                if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')
                        continue;
                return text[i] == '<';
        }
        return false;
}

static bool is_file(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where an import written as name in file from resolves, or NULL. */
static char *resolve_import(const Loader *L, const IdlFile *from, const char *name) {
        const char *slash;
        char *p;

        if (name[0] == '/')
                return is_file(name) ? idl_xstrdup(name) : NULL;
        slash = strrchr(from->path, '/');
        if (slash)
                p = idl_xasprintf("%.*s/%s", (int)(slash - from->path), from->path, name);
        else
                p = idl_xstrdup(name);
        if (is_file(p))
                return p;
        free(p);
        for (size_t i = 0; i < L->u->n_include_dirs; i++) {
                p = idl_xasprintf("%s/%s", L->u->include_dirs[i], name);
                if (is_file(p))
                        return p;
                free(p);
        }
        return NULL;
}

static void report_cycle(const Loader *L, const IdlImport *imp, const IdlFile *target) {
        size_t start = 0, len = 0;
        char *chain, *o;

        while (start < L->depth && L->stack[start] != target)
                start++;
        for (size_t i = start; i < L->depth; i++)
                len += strlen(L->stack[i]->path) + 4;
        len += strlen(target->path) + 1;
        chain = idl_xmalloc(len);
        o = chain;
        for (size_t i = start; i < L->depth; i++)
                o += sprintf(o, "%s -> ", L->stack[i]->path);
        strcpy(o, target->path);
        idl_error(imp->loc, "import cycle: %s", chain);
        free(chain);
}

static void push_file(Loader *L, IdlFile *f, char *real) {
        if (L->u->n_files == L->cap) {
                L->cap = L->cap ? L->cap * 2 : 8;
                L->real = realloc(L->real, L->cap * sizeof(*L->real));
                L->loading = realloc(L->loading, L->cap * sizeof(*L->loading));
                L->stack = realloc(L->stack, L->cap * sizeof(*L->stack));
                if (!L->real || !L->loading || !L->stack) {
                        fputs("busrpc-idlc: out of memory\n", stderr);
                        abort();
                }
        }
        L->real[L->u->n_files] = real;
        L->loading[L->u->n_files] = true;
        IDL_PUSH(L->u->files, L->u->n_files, f);
}

/* Load path (imported at imp, or the main file when imp is NULL); returns
 * the file, or NULL when it could not be read. Takes ownership of path. */
static IdlFile *load(Loader *L, char *path, const IdlImport *imp) {
        char *real, *text = NULL;
        size_t len = 0, idx;
        IdlFile *f;
        int r;

        real = realpath(path, NULL);
        if (real) {
                for (size_t i = 0; i < L->u->n_files; i++) {
                        if (strcmp(L->real[i], real) != 0)
                                continue;
                        if (L->loading[i] && imp)
                                report_cycle(L, imp, L->u->files[i]);
                        free(real);
                        free(path);
                        return L->u->files[i];
                }
        }
        r = read_all(path, &text, &len);
        if (r < 0) {
                if (imp)
                        idl_error(imp->loc, "cannot read '%s': %s", path, strerror(-r));
                else
                        idl_error_noloc("cannot read '%s': %s", path, strerror(-r));
                free(real);
                free(path);
                return NULL;
        }
        /* Register the text before parsing: the parser's diagnostics show it. */
        idl_diag_add_source(path, text, len);
        if (looks_like_xml(path, text, len))
                f = idl_xml_import(path, text, len);
        else
                f = idl_parse_idl(path, text, len);
        if (!f) {
                /* Nothing was built and the front end has said why; no later
                 * diagnostic can point into this text. */
                idl_diag_remove_source(path);
                free(text);
                free(real);
                free(path);
                return NULL;
        }
        if (!f->text) {
                f->text = text;
                f->text_len = len;
        } else {
                free(text);
        }
        /* Re-key the diagnostics' entry to the file's own copies. */
        idl_diag_remove_source(path);
        idl_diag_add_source(f->path, f->text, f->text_len);
        free(path);

        idx = L->u->n_files;
        push_file(L, f, real ? real : idl_xstrdup(f->path));
        L->stack[L->depth++] = f;
        for (size_t i = 0; i < f->n_imports; i++) {
                IdlImport *im = f->imports[i];
                char *p = resolve_import(L, f, im->path);
                if (!p) {
                        idl_error(im->loc, "cannot find imported file '%s'", im->path);
                        continue;
                }
                im->file = load(L, p, im);
        }
        L->depth--;
        L->loading[idx] = false;
        return f;
}

IdlUnit *idl_load(const char *path, const char *const *include_dirs, size_t n_include_dirs) {
        Loader L = { 0 };

        L.u = idl_xcalloc(1, sizeof(*L.u));
        L.u->include_dirs = include_dirs;
        L.u->n_include_dirs = n_include_dirs;
        load(&L, idl_xstrdup(path), NULL);
        for (size_t i = 0; i < L.u->n_files; i++)
                free(L.real[i]);
        free(L.real);
        free(L.loading);
        free(L.stack);
        return L.u;
}
