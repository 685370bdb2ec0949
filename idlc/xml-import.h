/* xml-import.h: D-Bus introspection XML to AST (expat). Reads what
 * busctl introspect --xml-interface, gdbus introspect --xml and
 * dbus-daemon's Introspect print. Complex signatures become named structs
 * (the naming rule is documented in docs/idl.md). Malformed XML is an error
 * at expat's line and column; unknown elements are warned about and
 * skipped. Returns the file, or NULL when nothing could be built. */
#pragma once

#include "ast.h"

IdlFile *idl_xml_import(const char *path, const char *text, size_t len);
