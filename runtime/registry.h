/* registry.h: the object registry (public name busrpc_objects) of a
 * connection, or of a server (shared by all its peers).
 *
 * Model:
 *  - Every object path that holds an object, and every ancestor of such a
 *    path, has a RegNode, found by path in an open-addressing hash table.
 *    A node knows its parent and its direct children (in creation order),
 *    so children queries (Introspect's <node> elements, GetManagedObjects,
 *    the nearest ObjectManager) never walk unrelated objects. A node that
 *    holds no object and has no children is freed at once.
 *  - The interface objects of a node are listed in export order, and carry
 *    an export sequence number, so every order visible on the wire is the
 *    order of export, as it was before the index.
 *  - An interface descriptor is validated and its method and property
 *    names indexed once, when the registry first sees it (IfaceInfo, shared
 *    by every object exported with it and freed with the last of them):
 *    dispatch finds a member by hash.
 *  - Export, unexport and lookup by path cost O(1) amortised (plus the
 *    path's depth when a node is created or freed).
 */
#pragma once

#include <stddef.h>
#include "object.h"
#include "conn.h"

typedef struct HashSlot {
        size_t hash;
        void *item; /* NULL: empty */
} HashSlot;

/* Linear probing, at most half full, backward-shift deletion. */
typedef struct HashTable {
        HashSlot *slots;
        size_t mask; /* capacity - 1; capacity is 0 or a power of two */
        size_t n;
} HashTable;

struct RegNode {
        char *path;
        size_t len;
        size_t hash;
        const char *name; /* the last component (into path); "" for "/" */
        RegNode *parent;
        RegNode *child_first, *child_last; /* creation order */
        RegNode *sib_prev, *sib_next;
        unsigned n_children;
        busrpc_object *first, *last; /* interface objects here, export order */
        busrpc_object *manager;      /* the ObjectManager here, or NULL */
};

/* The entries of a descriptor table (methods or properties) by name:
 * linear probing over index + 1 (0: empty). */
typedef struct MemberIndex {
        size_t *slots;
        size_t mask;
        const void *base; /* the table */
        size_t stride;
} MemberIndex;

struct IfaceInfo {
        const busrpc_interface_desc *desc;
        unsigned n_ref; /* objects exported with it */
        MemberIndex methods;
        MemberIndex props;
};

/* busrpc_objects: owned by a bus or client peer connection (@conn, which
 * dispatches through it), or by a peer server (@server: every peer it
 * serves dispatches through it; what its objects emit goes to every
 * peer). A dispatch in progress holds a reference too, so a handler may
 * drop the owner; reg_disown() empties it and clears the owner. */
struct busrpc_objects {
        unsigned n_ref;
        busrpc_conn *conn;
        busrpc_server *server;
        HashTable nodes;                       /* RegNode by path */
        HashTable infos;                       /* IfaceInfo by descriptor address */
        busrpc_object *objects, *objects_tail; /* all objects, export order */
        unsigned n_objects;
        uint64_t seq;
};

/* A registry owned by @conn or @server (one of them), or NULL (no memory). */
Registry *reg_new(busrpc_conn *conn, busrpc_server *server);
Registry *reg_ref(Registry *reg);
void reg_unref(Registry *reg);
/* The owner goes: its queued PropertiesChanged are sent, its objects
 * removed (handles detached), the owner forgotten; drops its reference. */
void reg_disown(Registry *reg);
/* The owner's loop, or NULL once it went. Borrowed. */
busrpc_loop *reg_loop(Registry *reg);
/* Send @m (borrowed) through the owner: a conn's link, or every peer of
 * a server whose match rules accept it. -ENOTCONN once the owner went. */
int reg_send(Registry *reg, DBusMessage *m);
/* The fds one call to @reg's objects may hand a skeleton. */
unsigned reg_max_call_fds(Registry *reg);
/* The node of @path in @reg, or NULL (also for a NULL @reg). */
RegNode *reg_node(Registry *reg, const char *path);
static inline bool node_has_objects(const RegNode *n) {
        return n && (n->first || n->manager);
}
/* Is @d known to (so already validated by) @reg? */
bool reg_knows_iface(Registry *reg, const busrpc_interface_desc *d);
/* Put @o (path, iface set; iface NULL for an ObjectManager) into @reg and
 * set o->reg; -EEXIST if @o's path already holds that interface (or an
 * ObjectManager), -ENOTCONN once the owner went, -ENOMEM. Takes no
 * reference. */
int reg_add(Registry *reg, busrpc_object *o);
/* Take @o out of its registry; o->reg becomes NULL. Drops no reference. */
void reg_remove(busrpc_object *o);

/* The object at @n with interface @iface (NULL: the first interface
 * object; IFACE_OBJECT_MANAGER: the ObjectManager), or NULL. */
busrpc_object *node_find(RegNode *n, const char *iface);
/* The next node after @n in a pre-order walk of @top's subtree (@top
 * excluded), or NULL at the end; start with @n == @top. */
RegNode *node_next_below(RegNode *top, RegNode *n);

const busrpc_method_desc *iface_find_method(const IfaceInfo *info, const char *name);
const busrpc_property_desc *iface_find_prop(const IfaceInfo *info, const char *name);
