/* wire-signature.c: the specification's rules for signatures on wire data
 * (length-based: a wire string holds its length, and its NUL is checked
 * apart), as libdbus 1.14 applies them, except the nesting depth, which
 * is counted as the specification says (wire.h).
 *
 * The rules for names and UTF-8 are common/names.c's, the one copy that
 * busrpc-idlc, the runtime and the tool share; wire.h applies them.
 */
#include <string.h>

#include "wire.h"

/* ---- signatures ---- */

bool wire_is_fixed(char t) {
        switch (t) {
        case 'y':
        case 'b':
        case 'n':
        case 'q':
        case 'i':
        case 'u':
        case 'x':
        case 't':
        case 'd':
        case 'h':
                return true;
        default:
                return false;
        }
}

static bool is_basic(char t) {
        return wire_is_fixed(t) || t == 's' || t == 'o' || t == 'g';
}

unsigned wire_align_of(char t) {
        switch (t) {
        case 'n':
        case 'q':
                return 2;
        case 'b':
        case 'i':
        case 'u':
        case 'h':
        case 's':
        case 'o':
        case 'a':
                return 4;
        case 'x':
        case 't':
        case 'd':
        case '(':
        case '{':
        case 'r':
        case 'e':
                return 8;
        default:
                return 1; /* y g v */
        }
}

typedef struct SigCheck {
        const char *p, *end;
        unsigned arrays, structs, dicts; /* open around the current type */
        unsigned depth, max_depth;       /* all containers */
        WireErr err;
} SigCheck;

static bool sig_one(SigCheck *c);

static bool sig_enter(SigCheck *c, unsigned *counter, unsigned max) {
        if (++*counter > max || ++c->depth > WIRE_MAX_DEPTH) {
                c->err = WIRE_E_DEPTH;
                return false;
        }
        if (c->depth > c->max_depth)
                c->max_depth = c->depth;
        return true;
}

/* One complete type at c->p: the grammar as libdbus's state machine
 * accepts it, with the depth counted as the specification says (every
 * array around a type, not only consecutive 'a's as libdbus counts). */
static bool sig_one(SigCheck *c) {
        char t;

        if (c->p >= c->end) {
                c->err = WIRE_E_SIGNATURE;
                return false;
        }
        t = *c->p++;
        if (is_basic(t))
                return true;
        switch (t) {
        case 'v':
                if (c->depth + 1 > c->max_depth)
                        c->max_depth = c->depth + 1;
                if (c->max_depth > WIRE_MAX_DEPTH) {
                        c->err = WIRE_E_DEPTH;
                        return false;
                }
                return true;
        case 'a':
                if (!sig_enter(c, &c->arrays, WIRE_MAX_ARRAY_DEPTH))
                        return false;
                if (c->p < c->end && *c->p == '{') {
                        c->p++;
                        if (!sig_enter(c, &c->dicts, WIRE_MAX_STRUCT_DEPTH))
                                return false;
                        if (c->p >= c->end || !is_basic(*c->p)) {
                                c->err = WIRE_E_SIGNATURE;
                                return false;
                        }
                        c->p++;
                        if (!sig_one(c))
                                return false;
                        if (c->p >= c->end || *c->p != '}') {
                                c->err = WIRE_E_SIGNATURE;
                                return false;
                        }
                        c->p++;
                        c->dicts--;
                        c->depth--;
                } else if (!sig_one(c))
                        return false;
                c->arrays--;
                c->depth--;
                return true;
        case '(':
                if (!sig_enter(c, &c->structs, WIRE_MAX_STRUCT_DEPTH))
                        return false;
                if (c->p < c->end && *c->p == ')') {
                        c->err = WIRE_E_SIGNATURE;
                        return false;
                }
                while (c->p < c->end && *c->p != ')')
                        if (!sig_one(c))
                                return false;
                if (c->p >= c->end) {
                        c->err = WIRE_E_SIGNATURE;
                        return false;
                }
                c->p++;
                c->structs--;
                c->depth--;
                return true;
        default:
                c->err = WIRE_E_SIGNATURE;
                return false;
        }
}

WireErr wire_signature_check(const char *s, size_t len, unsigned *ret_depth) {
        SigCheck c = { .p = s, .end = s + len };

        if (len > WIRE_MAX_SIGNATURE)
                return WIRE_E_SIGNATURE;
        while (c.p < c.end)
                if (!sig_one(&c))
                        return c.err;
        if (ret_depth)
                *ret_depth = c.max_depth;
        return WIRE_OK;
}

size_t wire_type_len(const char *s) {
        const char *p = s;
        unsigned open = 0;

        do {
                switch (*p) {
                case 'a':
                        p++;
                        continue;
                case '(':
                case '{':
                        open++;
                        break;
                case ')':
                case '}':
                        if (open == 0)
                                return 0;
                        open--;
                        break;
                case '\0':
                        return 0;
                default:
                        break;
                }
                p++;
        } while (open > 0 || p[-1] == 'a');
        return (size_t)(p - s);
}
