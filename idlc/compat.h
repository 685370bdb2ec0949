/* compat.h: busrpc-idlc --compat OLD NEW, and the @since version rule.
 *
 * idl_compat() compares two checked units: every interface, member,
 * argument and type of OLD's main file against NEW's, matched by what is
 * on the wire (D-Bus names and signatures), and reports each change
 * through diag.h at NEW's location with a note at OLD's. docs/idl.md
 * ("API evolution") is the user's side of the rules.
 */
#pragma once

#include <stdbool.h>
#include <string.h>
#include "ast.h"

typedef enum IdlCompatLevel {
        IDL_COMPAT_WIRE,   /* only what breaks peers on the D-Bus wire is an error */
        IDL_COMPAT_SOURCE, /* also what breaks C source built on the generated API */
        IDL_COMPAT_STRICT, /* any change to an existing member */
} IdlCompatLevel;

/* "wire", "source", "strict": 0 and *ret set, or -1 for anything else. */
int idl_compat_level_parse(const char *s, IdlCompatLevel *ret);

/* Compare two checked units (files[0] of each). Returns the number of
 * breaking changes at level (each reported as an error); compatible
 * changes are warnings or notes. */
int idl_compat(const IdlUnit *old_u, const IdlUnit *new_u, IdlCompatLevel level);

/* A version as @since takes it: dotted decimal numbers, "1", "1.2", "0.10.3". */
static inline bool idl_version_valid(const char *s) {
        if (!s || !*s)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p == '.') {
                        if (p == s || p[1] == '\0' || p[1] == '.')
                                return false;
                } else if (*p < '0' || *p > '9') {
                        return false;
                }
        }
        return true;
}

/* Compare two valid versions numerically, part by part; a missing part is
 * 0 ("1.2" == "1.2.0"), leading zeros do not count. <0, 0, >0 like strcmp. */
static inline int idl_version_cmp(const char *a, const char *b) {
        while (*a || *b) {
                size_t na, nb;
                int r;

                while (*a == '0' && a[1] >= '0' && a[1] <= '9')
                        a++;
                while (*b == '0' && b[1] >= '0' && b[1] <= '9')
                        b++;
                na = strcspn(a, ".");
                nb = strcspn(b, ".");
                /* An absent part is "0". */
                if (na == 0 && nb == 0)
                        break;
                if (na == 0 ? !(nb == 1 && *b == '0') : nb == 0 ? !(na == 1 && *a == '0') : true) {
                        if (na != nb)
                                return na < nb ? -1 : 1;
                        r = strncmp(a, b, na);
                        if (r)
                                return r < 0 ? -1 : 1;
                }
                a += na;
                b += nb;
                if (*a == '.')
                        a++;
                if (*b == '.')
                        b++;
        }
        return 0;
}

/* The @since annotation of a declaration or member (the last valid one),
 * or NULL. */
static inline const IdlAnnot *idl_meta_since(const IdlMeta *m) {
        const IdlAnnot *s = NULL;

        for (size_t i = 0; i < m->n_annots; i++)
                if (m->annots[i] && m->annots[i]->kind == IDL_A_SINCE && idl_version_valid(m->annots[i]->value))
                        s = m->annots[i];
        return s;
}
