/* check.h: every semantic check of busrpc-idlc, for both front ends.
 * Resolves names, computes signatures and C names (the fields marked
 * "set by check" in ast.h), and reports each problem through diag.h.
 * Returns the number of errors found (0: the unit is safe to generate). */
#pragma once

#include "ast.h"

int idl_check(IdlUnit *u);
