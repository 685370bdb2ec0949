/* wire-names.c: the specification's rules for names, UTF-8 and
 * signatures on wire data (length-based: a wire string holds its length,
 * and its NUL is checked apart), as libdbus 1.14 applies them, except the
 * nesting depth, which is counted as the specification says (wire.h).
 *
 * common/names.c holds the same rules for C strings (the compiler and the
 * local callers of the runtime); these are table-driven and take a length,
 * for the receive path.
 */
#include <string.h>

#include "wire.h"

/* ---- names ---- */

/* Character classes of names, one table lookup per byte. */
enum {
        C_FIRST = 1, /* [A-Za-z_]: starts an element of a name */
        C_NAME = 2,  /* [A-Za-z0-9_] */
        C_BUS = 4,   /* [A-Za-z0-9_-]: bus names */
        C_BUS_FIRST = 8,
};

#define C_LETTER (C_FIRST | C_NAME | C_BUS | C_BUS_FIRST)
#define C_DIGIT (C_NAME | C_BUS)
static const uint8_t char_class[256] = {
        ['0' ... '9'] = C_DIGIT, ['A' ... 'Z'] = C_LETTER, ['a' ... 'z'] = C_LETTER, ['_'] = C_LETTER,
        ['-'] = C_BUS | C_BUS_FIRST,
};

static inline bool is_name_first(unsigned char c) {
        return char_class[c] & C_FIRST;
}

static inline bool is_name_char(unsigned char c) {
        return char_class[c] & C_NAME;
}

static inline bool is_bus_first(unsigned char c) {
        return char_class[c] & C_BUS_FIRST;
}

static inline bool is_bus_char(unsigned char c) {
        return char_class[c] & C_BUS;
}

/* Shortest forms only, no surrogates, nothing above U+10FFFF, no NUL
 * (noncharacters such as U+FFFE are allowed, as the specification and
 * libdbus since 1.9 say). */
bool wire_valid_utf8(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *)s, *end = p + len;

        while (p < end) {
                unsigned c = *p, n, i;
                uint32_t cp;

                if (c >= 1 && c < 0x80) {
                        p++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        n = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        cp = c & 0x07;
                } else
                        return false; /* NUL, a continuation byte, an overlong lead, above U+10FFFF */
                if ((size_t)(end - p) <= n)
                        return false;
                for (i = 1; i <= n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                p += n + 1;
        }
        return true;
}

bool wire_valid_path(const char *s, size_t len) {
        size_t i, last = 0;

        if (len == 0 || s[0] != '/')
                return false;
        for (i = 1; i < len; i++) {
                if (s[i] == '/') {
                        if (i - last < 2)
                                return false; /* an empty element */
                        last = i;
                } else if (!is_name_char((unsigned char)s[i]))
                        return false;
        }
        return len == 1 || len - last >= 2; /* no trailing slash but "/" */
}

bool wire_valid_interface(const char *s, size_t len) {
        size_t i;
        bool dot = false;

        if (len == 0 || len > WIRE_MAX_NAME || !is_name_first((unsigned char)s[0]))
                return false;
        for (i = 1; i < len; i++) {
                if (s[i] == '.') {
                        if (i + 1 == len || !is_name_first((unsigned char)s[i + 1]))
                                return false;
                        dot = true;
                        i++;
                } else if (!is_name_char((unsigned char)s[i]))
                        return false;
        }
        return dot;
}

bool wire_valid_member(const char *s, size_t len) {
        size_t i;

        if (len == 0 || len > WIRE_MAX_NAME || !is_name_first((unsigned char)s[0]))
                return false;
        for (i = 1; i < len; i++)
                if (!is_name_char((unsigned char)s[i]))
                        return false;
        return true;
}

/* Well-known names as the specification says; unique names (":...") as
 * libdbus checks them: elements of [A-Za-z0-9_-], no empty element after
 * the first, and (libdbus's reading) no second element required. */
bool wire_valid_bus_name(const char *s, size_t len) {
        size_t i;
        bool dot = false;

        if (len == 0 || len > WIRE_MAX_NAME)
                return false;
        if (s[0] == ':') {
                for (i = 1; i < len; i++) {
                        if (s[i] == '.') {
                                if (i + 1 == len || !is_bus_char((unsigned char)s[i + 1]))
                                        return false;
                                i++;
                        } else if (!is_bus_char((unsigned char)s[i]))
                                return false;
                }
                return true;
        }
        if (!is_bus_first((unsigned char)s[0]))
                return false;
        for (i = 1; i < len; i++) {
                if (s[i] == '.') {
                        if (i + 1 == len || !is_bus_first((unsigned char)s[i + 1]))
                                return false;
                        dot = true;
                        i++;
                } else if (!is_bus_char((unsigned char)s[i]))
                        return false;
        }
        return dot;
}

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
