/* dispatch.c: a method call to the skeleton named by its busrpc_method_desc
 * (found by hash in the registry), after the checks every call gets (its
 * signature, the fds it carries, the served peer's pending-call budget).
 * The standard interfaces are answered here too: Introspectable
 * (introspect.c), Properties and ObjectManager (property.c);
 * org.freedesktop.DBus.Peer is answered by libdbus itself before our
 * filter runs, and here when a call omits the interface. */
#include <stdlib.h>
#include <string.h>
#include "call.h"
#include "conn.h"
#include "dispatch.h"
#include "introspect.h"
#include "marshal.h"
#include "message.h"
#include "property.h"
#include "registry.h"
#include "server.h"
#include "validate.h"

static unsigned count_fds(DBusMessageIter *it, unsigned depth) {
        unsigned n = 0;
        int t;

        /* The bus bounds nesting at 64; stay well inside the stack. */
        if (depth > 64)
                return 0;
        while ((t = dbus_message_iter_get_arg_type(it)) != DBUS_TYPE_INVALID) {
                if (t == DBUS_TYPE_UNIX_FD) {
                        n++;
                } else if (t == DBUS_TYPE_ARRAY && dbus_message_iter_get_element_type(it) == DBUS_TYPE_UNIX_FD) {
                        n += (unsigned)dbus_message_iter_get_element_count(it);
                } else if (t == DBUS_TYPE_ARRAY || t == DBUS_TYPE_STRUCT || t == DBUS_TYPE_DICT_ENTRY ||
                           t == DBUS_TYPE_VARIANT) {
                        char *sig = dbus_message_iter_get_signature(it);
                        bool has_fd = sig && strchr(sig, DBUS_TYPE_UNIX_FD);
                        dbus_free(sig);
                        if (has_fd || t == DBUS_TYPE_VARIANT) {
                                DBusMessageIter sub;
                                dbus_message_iter_recurse(it, &sub);
                                n += count_fds(&sub, depth + 1);
                        }
                }
                dbus_message_iter_next(it);
        }
        return n;
}

unsigned msg_count_fds(DBusMessage *m) {
        DBusMessageIter it;

        if (!dbus_message_contains_unix_fds(m) || !dbus_message_iter_init(m, &it))
                return 0;
        return count_fds(&it, 0);
}

/* The method @member of @iface (any interface when NULL) at @n. */
static const busrpc_method_desc *find_method(RegNode *n, const char *iface, const char *member,
                                             busrpc_object **ret_obj, bool *ret_iface_found) {
        *ret_iface_found = false;
        for (busrpc_object *o = n->first; o; o = o->node_next) {
                const busrpc_method_desc *md;
                if (iface && strcmp(o->iface->name, iface) != 0)
                        continue;
                *ret_iface_found = true;
                md = iface_find_method(o->info, member);
                if (md) {
                        *ret_obj = o;
                        return md;
                }
                if (iface)
                        break; /* one object per interface and path */
        }
        return NULL;
}

static DBusHandlerResult reply_and_handled(busrpc_conn *c, DBusMessage *call, DBusMessage *reply) {
        if (reply && dbus_message_get_no_reply(call))
                dbus_message_unref(reply);
        else if (reply)
                conn_send_reply(c, reply);
        return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusHandlerResult dispatch_standard(busrpc_conn *c, Registry *reg, DBusMessage *m, const char *path,
                                           const char *iface, const char *member, bool *handled) {
        if (iface && !is_standard_iface(iface)) {
                *handled = false;
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        }
        *handled = true;
        if ((!iface || strcmp(iface, IFACE_INTROSPECTABLE) == 0) && strcmp(member, "Introspect") == 0)
                return reply_and_handled(c, m, introspect_reply(reg, m, path));
        if (iface && strcmp(iface, IFACE_PROPERTIES) == 0)
                return reply_and_handled(c, m, property_dispatch(c, reg, m, path, member));
        if (!iface && (strcmp(member, "Get") == 0 || strcmp(member, "Set") == 0 || strcmp(member, "GetAll") == 0) &&
            (dbus_message_has_signature(m, "ss") || dbus_message_has_signature(m, "ssv") ||
             dbus_message_has_signature(m, "s")))
                return reply_and_handled(c, m, property_dispatch(c, reg, m, path, member));
        if ((!iface || strcmp(iface, IFACE_OBJECT_MANAGER) == 0) && strcmp(member, "GetManagedObjects") == 0 &&
            tree_find(reg, path, IFACE_OBJECT_MANAGER))
                return reply_and_handled(c, m, object_manager_reply(reg, m, path));
        if ((!iface || strcmp(iface, IFACE_PEER) == 0) && strcmp(member, "Ping") == 0 &&
            dbus_message_has_signature(m, ""))
                return reply_and_handled(c, m, dbus_message_new_method_return(m));
        if (iface && is_standard_iface(iface)) {
                conn_send_error(c, m, BUSRPC_ERROR_UNKNOWN_METHOD, "Unknown method '%s' on interface '%s'", member,
                                iface);
                return DBUS_HANDLER_RESULT_HANDLED;
        }
        *handled = false;
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

DBusHandlerResult object_dispatch(busrpc_conn *c, DBusMessage *m) {
        Registry *reg = conn_objects(c);
        const char *path = dbus_message_get_path(m);
        const char *iface = dbus_message_get_interface(m);
        const char *member = dbus_message_get_member(m);
        const busrpc_method_desc *md;
        busrpc_object *o = NULL;
        RegNode *node;
        busrpc_call *call;
        busrpc_iter args;
        bool handled, iface_found;
        DBusHandlerResult res;
        int r;

        if (!reg || !path || !member)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        /* A handler may drop the conn, or free its server (the registry's
         * owner): both stay until the dispatch ends. */
        busrpc_conn_ref(c);
        reg_ref(reg);
        res = dispatch_standard(c, reg, m, path, iface, member, &handled);
        if (handled)
                goto out;
        res = DBUS_HANDLER_RESULT_HANDLED;
        node = reg_node(reg, path);
        if (!node_has_objects(node)) {
                conn_send_error(c, m, BUSRPC_ERROR_UNKNOWN_OBJECT, "Unknown object '%s'", path);
                goto out;
        }
        md = find_method(node, iface, member, &o, &iface_found);
        if (!md) {
                if (iface && !iface_found)
                        conn_send_error(c, m, BUSRPC_ERROR_UNKNOWN_INTERFACE,
                                        "Unknown interface '%s' at object '%s'", iface, path);
                else
                        conn_send_error(c, m, BUSRPC_ERROR_UNKNOWN_METHOD, "Unknown method '%s' at object '%s'",
                                        member, path);
                goto out;
        }
        if (!dbus_message_has_signature(m, md->in_sig)) {
                conn_send_error(c, m, BUSRPC_ERROR_INVALID_ARGS,
                                "Invalid arguments for %s: expected signature '%s', got '%s'", md->name, md->in_sig,
                                dbus_message_get_signature(m));
                goto out;
        }
        /* The fds stay with the message: libdbus closes them when it goes. */
        if (msg_count_fds(m) > reg_max_call_fds(reg)) {
                conn_send_error(c, m, BUSRPC_ERROR_LIMITS_EXCEEDED, "Too many file descriptors (at most %u per call)",
                                reg_max_call_fds(reg));
                goto out;
        }
        if (c->server && c->kind == CONN_SERVED && c->n_calls >= server_max_pending_calls(c->server)) {
                conn_send_error(c, m, BUSRPC_ERROR_LIMITS_EXCEEDED, "Too many calls in progress (%u)", c->n_calls);
                goto out;
        }
        call = call_new(c, o, m, md->flags & BUSRPC_METHOD_NOREPLY);
        if (!call) {
                conn_send_error(c, m, BUSRPC_ERROR_NO_MEMORY, "Out of memory");
                goto out;
        }
        iter_init_read_conn(&args, m, c);
        if (md->op)
                r = marshal_dispatch(call, md, &args, o->ops, o->self);
        else
                r = md->fn(call, &args, o->ops, o->self);
        call_finish(call, r);
out:
        reg_unref(reg);
        busrpc_conn_unref(c);
        return res;
}
