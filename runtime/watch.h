/* watch.h: what the typed client parts (watch.c, om-client.c) share:
 * checking a property table once, and reading an a{sv} by it.
 */
#pragma once

#include "busrpc-internal.h"
#include <stdint.h>

#define PROPS_IFACE "org.freedesktop.DBus.Properties"
#define PROP_BIT(i) (UINT64_C(1) << (i))

/* 0, -EINVAL or -E2BIG (see busrpc_property_table). */
int prop_table_check(const busrpc_property_table *t);
/* The index of property @name in @t, or -1. */
int prop_table_find(const busrpc_property_table *t, const char *name);
/* Read the a{sv} at @it (advanced past it) into @values (initialised by the
 * caller): names @t knows, with values of their signature, each once.
 * @ret_present gets their bits. Anything else is skipped. */
int props_read_dict(const busrpc_property_table *t, busrpc_iter *it, void *values, uint64_t *ret_present);
/* Clear the fields of @values whose bits are in @mask. */
void props_clear(const busrpc_property_table *t, void *values, uint64_t mask);
/* A new values struct of @t, each field initialised; NULL on ENOMEM. */
void *props_new(const busrpc_property_table *t);

/* Follow who owns @p's destination, on a bus: @cb runs when the name
 * changes hands (@has_owner false: nobody owns it now); @relinked (NULL:
 * @cb) when the conn is on a new bus after a reconnection (whoever owns
 * the name there: no NameOwnerChanged says so if it was back first). On a
 * peer connection, or a proxy without destination, nothing is followed and
 * *@ret is NULL. busrpc_subscription_release() stops. */
int owner_follow(busrpc_proxy *p, void (*cb)(void *userdata, bool has_owner),
                 void (*relinked)(void *userdata, bool has_owner), void *userdata, busrpc_subscription **ret);
