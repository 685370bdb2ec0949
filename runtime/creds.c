/* creds.c: who is calling. On a bus, the bus is asked
 * (GetConnectionCredentials) and the answer cached per unique name until
 * NameOwnerChanged says that name is gone; on a peer connection, the
 * socket's credentials. Anything unknown is -ENODATA: an identity is never
 * guessed (in particular never as root). */
#include <stdlib.h>
#include <string.h>
#include "creds.h"
#include "conn.h"

struct CredsEntry {
        char *name;
        bool has_uid, has_pid;
        uid_t uid;
        pid_t pid;
};

static void entry_clear(CredsEntry *e) {
        free(e->name);
        memset(e, 0, sizeof(*e));
}

void creds_clear(busrpc_conn *c) {
        for (unsigned i = 0; i < c->n_creds; i++)
                entry_clear(&c->creds[i]);
        free(c->creds);
        c->creds = NULL;
        c->n_creds = 0;
}

static void creds_drop(busrpc_conn *c, const char *name) {
        for (unsigned i = 0; i < c->n_creds; i++) {
                if (strcmp(c->creds[i].name, name) != 0)
                        continue;
                entry_clear(&c->creds[i]);
                c->creds[i] = c->creds[--c->n_creds];
                return;
        }
}

void creds_handle_owner_changed(busrpc_conn *c, DBusMessage *m) {
        const char *sender = dbus_message_get_sender(m), *name, *old_owner, *new_owner;

        if (!c->n_creds || !sender || strcmp(sender, DRIVER_NAME) != 0 ||
            !dbus_message_is_signal(m, DRIVER_IFACE, "NameOwnerChanged") || !dbus_message_has_signature(m, "sss"))
                return;
        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner, DBUS_TYPE_STRING,
                                   &new_owner, DBUS_TYPE_INVALID))
                return;
        if (name[0] == ':' && new_owner[0] == '\0')
                creds_drop(c, name);
}

/* Parse the a{sv} of GetConnectionCredentials. */
static void parse_creds(DBusMessage *reply, CredsEntry *e) {
        DBusMessageIter it, arr, entry, var;

        if (!dbus_message_has_signature(reply, "a{sv}") || !dbus_message_iter_init(reply, &it))
                return;
        dbus_message_iter_recurse(&it, &arr);
        while (dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY) {
                const char *key;
                dbus_uint32_t v;

                dbus_message_iter_recurse(&arr, &entry);
                dbus_message_iter_get_basic(&entry, &key);
                dbus_message_iter_next(&entry);
                dbus_message_iter_recurse(&entry, &var);
                if (dbus_message_iter_get_arg_type(&var) == DBUS_TYPE_UINT32) {
                        dbus_message_iter_get_basic(&var, &v);
                        if (strcmp(key, "UnixUserID") == 0) {
                                e->uid = (uid_t)v;
                                e->has_uid = true;
                        } else if (strcmp(key, "ProcessID") == 0) {
                                e->pid = (pid_t)v;
                                e->has_pid = true;
                        }
                }
                dbus_message_iter_next(&arr);
        }
}

static CredsEntry *lookup_bus(busrpc_conn *c, const char *sender) {
        DBusMessage *m, *reply;
        CredsEntry e = { 0 }, *slot;

        for (unsigned i = 0; i < c->n_creds; i++)
                if (strcmp(c->creds[i].name, sender) == 0)
                        return &c->creds[i];
        if (!c->dbus || !dbus_connection_get_is_connected(c->dbus))
                return NULL;
        m = dbus_message_new_method_call(DRIVER_NAME, DRIVER_PATH, DRIVER_IFACE, "GetConnectionCredentials");
        if (!m)
                return NULL;
        if (!dbus_message_append_args(m, DBUS_TYPE_STRING, &sender, DBUS_TYPE_INVALID)) {
                dbus_message_unref(m);
                return NULL;
        }
        reply = dbus_connection_send_with_reply_and_block(c->dbus, m, CREDS_CALL_TIMEOUT_MS, NULL);
        dbus_message_unref(m);
        if (!reply)
                return NULL;
        parse_creds(reply, &e);
        dbus_message_unref(reply);
        e.name = strdup(sender);
        if (!e.name)
                return NULL;
        if (!c->creds_match_added) {
                /* Entries are dropped when their name goes away. */
                dbus_bus_add_match(c->dbus,
                                   "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                                   "member='NameOwnerChanged'",
                                   NULL);
                c->creds_match_added = true;
        }
        if (!c->creds) {
                c->creds = calloc(CREDS_CACHE_SIZE, sizeof(*c->creds));
                if (!c->creds) {
                        free(e.name);
                        return NULL;
                }
        }
        if (c->n_creds == CREDS_CACHE_SIZE) {
                /* Full: forget the oldest (slot 0), keep order otherwise. */
                entry_clear(&c->creds[0]);
                memmove(&c->creds[0], &c->creds[1], (CREDS_CACHE_SIZE - 1) * sizeof(*c->creds));
                c->n_creds--;
        }
        slot = &c->creds[c->n_creds++];
        *slot = e;
        return slot;
}

int creds_get(busrpc_conn *c, const char *sender, uid_t *ret_uid, pid_t *ret_pid) {
        if (c->kind == CONN_BUS) {
                CredsEntry *e;
                if (!sender || sender[0] != ':')
                        return -ENODATA;
                e = lookup_bus(c, sender);
                if (!e)
                        return -ENODATA;
                if (ret_uid) {
                        if (!e->has_uid)
                                return -ENODATA;
                        *ret_uid = e->uid;
                }
                if (ret_pid) {
                        if (!e->has_pid)
                                return -ENODATA;
                        *ret_pid = e->pid;
                }
                return 0;
        }
        if (!c->dbus)
                return -ENODATA;
        if (ret_uid) {
                unsigned long uid;
                if (!dbus_connection_get_unix_user(c->dbus, &uid))
                        return -ENODATA;
                *ret_uid = (uid_t)uid;
        }
        if (ret_pid) {
                unsigned long pid;
                if (!dbus_connection_get_unix_process_id(c->dbus, &pid))
                        return -ENODATA;
                *ret_pid = (pid_t)pid;
        }
        return 0;
}
