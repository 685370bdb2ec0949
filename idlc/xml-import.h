/* xml-import.h: D-Bus introspection XML to AST (expat). Reads what
 * busctl introspect --xml-interface, gdbus introspect --xml and
 * dbus-daemon's Introspect print. Complex signatures become named structs
 * (the naming rule is documented in docs/idl-xml.md). Malformed XML is an error
 * at expat's line and column; unknown elements are warned about and
 * skipped. Returns the file; after malformed XML (an error has been
 * reported) it is empty, so the caller keeps and frees the text as usual.
 * NULL is never returned. */
#pragma once

#include "ast.h"

/* Annotations that carry what D-Bus XML has no place for, so that
 * IDL -> XML -> IDL loses nothing (docs/idl-xml.md). gen-xml.c writes
 * them, idl_xml_import() reads them back. */
#define IDL_XML_DOC "org.gtk.GDBus.DocString"          /* doc comment */
#define IDL_XML_CNAME "org.busrpc.CName"               /* @c_name */
#define IDL_XML_TYPE "org.busrpc.Type"                 /* IDL type of an arg/property */
#define IDL_XML_DECL "org.busrpc.Declaration"          /* a struct/enum/flags/typedef, as IDL */
#define IDL_XML_ERROR "org.busrpc.Error"               /* an error member */
#define IDL_XML_RAISES "org.busrpc.Raises"             /* a method's raises list */
#define IDL_XML_IMPORT "org.busrpc.Import"             /* an import of the IDL file */
/* An interface of this name and without members only carries the types
 * (and imports) of an IDL file that declares no interface. */
#define IDL_XML_TYPES_IFACE "org.busrpc.Types"
#define IDL_XML_DEPRECATED "org.freedesktop.DBus.Deprecated"
#define IDL_XML_NOREPLY "org.freedesktop.DBus.Method.NoReply"
#define IDL_XML_EMITS "org.freedesktop.DBus.Property.EmitsChangedSignal"
#define IDL_XML_SINCE "org.busrpc.Since"               /* @since */
#define IDL_XML_MAX_SIZE "org.busrpc.MaxSize"          /* @max_size, on an arg or property */
/* Deployment annotations on an interface (gen-deploy.c). */
#define IDL_XML_BUS_NAME "org.busrpc.BusName"             /* @bus_name */
#define IDL_XML_EXEC "org.busrpc.Exec"                    /* @exec */
#define IDL_XML_SYSTEMD_SERVICE "org.busrpc.SystemdService" /* @systemd_service */
#define IDL_XML_USER "org.busrpc.User"                    /* @user */

IdlFile *idl_xml_import(const char *path, const char *text, size_t len);

/* The C parameters the importer gives the arguments of m (in, then out)
 * from their D-Bus names alone: out[i] for the i-th, each for the caller to
 * free. gen-xml.c leaves out an org.busrpc.CName that says the same. */
void idl_xml_arg_c_names(const IdlMember *m, char **out);
