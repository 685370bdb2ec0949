/* check.h: every semantic check of busrpc-idlc, for both front ends.
 * Resolves names, computes signatures and C names (the fields marked
 * "set by check" in ast.h), and reports each problem through diag.h.
 * Returns the number of errors found (0: the unit is safe to generate). */
#pragma once

#include "ast.h"

int idl_check(IdlUnit *u);

/* The bytes of a @max_size value: digits with an optional K, M, G or T
 * (also KiB, MiB, GiB, TiB; powers of 1024); at least 1, at most
 * INT64_MAX. False when s is not one. */
bool check_parse_size(const char *s, uint64_t *ret);
