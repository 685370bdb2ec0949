/* validate.h: the D-Bus name and signature rules (validate.c), checked
 * before libdbus sees a value (libdbus aborts on invalid ones). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <dbus/dbus.h>

bool valid_utf8(const char *s);
bool valid_object_path(const char *s);
bool valid_signature(const char *s);
bool valid_interface_name(const char *s);
bool valid_member_name(const char *s);
bool valid_bus_name(const char *s);
bool valid_error_name(const char *s);
/* Exactly one complete type. */
bool valid_single_signature(const char *s);
bool valid_unique_name(const char *s);
