/* parse.h: the IDL front end (lexer.l, parser.y) and the loader that
 * follows imports. The parser only builds the AST; check.c judges it. */
#pragma once

#include "ast.h"

/* Parse IDL text (borrowed; need not be NUL-terminated) into a new file
 * named path. Syntax errors are reported through diag.h; the parser
 * recovers and returns what it could build, or NULL when nothing was. */
IdlFile *idl_parse_idl(const char *path, const char *text, size_t len);

/* Load path (IDL or XML, by extension .xml or content starting with '<'),
 * then every file it imports through the search path, each once; import
 * cycles are diagnosed. Returns the unit, never NULL; check
 * idl_diag_errors() afterwards. */
IdlUnit *idl_load(const char *path, const char *const *include_dirs, size_t n_include_dirs);
