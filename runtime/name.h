/* name.h: bus names owned by a connection (name.c); on a server's
 * all-peers handle, the names the emulated driver (driver.c) reports. */
#pragma once

#include "busrpc-internal.h"

struct busrpc_name {
        busrpc_conn *conn; /* NULL once the conn is gone */
        char *name;
        busrpc_name_fn cb;
        void *userdata;
        bool owned;
        bool floating; /* no handle was returned: freed with the conn */
        unsigned flags; /* BUSRPC_NAME_*: asked again after a reconnection */
        busrpc_source *notify; /* SERVER conns: deferred acquired callback */
        busrpc_name *prev, *next;
};

int name_request_all(busrpc_conn *c); /* after a reconnection */
DBusHandlerResult name_handle_signal(busrpc_conn *c, DBusMessage *m);
void name_release_all(busrpc_conn *c);
void name_detach_all(busrpc_conn *c);
bool name_is_owned_locally(busrpc_conn *server_conn, const char *name);
