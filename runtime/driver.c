/* driver.c: the few org.freedesktop.DBus calls that busctl, gdbus and
 * dbus-send make, answered by a busrpc_server for its peers so those tools
 * work with --address and no dbus-daemon. The server itself is ":1.0" and
 * owns the names of busrpc_server_request_name(); each peer gets ":1.N".
 * Match rules (AddMatch) are kept per peer and decide which signals a peer
 * that said Hello receives. Everything read from a peer is checked before
 * use; nothing from the wire reaches a libdbus call that could abort. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "driver.h"
#include "introspect.h"
#include "conn.h"
#include "name.h"
#include "server.h"

#define DRIVER_IFACE_MONITORING "org.freedesktop.DBus.Monitoring"

struct MatchRule {
        char *text;
        char *type, *sender, *interface, *member, *path, *path_namespace, *destination, *arg0;
};

static void rule_clear(MatchRule *r) {
        free(r->text);
        free(r->type);
        free(r->sender);
        free(r->interface);
        free(r->member);
        free(r->path);
        free(r->path_namespace);
        free(r->destination);
        free(r->arg0);
        memset(r, 0, sizeof(*r));
}

void driver_free_matches(busrpc_conn *peer) {
        for (unsigned i = 0; i < peer->n_matches; i++)
                rule_clear(&peer->matches[i]);
        free(peer->matches);
        peer->matches = NULL;
        peer->n_matches = 0;
}

/* Parse "key='value',key2=value2" as the D-Bus specification describes:
 * inside quotes everything is literal, outside a backslash escapes a quote. */
static int rule_parse(const char *text, MatchRule *r) {
        const char *p = text;
        size_t len = strlen(text);

        if (len > 1024)
                return -E2BIG;
        memset(r, 0, sizeof(*r));
        while (*p) {
                char key[32], *value, *v;
                size_t k = 0;
                bool quoted = false;
                char **slot = NULL;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;
                while (*p && *p != '=' && k < sizeof(key) - 1)
                        key[k++] = *p++;
                key[k] = '\0';
                if (*p != '=')
                        goto invalid;
                p++;
                value = v = malloc(len + 1);
                if (!value)
                        return -ENOMEM;
                for (; *p; p++) {
                        if (*p == '\'')
                                quoted = !quoted;
                        else if (!quoted && *p == ',')
                                break;
                        else if (!quoted && *p == '\\' && p[1] == '\'')
                                *v++ = *++p;
                        else
                                *v++ = *p;
                }
                *v = '\0';
                if (quoted) {
                        free(value);
                        goto invalid;
                }
                if (*p == ',')
                        p++;
                if (strcmp(key, "type") == 0)
                        slot = &r->type;
                else if (strcmp(key, "sender") == 0)
                        slot = &r->sender;
                else if (strcmp(key, "interface") == 0)
                        slot = &r->interface;
                else if (strcmp(key, "member") == 0)
                        slot = &r->member;
                else if (strcmp(key, "path") == 0)
                        slot = &r->path;
                else if (strcmp(key, "path_namespace") == 0)
                        slot = &r->path_namespace;
                else if (strcmp(key, "destination") == 0)
                        slot = &r->destination;
                else if (strcmp(key, "arg0") == 0)
                        slot = &r->arg0;
                else if (strcmp(key, "eavesdrop") == 0 || strncmp(key, "arg", 3) == 0) {
                        /* other argN / argNpath: accepted, not used to filter */
                } else {
                        free(value);
                        goto invalid;
                }
                if (slot) {
                        if (*slot) {
                                free(value);
                                goto invalid;
                        }
                        *slot = value;
                } else
                        free(value);
        }
        if (r->type && strcmp(r->type, "signal") != 0 && strcmp(r->type, "method_call") != 0 &&
            strcmp(r->type, "method_return") != 0 && strcmp(r->type, "error") != 0)
                goto invalid;
        r->text = strdup(text);
        if (!r->text) {
                rule_clear(r);
                return -ENOMEM;
        }
        return 0;
invalid:
        rule_clear(r);
        return -EINVAL;
}

static bool sender_matches(busrpc_conn *peer, const char *want, const char *sender) {
        if (!sender)
                sender = SERVER_UNIQUE_NAME;
        if (strcmp(want, sender) == 0)
                return true;
        /* Our own signals: any name the server owns stands for ":1.0". */
        return strcmp(sender, SERVER_UNIQUE_NAME) == 0 && peer->server && name_server_has(peer->server, want);
}

static bool str_eq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

/* Rule values come from the peer: compared with strcmp only, never handed
 * to libdbus. */
static bool rule_matches(busrpc_conn *peer, const MatchRule *r, const MatchMsg *m) {
        const char *path = m->path;

        if (r->type && strcmp(r->type, dbus_message_type_to_string(m->type)) != 0)
                return false;
        if (r->sender && !sender_matches(peer, r->sender, m->sender))
                return false;
        if (r->interface && !str_eq(m->interface, r->interface))
                return false;
        if (r->member && !str_eq(m->member, r->member))
                return false;
        if (r->path && (!path || strcmp(path, r->path) != 0))
                return false;
        if (r->path_namespace && strcmp(r->path_namespace, "/") != 0) {
                size_t n = strlen(r->path_namespace);
                if (!path || strncmp(path, r->path_namespace, n) != 0 || (path[n] != '\0' && path[n] != '/'))
                        return false;
        }
        if (r->destination && !str_eq(m->destination, r->destination) &&
            strcmp(r->destination, peer->unique_name) != 0)
                return false;
        if (r->arg0 && (!m->arg0 || strcmp(m->arg0, r->arg0) != 0))
                return false;
        return true;
}

bool driver_match_accepts_msg(busrpc_conn *peer, const MatchMsg *m) {
        for (unsigned i = 0; i < peer->n_matches; i++)
                if (rule_matches(peer, &peer->matches[i], m))
                        return true;
        return false;
}

bool driver_match_accepts(busrpc_conn *peer, DBusMessage *m) {
        MatchMsg mm = {
                .type = dbus_message_get_type(m),
                .sender = dbus_message_get_sender(m),
                .interface = dbus_message_get_interface(m),
                .member = dbus_message_get_member(m),
                .path = dbus_message_get_path(m),
                .destination = dbus_message_get_destination(m),
        };
        DBusMessageIter it;

        /* The first argument is read only when a rule asks for it. */
        for (unsigned i = 0; i < peer->n_matches; i++) {
                if (!peer->matches[i].arg0)
                        continue;
                if (dbus_message_iter_init(m, &it) && dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_STRING)
                        dbus_message_iter_get_basic(&it, &mm.arg0);
                break;
        }
        return driver_match_accepts_msg(peer, &mm);
}

bool driver_is_for_driver(DBusMessage *m) {
        const char *dest = dbus_message_get_destination(m);
        return dest && strcmp(dest, DRIVER_NAME) == 0;
}

/* ---- replies ---- */

static DBusMessage *reply_new(DBusMessage *call) {
        DBusMessage *r = dbus_message_new_method_return(call);
        if (r)
                dbus_message_set_sender(r, DRIVER_NAME);
        return r;
}

static DBusMessage *error_new(DBusMessage *call, const char *name, const char *text) {
        DBusMessage *r = dbus_message_new_error(call, name, text);
        if (r)
                dbus_message_set_sender(r, DRIVER_NAME);
        return r;
}

static DBusMessage *reply_string(DBusMessage *call, const char *s) {
        DBusMessage *r = reply_new(call);
        if (r && !dbus_message_append_args(r, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID)) {
                dbus_message_unref(r);
                return NULL;
        }
        return r;
}

static DBusMessage *reply_u32(DBusMessage *call, dbus_uint32_t u) {
        DBusMessage *r = reply_new(call);
        if (r && !dbus_message_append_args(r, DBUS_TYPE_UINT32, &u, DBUS_TYPE_INVALID)) {
                dbus_message_unref(r);
                return NULL;
        }
        return r;
}

static bool append_str(DBusMessageIter *arr, const char *s) {
        return dbus_message_iter_append_basic(arr, DBUS_TYPE_STRING, &s);
}

/* Who owns @name: the server (":1.0"), the driver, a peer, or nobody. */
static const char *resolve(busrpc_conn *peer, const char *name, busrpc_conn **ret_peer) {
        busrpc_server *s = peer->server;

        *ret_peer = NULL;
        if (strcmp(name, DRIVER_NAME) == 0)
                return DRIVER_NAME;
        if (strcmp(name, SERVER_UNIQUE_NAME) == 0 || name_server_has(s, name))
                return SERVER_UNIQUE_NAME;
        for (busrpc_conn *p = server_first_peer(s); p; p = p->peer_next) {
                if (p->unique_name && strcmp(p->unique_name, name) == 0) {
                        *ret_peer = p;
                        return p->unique_name;
                }
        }
        return NULL;
}

static bool creds_of(busrpc_conn *peer, const char *name, dbus_uint32_t *uid, dbus_uint32_t *pid) {
        busrpc_conn *p;
        const char *owner = resolve(peer, name, &p);

        if (!owner)
                return false;
        if (!p) {
                *uid = (dbus_uint32_t)geteuid();
                *pid = (dbus_uint32_t)getpid();
                return true;
        }
        /* the authenticated uid; the pid from SO_PEERCRED at accept (none on tcp) */
        *uid = p->authed ? (dbus_uint32_t)p->peer_uid : (dbus_uint32_t)-1;
        *pid = p->authed ? (dbus_uint32_t)p->peer_pid : 0;
        return true;
}

static DBusMessage *no_owner(DBusMessage *call, const char *name) {
        DBusMessage *r = dbus_message_new_error_printf(call, DBUS_ERROR_NAME_HAS_NO_OWNER,
                                                       "Could not get owner of name '%s': no such name", name);
        if (r)
                dbus_message_set_sender(r, DRIVER_NAME);
        return r;
}

static DBusMessage *list_names(busrpc_conn *peer, DBusMessage *call, bool activatable) {
        DBusMessage *r = reply_new(call);
        DBusMessageIter it, arr;
        bool ok;

        if (!r)
                return NULL;
        dbus_message_iter_init_append(r, &it);
        ok = dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &arr) && append_str(&arr, DRIVER_NAME);
        if (ok && !activatable) {
                ok = append_str(&arr, SERVER_UNIQUE_NAME);
                for (busrpc_name *n = *server_names(peer->server); ok && n; n = n->next)
                        ok = append_str(&arr, n->name);
                for (busrpc_conn *p = server_first_peer(peer->server); ok && p; p = p->peer_next)
                        if (p->unique_name && conn_is_open(p))
                                ok = append_str(&arr, p->unique_name);
        }
        if (!ok || !dbus_message_iter_close_container(&it, &arr)) {
                dbus_message_unref(r);
                return NULL;
        }
        return r;
}

static bool dict_u32(DBusMessageIter *arr, const char *key, dbus_uint32_t v) {
        DBusMessageIter e, var;
        return dbus_message_iter_open_container(arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) && append_str(&e, key) &&
               dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "u", &var) &&
               dbus_message_iter_append_basic(&var, DBUS_TYPE_UINT32, &v) &&
               dbus_message_iter_close_container(&e, &var) && dbus_message_iter_close_container(arr, &e);
}

static DBusMessage *credentials(busrpc_conn *peer, DBusMessage *call, const char *name) {
        dbus_uint32_t uid, pid;
        DBusMessage *r;
        DBusMessageIter it, arr;
        bool ok;

        if (!creds_of(peer, name, &uid, &pid))
                return no_owner(call, name);
        r = reply_new(call);
        if (!r)
                return NULL;
        dbus_message_iter_init_append(r, &it);
        ok = dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &arr);
        if (ok && uid != (dbus_uint32_t)-1)
                ok = dict_u32(&arr, "UnixUserID", uid);
        if (ok && pid != 0)
                ok = dict_u32(&arr, "ProcessID", pid);
        if (!ok || !dbus_message_iter_close_container(&it, &arr)) {
                dbus_message_unref(r);
                return NULL;
        }
        return r;
}

static DBusMessage *add_match(busrpc_conn *peer, DBusMessage *call, const char *text) {
        MatchRule rule, *v;
        int r;

        if (peer->n_matches >= MAX_MATCH_RULES)
                return error_new(call, DBUS_ERROR_LIMITS_EXCEEDED, "Too many match rules");
        r = rule_parse(text, &rule);
        if (r == -ENOMEM)
                return NULL;
        if (r < 0)
                return error_new(call, DBUS_ERROR_MATCH_RULE_INVALID, "Invalid match rule");
        v = realloc(peer->matches, (peer->n_matches + 1) * sizeof(*v));
        if (!v) {
                rule_clear(&rule);
                return NULL;
        }
        peer->matches = v;
        peer->matches[peer->n_matches++] = rule;
        return reply_new(call);
}

static DBusMessage *remove_match(busrpc_conn *peer, DBusMessage *call, const char *text) {
        for (unsigned i = 0; i < peer->n_matches; i++) {
                if (strcmp(peer->matches[i].text, text) != 0)
                        continue;
                rule_clear(&peer->matches[i]);
                peer->matches[i] = peer->matches[--peer->n_matches];
                return reply_new(call);
        }
        return error_new(call, DBUS_ERROR_MATCH_RULE_NOT_FOUND, "The given match rule wasn't found");
}

/* The driver's interfaces as descriptors, for the one introspection
 * writer (introspect.c); the driver dispatches them by hand below. */
static const busrpc_method_desc driver_methods[] = {
        { .name = "Hello", .in_sig = "", .out_sig = "s" },
        { .name = "ListNames", .in_sig = "", .out_sig = "as" },
        { .name = "ListActivatableNames", .in_sig = "", .out_sig = "as" },
        { .name = "NameHasOwner", .in_sig = "s", .out_sig = "b" },
        { .name = "GetNameOwner", .in_sig = "s", .out_sig = "s" },
        { .name = "GetConnectionUnixUser", .in_sig = "s", .out_sig = "u" },
        { .name = "GetConnectionUnixProcessID", .in_sig = "s", .out_sig = "u" },
        { .name = "GetConnectionCredentials", .in_sig = "s", .out_sig = "a{sv}" },
        { .name = "AddMatch", .in_sig = "s", .out_sig = "" },
        { .name = "RemoveMatch", .in_sig = "s", .out_sig = "" },
        { .name = "GetId", .in_sig = "", .out_sig = "s" },
};

static const busrpc_signal_desc driver_signals[] = {
        { .name = "NameOwnerChanged", .sig = "sss" },
        { .name = "NameLost", .sig = "s" },
        { .name = "NameAcquired", .sig = "s" },
};

static const busrpc_method_desc monitoring_methods[] = {
        { .name = "BecomeMonitor", .in_sig = "asu", .out_sig = "" },
};

static const busrpc_interface_desc driver_iface = {
        .name = DRIVER_IFACE,
        .methods = driver_methods,
        .n_methods = sizeof(driver_methods) / sizeof(driver_methods[0]),
        .signals = driver_signals,
        .n_signals = sizeof(driver_signals) / sizeof(driver_signals[0]),
};

static const busrpc_interface_desc monitoring_iface = {
        .name = DRIVER_IFACE_MONITORING,
        .methods = monitoring_methods,
        .n_methods = 1,
};

static DBusMessage *introspect(DBusMessage *call, const char *path) {
        static const busrpc_interface_desc *const ifaces[] = { &driver_iface, &monitoring_iface };
        static const struct {
                const char *path, *child;
        } parents[] = { { "/", "org" }, { "/org", "freedesktop" }, { "/org/freedesktop", "DBus" } };

        if (strcmp(path, DRIVER_PATH) == 0)
                return introspect_reply_xml(
                        call, introspect_document(INTROSPECT_PEER | INTROSPECT_INTROSPECTABLE, ifaces, 2, NULL, 0));
        for (size_t i = 0; i < sizeof(parents) / sizeof(parents[0]); i++) {
                char *child = (char *)parents[i].child;

                if (strcmp(path, parents[i].path) == 0)
                        return introspect_reply_xml(call, introspect_document(0, NULL, 0, &child, 1));
        }
        return error_new(call, DBUS_ERROR_UNKNOWN_OBJECT, "Unknown object");
}

static void send_name_acquired(busrpc_conn *peer) {
        DBusMessage *m = dbus_message_new_signal(DRIVER_PATH, DRIVER_IFACE, "NameAcquired");
        const char *name = peer->unique_name;

        if (!m)
                return;
        if (dbus_message_set_destination(m, name) && dbus_message_set_sender(m, DRIVER_NAME) &&
            dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
                conn_send(peer, m);
        dbus_message_unref(m);
}

static DBusMessage *driver_method(busrpc_conn *peer, DBusMessage *m, const char *member, bool *hello) {
        const char *arg = NULL;
        busrpc_conn *p;
        dbus_uint32_t uid, pid;

        if (dbus_message_has_signature(m, "s"))
                dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
        if (strcmp(member, "Hello") == 0 && dbus_message_has_signature(m, "")) {
                if (peer->said_hello)
                        return error_new(m, DBUS_ERROR_FAILED, "Already handled an Hello message");
                *hello = true;
                return reply_string(m, peer->unique_name);
        }
        if (strcmp(member, "ListNames") == 0 && dbus_message_has_signature(m, ""))
                return list_names(peer, m, false);
        if (strcmp(member, "ListActivatableNames") == 0 && dbus_message_has_signature(m, ""))
                return list_names(peer, m, true);
        if (strcmp(member, "GetId") == 0 && dbus_message_has_signature(m, "")) {
                char *id = server_get_id(peer->server);
                DBusMessage *r = id ? reply_string(m, id) : NULL;
                dbus_free(id);
                return r;
        }
        if (arg && strcmp(member, "GetNameOwner") == 0) {
                const char *owner = resolve(peer, arg, &p);
                return owner ? reply_string(m, owner) : no_owner(m, arg);
        }
        if (arg && strcmp(member, "NameHasOwner") == 0) {
                dbus_bool_t b = resolve(peer, arg, &p) != NULL;
                DBusMessage *r = reply_new(m);
                if (r && !dbus_message_append_args(r, DBUS_TYPE_BOOLEAN, &b, DBUS_TYPE_INVALID)) {
                        dbus_message_unref(r);
                        return NULL;
                }
                return r;
        }
        if (arg && strcmp(member, "GetConnectionCredentials") == 0)
                return credentials(peer, m, arg);
        if (arg && strcmp(member, "GetConnectionUnixUser") == 0) {
                if (!creds_of(peer, arg, &uid, &pid))
                        return no_owner(m, arg);
                if (uid == (dbus_uint32_t)-1)
                        return error_new(m, DBUS_ERROR_FAILED, "Could not determine the user");
                return reply_u32(m, uid);
        }
        if (arg && strcmp(member, "GetConnectionUnixProcessID") == 0) {
                if (!creds_of(peer, arg, &uid, &pid))
                        return no_owner(m, arg);
                if (pid == 0)
                        return error_new(m, DBUS_ERROR_UNIX_PROCESS_ID_UNKNOWN, "Could not determine the process");
                return reply_u32(m, pid);
        }
        if (arg && strcmp(member, "AddMatch") == 0)
                return add_match(peer, m, arg);
        if (arg && strcmp(member, "RemoveMatch") == 0)
                return remove_match(peer, m, arg);
        if (strcmp(member, "RequestName") == 0 || strcmp(member, "ReleaseName") == 0 ||
            strcmp(member, "StartServiceByName") == 0 || strcmp(member, "UpdateActivationEnvironment") == 0)
                return error_new(m, DBUS_ERROR_NOT_SUPPORTED, "Not supported by a peer-to-peer server");
        return dbus_message_new_error_printf(m, DBUS_ERROR_UNKNOWN_METHOD, "Unknown method '%s' or wrong signature '%s'",
                                             member, dbus_message_get_signature(m));
}

/* org.freedesktop.DBus.Monitoring.BecomeMonitor(as rules, u flags): the
 * peer's match rules are replaced by rules (none: every message), and from
 * the reply on it gets a copy of every message the server sends and
 * receives (server.c); anything it sends closes its connection. */
static DBusMessage *become_monitor(busrpc_conn *peer, DBusMessage *m, const char *member, bool *monitor) {
        DBusMessageIter it, arr;
        MatchRule *rules = NULL;
        unsigned n = 0;
        dbus_uint32_t flags;

        if (strcmp(member, "BecomeMonitor") != 0 || !dbus_message_has_signature(m, "asu"))
                return dbus_message_new_error_printf(m, DBUS_ERROR_UNKNOWN_METHOD,
                                                     "Unknown method '%s' or wrong signature '%s'", member,
                                                     dbus_message_get_signature(m));
        dbus_message_iter_init(m, &it);
        dbus_message_iter_recurse(&it, &arr);
        dbus_message_iter_next(&it);
        dbus_message_iter_get_basic(&it, &flags);
        if (flags != 0)
                return error_new(m, DBUS_ERROR_INVALID_ARGS, "BecomeMonitor flags must be 0");
        for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRING; dbus_message_iter_next(&arr)) {
                const char *text;
                MatchRule *v;
                int r;

                dbus_message_iter_get_basic(&arr, &text);
                if (n >= MAX_MATCH_RULES) {
                        r = -E2BIG;
                        goto bad;
                }
                v = realloc(rules, (n + 1) * sizeof(*v));
                if (!v) {
                        r = -ENOMEM;
                        goto bad;
                }
                rules = v;
                r = rule_parse(text, &rules[n]);
                if (r < 0)
                        goto bad;
                n++;
                continue;
        bad:
                for (unsigned i = 0; i < n; i++)
                        rule_clear(&rules[i]);
                free(rules);
                if (r == -ENOMEM)
                        return NULL;
                if (r == -E2BIG)
                        return error_new(m, DBUS_ERROR_LIMITS_EXCEEDED, "Too many match rules");
                return error_new(m, DBUS_ERROR_MATCH_RULE_INVALID, "Invalid match rule");
        }
        driver_free_matches(peer);
        peer->matches = rules;
        peer->n_matches = n;
        *monitor = true;
        return reply_new(m);
}

static void send_name_lost(busrpc_conn *peer) {
        DBusMessage *m = dbus_message_new_signal(DRIVER_PATH, DRIVER_IFACE, "NameLost");
        const char *name = peer->unique_name;

        if (!m)
                return;
        if (dbus_message_set_destination(m, name) && dbus_message_set_sender(m, DRIVER_NAME) &&
            dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
                conn_send(peer, m);
        dbus_message_unref(m);
}

static DBusMessage *driver_properties(DBusMessage *m, const char *member) {
        DBusMessage *r;
        DBusMessageIter it, arr;

        if (strcmp(member, "GetAll") == 0 && dbus_message_has_signature(m, "s")) {
                r = reply_new(m);
                if (!r)
                        return NULL;
                dbus_message_iter_init_append(r, &it);
                if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &arr) ||
                    !dbus_message_iter_close_container(&it, &arr)) {
                        dbus_message_unref(r);
                        return NULL;
                }
                return r;
        }
        if (strcmp(member, "Get") == 0 && dbus_message_has_signature(m, "ss"))
                return error_new(m, DBUS_ERROR_UNKNOWN_PROPERTY, "Unknown property");
        if (strcmp(member, "Set") == 0 && dbus_message_has_signature(m, "ssv"))
                return error_new(m, DBUS_ERROR_PROPERTY_READ_ONLY, "Read-only property");
        return error_new(m, DBUS_ERROR_INVALID_ARGS, "Invalid arguments");
}

DBusHandlerResult driver_handle(busrpc_conn *peer, DBusMessage *m) {
        const char *iface = dbus_message_get_interface(m);
        const char *member = dbus_message_get_member(m);
        const char *path = dbus_message_get_path(m);
        DBusMessage *reply;
        bool hello = false, monitor = false;

        if (!peer->server)
                return DBUS_HANDLER_RESULT_HANDLED;
        busrpc_conn_ref(peer);
        if ((!iface || strcmp(iface, IFACE_INTROSPECTABLE) == 0) && strcmp(member, "Introspect") == 0)
                reply = introspect(m, path);
        else if (iface && strcmp(iface, IFACE_PROPERTIES) == 0)
                reply = driver_properties(m, member);
        else if (iface && strcmp(iface, DRIVER_IFACE_MONITORING) == 0)
                reply = become_monitor(peer, m, member, &monitor);
        else if (!iface || strcmp(iface, DRIVER_IFACE) == 0)
                reply = driver_method(peer, m, member, &hello);
        else
                reply = dbus_message_new_error_printf(m, DBUS_ERROR_UNKNOWN_INTERFACE, "Unknown interface '%s'",
                                                      iface);
        if (!reply)
                reply = dbus_message_new_error(m, DBUS_ERROR_NO_MEMORY, "Out of memory");
        if (reply && !dbus_message_get_sender(reply))
                dbus_message_set_sender(reply, DRIVER_NAME);
        if (reply && !dbus_message_get_no_reply(m))
                conn_send(peer, reply);
        if (reply)
                dbus_message_unref(reply);
        if (hello) {
                peer->said_hello = true;
                send_name_acquired(peer);
        }
        if (monitor) {
                /* As dbus-daemon: the monitor loses its unique name. */
                if (peer->said_hello)
                        send_name_lost(peer);
                if (!peer->monitor && peer->server)
                        peer->server->n_monitors++;
                peer->monitor = true;
        }
        busrpc_conn_unref(peer);
        return DBUS_HANDLER_RESULT_HANDLED;
}
