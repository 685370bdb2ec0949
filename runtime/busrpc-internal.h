/* Internal declarations shared by the runtime's files. Never installed. */
#pragma once

#include <dbus/dbus.h>
#include "busrpc/busrpc.h"

#define BUSRPC_EXPORT __attribute__((visibility("default")))
