/* core.h: a thin umbrella over the runtime's private headers, kept for
 * the files written against the old layout (today only property.c). New
 * code includes the headers it needs by concept (see busrpc-internal.h);
 * this file goes once no file includes it. */
#pragma once

#include "busrpc-internal.h"
#include "loop.h"
#include "conn.h"
#include "reply.h"
#include "name.h"
#include "creds.h"
#include "object.h"
#include "dispatch.h"
#include "registry.h"
#include "introspect.h"
#include "property.h"
#include "call.h"
#include "server.h"
#include "driver.h"
#include "message.h"
#include "validate.h"
#include "error-map.h"
#include "variant.h"
#include "shm.h"
#include "proxy.h"
#include "subscription.h"
