/* names.c: the D-Bus name and UTF-8 rules (see names.h).
 *
 * The receive path checks every name of every message with these, so
 * they are table-driven (one lookup per byte) and take a length; the
 * compiler's diagnostics are made from the same verdicts (NamesErr and
 * where), so there is one copy of each rule.
 */
#include <stdio.h>
#include <string.h>
#include "names.h"

/* ---- UTF-8 ---- */

static inline size_t utf8_seq(const unsigned char *s, size_t avail, uint32_t *ret_cp) {
        uint32_t cp;
        size_t n;

        if (avail == 0)
                return 0;
        if (s[0] < 0x80) {
                cp = s[0];
                n = 1;
        } else {
                if (s[0] >= 0xc2 && s[0] <= 0xdf)
                        n = 2, cp = s[0] & 0x1f;
                else if (s[0] >= 0xe0 && s[0] <= 0xef)
                        n = 3, cp = s[0] & 0x0f;
                else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                        n = 4, cp = s[0] & 0x07;
                else
                        return 0; /* continuation byte, overlong lead, or > U+10FFFF */
                if (n > avail)
                        return 0;
                for (size_t i = 1; i < n; i++) {
                        if ((s[i] & 0xc0) != 0x80)
                                return 0; /* also stops at a NUL */
                        cp = cp << 6 | (s[i] & 0x3f);
                }
                if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return 0;
        }
        if (ret_cp)
                *ret_cp = cp;
        return n;
}

size_t names_utf8_len(const unsigned char *s, size_t avail, uint32_t *ret_cp) {
        return utf8_seq(s, avail, ret_cp);
}

bool names_utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, n;

        while (i < len) {
                if (p[i] - 1u < 0x7fu) { /* ASCII but NUL: most strings are only that */
                        i++;
                        continue;
                }
                if (p[i] == 0 || (n = utf8_seq(p + i, len - i, NULL)) == 0)
                        return false;
                i += n;
        }
        return true;
}

/* ---- names ---- */

/* Character classes of names, one table lookup per byte. */
enum {
        C_FIRST = 1,     /* [A-Za-z_]: starts an element of an interface or member name */
        C_NAME = 2,      /* [A-Za-z0-9_] */
        C_BUS = 4,       /* [A-Za-z0-9_-]: bus names */
        C_BUS_FIRST = 8, /* [A-Za-z_-]: starts an element of a well-known bus name */
        C_DIGIT = 16,
        C_DOT = 32,
};

#define C_LETTER (C_FIRST | C_NAME | C_BUS | C_BUS_FIRST)
static const uint8_t char_class[256] = {
        ['0' ... '9'] = C_NAME | C_BUS | C_DIGIT,
        ['A' ... 'Z'] = C_LETTER,
        ['a' ... 'z'] = C_LETTER,
        ['_'] = C_LETTER,
        ['-'] = C_BUS | C_BUS_FIRST,
        ['.'] = C_DOT,
};

static inline bool is_class(unsigned char c, unsigned cls) {
        return char_class[c] & cls;
}

/* What a kind of name is made of. */
typedef struct NameRule {
        uint8_t first, rest;  /* classes of an element's first character and of the others */
        bool dots;            /* '.' separates elements (else it is just a bad character) */
        bool lax_first;       /* the first element may be empty (libdbus's unique names) */
        uint8_t min_elements; /* how many elements at least */
} NameRule;

static const NameRule rule_dotted = { C_FIRST, C_NAME, true, false, 2 };
static const NameRule rule_member = { C_FIRST, C_NAME, false, false, 1 };
static const NameRule rule_well_known = { C_BUS_FIRST, C_BUS, true, false, 2 };
static const NameRule rule_unique = { C_BUS, C_BUS, true, false, 2 };
static const NameRule rule_unique_lax = { C_BUS, C_BUS, true, true, 1 };

/* Inlined into each caller, where @rule is a constant: the compiler
 * folds it (this runs for every name of every message received). */
static inline __attribute__((always_inline)) NamesErr check_name(const NameRule *rule, const char *s, size_t len,
                                                                 size_t *ret_at) {
        const unsigned char *p = (const unsigned char *)s;
        unsigned elements = 1;
        size_t i = 0;

        if (len > NAMES_MAX_LEN)
                return NAMES_E_TOO_LONG;
        for (;;) {
                /* at the start of an element */
                if (i == len || (rule->dots && p[i] == '.')) {
                        if (!(rule->lax_first && i == 0))
                                return NAMES_E_EMPTY_ELEMENT;
                } else {
                        if (!is_class(p[i], rule->first)) {
                                if (ret_at)
                                        *ret_at = i;
                                return is_class(p[i], C_DIGIT) ? NAMES_E_DIGIT : NAMES_E_CHAR;
                        }
                        for (i++; i < len; i++) {
                                uint8_t c = char_class[p[i]];

                                if (c & rule->rest)
                                        continue;
                                if (rule->dots && (c & C_DOT))
                                        break;
                                if (ret_at)
                                        *ret_at = i;
                                return NAMES_E_CHAR;
                        }
                }
                if (i == len)
                        break;
                i++; /* the dot */
                elements++;
        }
        return elements < rule->min_elements ? NAMES_E_ONE_ELEMENT : NAMES_OK;
}

NamesErr names_check_dotted(const char *s, size_t len, size_t *ret_at) {
        return check_name(&rule_dotted, s, len, ret_at);
}

NamesErr names_check_member(const char *s, size_t len, size_t *ret_at) {
        if (len == 0)
                return NAMES_E_EMPTY;
        return check_name(&rule_member, s, len, ret_at);
}

bool names_valid_bus_name_len(const char *s, size_t len, unsigned flags) {
        if (len > 0 && s[0] == ':')
                return len <= NAMES_MAX_LEN &&
                       check_name(flags & NAMES_BUS_LAX_UNIQUE ? &rule_unique_lax : &rule_unique, s + 1,
                                  len - 1, NULL) == NAMES_OK;
        return check_name(&rule_well_known, s, len, NULL) == NAMES_OK;
}

bool names_valid_object_path_len(const char *s, size_t len) {
        size_t i, last = 0;

        if (len == 0 || s[0] != '/')
                return false;
        for (i = 1; i < len; i++) {
                if (s[i] == '/') {
                        if (i - last < 2)
                                return false; /* an empty element */
                        last = i;
                } else if (!is_class((unsigned char)s[i], C_NAME))
                        return false;
        }
        return len == 1 || len - last >= 2; /* no trailing slash but "/" */
}

/* ---- C strings, and the compiler's words for the verdicts ---- */

bool names_valid_object_path(const char *s) {
        return s && names_valid_object_path_len(s, strlen(s));
}

bool names_valid_bus_name(const char *s) {
        return s && names_valid_bus_name_len(s, strlen(s), 0);
}

static const char *reason(NamesErr e, const char *s, size_t len, size_t at, char *buf, size_t size) {
        size_t end;

        switch (e) {
        case NAMES_OK:
                return NULL;
        case NAMES_E_EMPTY:
                return "empty name";
        case NAMES_E_TOO_LONG:
                if (!buf)
                        return "too long";
                snprintf(buf, size, "%zu characters, D-Bus allows %d", len, NAMES_MAX_LEN);
                return buf;
        case NAMES_E_EMPTY_ELEMENT:
                return "empty element";
        case NAMES_E_DIGIT:
                if (!buf)
                        return "an element starts with a digit";
                for (end = at; end < len && s[end] != '.';)
                        end++;
                snprintf(buf, size, "element '%.*s' starts with a digit", (int)(end - at), s + at);
                return buf;
        case NAMES_E_CHAR:
                if (!buf)
                        return "invalid character";
                snprintf(buf, size, "invalid character '%c'", s[at]);
                return buf;
        case NAMES_E_ONE_ELEMENT:
                return "it needs at least two elements separated by '.'";
        }
        return "invalid";
}

const char *names_bad_dotted(const char *s, char *buf, size_t size) {
        size_t len, at = 0;
        NamesErr e;

        if (!s)
                return "no name";
        len = strlen(s);
        e = names_check_dotted(s, len, &at);
        return reason(e, s, len, at, buf, size);
}

const char *names_bad_member(const char *s, char *buf, size_t size) {
        size_t len, at = 0;
        NamesErr e;

        if (!s)
                return "empty name";
        len = strlen(s);
        e = names_check_member(s, len, &at);
        if (e == NAMES_E_DIGIT)
                return "it starts with a digit";
        return reason(e, s, len, at, buf, size);
}
