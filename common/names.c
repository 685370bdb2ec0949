/* names.c: the D-Bus name and UTF-8 rules (see names.h). */
#include <stdio.h>
#include <string.h>
#include "names.h"

size_t names_utf8_len(const unsigned char *s, size_t avail, uint32_t *ret_cp) {
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

bool names_utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *)s;

        for (size_t i = 0; i < len;) {
                size_t n = names_utf8_len(p + i, len - i, NULL);

                if (n == 0 || p[i] == 0)
                        return false;
                i += n;
        }
        return true;
}

static bool is_alpha_(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static const char *too_long(size_t len, char *buf, size_t size) {
        if (!buf)
                return "too long";
        snprintf(buf, size, "%zu characters, D-Bus allows %d", len, NAMES_MAX_LEN);
        return buf;
}

static const char *bad_char(char c, char *buf, size_t size) {
        if (!buf)
                return "invalid character";
        snprintf(buf, size, "invalid character '%c'", c);
        return buf;
}

const char *names_bad_dotted(const char *s, char *buf, size_t size) {
        size_t elems = 0, len;
        const char *p = s;

        if (!s)
                return "no name";
        len = strlen(s);
        if (len > NAMES_MAX_LEN)
                return too_long(len, buf, size);
        for (;;) {
                const char *e = p;
                while (*e && *e != '.')
                        e++;
                if (e == p)
                        return "empty element";
                if (is_digit(*p)) {
                        if (!buf)
                                return "an element starts with a digit";
                        snprintf(buf, size, "element '%.*s' starts with a digit", (int)(e - p), p);
                        return buf;
                }
                for (const char *q = p; q < e; q++)
                        if (!is_alpha_(*q) && !is_digit(*q))
                                return bad_char(*q, buf, size);
                elems++;
                if (!*e)
                        break;
                p = e + 1;
        }
        if (elems < 2)
                return "it needs at least two elements separated by '.'";
        return NULL;
}

const char *names_bad_member(const char *s, char *buf, size_t size) {
        size_t len;

        if (!s || !*s)
                return "empty name";
        len = strlen(s);
        if (len > NAMES_MAX_LEN)
                return too_long(len, buf, size);
        if (is_digit(*s))
                return "it starts with a digit";
        for (const char *q = s; *q; q++)
                if (!is_alpha_(*q) && !is_digit(*q))
                        return bad_char(*q, buf, size);
        return NULL;
}

bool names_valid_object_path(const char *s) {
        const char *p;

        if (!s || s[0] != '/')
                return false;
        if (s[1] == '\0')
                return true;
        for (p = s + 1; *p; p++) {
                if (*p == '/') {
                        if (p[-1] == '/')
                                return false; /* empty element */
                } else if (!is_alpha_(*p) && !is_digit(*p))
                        return false;
        }
        return p[-1] != '/'; /* no trailing slash */
}

/* Unique names' elements may start with a digit; well-known ones' not;
 * [A-Za-z0-9_-]; at least two elements. */
bool names_valid_bus_name(const char *s) {
        const char *p;
        bool unique;
        unsigned elements = 1;

        if (!s || !*s || strlen(s) > NAMES_MAX_LEN)
                return false;
        unique = s[0] == ':';
        p = unique ? s + 1 : s;
        if (*p == '.' || *p == '\0')
                return false;
        if (!unique && is_digit(*p))
                return false;
        for (; *p; p++) {
                if (*p == '.') {
                        if (p[1] == '.' || p[1] == '\0')
                                return false;
                        if (!unique && is_digit(p[1]))
                                return false;
                        elements++;
                } else if (!is_alpha_(*p) && !is_digit(*p) && *p != '-')
                        return false;
        }
        return elements >= 2;
}
