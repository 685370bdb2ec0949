/* message.h: messages, iterators and the type rules of signatures
 * (message.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "busrpc-internal.h"

typedef struct busrpc_objects Registry; /* registry.h */

struct busrpc_msg {
        unsigned n_ref;
        DBusMessage *dbus;
        busrpc_conn *conn; /* a reference, or NULL (variants, tests, signals of objects) */
        Registry *reg;     /* a signal of an object: sent through its registry's owner (a reference) */
        /* busrpc_proxy_set_property_begin(): the caller appends the value
         * to this scratch message; _finish() copies it into the variant.
         * (No container is left open across calls into user code.) */
        DBusMessage *prop_value;
        char *prop_sig;
};

enum {
        ITER_READ = 1,
        ITER_APPEND = 2,
};

/* Room for the expected signature of an append iterator inside an array,
 * variant, struct or dict entry. libdbus aborts when a value of another
 * type is written there, so we check first; a longer expectation is not
 * checked (libdbus still is). */
#define ITER_EXPECT_MAX (sizeof(busrpc_iter) - sizeof(DBusMessageIter) - sizeof(DBusMessage *) - 8)

enum {
        EXPECT_FREE = 0,    /* anything may be appended (top level, free struct) */
        EXPECT_KNOWN = 1,   /* expect[] holds what must come */
        EXPECT_UNKNOWN = 2, /* too long to keep here: libdbus checks */
};

/* The specification's limit on nested containers in one message. */
#define MAX_DEPTH 64

typedef struct Iter {
        DBusMessageIter it;
        DBusMessage *msg;
        uint8_t mode;      /* ITER_READ / ITER_APPEND */
        uint8_t container; /* 0 at top level, else 'a' 'r' 'e' 'v' */
        uint8_t checked;   /* append: EXPECT_* */
        uint8_t epos;      /* append: position in expect[] */
        uint8_t depth;     /* containers around this iterator */
        union {
                char expect[ITER_EXPECT_MAX]; /* append */
                /* read: the bound on a received shm (0: the default),
                 * from the connection the message came on, and that
                 * connection (borrowed; NULL: none), whose cache of shm
                 * mappings a received shm uses; subs inherit both. */
                struct {
                        uint64_t max_shm;
                        busrpc_conn *conn;
                };
        };
} Iter;

_Static_assert(sizeof(Iter) <= sizeof(busrpc_iter), "busrpc_iter too small");

static inline Iter *iter_priv(busrpc_iter *it) {
        return (Iter *)(void *)it;
}

/* Start appending to @m, expecting exactly one value of type @sig (NULL:
 * anything). */
void iter_init_append_one(busrpc_iter *it, DBusMessage *m, const char *sig);

/* Wrap @m; a new reference is taken. @c may be NULL. */
busrpc_msg *msg_wrap(DBusMessage *m, busrpc_conn *c);
bool type_is_basic(int t);
bool type_is_fixed(int t);
/* Length of the single complete type at @s, 0 when none. */
size_t sig_complete_len(const char *s);

/* Wrap @m (a new reference is taken) as a message that busrpc_msg_send()
 * sends on @c. */
busrpc_msg *msg_new(DBusMessage *m, busrpc_conn *c);
/* A signal of an object of @reg (referenced), sent through its owner. */
busrpc_msg *msg_new_signal(DBusMessage *m, Registry *reg);
DBusMessage *msg_get_dbus(busrpc_msg *m); /* borrowed */
/* Point @it at @m's arguments for reading / appending. */
void iter_init_read(busrpc_iter *it, DBusMessage *m);
void iter_init_append(busrpc_iter *it, DBusMessage *m);
/* iter_init_read() for a message received on @c: a shm read from it is
 * bounded by busrpc_conn_get_max_shm_size(@c) (without @c: the default). */
void iter_init_read_conn(busrpc_iter *it, DBusMessage *m, busrpc_conn *c);
