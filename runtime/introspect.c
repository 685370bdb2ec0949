/* introspect.c: org.freedesktop.DBus.Introspectable, and the one writer of
 * introspection XML (the peer server's driver uses it too). A path's XML holds the
 * standard interfaces, the <interface> element of every interface exported
 * there (the descriptor's xml, or one built from its tables), and a <node>
 * for each direct child, so `busctl tree` walks the hierarchy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "introspect.h"
#include "registry.h"
#include "validate.h"

static const char xml_header[] =
        "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n";

static const char xml_peer[] =
        " <interface name=\"org.freedesktop.DBus.Peer\">\n"
        "  <method name=\"Ping\"/>\n"
        "  <method name=\"GetMachineId\">\n"
        "   <arg type=\"s\" name=\"machine_uuid\" direction=\"out\"/>\n"
        "  </method>\n"
        " </interface>\n";

static const char xml_introspectable[] =
        " <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
        "  <method name=\"Introspect\">\n"
        "   <arg name=\"xml_data\" type=\"s\" direction=\"out\"/>\n"
        "  </method>\n"
        " </interface>\n";

static const char xml_properties[] =
        " <interface name=\"org.freedesktop.DBus.Properties\">\n"
        "  <method name=\"Get\">\n"
        "   <arg name=\"interface_name\" direction=\"in\" type=\"s\"/>\n"
        "   <arg name=\"property_name\" direction=\"in\" type=\"s\"/>\n"
        "   <arg name=\"value\" direction=\"out\" type=\"v\"/>\n"
        "  </method>\n"
        "  <method name=\"GetAll\">\n"
        "   <arg name=\"interface_name\" direction=\"in\" type=\"s\"/>\n"
        "   <arg name=\"props\" direction=\"out\" type=\"a{sv}\"/>\n"
        "  </method>\n"
        "  <method name=\"Set\">\n"
        "   <arg name=\"interface_name\" direction=\"in\" type=\"s\"/>\n"
        "   <arg name=\"property_name\" direction=\"in\" type=\"s\"/>\n"
        "   <arg name=\"value\" direction=\"in\" type=\"v\"/>\n"
        "  </method>\n"
        "  <signal name=\"PropertiesChanged\">\n"
        "   <arg type=\"s\" name=\"interface_name\"/>\n"
        "   <arg type=\"a{sv}\" name=\"changed_properties\"/>\n"
        "   <arg type=\"as\" name=\"invalidated_properties\"/>\n"
        "  </signal>\n"
        " </interface>\n";

static const char xml_object_manager[] =
        " <interface name=\"org.freedesktop.DBus.ObjectManager\">\n"
        "  <method name=\"GetManagedObjects\">\n"
        "   <arg type=\"a{oa{sa{sv}}}\" name=\"object_paths_interfaces_and_properties\" direction=\"out\"/>\n"
        "  </method>\n"
        "  <signal name=\"InterfacesAdded\">\n"
        "   <arg type=\"o\" name=\"object_path\"/>\n"
        "   <arg type=\"a{sa{sv}}\" name=\"interfaces_and_properties\"/>\n"
        "  </signal>\n"
        "  <signal name=\"InterfacesRemoved\">\n"
        "   <arg type=\"o\" name=\"object_path\"/>\n"
        "   <arg type=\"as\" name=\"interfaces\"/>\n"
        "  </signal>\n"
        " </interface>\n";

void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the direct children of @path, sorted: the child nodes of
 * its registry node (a node exists only while an object lies below it). */
char **tree_children(Registry *reg, const char *path, size_t *ret_n) {
        RegNode *node = reg_node(reg, path);
        size_t n = 0;
        char **v = calloc(node && node->n_children ? node->n_children : 1, sizeof(*v));

        if (!v)
                return NULL;
        for (RegNode *c = node ? node->child_first : NULL; c; c = c->sib_next) {
                v[n] = strdup(c->name);
                if (!v[n]) {
                        strv_free(v, n);
                        return NULL;
                }
                n++;
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_str);
        *ret_n = n;
        return v;
}

/* An <interface> element from the descriptor tables, for descriptors that
 * carry no xml. Arguments are one per complete type, unnamed. */
static void write_args(FILE *f, const char *sig, const char *direction) {
        DBusSignatureIter it;

        if (!sig || !*sig)
                return;
        dbus_signature_iter_init(&it, sig);
        do {
                char *t = dbus_signature_iter_get_signature(&it);
                if (!t)
                        return;
                if (direction)
                        fprintf(f, "   <arg type=\"%s\" direction=\"%s\"/>\n", t, direction);
                else
                        fprintf(f, "   <arg type=\"%s\"/>\n", t);
                dbus_free(t);
        } while (dbus_signature_iter_next(&it));
}

static void write_iface(FILE *f, const busrpc_interface_desc *d) {
        if (d->xml) {
                fputs(d->xml, f);
                if (d->xml[0] && d->xml[strlen(d->xml) - 1] != '\n')
                        fputc('\n', f);
                return;
        }
        fprintf(f, " <interface name=\"%s\">\n", d->name);
        for (size_t i = 0; i < d->n_methods; i++) {
                const busrpc_method_desc *m = &d->methods[i];
                fprintf(f, "  <method name=\"%s\">\n", m->name);
                write_args(f, m->in_sig, "in");
                write_args(f, m->out_sig, "out");
                if (m->flags & BUSRPC_METHOD_NOREPLY)
                        fputs("   <annotation name=\"org.freedesktop.DBus.Method.NoReply\" value=\"true\"/>\n", f);
                if (m->flags & BUSRPC_METHOD_DEPRECATED)
                        fputs("   <annotation name=\"org.freedesktop.DBus.Deprecated\" value=\"true\"/>\n", f);
                fputs("  </method>\n", f);
        }
        for (size_t i = 0; i < d->n_signals; i++) {
                fprintf(f, "  <signal name=\"%s\">\n", d->signals[i].name);
                write_args(f, d->signals[i].sig, NULL);
                fputs("  </signal>\n", f);
        }
        for (size_t i = 0; i < d->n_properties; i++) {
                const busrpc_property_desc *p = &d->properties[i];
                static const char *const emits[] = { "true", "invalidates", "const", "false" };
                unsigned e = (p->flags & BUSRPC_PROP_EMITS_MASK) >> 2;
                const char *access = (p->flags & BUSRPC_PROP_READ) && (p->flags & BUSRPC_PROP_WRITE) ? "readwrite"
                                     : (p->flags & BUSRPC_PROP_WRITE)                                 ? "write"
                                                                                                      : "read";
                if (e == 0) {
                        fprintf(f, "  <property name=\"%s\" type=\"%s\" access=\"%s\"/>\n", p->name, p->sig, access);
                } else {
                        fprintf(f, "  <property name=\"%s\" type=\"%s\" access=\"%s\">\n", p->name, p->sig, access);
                        fprintf(f,
                                "   <annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" "
                                "value=\"%s\"/>\n",
                                emits[e]);
                        fputs("  </property>\n", f);
                }
        }
        fputs(" </interface>\n", f);
}

char *introspect_document(unsigned standard, const busrpc_interface_desc *const *ifaces, size_t n_ifaces,
                          char *const *children, size_t n_children) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        fputs(xml_header, f);
        fputs("<node>\n", f);
        if (standard & INTROSPECT_PEER)
                fputs(xml_peer, f);
        if (standard & INTROSPECT_INTROSPECTABLE)
                fputs(xml_introspectable, f);
        if (standard & INTROSPECT_PROPERTIES)
                fputs(xml_properties, f);
        if (standard & INTROSPECT_OBJECT_MANAGER)
                fputs(xml_object_manager, f);
        for (size_t i = 0; i < n_ifaces; i++)
                write_iface(f, ifaces[i]);
        for (size_t i = 0; i < n_children; i++)
                fprintf(f, " <node name=\"%s\"/>\n", children[i]);
        fputs("</node>\n", f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

DBusMessage *introspect_reply_xml(DBusMessage *call, char *xml) {
        DBusMessage *reply;

        if (!xml)
                return dbus_message_new_error(call, BUSRPC_ERROR_NO_MEMORY, "Out of memory");
        if (!valid_utf8(xml)) {
                free(xml);
                return dbus_message_new_error(call, BUSRPC_ERROR_FAILED, "Introspection data is not UTF-8");
        }
        reply = dbus_message_new_method_return(call);
        if (reply && !dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID)) {
                dbus_message_unref(reply);
                reply = NULL;
        }
        free(xml);
        return reply;
}

static char *introspect_xml(Registry *reg, const char *path, char **children, size_t n_children) {
        RegNode *node = reg_node(reg, path);
        const busrpc_interface_desc **ifaces = NULL;
        size_t n = 0;
        char *xml;

        for (busrpc_object *o = node ? node->first : NULL; o; o = o->node_next)
                n++;
        if (n > 0 && !(ifaces = calloc(n, sizeof(*ifaces))))
                return NULL;
        n = 0;
        for (busrpc_object *o = node ? node->first : NULL; o; o = o->node_next)
                ifaces[n++] = o->iface;
        xml = introspect_document(INTROSPECT_STANDARD | (node && node->manager ? INTROSPECT_OBJECT_MANAGER : 0),
                                  ifaces, n, children, n_children);
        free(ifaces);
        return xml;
}

DBusMessage *introspect_reply(Registry *reg, DBusMessage *call, const char *path) {
        size_t n = 0;
        char **children;
        char *xml;

        if (!dbus_message_has_signature(call, ""))
                return dbus_message_new_error(call, BUSRPC_ERROR_INVALID_ARGS,
                                              "Invalid arguments for Introspect: expected signature ''");
        children = tree_children(reg, path, &n);
        if (!children)
                return dbus_message_new_error(call, BUSRPC_ERROR_NO_MEMORY, "Out of memory");
        if (n == 0 && !tree_has_path(reg, path) && strcmp(path, "/") != 0) {
                strv_free(children, n);
                return dbus_message_new_error(call, BUSRPC_ERROR_UNKNOWN_OBJECT, "Unknown object");
        }
        xml = introspect_xml(reg, path, children, n);
        strv_free(children, n);
        return introspect_reply_xml(call, xml);
}
