/* creds.c: who is calling. On a bus, the bus is asked
 * (GetConnectionCredentials) and the answer cached per unique name until
 * NameOwnerChanged says that name is gone; on a peer connection, the
 * socket's credentials: what the server recorded for a served peer (the
 * authenticated uid, SO_PEERCRED's pid), SO_PEERCRED of the socket on the
 * client side. Either link (libdbus or the fast path). Anything unknown is
 * -ENODATA: an identity is never guessed (in particular never as root). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* AddMatch for every NameOwnerChanged, sent and not waited for (as
 * dbus_bus_add_match() without an error did). */
static int add_owner_match(busrpc_conn *c) {
        const char *rule = "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                           "member='NameOwnerChanged'";
        DBusMessage *m;
        int r;

        m = dbus_message_new_method_call(DRIVER_NAME, DRIVER_PATH, DRIVER_IFACE, "AddMatch");
        if (!m)
                return -ENOMEM;
        dbus_message_set_no_reply(m, TRUE);
        if (!dbus_message_append_args(m, DBUS_TYPE_STRING, &rule, DBUS_TYPE_INVALID)) {
                dbus_message_unref(m);
                return -ENOMEM;
        }
        r = conn_send(c, m);
        dbus_message_unref(m);
        return r;
}

/* SO_PEERCRED of a unix socket; false on anything else (tcp). */
static bool socket_creds(int fd, struct ucred *ret) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss), clen = sizeof(*ret);

        if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0 || ss.ss_family != AF_UNIX)
                return false;
        return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ret, &clen) == 0 && clen == sizeof(*ret);
}

static CredsEntry *lookup_bus(busrpc_conn *c, const char *sender) {
        DBusMessage *m, *reply;
        CredsEntry e = { 0 }, *slot;

        for (unsigned i = 0; i < c->n_creds; i++)
                if (strcmp(c->creds[i].name, sender) == 0)
                        return &c->creds[i];
        if (!conn_is_open(c))
                return NULL;
        m = dbus_message_new_method_call(DRIVER_NAME, DRIVER_PATH, DRIVER_IFACE, "GetConnectionCredentials");
        if (!m)
                return NULL;
        if (!dbus_message_append_args(m, DBUS_TYPE_STRING, &sender, DBUS_TYPE_INVALID)) {
                dbus_message_unref(m);
                return NULL;
        }
        if (conn_call_sync(c, m, DRIVER_NAME, CREDS_CALL_TIMEOUT_MS, &reply, NULL) < 0)
                reply = NULL;
        dbus_message_unref(m);
        if (!reply)
                return NULL;
        if (dbus_message_get_type(reply) != DBUS_MESSAGE_TYPE_METHOD_RETURN) {
                dbus_message_unref(reply);
                return NULL; /* an error: nothing is known (and nothing cached) */
        }
        parse_creds(reply, &e);
        dbus_message_unref(reply);
        e.name = strdup(sender);
        if (!e.name)
                return NULL;
        if (!c->creds_match_added && add_owner_match(c) >= 0)
                c->creds_match_added = true; /* entries are dropped when their name goes away */
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
        if (c->kind == CONN_SERVED) {
                /* The server's record: the uid authentication accepted
                 * (on tcp too), the pid SO_PEERCRED gave at accept. */
                if (ret_uid && (!c->authed || c->peer_uid == (uid_t)-1))
                        return -ENODATA;
                if (ret_pid && c->peer_pid <= 0)
                        return -ENODATA;
                if (ret_uid)
                        *ret_uid = c->peer_uid;
                if (ret_pid)
                        *ret_pid = c->peer_pid;
                return 0;
        }
        if (c->kind == CONN_PEER) {
                struct ucred uc;

                if (!socket_creds(conn_socket_fd(c), &uc))
                        return -ENODATA;
                if (ret_uid && uc.uid == (uid_t)-1)
                        return -ENODATA;
                if (ret_pid && uc.pid <= 0)
                        return -ENODATA;
                if (ret_uid)
                        *ret_uid = uc.uid;
                if (ret_pid)
                        *ret_pid = uc.pid;
                return 0;
        }
        return -ENODATA;
}
