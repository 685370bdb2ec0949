/* validate.c: checks of strings from local callers before libdbus sees
 * them. libdbus aborts the process on an invalid name, path, signature or
 * UTF-8 string given to its append and constructor functions; these
 * checks follow the D-Bus specification ("Valid names", "Object paths",
 * "Signatures") so that such a value becomes -EINVAL instead.
 */
#include <string.h>
#include "validate.h"

/* The specification's maximum length of any name. */
#define NAME_MAX_LEN 255

/* UTF-8 as libdbus accepts it: shortest forms only, no surrogates, nothing
 * above U+10FFFF, no NUL (a C string cannot hold one anyway). */
bool valid_utf8(const char *s) {
        const unsigned char *p = (const unsigned char *)s;

        if (!s)
                return false;
        while (*p) {
                unsigned c = *p, n, i;
                uint32_t cp;

                if (c < 0x80) {
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
                        return false; /* continuation byte, overlong lead, or > U+10FFFF */
                for (i = 1; i <= n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false; /* also stops at the terminating NUL */
                        cp = (cp << 6) | (p[i] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                p += n + 1;
        }
        return true;
}

static bool is_alpha_(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

bool valid_object_path(const char *s) {
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

bool valid_signature(const char *s) {
        if (!s || strlen(s) > 255)
                return false;
        /* dbus_signature_validate() reports through a DBusError and never
         * aborts on a non-NULL string. */
        return dbus_signature_validate(s, NULL);
}

bool valid_single_signature(const char *s) {
        if (!s || !*s || strlen(s) > 255)
                return false;
        return dbus_signature_validate_single(s, NULL);
}

/* Interface and error names: at least two elements separated by '.', each
 * [A-Za-z_][A-Za-z0-9_]*, at most 255 characters. */
bool valid_interface_name(const char *s) {
        const char *p;
        unsigned elements = 1;

        if (!s || !*s || strlen(s) > NAME_MAX_LEN || !is_alpha_(s[0]))
                return false;
        for (p = s + 1; *p; p++) {
                if (*p == '.') {
                        if (!is_alpha_(p[1]))
                                return false;
                        elements++;
                } else if (!is_alpha_(*p) && !is_digit(*p))
                        return false;
        }
        return elements >= 2;
}

bool valid_error_name(const char *s) {
        return valid_interface_name(s);
}

bool valid_member_name(const char *s) {
        const char *p;

        if (!s || !*s || strlen(s) > NAME_MAX_LEN || !is_alpha_(s[0]))
                return false;
        for (p = s + 1; *p; p++)
                if (!is_alpha_(*p) && !is_digit(*p))
                        return false;
        return true;
}

/* Bus names: unique (":1.42", elements may start with a digit) or
 * well-known (elements start with a letter, '_' or '-'); at least two
 * elements; [A-Za-z0-9_-]. */
static bool bus_name_char(char c) {
        return is_alpha_(c) || is_digit(c) || c == '-';
}

bool valid_bus_name(const char *s) {
        const char *p;
        bool unique;
        unsigned elements = 1;

        if (!s || !*s || strlen(s) > NAME_MAX_LEN)
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
                } else if (!bus_name_char(*p))
                        return false;
        }
        return elements >= 2;
}

bool valid_unique_name(const char *s) {
        return s && s[0] == ':' && valid_bus_name(s);
}
