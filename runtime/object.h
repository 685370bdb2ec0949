/* object.h: exported objects (object.c); the registry that indexes them
 * is registry.h, the dispatch of calls to them dispatch.h. */
#pragma once

#include <stdint.h>
#include <string.h>
#include "busrpc-internal.h"

typedef struct RegNode RegNode;   /* registry.h */
typedef struct IfaceInfo IfaceInfo; /* registry.h */
typedef struct FastSignals FastSignals; /* fastcall.c */
typedef struct busrpc_objects Registry;  /* registry.h */

struct busrpc_object {
        unsigned n_ref;
        Registry *reg; /* the registry it is in (not referenced); NULL once removed */
        char *path;
        const busrpc_interface_desc *iface; /* NULL for an ObjectManager */
        const void *ops;
        void *self;
        /* registry.c; all NULL once removed */
        RegNode *node;
        IfaceInfo *info; /* NULL for an ObjectManager */
        uint64_t seq;    /* export order */
        busrpc_object *prev, *next;           /* every object of the registry */
        busrpc_object *node_prev, *node_next; /* the interface objects of node */
        FastSignals *fast_signals; /* fastcall.c: signal templates, built on first emit */
};

bool tree_has_path(Registry *reg, const char *path);
busrpc_object *tree_find(Registry *reg, const char *path, const char *iface);
busrpc_object *object_ref(busrpc_object *o);
/* fastcall.c: free what busrpc_object_emit() cached (NULL is fine). */
void fast_signals_free(FastSignals *fs);
void object_unref(busrpc_object *o);
/* ObjectManager covering @path (strictly above it), or NULL. */
busrpc_object *tree_find_manager(Registry *reg, const char *path);

/* One of the interfaces every object answers (dispatch.c), which no
 * descriptor may name (object.c). Most calls are to other interfaces: one
 * compare tells. */
static inline bool is_standard_iface(const char *name) {
        static const char prefix[] = "org.freedesktop.DBus.";

        if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
                return false;
        return strcmp(name, IFACE_PROPERTIES) == 0 || strcmp(name, IFACE_INTROSPECTABLE) == 0 ||
               strcmp(name, IFACE_PEER) == 0 || strcmp(name, IFACE_OBJECT_MANAGER) == 0;
}
