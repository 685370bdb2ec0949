/* variant.h: busrpc_variant and the one value copier (variant.c). */
#pragma once

#include "busrpc-internal.h"

/* Copy one complete value from @from (read) to @to (append), fds
 * included; @from advances. @depth counts containers on the way. */
int value_copy(DBusMessageIter *from, DBusMessageIter *to, unsigned depth);
/* A variant holding the value at @from (read iterator; advances). */
int variant_from_iter(DBusMessageIter *from, busrpc_variant **ret);
