/* name.h: bus names owned by a connection (name.c); on a server, the
 * names the emulated driver (driver.c) reports. */
#pragma once

#include "busrpc-internal.h"

struct busrpc_name {
        busrpc_conn *conn;     /* a bus conn's name: NULL once the conn is gone */
        busrpc_server *server; /* a server's: NULL once the server is gone */
        char *name;
        busrpc_name_fn cb;
        void *userdata;
        bool owned;
        bool floating; /* no handle was returned: freed with the conn */
        unsigned flags; /* BUSRPC_NAME_*: asked again after a reconnection */
        busrpc_name *prev, *next;
};

int name_request_all(busrpc_conn *c); /* after a reconnection */
DBusHandlerResult name_handle_signal(busrpc_conn *c, DBusMessage *m);
void name_release_all(busrpc_conn *c);
void name_detach_all(busrpc_conn *c);
/* A server's names (busrpc_server_request_name()). */
bool name_server_has(busrpc_server *s, const char *name);
void name_server_detach_all(busrpc_server *s);
