/* validate.c: checks of strings from local callers before libdbus sees
 * them. libdbus aborts the process on an invalid name, path, signature or
 * UTF-8 string given to its append and constructor functions; these
 * checks follow the D-Bus specification ("Valid names", "Object paths",
 * "Signatures") so that such a value becomes -EINVAL instead.
 */
#include <string.h>
#include "../common/names.h"
#include "validate.h"

/* The name rules are common/names.c's, shared with busrpc-idlc and the
 * busrpc tool; signatures are libdbus's own validator's. */

bool valid_utf8(const char *s) {
        return s && names_utf8_valid(s, strlen(s));
}

bool valid_object_path(const char *s) {
        return names_valid_object_path(s);
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

bool valid_interface_name(const char *s) {
        return s && !names_bad_dotted(s, NULL, 0);
}

bool valid_error_name(const char *s) {
        return valid_interface_name(s);
}

bool valid_member_name(const char *s) {
        return s && !names_bad_member(s, NULL, 0);
}

bool valid_bus_name(const char *s) {
        return names_valid_bus_name(s);
}

bool valid_unique_name(const char *s) {
        return s && s[0] == ':' && valid_bus_name(s);
}
