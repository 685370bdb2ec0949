/* data.h: private declarations of the data layer (messages, iterators,
 * values, calling). Never installed; the core uses busrpc-internal.h only.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "busrpc-internal.h"

/* ---- message.c ---- */

struct busrpc_msg {
        unsigned n_ref;
        DBusMessage *dbus;
        busrpc_conn *conn; /* a reference, or NULL (variants, tests) */
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
                 * from the connection the message came on; subs inherit it. */
                uint64_t max_shm;
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

/* ---- validate.c ---- */

bool valid_error_name(const char *s);
/* Exactly one complete type. */
bool valid_single_signature(const char *s);
bool valid_unique_name(const char *s);

/* ---- error.c ---- */

/* -errno for a libdbus error name (NoMemory -> -ENOMEM …), -EREMOTEIO else. */
int error_name_to_errno(const char *name);

/* ---- variant.c ---- */

/* Copy one complete value from @from (read) to @to (append), fds
 * included; @from advances. @depth counts containers on the way. */
int value_copy(DBusMessageIter *from, DBusMessageIter *to, unsigned depth);
/* A variant holding the value at @from (read iterator; advances). */
int variant_from_iter(DBusMessageIter *from, busrpc_variant **ret);

/* ---- shm.c ---- */

/* Take @fd (owned; closed on failure too) as a sealed read-only shm of at
 * most @max_size bytes (0: no bound): -EFBIG above it, -EPERM unsealed. */
int shm_from_owned_fd(int fd, uint64_t max_size, busrpc_shm **ret);

/* ---- proxy.c ---- */

/* The timeout of the next call (the one-shot override is consumed). */
int proxy_take_timeout(busrpc_proxy *p);
/* Checks of a call message about to be sent; consumes @m on failure. */
int proxy_send_prepare(busrpc_proxy *p, busrpc_msg *m, const char *expected_sig, DBusConnection **ret_dc,
                       busrpc_error *err);
/* Map a failed call's libdbus error to -errno + @err. */
int call_error(DBusConnection *dc, DBusError *de, busrpc_error *err);
/* Check a reply: error replies and signatures. */
int reply_check(DBusConnection *dc, DBusMessage *reply, const char *expected_sig, busrpc_error *err);
