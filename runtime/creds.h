/* creds.h: the credentials of a caller (creds.c): SO_PEERCRED on a peer
 * socket, GetConnectionUnixUser/ProcessID on a bus, cached per conn. */
#pragma once

#include <sys/types.h>
#include "busrpc-internal.h"

#define CREDS_CACHE_SIZE 128u
#define CREDS_CALL_TIMEOUT_MS 5000

int creds_get(busrpc_conn *c, const char *sender, uid_t *ret_uid, pid_t *ret_pid);
void creds_handle_owner_changed(busrpc_conn *c, DBusMessage *m);
void creds_clear(busrpc_conn *c);
