/* diag.h: compiler diagnostics, gcc style:
 *
 *   calc.idl:12:5: error: unknown type 'Pointt'
 *       method Foo(Pointt p);
 *                  ^
 *   calc.idl:3:8: note: previous definition is here
 *
 * Diagnostics go to stderr (or the stream set with idl_diag_set_stream());
 * the source line and caret come from the text registered for the file.
 * State is per process; idl_diag_reset() starts over (the fuzzer does).
 */
#pragma once

#include <stdio.h>
#include "ast.h"

void idl_diag_reset(void);
void idl_diag_set_stream(FILE *out); /* NULL: stderr */
/* Register a file's text so diagnostics can show its lines (borrowed; must
 * outlive the diagnostics). */
void idl_diag_add_source(const char *path, const char *text, size_t len);
/* Forget the text registered for path (before freeing it). */
void idl_diag_remove_source(const char *path);

void idl_error(IdlLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void idl_warning(IdlLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void idl_note(IdlLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error with no useful position (cannot open a file): "busrpc-idlc: error: ..." */
void idl_error_noloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int idl_diag_errors(void);
int idl_diag_warnings(void);
