/* diag.c: gcc-style diagnostics with the source line and a caret.
 *
 * Columns count bytes from 1; a tab is one column. The caret line copies
 * the tabs of the source line, so the caret lines up in any terminal.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

typedef struct Source {
        const char *path;
        const char *text;
        size_t len;
} Source;

static Source *sources;
static size_t n_sources;
static FILE *stream;
static int n_errors;
static int n_warnings;

void idl_diag_reset(void) {
        free(sources);
        sources = NULL;
        n_sources = 0;
        n_errors = 0;
        n_warnings = 0;
}

void idl_diag_set_stream(FILE *out) {
        stream = out;
}

static FILE *out_stream(void) {
        return stream ? stream : stderr;
}

void idl_diag_add_source(const char *path, const char *text, size_t len) {
        Source *p;

        if (!path)
                return;
        /* Registering a path again replaces its entry: the loader first
         * registers a temporary name, then the file's own. */
        for (size_t i = 0; i < n_sources; i++) {
                if (strcmp(sources[i].path, path) == 0) {
                        sources[i] = (Source){ path, text, len };
                        return;
                }
        }
        p = realloc(sources, (n_sources + 1) * sizeof(*p));
        if (!p)
                return; /* diagnostics then lack the source line; no harm */
        sources = p;
        sources[n_sources++] = (Source){ path, text, len };
}

void idl_diag_remove_source(const char *path) {
        for (size_t i = 0; path && i < n_sources; i++) {
                if (strcmp(sources[i].path, path) == 0) {
                        memmove(&sources[i], &sources[i + 1], (n_sources - i - 1) * sizeof(*sources));
                        n_sources--;
                        return;
                }
        }
}

static const Source *find_source(const char *path) {
        if (!path)
                return NULL;
        for (size_t i = n_sources; i-- > 0;)
                if (strcmp(sources[i].path, path) == 0)
                        return &sources[i];
        return NULL;
}

static void show_line(FILE *out, IdlLoc loc) {
        const Source *s = find_source(loc.file);
        const char *p, *end, *eol;
        int line = 1;

        if (!s || !s->text || loc.line < 1)
                return;
        p = s->text;
        end = s->text + s->len;
        while (line < loc.line && p < end) {
                eol = memchr(p, '\n', (size_t)(end - p));
                if (!eol)
                        return;
                p = eol + 1;
                line++;
        }
        if (line != loc.line || p > end)
                return;
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
                eol = end;
        if (eol > p && eol[-1] == '\r')
                eol--;
        for (const char *c = p; c < eol; c++)
                fputc(*c == '\0' ? ' ' : *c, out);
        fputc('\n', out);
        if (loc.col < 1)
                return;
        for (int i = 1; i < loc.col; i++)
                fputc(p + i - 1 < eol && p[i - 1] == '\t' ? '\t' : ' ', out);
        fputs("^\n", out);
}

static void report(IdlLoc loc, const char *kind, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));
static void report(IdlLoc loc, const char *kind, const char *fmt, va_list ap) {
        FILE *out = out_stream();

        if (loc.file && loc.line > 0 && loc.col > 0)
                fprintf(out, "%s:%d:%d: %s: ", loc.file, loc.line, loc.col, kind);
        else if (loc.file && loc.line > 0)
                fprintf(out, "%s:%d: %s: ", loc.file, loc.line, kind);
        else if (loc.file)
                fprintf(out, "%s: %s: ", loc.file, kind);
        else
                fprintf(out, "busrpc-idlc: %s: ", kind);
        vfprintf(out, fmt, ap);
        fputc('\n', out);
        show_line(out, loc);
}

void idl_error(IdlLoc loc, const char *fmt, ...) {
        va_list ap;

        n_errors++;
        va_start(ap, fmt);
        report(loc, "error", fmt, ap);
        va_end(ap);
}

void idl_warning(IdlLoc loc, const char *fmt, ...) {
        va_list ap;

        n_warnings++;
        va_start(ap, fmt);
        report(loc, "warning", fmt, ap);
        va_end(ap);
}

void idl_note(IdlLoc loc, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report(loc, "note", fmt, ap);
        va_end(ap);
}

void idl_error_noloc(const char *fmt, ...) {
        va_list ap;

        n_errors++;
        va_start(ap, fmt);
        report((IdlLoc){ NULL, 0, 0 }, "error", fmt, ap);
        va_end(ap);
}

int idl_diag_errors(void) {
        return n_errors;
}

int idl_diag_warnings(void) {
        return n_warnings;
}
