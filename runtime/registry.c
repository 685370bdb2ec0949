/* registry.c: the object registry (see registry.h): a hash table of path
 * nodes with their children, and the per-descriptor member indexes. */
#include <stdlib.h>
#include <string.h>
#include "registry.h"
#include "conn.h"
#include "name.h"
#include "property.h"
#include "server.h"

/* ---- hash table ---- */

/* FNV-1a of the string @s, then a final mix; its length in @ret_len. */
static size_t hash_str(const char *s, size_t *ret_len) {
        uint64_t h = 0xcbf29ce484222325ull;
        const unsigned char *p = (const unsigned char *)s;

        for (; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3ull;
        }
        *ret_len = (size_t)(p - (const unsigned char *)s);
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        return (size_t)h;
}

/* The same for the first @len bytes of @s (a prefix of a path). */
static size_t hash_bytes(const char *s, size_t len) {
        uint64_t h = 0xcbf29ce484222325ull;

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 0x100000001b3ull;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        return (size_t)h;
}

static size_t hash_ptr(const void *p) {
        uint64_t h = (uint64_t)(uintptr_t)p;

        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 33;
        return (size_t)h;
}

static void hash_place(HashSlot *slots, size_t mask, size_t hash, void *item) {
        size_t i = hash & mask;

        while (slots[i].item)
                i = (i + 1) & mask;
        slots[i].hash = hash;
        slots[i].item = item;
}

static int hash_resize(HashTable *t, size_t cap) {
        HashSlot *slots = calloc(cap, sizeof(*slots));

        if (!slots)
                return -ENOMEM;
        if (t->slots) {
                for (size_t i = 0; i <= t->mask; i++)
                        if (t->slots[i].item)
                                hash_place(slots, cap - 1, t->slots[i].hash, t->slots[i].item);
                free(t->slots);
        }
        t->slots = slots;
        t->mask = cap - 1;
        return 0;
}

static int hash_insert(HashTable *t, size_t hash, void *item) {
        if (!t->slots || 2 * (t->n + 1) > t->mask + 1) {
                int r = hash_resize(t, t->slots ? 2 * (t->mask + 1) : 16);
                if (r < 0)
                        return r;
        }
        hash_place(t->slots, t->mask, hash, item);
        t->n++;
        return 0;
}

/* The slot holding @item (present), by its @hash. */
static size_t hash_slot_of(const HashTable *t, size_t hash, const void *item) {
        size_t i = hash & t->mask;

        while (t->slots[i].item != item)
                i = (i + 1) & t->mask;
        return i;
}

static void hash_remove(HashTable *t, size_t hash, const void *item) {
        size_t i = hash_slot_of(t, hash, item), j = i;

        t->slots[i].item = NULL;
        for (;;) {
                size_t k;
                j = (j + 1) & t->mask;
                if (!t->slots[j].item)
                        break;
                /* The entry at j may move to the hole at i unless its home
                 * slot k lies cyclically in (i, j]. */
                k = t->slots[j].hash & t->mask;
                if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                        continue;
                t->slots[i] = t->slots[j];
                t->slots[j].item = NULL;
                i = j;
        }
        t->n--;
        /* Shrink when an eighth full; a failed shrink leaves a valid table. */
        if (t->mask + 1 > 16 && t->n * 8 < t->mask + 1)
                (void)hash_resize(t, (t->mask + 1) / 2);
}

static void hash_free(HashTable *t) {
        free(t->slots);
        t->slots = NULL;
        t->mask = 0;
        t->n = 0;
}

/* ---- nodes ---- */

static RegNode *node_lookup(Registry *reg, const char *path, size_t len, size_t hash) {
        const HashTable *t = &reg->nodes;

        if (!t->slots)
                return NULL;
        for (size_t i = hash & t->mask; t->slots[i].item; i = (i + 1) & t->mask) {
                RegNode *n = t->slots[i].item;
                if (t->slots[i].hash == hash && n->len == len && memcmp(n->path, path, len) == 0)
                        return n;
        }
        return NULL;
}

RegNode *reg_node(Registry *reg, const char *path) {
        size_t len, hash;

        if (!reg || !path)
                return NULL;
        hash = hash_str(path, &len);
        return node_lookup(reg, path, len, hash);
}

/* Length of the parent of the path @path[0..len) (len > 1). */
static size_t parent_len(const char *path, size_t len) {
        while (len > 0 && path[len - 1] != '/')
                len--;
        return len > 1 ? len - 1 : 1;
}

static void node_free(Registry *reg, RegNode *n) {
        RegNode *p = n->parent;

        if (p) {
                if (n->sib_prev)
                        n->sib_prev->sib_next = n->sib_next;
                else
                        p->child_first = n->sib_next;
                if (n->sib_next)
                        n->sib_next->sib_prev = n->sib_prev;
                else
                        p->child_last = n->sib_prev;
                p->n_children--;
        }
        hash_remove(&reg->nodes, n->hash, n);
        free(n->path);
        free(n);
}

/* Free @n and then its ancestors while they hold nothing. */
static void node_prune(Registry *reg, RegNode *n) {
        while (n && !n->first && !n->manager && !n->child_first) {
                RegNode *p = n->parent;
                node_free(reg, n);
                n = p;
        }
}

static RegNode *node_new(Registry *reg, const char *path, size_t len, size_t hash) {
        RegNode *n = calloc(1, sizeof(*n));

        if (!n)
                return NULL;
        n->path = strndup(path, len);
        if (!n->path || hash_insert(&reg->nodes, hash, n) < 0) {
                free(n->path);
                free(n);
                return NULL;
        }
        n->hash = hash;
        n->len = len;
        n->name = len > 1 ? strrchr(n->path, '/') + 1 : n->path + len;
        return n;
}

/* The node of @path, created with any missing ancestors. */
static RegNode *node_get(Registry *reg, const char *path) {
        size_t len = strlen(path);
        RegNode *first = NULL, *child = NULL;

        for (;;) {
                size_t hash = hash_bytes(path, len);
                RegNode *n = node_lookup(reg, path, len, hash);
                bool existed = n != NULL;

                if (!n)
                        n = node_new(reg, path, len, hash);
                if (!n) {
                        node_prune(reg, child); /* the new nodes below, all empty */
                        return NULL;
                }
                if (child) {
                        child->parent = n;
                        child->sib_prev = n->child_last;
                        if (n->child_last)
                                n->child_last->sib_next = child;
                        else
                                n->child_first = child;
                        n->child_last = child;
                        n->n_children++;
                }
                if (!first)
                        first = n;
                if (existed || len == 1)
                        return first;
                child = n;
                len = parent_len(path, len);
        }
}

busrpc_object *node_find(RegNode *n, const char *iface) {
        if (!n)
                return NULL;
        if (!iface)
                return n->first;
        for (busrpc_object *o = n->first; o; o = o->node_next)
                if (strcmp(o->iface->name, iface) == 0)
                        return o;
        if (strcmp(iface, IFACE_OBJECT_MANAGER) == 0)
                return n->manager;
        return NULL;
}

RegNode *node_next_below(RegNode *top, RegNode *n) {
        if (n->child_first)
                return n->child_first;
        while (n != top) {
                if (n->sib_next)
                        return n->sib_next;
                n = n->parent;
        }
        return NULL;
}

/* ---- interface descriptors ---- */

static const char *entry_name(const void *base, size_t stride, size_t i) {
        /* Every *_desc starts with its name. */
        return *(const char *const *)((const char *)base + i * stride);
}

/* A hash index of the names of a descriptor table (at most half full); a
 * name that repeats is found as its first entry, as a walk would. */
static int member_index_init(MemberIndex *x, const void *base, size_t stride, size_t n) {
        size_t cap = 4;

        while (cap < 2 * n)
                cap *= 2;
        x->slots = calloc(cap, sizeof(*x->slots));
        if (!x->slots)
                return -ENOMEM;
        x->mask = cap - 1;
        x->base = base;
        x->stride = stride;
        for (size_t i = 0; i < n; i++) {
                const char *name = entry_name(base, stride, i);
                size_t len, k = hash_str(name, &len) & x->mask;
                bool dup = false;
                for (; x->slots[k]; k = (k + 1) & x->mask)
                        if (strcmp(entry_name(base, stride, x->slots[k] - 1), name) == 0)
                                dup = true;
                if (!dup)
                        x->slots[k] = i + 1;
        }
        return 0;
}

static const void *member_index_find(const MemberIndex *x, const char *name) {
        size_t len;

        for (size_t k = hash_str(name, &len) & x->mask; x->slots[k]; k = (k + 1) & x->mask) {
                const char *e = entry_name(x->base, x->stride, x->slots[k] - 1);
                if (strcmp(e, name) == 0)
                        return (const char *)x->base + (x->slots[k] - 1) * x->stride;
        }
        return NULL;
}

const busrpc_method_desc *iface_find_method(const IfaceInfo *info, const char *name) {
        return member_index_find(&info->methods, name);
}

const busrpc_property_desc *iface_find_prop(const IfaceInfo *info, const char *name) {
        return member_index_find(&info->props, name);
}

static IfaceInfo *info_lookup(Registry *reg, const busrpc_interface_desc *d, size_t hash) {
        const HashTable *t = &reg->infos;

        if (!t->slots)
                return NULL;
        for (size_t i = hash & t->mask; t->slots[i].item; i = (i + 1) & t->mask) {
                IfaceInfo *info = t->slots[i].item;
                if (info->desc == d)
                        return info;
        }
        return NULL;
}

bool reg_knows_iface(Registry *reg, const busrpc_interface_desc *d) {
        return reg && info_lookup(reg, d, hash_ptr(d));
}

static IfaceInfo *info_get(Registry *reg, const busrpc_interface_desc *d) {
        size_t hash = hash_ptr(d);
        IfaceInfo *info = info_lookup(reg, d, hash);

        if (info) {
                info->n_ref++;
                return info;
        }
        info = calloc(1, sizeof(*info));
        if (!info)
                return NULL;
        info->desc = d;
        info->n_ref = 1;
        if (member_index_init(&info->methods, d->methods, sizeof(*d->methods), d->n_methods) < 0 ||
            member_index_init(&info->props, d->properties, sizeof(*d->properties), d->n_properties) < 0 ||
            hash_insert(&reg->infos, hash, info) < 0) {
                free(info->methods.slots);
                free(info->props.slots);
                free(info);
                return NULL;
        }
        return info;
}

static void info_put(Registry *reg, IfaceInfo *info) {
        if (!info || --info->n_ref > 0)
                return;
        hash_remove(&reg->infos, hash_ptr(info->desc), info);
        free(info->methods.slots);
        free(info->props.slots);
        free(info);
}

/* ---- the registry ---- */

Registry *reg_new(busrpc_conn *conn, busrpc_server *server) {
        Registry *reg = calloc(1, sizeof(*reg));

        if (!reg)
                return NULL;
        reg->n_ref = 1;
        reg->conn = conn;
        reg->server = server;
        return reg;
}

Registry *reg_ref(Registry *reg) {
        if (reg)
                reg->n_ref++;
        return reg;
}

void reg_unref(Registry *reg) {
        if (!reg || --reg->n_ref > 0)
                return;
        /* Objects keep no reference: the owner emptied it (reg_disown()). */
        hash_free(&reg->nodes);
        hash_free(&reg->infos);
        free(reg);
}

void reg_disown(Registry *reg) {
        if (!reg)
                return;
        property_flush_reg(reg); /* queued PropertiesChanged go out first */
        while (reg->objects) {
                busrpc_object *o = reg->objects;

                reg_remove(o);
                object_unref(o); /* the registry's reference */
        }
        reg->conn = NULL;
        reg->server = NULL;
        reg_unref(reg);
}

busrpc_loop *reg_loop(Registry *reg) {
        if (!reg)
                return NULL;
        if (reg->conn)
                return busrpc_conn_get_loop(reg->conn);
        return reg->server ? busrpc_server_get_loop(reg->server) : NULL;
}

int reg_send(Registry *reg, DBusMessage *m) {
        if (reg && reg->conn)
                return conn_send(reg->conn, m);
        if (reg && reg->server)
                return server_broadcast(reg->server, m);
        return -ENOTCONN;
}

unsigned reg_max_call_fds(Registry *reg) {
        if (reg->conn)
                return conn_max_call_fds(reg->conn);
        return reg->server ? server_max_call_fds(reg->server) : DEFAULT_MAX_CALL_FDS;
}

int reg_add(Registry *reg, busrpc_object *o) {
        RegNode *n;

        if (!reg->conn && !reg->server)
                return -ENOTCONN;
        n = reg_node(reg, o->path);
        if (n && node_find(n, o->iface ? o->iface->name : IFACE_OBJECT_MANAGER))
                return -EEXIST;
        if (o->iface) {
                o->info = info_get(reg, o->iface);
                if (!o->info)
                        return -ENOMEM;
        }
        if (!n)
                n = node_get(reg, o->path);
        if (!n) {
                info_put(reg, o->info);
                o->info = NULL;
                return -ENOMEM;
        }
        o->node = n;
        o->seq = reg->seq++;
        if (o->iface) {
                o->node_prev = n->last;
                if (n->last)
                        n->last->node_next = o;
                else
                        n->first = o;
                n->last = o;
        } else {
                n->manager = o;
        }
        o->prev = reg->objects_tail;
        if (reg->objects_tail)
                reg->objects_tail->next = o;
        else
                reg->objects = o;
        reg->objects_tail = o;
        reg->n_objects++;
        o->reg = reg;
        return 0;
}

void reg_remove(busrpc_object *o) {
        Registry *reg = o->reg;
        RegNode *n = o->node;

        if (!reg)
                return;
        if (o->iface) {
                if (o->node_prev)
                        o->node_prev->node_next = o->node_next;
                else
                        n->first = o->node_next;
                if (o->node_next)
                        o->node_next->node_prev = o->node_prev;
                else
                        n->last = o->node_prev;
                o->node_prev = o->node_next = NULL;
        } else {
                n->manager = NULL;
        }
        node_prune(reg, n);
        o->node = NULL;
        info_put(reg, o->info);
        o->info = NULL;
        if (o->prev)
                o->prev->next = o->next;
        else
                reg->objects = o->next;
        if (o->next)
                o->next->prev = o->prev;
        else
                reg->objects_tail = o->prev;
        o->prev = o->next = NULL;
        reg->n_objects--;
        o->reg = NULL;
}

