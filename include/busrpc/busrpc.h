/* busrpc: D-Bus RPC for C. The one public header.
 *
 * Conventions (see docs/runtime.md):
 * - Functions return int: >= 0 on success, a negative errno on failure.
 *   Remote D-Bus errors return -EREMOTEIO and fill a busrpc_error.
 * - Out-parameters come last (before a closing busrpc_error *err, as in
 *   generated stubs), are named out (one) or out_<what> (several), and are
 *   written only on success. Not out-parameters: iterators (@it, @sub:
 *   caller storage a call starts), a caller's buffer with its size (@buf,
 *   @size), and busrpc_value_copy()'s (dst, src), in memcpy() order.
 *   Arguments are checked at the door: a NULL where an object is needed
 *   gives -EINVAL, never a crash.
 * - x_new()/x_free(): free accepts NULL and returns NULL. Shared objects
 *   have x_ref()/x_unref(); unref accepts NULL and returns NULL.
 * - Every owned or shared type has a static inline x_unrefp() (or
 *   x_releasep(), x_freep(), after its one verb) for
 *   __attribute__((cleanup(...))): it calls the verb when the pointer is set.
 * - fd events are EPOLL* flags (<sys/epoll.h>) everywhere: io sources take
 *   and report them, busrpc_loop_get_events() returns them. On Linux
 *   EPOLLIN/OUT/PRI/ERR/HUP have the values of POLLIN/OUT/PRI/ERR/HUP, so
 *   they can be given to poll() as they are.
 * - Times are uint64_t microseconds everywhere (CLOCK_MONOTONIC, relative;
 *   as sd-bus): timers, a timer callback's return, busrpc_loop_iterate(),
 *   busrpc_loop_get_timeout(), call timeouts, reconnection, server limits.
 *   Names end in _usec; BUSRPC_USEC_PER_MSEC / BUSRPC_USEC_PER_SEC convert;
 *   BUSRPC_TIMEOUT_INFINITE (UINT64_MAX) is "never";
 *   busrpc_usec_to_poll_ms() gives poll()'s int milliseconds.
 * - Every registration (source, name, object, subscription) returns a
 *   handle, and one verb undoes it: busrpc_source_release(),
 *   busrpc_name_release(), busrpc_object_release(),
 *   busrpc_subscription_release() (NULL accepted; returns NULL; works after
 *   the owner is gone). Passing NULL for the handle makes it floating: it
 *   lives as long as its owner (the loop, the connection, the proxy's
 *   connection).
 * - The library never prints, never exits, never aborts on input from the
 *   wire. It is not thread-safe: use one connection (and loop) per thread.
 *
 * API changes (0.x: renamed or merged functions keep no twin; see
 * docs/runtime.md, "API changes before 0.x freezes"):
 * - busrpc_proxy_subscribe() takes a busrpc_destroy_fn (NULL for none)
 *   before @out; busrpc_proxy_subscribe_full() is gone.
 * - busrpc_iter_get_variant_signature() writes into a caller buffer and
 *   returns the length or a negative errno (no thread-local buffer).
 * - busrpc_property_cache_free() and busrpc_om_client_free() are
 *   busrpc_property_cache_release() and busrpc_om_client_release(): they
 *   undo a registration, as busrpc_subscription_release() does.
 * - Added cleanup helpers: busrpc_loop_unrefp(), busrpc_source_releasep(),
 *   busrpc_name_releasep(), busrpc_server_freep(), busrpc_object_releasep(),
 *   busrpc_pending_unrefp(), busrpc_subscription_releasep(),
 *   busrpc_property_cache_releasep(), busrpc_om_client_releasep().
 * - busrpc_loop_get_events() says EPOLLIN (same value as POLLIN): the
 *   public API uses EPOLL* flags only.
 * - One time unit, uint64_t microseconds: busrpc_loop_iterate(l,
 *   timeout_usec); busrpc_loop_get_timeout(l, &usec) returns 0 or -errno
 *   (no deadline: BUSRPC_TIMEOUT_INFINITE); busrpc_conn_set_reconnect(c,
 *   timeout_usec); busrpc_server_limits.auth_timeout_usec and
 *   .shutdown_timeout_usec (uint64_t; were *_ms); busrpc_proxy_set_timeout()
 *   and busrpc_proxy_set_next_timeout() take usec, busrpc_proxy_get_timeout(p,
 *   &usec) returns 0 or -errno; BUSRPC_TIMEOUT_DEFAULT is 0 and
 *   BUSRPC_TIMEOUT_INFINITE UINT64_MAX (were -1 and 0x7fffffff ms). Added:
 *   BUSRPC_USEC_PER_MSEC, BUSRPC_USEC_PER_SEC, busrpc_usec_to_poll_ms().
 * - Out-parameters are named out / out_<what> (were ret, ret_*), also in
 *   the adapters' headers; busrpc_proxy_get_all_values() names its values
 *   out_values, out_present; busrpc_value_read() and busrpc_args_read()
 *   name theirs out; busrpc_variant_print() writes to @stream and
 *   busrpc_call_reply_args() takes @args (an input, was named out). Generated
 *   X_proxy_new(), X_get_all(), X_cache_properties() and
 *   M_object_manager_follow() end in out too, as every generated function.
 */
#pragma once

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define BUSRPC_PRINTF(a, b) __attribute__((format(printf, a, b)))
/* On the static const descriptors of generated headers: quiet when unused. */
#define BUSRPC_UNUSED __attribute__((unused))
#else
#define BUSRPC_PRINTF(a, b)
#define BUSRPC_UNUSED
#endif

typedef struct busrpc_loop busrpc_loop;
typedef struct busrpc_source busrpc_source;
typedef struct busrpc_conn busrpc_conn;
typedef struct busrpc_server busrpc_server;
typedef struct busrpc_name busrpc_name;
typedef struct busrpc_object busrpc_object;
typedef struct busrpc_objects busrpc_objects;
typedef struct busrpc_call busrpc_call;
typedef struct busrpc_proxy busrpc_proxy;
typedef struct busrpc_pending busrpc_pending;
typedef struct busrpc_subscription busrpc_subscription;
typedef struct busrpc_msg busrpc_msg;
typedef struct busrpc_variant busrpc_variant;
typedef struct busrpc_shm busrpc_shm;

/**
 * busrpc_version() - the library's version string, e.g. "0.1.0".
 *
 * Return: a static string; never NULL.
 */
const char *busrpc_version(void);

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/**
 * struct busrpc_error - a D-Bus error: name and message.
 *
 * Initialise with BUSRPC_ERROR_INIT; the library fills it on failure (both
 * strings heap-allocated, owned by the error); release with
 * busrpc_error_clear(). A set error is never overwritten: the first one wins.
 */
typedef struct busrpc_error {
        char *name;    /* "org.freedesktop.DBus.Error.InvalidArgs"; NULL when unset */
        char *message; /* human-readable; never NULL when name is set */
} busrpc_error;

#define BUSRPC_ERROR_INIT { NULL, NULL }

#define BUSRPC_ERROR_FAILED "org.freedesktop.DBus.Error.Failed"
#define BUSRPC_ERROR_NO_MEMORY "org.freedesktop.DBus.Error.NoMemory"
#define BUSRPC_ERROR_INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"
#define BUSRPC_ERROR_UNKNOWN_METHOD "org.freedesktop.DBus.Error.UnknownMethod"
#define BUSRPC_ERROR_UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"
#define BUSRPC_ERROR_UNKNOWN_INTERFACE "org.freedesktop.DBus.Error.UnknownInterface"
#define BUSRPC_ERROR_UNKNOWN_PROPERTY "org.freedesktop.DBus.Error.UnknownProperty"
#define BUSRPC_ERROR_PROPERTY_READ_ONLY "org.freedesktop.DBus.Error.PropertyReadOnly"
#define BUSRPC_ERROR_ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define BUSRPC_ERROR_NO_REPLY "org.freedesktop.DBus.Error.NoReply"
#define BUSRPC_ERROR_TIMEOUT "org.freedesktop.DBus.Error.Timeout"
#define BUSRPC_ERROR_DISCONNECTED "org.freedesktop.DBus.Error.Disconnected"
#define BUSRPC_ERROR_NOT_SUPPORTED "org.freedesktop.DBus.Error.NotSupported"
#define BUSRPC_ERROR_LIMITS_EXCEEDED "org.freedesktop.DBus.Error.LimitsExceeded"
#define BUSRPC_ERROR_CANCELLED "org.busrpc.Error.Cancelled"

/**
 * busrpc_error_set() - set @e (if not NULL and not already set).
 * @name: a valid D-Bus error name; copied.
 * @fmt: printf format for the message.
 *
 * Return: -EREMOTEIO, so a caller can `return busrpc_error_set(...)`.
 */
int busrpc_error_set(busrpc_error *e, const char *name, const char *fmt, ...) BUSRPC_PRINTF(3, 4);
/** busrpc_error_set_errno() - set @e from an errno (-errno or errno); returns -|errnum|. */
int busrpc_error_set_errno(busrpc_error *e, int errnum);
void busrpc_error_clear(busrpc_error *e);
bool busrpc_error_is_set(const busrpc_error *e);
bool busrpc_error_has_name(const busrpc_error *e, const char *name);
/** busrpc_error_move() - move @from into @to (if @to unset); @from is cleared. */
void busrpc_error_move(busrpc_error *to, busrpc_error *from);

static inline void busrpc_error_clearp(busrpc_error *e) {
        busrpc_error_clear(e);
}

/* ------------------------------------------------------------------ */
/* Time                                                                */

/* Every time the API takes or gives is uint64_t microseconds. */
#define BUSRPC_USEC_PER_MSEC UINT64_C(1000)
#define BUSRPC_USEC_PER_SEC UINT64_C(1000000)
/* A call timeout of 0: the proxy's default (25 s unless set). */
#define BUSRPC_TIMEOUT_DEFAULT UINT64_C(0)
/* No deadline: a call or busrpc_loop_iterate() that waits as long as it
 * takes; what busrpc_loop_get_timeout() says when nothing is due. */
#define BUSRPC_TIMEOUT_INFINITE UINT64_MAX

/**
 * busrpc_usec_to_poll_ms() - @usec as the int milliseconds of poll(),
 * epoll_wait() or g_main_context's prepare: rounded up (a loop that wakes
 * before a deadline would only spin), -1 for BUSRPC_TIMEOUT_INFINITE,
 * INT_MAX (24.8 days) for anything longer.
 */
static inline int busrpc_usec_to_poll_ms(uint64_t usec) {
        if (usec == BUSRPC_TIMEOUT_INFINITE)
                return -1;
        if (usec / BUSRPC_USEC_PER_MSEC >= (uint64_t)INT_MAX)
                return INT_MAX;
        return (int)((usec + BUSRPC_USEC_PER_MSEC - 1) / BUSRPC_USEC_PER_MSEC);
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

/**
 * busrpc_loop_new() - a new event loop (epoll, timers, signals).
 * busrpc_loop_default() - this thread's default loop, created on first use;
 * connections opened without a loop attach to it. Returns a new reference.
 *
 * A loop belongs to the process that made it. In a child forked after it
 * was made, its epoll instance and signalfd are still the parent's: every
 * call that would wait on the loop or change what it watches
 * (busrpc_loop_run(), _iterate(), _process(), _get_fd(), _add_*(),
 * _handle_signals(), attaching a connection or server to it) returns
 * -ECHILD there, and a source released there leaves the parent's
 * registration alone. The child's busrpc_loop_default() is a new loop of
 * its own.
 */
int busrpc_loop_new(busrpc_loop **out);
int busrpc_loop_default(busrpc_loop **out);
busrpc_loop *busrpc_loop_ref(busrpc_loop *l);
busrpc_loop *busrpc_loop_unref(busrpc_loop *l);
/* For __attribute__((cleanup)): busrpc_loop_unref() if set. */
static inline void busrpc_loop_unrefp(busrpc_loop **l) {
        if (*l)
                busrpc_loop_unref(*l);
}

/**
 * busrpc_loop_run() - dispatch until busrpc_loop_quit() or a handled signal.
 * Return: the code given to busrpc_loop_quit() (0 after SIGTERM/SIGINT), or -errno;
 * -ECONNRESET when a connection attached to the loop, with no
 * busrpc_conn_on_event() handler, lost its bus or peer.
 */
int busrpc_loop_run(busrpc_loop *l);
void busrpc_loop_quit(busrpc_loop *l, int code);
/**
 * busrpc_loop_iterate() - wait up to @timeout_usec microseconds for an
 * event (0: do not wait; BUSRPC_TIMEOUT_INFINITE: until one comes; a
 * timer due earlier ends the wait) and dispatch what is ready once. The
 * wait has the kernel's millisecond granularity, rounded up.
 * Return: the number of fd events dispatched (>= 0), -EBUSY from inside a
 * callback of @l, -EINVAL, or another -errno of epoll_wait().
 */
int busrpc_loop_iterate(busrpc_loop *l, uint64_t timeout_usec);

/**
 * busrpc_loop_handle_signals() - make SIGTERM and SIGINT quit the loop
 * cleanly (names released, pending replies flushed; busrpc_loop_run()
 * returns 0) through a signalfd, and make SIGHUP harmless (a no-op unless
 * a hook is added with busrpc_loop_add_signal(): a daemon takes SIGHUP to
 * mean "reload", never "die"). The three are blocked in the calling thread.
 * SIGPIPE is ignored by every busrpc loop regardless: a dead peer never
 * kills the process.
 */
int busrpc_loop_handle_signals(busrpc_loop *l);

/** Called from the loop for each delivery of a hooked signal. */
typedef int (*busrpc_loop_signal_fn)(busrpc_source *s, int signo, void *userdata);
/**
 * busrpc_loop_add_signal() - run @cb from the loop when @signo arrives
 * (through the loop's signalfd; @signo is blocked in the calling thread
 * while hooked). A hook on SIGTERM or SIGINT replaces their default (quit);
 * several hooks on one signal all run. busrpc_source_release() removes the
 * hook and unblocks @signo again unless it was blocked before or
 * busrpc_loop_handle_signals() handles it. SIGKILL, SIGSTOP and the
 * synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE) are -EINVAL.
 * @out may be NULL (floating); @cb returning < 0 removes the hook (see
 * "Source callbacks" below).
 */
int busrpc_loop_add_signal(busrpc_loop *l, int signo, busrpc_loop_signal_fn cb, void *userdata,
                           busrpc_source **out);

/* Integration with another loop (GLib, sd-event, libuv, plain poll()):
 * watch busrpc_loop_get_fd() for busrpc_loop_get_events() (EPOLLIN), wake
 * after the time busrpc_loop_get_timeout() gives at most, and call
 * busrpc_loop_process() when either happens. process() never blocks.
 * With poll():
 *
 *     uint64_t usec;
 *     struct pollfd p = { busrpc_loop_get_fd(l), busrpc_loop_get_events(l), 0 };
 *     busrpc_loop_get_timeout(l, &usec);
 *     poll(&p, 1, busrpc_usec_to_poll_ms(usec));
 *     busrpc_loop_process(l);
 */
int busrpc_loop_get_fd(busrpc_loop *l);
int busrpc_loop_get_events(busrpc_loop *l);
/**
 * busrpc_loop_get_timeout() - how long a foreign loop may wait before it
 * must call busrpc_loop_process(): *@out gets microseconds from now (0:
 * now, e.g. messages wait for dispatch or a quit waits to be taken;
 * BUSRPC_TIMEOUT_INFINITE: no timer is armed). Convert with
 * busrpc_usec_to_poll_ms() for poll(), add CLOCK_MONOTONIC now for
 * sd-event. Return: 0, or -EINVAL (then *@out is not written).
 */
int busrpc_loop_get_timeout(busrpc_loop *l, uint64_t *out);
int busrpc_loop_process(busrpc_loop *l);
/**
 * busrpc_loop_take_quit() - for a foreign loop: whether busrpc_loop_quit()
 * was called (by the application, by a handled SIGTERM/SIGINT, or on a lost
 * bus) since the last take. A taken request is cleared, so get_timeout()
 * stops returning 0 for it. Call after busrpc_loop_process() and forward
 * the request to the foreign loop (the busrpc-glib, -sd-event and -libuv
 * adapters do). @out (may be NULL) gets the code given to quit().
 * Return: 1 (and the code) when a quit was requested, 0 if not, -EINVAL.
 */
int busrpc_loop_take_quit(busrpc_loop *l, int *out);

/*
 * Source callbacks (timer, io, signal hook) return an int:
 *   0    keep the source as it is armed: a repeating timer fires again
 *        after its interval, a one-shot timer is done, io and signal
 *        sources keep watching;
 *   > 0  timers only: fire again in that many microseconds (a one-shot
 *        timer too; a repeating one keeps its interval afterwards); io
 *        and signal sources treat it as 0;
 *   < 0  stop: the source never runs again (as GLib's G_SOURCE_REMOVE).
 *        A floating source is freed; a handle stays valid, inert, until
 *        busrpc_source_release().
 * Freeing the source from its own callback is allowed (then the return
 * value is ignored).
 *
 * @out of every busrpc_loop_add_*() may be NULL: the source is then
 * floating, owned by the loop and freed with it (a floating one-shot
 * timer is freed once it has fired and was not re-armed by > 0).
 */
typedef int (*busrpc_timer_fn)(busrpc_source *s, void *userdata);
typedef int (*busrpc_io_fn)(busrpc_source *s, int fd, uint32_t revents, void *userdata);
/**
 * busrpc_loop_add_timer() - run @cb after @usec microseconds
 * (CLOCK_MONOTONIC, relative), and every @usec after that if @repeat (then
 * @usec > 0). Timers live in one deadline heap per loop: adding, re-arming
 * and removing cost O(log n) however many there are (pending calls'
 * deadlines included). Timers due at the same time fire in the order they
 * were armed. @out: handle for busrpc_source_release(), or NULL (floating).
 * Return: 0, -EINVAL, -ENOMEM.
 */
int busrpc_loop_add_timer(busrpc_loop *l, uint64_t usec, bool repeat, busrpc_timer_fn cb, void *userdata,
                          busrpc_source **out);
/**
 * busrpc_loop_add_io() - run @cb when @fd (borrowed: close it only after
 * freeing the source) is ready for @events: EPOLLIN, EPOLLOUT, EPOLLPRI
 * (<sys/epoll.h>); @cb gets EPOLL* revents (EPOLLERR and EPOLLHUP too).
 * @out: handle for busrpc_source_release(), or NULL (floating).
 */
int busrpc_loop_add_io(busrpc_loop *l, int fd, uint32_t events, busrpc_io_fn cb, void *userdata,
                       busrpc_source **out);
/**
 * busrpc_source_release() - remove the source from its loop and free the
 * handle (also after its loop is gone). @s may be NULL. Return: NULL.
 */
busrpc_source *busrpc_source_release(busrpc_source *s);
/* For __attribute__((cleanup)): busrpc_source_release() if set. */
static inline void busrpc_source_releasep(busrpc_source **s) {
        if (*s)
                busrpc_source_release(*s);
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

/**
 * busrpc_conn_open() - connect to a bus and register on it (Hello).
 * @address: "session", "system", or a D-Bus address ("unix:path=/run/x").
 *
 * The connection is attached to this thread's default loop; change it with
 * busrpc_conn_attach(). On a unix socket busrpc reads and writes the
 * socket itself once libdbus has authenticated (the fast path; tcp stays
 * on libdbus); BUSRPC_FAST_PATH=0 in the environment keeps new
 * connections and servers on libdbus (busrpc(7), ENVIRONMENT).
 * Return: 0, or -errno (-ECONNREFUSED, -ENOENT…).
 */
int busrpc_conn_open(const char *address, busrpc_conn **out);
/**
 * busrpc_conn_open_peer() - connect directly to a busrpc_server (or any
 * D-Bus peer) at @address, with no bus in between. One round trip is made
 * before returning (so the first fd sent is never lost).
 */
int busrpc_conn_open_peer(const char *address, busrpc_conn **out);
int busrpc_conn_attach(busrpc_conn *c, busrpc_loop *l);
busrpc_loop *busrpc_conn_get_loop(busrpc_conn *c); /* borrowed */
busrpc_conn *busrpc_conn_ref(busrpc_conn *c);
/** busrpc_conn_unref() - drop a reference; the last one flushes and closes. */
busrpc_conn *busrpc_conn_unref(busrpc_conn *c);
/**
 * busrpc_conn_run() - busrpc_loop_handle_signals() + busrpc_loop_run() on c's loop.
 * Return: 0 after SIGTERM/SIGINT, the busrpc_loop_quit() code, or -errno:
 * -ECONNRESET when the connection was lost (see busrpc_conn_on_event()),
 * at once when it is already lost.
 */
int busrpc_conn_run(busrpc_conn *c);
/** The unique name (":1.42") on a bus, or NULL on a peer connection. Borrowed. */
const char *busrpc_conn_get_unique_name(busrpc_conn *c);
bool busrpc_conn_is_connected(busrpc_conn *c);
int busrpc_conn_flush(busrpc_conn *c);

/* The bound on the size of a shm received in a call, reply or signal:
 * 256 MiB, twice what a session bus lets through inline. A larger one is
 * refused before anything maps or reads it (InvalidArgs, fd closed). */
#define BUSRPC_MAX_SHM_SIZE_DEFAULT (UINT64_C(256) * 1024 * 1024)
/**
 * busrpc_conn_set_max_shm_size() - bound the size of a shm received on @c
 * (a bus or peer connection; on a served peer's conn, that peer only: for
 * all of a server's peers, busrpc_server_limits.max_shm_size). @bytes 0 restores the default. A shm argument annotated
 * @max_size in the IDL has its own bound instead. A subscription keeps
 * the bound in force when it was made.
 * Return: 0, or -EINVAL.
 */
int busrpc_conn_set_max_shm_size(busrpc_conn *c, uint64_t bytes);
/** The bound in force on @c (never 0); 0 when @c is NULL. */
uint64_t busrpc_conn_get_max_shm_size(busrpc_conn *c);

/* The bound on what a sync call holds back: 64 MiB (about libdbus's own
 * 63 MiB of received messages per connection). */
#define BUSRPC_MAX_HELD_BYTES_DEFAULT (UINT64_C(64) * 1024 * 1024)
/**
 * busrpc_conn_set_max_held_bytes() - bound the bytes of the messages a
 * sync call on @c (a bus or peer connection) reads and keeps for later
 * while it waits for its reply. On busrpc's own transport, past the bound
 * the wait stops reading: the call then ends at its timeout, and what was
 * held is dispatched afterwards, in order (as libdbus, which stops reading
 * past its own bound). @bytes 0 restores the default.
 * Return: 0, or -EINVAL (NULL).
 */
int busrpc_conn_set_max_held_bytes(busrpc_conn *c, uint64_t bytes);
/** The bound in force on @c (never 0); 0 when @c is NULL. */
uint64_t busrpc_conn_get_max_held_bytes(busrpc_conn *c);

/* The bound on the fds of the messages a sync call holds back: 4,096
 * (libdbus's own default for what a connection keeps received). */
#define BUSRPC_MAX_HELD_FDS_DEFAULT 4096u
#define BUSRPC_MAX_HELD_FDS_MAX     65536u
/**
 * busrpc_conn_set_max_held_fds() - bound the unix fds carried by the
 * messages a sync call on @c (a bus or client peer connection) keeps for
 * later while it waits: past it the wait stops reading, as past
 * busrpc_conn_set_max_held_bytes(). On libdbus's link (tcp,
 * BUSRPC_FAST_PATH=0) it is libdbus's bound on received fds, which also
 * counts the fds of received messages the application still references
 * (busrpc_msg_ref()): holding that many stops the connection reading,
 * async replies included, until they are released. @n 0 restores the
 * default.
 * Return: 0, or -EINVAL (NULL, a served peer's conn, @n above
 * BUSRPC_MAX_HELD_FDS_MAX).
 */
int busrpc_conn_set_max_held_fds(busrpc_conn *c, unsigned n);
/** The bound in force on @c (never 0); 0 when @c is NULL. */
unsigned busrpc_conn_get_max_held_fds(busrpc_conn *c);

/* The bound on bytes a client connection queues toward its bus or peer:
 * 1 GiB (large: it guards memory against a peer that stops reading). */
#define BUSRPC_MAX_OUTGOING_BYTES_DEFAULT (UINT64_C(1) << 30)
/**
 * busrpc_conn_set_max_outgoing_bytes() - bound the bytes @c (a bus or
 * client peer connection from busrpc_conn_open() / _open_peer()) queues
 * toward the other side and the kernel has not taken yet. Past the bound
 * (a send that finds something queued and would go beyond it) the
 * connection is closed, on either link: the event handler gets
 * BUSRPC_CONN_LOST and the calls in flight fail with -ECONNRESET; the send
 * that crossed the bound may itself fail (-ENOBUFS on busrpc's own
 * transport), later ones fail as on any closed connection. A single
 * message larger than the bound goes when nothing is queued. The bound is
 * kept across reconnections. @bytes 0 restores the default.
 * Return: 0, or -EINVAL (NULL, @bytes above INT32_MAX, a served peer's
 * conn: a server bounds its peers with
 * busrpc_server_limits.max_outgoing_bytes).
 */
int busrpc_conn_set_max_outgoing_bytes(busrpc_conn *c, uint64_t bytes);
/** The bound in force on client connection @c (never 0); 0 when @c is
 * NULL or a served peer's conn. */
uint64_t busrpc_conn_get_max_outgoing_bytes(busrpc_conn *c);

/**
 * busrpc_conn_set_max_call_fds() - the most unix fds one method call may
 * hand a skeleton (the 'h' values in its arguments); a call with more is
 * answered org.freedesktop.DBus.Error.LimitsExceeded and its fds closed.
 * Default 16; 0 restores it. Not on a served peer's conn (-EINVAL): a
 * server's peers have busrpc_server_limits.max_call_fds. Independent of what the connection itself accepts
 * per message (1,024 on bus and client peer connections: what a bus
 * delivers never costs the connection).
 */
int busrpc_conn_set_max_call_fds(busrpc_conn *c, unsigned n);

/* What happened to a bus or client peer connection. */
typedef enum busrpc_conn_event {
        BUSRPC_CONN_LOST = 1,     /* lost for good: @error says why */
        BUSRPC_CONN_RECONNECTING, /* lost; reconnection under way */
        BUSRPC_CONN_RECONNECTED,  /* back on the same address, names asked again */
} busrpc_conn_event;
typedef void (*busrpc_conn_event_fn)(busrpc_conn *c, busrpc_conn_event ev, int error, void *userdata);
/**
 * busrpc_conn_on_event() - be told when the connection is lost (the bus
 * restarted or died, the peer went away) and, with reconnection, when it
 * is back. Without a handler, a loss quits the connection's loop with
 * -ECONNRESET (busrpc_loop_run() and busrpc_conn_run() return it), so a
 * service exits and its supervisor restarts it; with one, the handler
 * decides (it may call busrpc_loop_quit()). Calls pending on the lost
 * connection complete with -ECONNRESET before the handler runs. One
 * handler per connection; @cb NULL removes it. Not on a served peer's
 * conn (-EINVAL).
 */
int busrpc_conn_on_event(busrpc_conn *c, busrpc_conn_event_fn cb, void *userdata);
/**
 * busrpc_conn_set_reconnect() - opt in to reconnection: when the
 * connection is lost, connect again to the same address (first at once,
 * then at growing intervals up to 1 s) for up to @timeout_usec
 * microseconds (0: off, the default; BUSRPC_TIMEOUT_INFINITE: no end). Once back, the exported objects are served again as they
 * were, every name requested with busrpc_conn_request_name() is asked for
 * again with its flags (its callback runs when the bus grants it), the
 * signal subscriptions (busrpc_proxy_subscribe*()) follow, their match
 * rules added again on the new bus, and the unique name is the new one. When
 * @timeout_usec passes without success, the loss is final (BUSRPC_CONN_LOST
 * with the last error). Only on bus and client peer connections.
 */
int busrpc_conn_set_reconnect(busrpc_conn *c, uint64_t timeout_usec);

static inline void busrpc_conn_unrefp(busrpc_conn **c) {
        if (*c)
                busrpc_conn_unref(*c);
}

/* Name ownership. The flags are the D-Bus RequestName flags. */
enum {
        BUSRPC_NAME_ALLOW_REPLACEMENT = 1 << 0,
        BUSRPC_NAME_REPLACE_EXISTING = 1 << 1,
        BUSRPC_NAME_DO_NOT_QUEUE = 1 << 2,
};
/** Called when the name is acquired (@owned true) or lost (false). */
typedef void (*busrpc_name_fn)(busrpc_conn *c, const char *name, bool owned, void *userdata);
/**
 * busrpc_conn_request_name() - ask the bus for @name.
 * @out: handle; busrpc_name_release() releases the name. May be NULL: the
 *       name is then held as long as the connection.
 * Return: 0 when now the primary owner, 1 when queued, -EEXIST when owned
 * by another and DO_NOT_QUEUE was given, other -errno.
 */
int busrpc_conn_request_name(busrpc_conn *c, const char *name, unsigned flags, busrpc_name_fn cb,
                             void *userdata, busrpc_name **out);
busrpc_name *busrpc_name_release(busrpc_name *n);
/* For __attribute__((cleanup)): busrpc_name_release() if set. */
static inline void busrpc_name_releasep(busrpc_name **n) {
        if (*n)
                busrpc_name_release(*n);
}

/* ------------------------------------------------------------------ */
/* Peer-to-peer server                                                 */

/**
 * struct busrpc_server_limits - bounds on what peers may cost. Zero fields
 * take the defaults documented in docs/runtime.md ("Limits").
 *
 * Connections that have not authenticated yet have a budget of their own
 * (@max_unauthenticated): when it is full, the oldest connection of the
 * uid, then the process, that holds the most of them is closed, so a flood
 * costs its sender and never an authenticated peer's slot. Authenticated
 * peers are bounded in total and per uid. A peer whose unread replies and
 * signals pass @max_outgoing_bytes is closed. Shutdown (the end of
 * busrpc_loop_run(), busrpc_conn_flush(), busrpc_server_free()) writes
 * out what is queued to every peer at once for @shutdown_timeout_usec in
 * total; peers that have not read it by then are closed. Times are
 * microseconds (at most one hour each: -EINVAL beyond).
 */
typedef struct busrpc_server_limits {
        unsigned max_connections;   /* authenticated peers, default 128 */
        unsigned max_pending_calls; /* per peer, default 128 */
        uint32_t max_message_size;  /* bytes, default 32 MiB */
        unsigned max_fds;           /* per message, default 16 */
        uint64_t auth_timeout_usec; /* default 2 s (2 * BUSRPC_USEC_PER_SEC) */
        uint64_t max_shm_size;      /* bytes of a received shm, default BUSRPC_MAX_SHM_SIZE_DEFAULT */
        unsigned max_connections_per_uid; /* authenticated peers of one uid, default 64 */
        unsigned max_unauthenticated;     /* connections still authenticating, default 64 (max 1024) */
        uint32_t max_outgoing_bytes;      /* queued toward one peer, default 16 MiB */
        uint64_t shutdown_timeout_usec;   /* one deadline for all peers, default 2 s */
        unsigned max_call_fds;            /* fds one call may hand a skeleton, default 16
                                           * (busrpc_conn_set_max_call_fds()) */
} busrpc_server_limits;

/**
 * busrpc_server_new() - listen for peers on @address: "unix:path=…" (the
 * socket is created inside a directory of mode 0700 that the server
 * creates if needed; a path in use is refused with -EADDRINUSE),
 * "unix:abstract=…" (no permission check: tests only) or "tcp:host=…,port=…".
 * Only EXTERNAL authentication; only the server's own uid unless
 * busrpc_server_allow_uid() adds others. Attached to the default loop.
 *
 * A server owns one object registry (busrpc_server_get_objects()): what
 * is exported there (the generated X_export_server(), or
 * busrpc_object_export()) is served to every peer that connects, now or
 * later; signals emitted on those objects reach every peer that
 * subscribed (AddMatch). The server answers the bus-driver calls that
 * busctl, gdbus and dbus-send make, so they work with --address.
 * (Before 0.1.0 froze, a connection-like handle, busrpc_server_conn(),
 * stood for all peers; it is gone: the server is the target.)
 */
int busrpc_server_new(const char *address, busrpc_server **out);
/** Zero fields take the defaults; @limits NULL restores every default
 * (as busrpc_server_set_shm_limits()). Return: 0, -EINVAL (a bound out of range). */
int busrpc_server_set_limits(busrpc_server *s, const busrpc_server_limits *limits);
/** The limits in force, defaults filled in (no zero field). Return: 0, -EINVAL. */
int busrpc_server_get_limits(busrpc_server *s, busrpc_server_limits *out);
int busrpc_server_allow_uid(busrpc_server *s, uid_t uid);
int busrpc_server_attach(busrpc_server *s, busrpc_loop *l);
busrpc_loop *busrpc_server_get_loop(busrpc_server *s); /* borrowed */
/**
 * busrpc_server_run() - busrpc_loop_handle_signals() + busrpc_loop_run()
 * on the server's loop. Return: 0 after SIGTERM/SIGINT, the
 * busrpc_loop_quit() code, or -errno.
 */
int busrpc_server_run(busrpc_server *s);
/** The objects every peer of @s sees (borrowed; lives as long as @s). */
busrpc_objects *busrpc_server_get_objects(busrpc_server *s);
/**
 * busrpc_server_request_name() - answer to @name too: peers may address
 * calls to it, and the bus-driver calls (GetNameOwner, NameHasOwner,
 * ListNames) report it as the server's (":1.0"). Owned at once.
 * @out: handle; busrpc_name_release() drops the name. May be NULL: the
 *       name is then held as long as the server.
 * Return: 0, -EALREADY (already held), -EINVAL (not a well-known name,
 * or org.freedesktop.DBus), -ENOMEM.
 */
int busrpc_server_request_name(busrpc_server *s, const char *name, busrpc_name **out);
/**
 * busrpc_server_flush() - write out what is queued to every peer, all at
 * once within busrpc_server_limits.shutdown_timeout_usec (peers that do
 * not read by then are closed). Return: 0, -EINVAL.
 */
int busrpc_server_flush(busrpc_server *s);
/** The address peers connect to (borrowed). */
const char *busrpc_server_get_address(busrpc_server *s);
unsigned busrpc_server_count_peers(busrpc_server *s);
busrpc_server *busrpc_server_free(busrpc_server *s);
/* For __attribute__((cleanup)): busrpc_server_free() if set. */
static inline void busrpc_server_freep(busrpc_server **s) {
        if (*s)
                busrpc_server_free(*s);
}

/* ------------------------------------------------------------------ */
/* Messages: the typed (un)marshalling API that generated code uses     */

/**
 * busrpc_iter - a position in a message, for reading or for appending.
 * Lives on the stack; no cleanup except busrpc_iter_abandon() for an
 * opened container that will not be closed.
 */
typedef struct busrpc_iter {
        void *priv[18];
} busrpc_iter;

/* D-Bus type codes, as in the specification. */
enum {
        BUSRPC_TYPE_INVALID = 0,
        BUSRPC_TYPE_BYTE = 'y',
        BUSRPC_TYPE_BOOLEAN = 'b',
        BUSRPC_TYPE_INT16 = 'n',
        BUSRPC_TYPE_UINT16 = 'q',
        BUSRPC_TYPE_INT32 = 'i',
        BUSRPC_TYPE_UINT32 = 'u',
        BUSRPC_TYPE_INT64 = 'x',
        BUSRPC_TYPE_UINT64 = 't',
        BUSRPC_TYPE_DOUBLE = 'd',
        BUSRPC_TYPE_STRING = 's',
        BUSRPC_TYPE_OBJECT_PATH = 'o',
        BUSRPC_TYPE_SIGNATURE = 'g',
        BUSRPC_TYPE_UNIX_FD = 'h',
        BUSRPC_TYPE_ARRAY = 'a',
        BUSRPC_TYPE_VARIANT = 'v',
        BUSRPC_TYPE_STRUCT = 'r',
        BUSRPC_TYPE_DICT_ENTRY = 'e',
};

busrpc_msg *busrpc_msg_ref(busrpc_msg *m);
busrpc_msg *busrpc_msg_unref(busrpc_msg *m);
const char *busrpc_msg_get_signature(busrpc_msg *m);
bool busrpc_msg_has_signature(busrpc_msg *m, const char *signature);
const char *busrpc_msg_get_sender(busrpc_msg *m);
const char *busrpc_msg_get_path(busrpc_msg *m);
const char *busrpc_msg_get_interface(busrpc_msg *m);
const char *busrpc_msg_get_member(busrpc_msg *m);
/** Start reading the arguments. */
int busrpc_msg_read(busrpc_msg *m, busrpc_iter *it);
/** Start appending arguments. -EPERM on a message that was received or
 * already sent (libdbus locks those). */
int busrpc_msg_append(busrpc_msg *m, busrpc_iter *it);

static inline void busrpc_msg_unrefp(busrpc_msg **m) {
        if (*m)
                busrpc_msg_unref(*m);
}

/* Appending. @value points to the C value: int32_t for 'i', uint32_t for
 * 'b' (0 false, else true), int for 'h' (dup'ed), const char * for
 * 's'/'o'/'g' (valid UTF-8 / path / signature, else -EINVAL, checked before
 * libdbus sees it). Inside an array, variant, struct or dict entry, a value
 * of another type than its signature says is -EINVAL. A caller that fails
 * half-way must busrpc_iter_abandon() what it opened (a failed
 * busrpc_iter_open() leaves @sub safe to abandon). */
int busrpc_iter_append_basic(busrpc_iter *it, int type, const void *value);
/** An array of a fixed-size basic type (y b n q i u x t d; never h). */
int busrpc_iter_append_fixed_array(busrpc_iter *it, int elem_type, const void *items, size_t n);
/** Append a dup of @fd (borrowed). */
int busrpc_iter_append_fd(busrpc_iter *it, int fd);
/** Seal @shm (write, grow, shrink) and append its fd. */
int busrpc_iter_append_shm(busrpc_iter *it, busrpc_shm *shm);
int busrpc_iter_append_variant(busrpc_iter *it, const busrpc_variant *v);
/** Open an array ('a', @contained "i"), struct ('r', NULL), dict entry ('e', NULL) or variant ('v', @contained sig). */
int busrpc_iter_open(busrpc_iter *it, int type, const char *contained, busrpc_iter *sub);
int busrpc_iter_close(busrpc_iter *it, busrpc_iter *sub);
void busrpc_iter_abandon(busrpc_iter *it, busrpc_iter *sub);

/* Reading. busrpc_iter_get_*() read the current argument and advance. The
 * caller must have checked the signature first (generated code does, with
 * busrpc_msg_has_signature()); a type mismatch still gives -EBADMSG, never
 * a crash. Strings are borrowed from the message. 'b' is read into a
 * uint32_t (0 or 1); 'h' through busrpc_iter_get_basic() is a new fd, as
 * busrpc_iter_get_fd(). */
int busrpc_iter_type(busrpc_iter *it); /* current type, BUSRPC_TYPE_INVALID at the end */
int busrpc_iter_get_basic(busrpc_iter *it, int type, void *out);
/** Borrowed pointer to a fixed-size array's items (never for 'h'). */
int busrpc_iter_get_fixed_array(busrpc_iter *it, int elem_type, const void **out_items, size_t *out_n);
/** A new fd (owned by the caller) for the 'h' at the iterator. */
int busrpc_iter_get_fd(busrpc_iter *it, int *out);
/** A read-only mapping of a sealed memfd; an unsealed/writable fd is -EPERM,
 * one larger than the connection's bound (busrpc_conn_set_max_shm_size())
 * -EFBIG; the fd is closed on failure. */
int busrpc_iter_get_shm(busrpc_iter *it, busrpc_shm **out);
/**
 * busrpc_iter_get_shm_max() - busrpc_iter_get_shm() bounded by @max_size
 * bytes instead of the connection's limit (0: the connection's). The size
 * is checked with fstat() before anything maps or reads the memfd.
 * Return: 0; -EFBIG when larger, -EPERM when not sealed (the fd is closed
 * on both); -EBADMSG when no fd is at the iterator.
 */
int busrpc_iter_get_shm_max(busrpc_iter *it, uint64_t max_size, busrpc_shm **out);
/**
 * busrpc_iter_get_variant() - copy the 'v' at the iterator into a new
 * variant and advance past it.
 * @out: a new reference, owned by the caller (release with
 *       busrpc_variant_unref()); it holds a copy, so it stays valid after
 *       the message is gone. Written only on success.
 * Return: 0; -EBADMSG when no variant is at the iterator; -ENOMEM.
 */
int busrpc_iter_get_variant(busrpc_iter *it, busrpc_variant **out);
/** Enter the container at the iterator (array, struct, dict entry, variant) and advance past it. */
int busrpc_iter_recurse(busrpc_iter *it, busrpc_iter *sub);
/**
 * busrpc_iter_recurse_dict() - busrpc_iter_recurse() into the array of dict
 * entries (a{..}) at the iterator, after checking that no key occurs twice
 * (O(n log n); strings compare by bytes, doubles by value with -0.0 equal
 * to 0.0; fd keys are never equal, each is received as a new fd).
 * Return: 0; -ENOTUNIQ when a key repeats (the iterator does not move);
 * -EBADMSG when no dict is at the iterator; -ENOMEM.
 */
int busrpc_iter_recurse_dict(busrpc_iter *it, busrpc_iter *sub);
/** Elements left in an array iterator (counting is cheap for fixed types). */
bool busrpc_iter_at_end(busrpc_iter *it);
/* The longest signature the specification allows, without its NUL. */
#define BUSRPC_SIGNATURE_MAX 255
/**
 * busrpc_iter_get_variant_signature() - copy the signature of the value
 * inside the variant at the iterator into the caller's @buf of @size bytes
 * (NUL-terminated; BUSRPC_SIGNATURE_MAX + 1 bytes always suffice). The
 * iterator does not move.
 *
 * Return: the signature's length; -EBADMSG when no variant is at the
 * iterator; -ERANGE when @buf is too small; -EINVAL; -ENOMEM.
 */
int busrpc_iter_get_variant_signature(busrpc_iter *it, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Type descriptors: generated code describes, the runtime does         */

/*
 * Every IDL type has a constant descriptor; one marshaller in the runtime
 * appends, reads, copies and clears every value by its descriptor. The
 * basic types have built-in descriptors (busrpc_type_int32, ...); generated
 * headers define the others once, as static const tables, and their
 * X_init()/X_clear()/X_free() call busrpc_value_*().
 *
 * C representation of each kind (what @value points to):
 *   BOOL bool; BYTE uint8_t; INT16..DOUBLE the <stdint.h> type / double;
 *   STRING, OBJPATH, SIGNATURE char * (owned; NULL appends as "" / "/" /
 *   ""); VARIANT busrpc_variant * (a reference; NULL is not appendable);
 *   FD int (owned, -1 when empty); SHM busrpc_shm * (a reference; wire 'h',
 *   a sealed memfd); ENUM and FLAGS an integer of @size bytes (C enums:
 *   sizeof the enum) with the wire type @wire; STRUCT the C struct, each
 *   field at its offset; ARRAY struct { T *items; size_t n; }; MAP
 *   struct { K *keys; V *values; size_t n; } (keys unique).
 *
 * A descriptor is checked once (kinds, signatures against fields and
 * elements, sizes, offsets, enum values that fit their wire type; map keys
 * basic): when busrpc_object_export() first sees its interface, else the
 * first time a thread uses it. Every function below returns -EINVAL for an
 * inconsistent one and trusts it afterwards.
 */
enum busrpc_kind {
        BUSRPC_KIND_BOOL = 'b',
        BUSRPC_KIND_BYTE = 'y',
        BUSRPC_KIND_INT16 = 'n',
        BUSRPC_KIND_UINT16 = 'q',
        BUSRPC_KIND_INT32 = 'i',
        BUSRPC_KIND_UINT32 = 'u',
        BUSRPC_KIND_INT64 = 'x',
        BUSRPC_KIND_UINT64 = 't',
        BUSRPC_KIND_DOUBLE = 'd',
        BUSRPC_KIND_STRING = 's',
        BUSRPC_KIND_OBJPATH = 'o',
        BUSRPC_KIND_SIGNATURE = 'g',
        BUSRPC_KIND_VARIANT = 'v',
        BUSRPC_KIND_FD = 'h',
        BUSRPC_KIND_SHM = 'm',
        BUSRPC_KIND_ENUM = 'E',
        BUSRPC_KIND_FLAGS = 'F',
        BUSRPC_KIND_STRUCT = 'r',
        BUSRPC_KIND_ARRAY = 'a',
        BUSRPC_KIND_MAP = 'e',
};

typedef struct busrpc_type busrpc_type;

/** A struct field or an argument: its type and the offsetof() its C value. */
typedef struct busrpc_field {
        const busrpc_type *type;
        size_t offset;
        const char *name; /* the IDL name, for error messages */
} busrpc_field;

struct busrpc_type {
        uint8_t kind;               /* enum busrpc_kind */
        uint8_t wire;               /* ENUM, FLAGS: the wire type ('y' 'n' 'q' 'i' 'u' 'x' 't') */
        uint16_t reserved;
        uint32_t size;              /* sizeof the C value */
        const char *signature;      /* its complete D-Bus signature */
        const char *name;           /* the C type name, for error messages */
        const busrpc_type *elem;    /* ARRAY: the items; MAP: the keys */
        const busrpc_type *value;   /* MAP: the values */
        const busrpc_field *fields; /* STRUCT */
        size_t n_fields;
        const uint64_t *values;     /* ENUM: the declared values (signed ones as (uint64_t)(int64_t)) */
        size_t n_values;
        uint64_t mask;              /* FLAGS: the declared bits */
        uint64_t max_size;          /* SHM: @max_size, 0 for the connection's bound */
};

extern const busrpc_type busrpc_type_bool, busrpc_type_byte, busrpc_type_int16, busrpc_type_uint16,
        busrpc_type_int32, busrpc_type_uint32, busrpc_type_int64, busrpc_type_uint64, busrpc_type_double,
        busrpc_type_string, busrpc_type_objpath, busrpc_type_signature, busrpc_type_variant, busrpc_type_fd,
        busrpc_type_shm;

/**
 * busrpc_args - the arguments of one direction of a method (in or out),
 * of a signal, or a property value: one generated C struct holding each
 * argument at its field's offset.
 */
typedef struct busrpc_args {
        const char *signature; /* "ii": the concatenated field signatures */
        const busrpc_field *fields;
        size_t n_fields;
        size_t size; /* sizeof the struct */
} busrpc_args;

/** Empty a value: zero, fds -1. */
void busrpc_value_init(const busrpc_type *type, void *value);
/** Release what the value owns (free, unref, close), then busrpc_value_init(). */
void busrpc_value_clear(const busrpc_type *type, void *value);
/** Deep copy @src into @dst (fds dup'ed, references taken); on failure @dst is empty. */
int busrpc_value_copy(const busrpc_type *type, void *dst, const void *src);
/** Append the value; -EINVAL when it cannot be sent (bad UTF-8, path, signature, enum value, NULL variant). */
int busrpc_value_append(busrpc_iter *it, const busrpc_type *type, const void *value);
/**
 * busrpc_value_read() - read the value at @it into @out (owned by the
 * caller afterwards) and advance. Enum values not declared, flags bits not
 * declared, a map key twice, an shm over its bound: -EBADMSG / -ENOTUNIQ /
 * -EFBIG with InvalidArgs in @err (may be NULL) naming the type. On failure
 * @out is empty and everything read so far is released (received fds
 * closed). @out is initialised first: what it held is overwritten, not
 * released. @it must be a reading iterator (-EINVAL otherwise).
 */
int busrpc_value_read(busrpc_iter *it, const busrpc_type *type, void *out, busrpc_error *err);

/** Append every field of @values at @it, in order. */
int busrpc_args_append(busrpc_iter *it, const busrpc_args *args, const void *values);
/** Read every field into @out (the signature was checked by the caller); on failure all are cleared. */
int busrpc_args_read(busrpc_iter *it, const busrpc_args *args, void *out, busrpc_error *err);
void busrpc_args_init(const busrpc_args *args, void *values);
void busrpc_args_clear(const busrpc_args *args, void *values);

/* ------------------------------------------------------------------ */
/* Serving objects: the descriptors that generated skeletons fill       */

/* Returned by an op to keep the call open (see busrpc_call_ref()). */
#define BUSRPC_DEFER 1

/**
 * busrpc_method_fn - a generated skeleton: unpacks @args (signature already
 * checked against busrpc_method_desc.in_sig), calls the op in @ops, and
 * replies. Return: 0 (replied or deferred), -EOPNOTSUPP when the op is NULL
 * (the runtime answers UnknownMethod), other -errno (the runtime answers
 * with the call's error, or Failed).
 */
typedef int (*busrpc_method_fn)(busrpc_call *call, busrpc_iter *args, const void *ops, void *self);
/** Append the property's value (inside an already opened variant). -EOPNOTSUPP: op is NULL. */
typedef int (*busrpc_prop_get_fn)(busrpc_iter *value, const void *ops, void *self, busrpc_error *err);
/**
 * busrpc_prop_set_fn - read the new value (signature already checked) and
 * call the setter. Return: 0 (changed: a Set from the wire then queues
 * PropertiesChanged as the property's BUSRPC_PROP_EMITS_* flag says),
 * BUSRPC_UNCHANGED (Set succeeds, nothing is sent), -EOPNOTSUPP (op NULL:
 * PropertyReadOnly), -EINVAL (InvalidArgs), other -errno (@err, or Failed).
 */
typedef int (*busrpc_prop_set_fn)(busrpc_iter *value, const void *ops, void *self, busrpc_error *err);
/* Returned by a property setter (busrpc_prop_set_fn, busrpc_prop_set_op,
 * a generated set_ op) when the new value equals the old one: the Set
 * succeeds and no PropertiesChanged is sent for it. */
#define BUSRPC_UNCHANGED 2

enum {
        BUSRPC_METHOD_NOREPLY = 1 << 0,    /* @noreply: never send a reply */
        BUSRPC_METHOD_DEPRECATED = 1 << 1,
};
enum {
        BUSRPC_PROP_READ = 1 << 0,
        BUSRPC_PROP_WRITE = 1 << 1,
        BUSRPC_PROP_EMITS_TRUE = 0 << 2, /* PropertiesChanged with the value (default) */
        BUSRPC_PROP_EMITS_INVALIDATES = 1 << 2,
        BUSRPC_PROP_EMITS_CONST = 2 << 2,
        BUSRPC_PROP_EMITS_FALSE = 3 << 2,
        BUSRPC_PROP_EMITS_MASK = 3 << 2,
};

/**
 * busrpc_op_fn - a generated trampoline of a descriptor-driven method
 * (busrpc_method_desc.op): calls the user's op in @ops with the inputs in
 * @in (read by the runtime, described by .in) and lets it fill @out
 * (initialised, described by .out). Return: what the op returned (0,
 * BUSRPC_DEFER, -errno); -EOPNOTSUPP when the op is NULL. The runtime
 * replies with @out when 0 came back and the call is not replied yet,
 * answers errors as for busrpc_method_fn, then clears @in and @out.
 */
typedef int (*busrpc_op_fn)(busrpc_call *call, const void *ops, void *self, void *in, void *out);
/** Descriptor-driven property get: fill @value (initialised, of busrpc_property_desc.type); the runtime appends and clears it. */
typedef int (*busrpc_prop_get_op)(const void *ops, void *self, void *value, busrpc_error *err);
/** Descriptor-driven property set: @value was read and checked by the runtime (borrowed). Return: as busrpc_prop_set_fn (BUSRPC_UNCHANGED included). */
typedef int (*busrpc_prop_set_op)(const void *ops, void *self, const void *value, busrpc_error *err);

/* A method is served either by @fn (reads its own arguments) or, when
 * @op is set, by the runtime reading @in, calling @op and writing @out.
 * Hand-written tables: use designated initializers (.name = ..., .fn = ...);
 * these descriptor structs may grow fields before 1.0. */
typedef struct busrpc_method_desc {
        const char *name;    /* D-Bus member name */
        const char *in_sig;  /* "ii" */
        const char *out_sig; /* "i" */
        busrpc_method_fn fn;
        unsigned flags; /* BUSRPC_METHOD_* */
        const busrpc_args *in;
        const busrpc_args *out;
        busrpc_op_fn op;
} busrpc_method_desc;

typedef struct busrpc_property_desc {
        const char *name;
        const char *sig;
        busrpc_prop_get_fn get; /* NULL for writeonly */
        busrpc_prop_set_fn set; /* NULL for readonly */
        unsigned flags;         /* BUSRPC_PROP_* */
        const busrpc_type *type;   /* descriptor-driven: used with get_op/set_op instead of get/set */
        busrpc_prop_get_op get_op; /* NULL for writeonly */
        busrpc_prop_set_op set_op; /* NULL for readonly */
} busrpc_property_desc;

typedef struct busrpc_signal_desc {
        const char *name;
        const char *sig;
        const busrpc_args *args; /* may be NULL */
} busrpc_signal_desc;

typedef struct busrpc_interface_desc {
        const char *name; /* org.example.Calculator */
        const char *xml;  /* its <interface> element, served by Introspect */
        const busrpc_method_desc *methods;
        size_t n_methods;
        const busrpc_property_desc *properties;
        size_t n_properties;
        const busrpc_signal_desc *signals;
        size_t n_signals;
} busrpc_interface_desc;

/*
 * A busrpc_objects is an object registry: the objects one bus or client
 * peer connection serves, or the objects one busrpc_server serves to all
 * its peers. It belongs to its owner and lives as long as it; the
 * pointers below are borrowed. What an object emits goes out through the
 * owner (a server: to every peer whose match rules accept it).
 */
/** @c's objects; for a served peer (busrpc_call_get_conn()) its server's. NULL for NULL. */
busrpc_objects *busrpc_conn_get_objects(busrpc_conn *c);

/**
 * busrpc_object_export() - serve @iface at @path in @objs
 * (busrpc_conn_get_objects() or busrpc_server_get_objects()); the
 * generated X_export() and X_export_server() call it. @ops and @self are
 * borrowed and passed to every skeleton; they must outlive the object.
 * Several interfaces may be exported at one path (call once per interface).
 * Introspectable, Properties and Peer are answered for every object;
 * parent paths introspect with their children.
 * @out: handle; busrpc_object_release() removes it. May be NULL: the
 *       object then lives as long as its connection or server.
 * Return: 0, -EEXIST (this interface is already at @path), -EINVAL, -ENOMEM.
 */
int busrpc_object_export(busrpc_objects *objs, const char *path, const busrpc_interface_desc *iface,
                         const void *ops, void *self, busrpc_object **out);
/**
 * busrpc_object_release() - stop serving the object and release the handle
 * returned by busrpc_object_export() (the caller's reference: @o must not be
 * used afterwards). Emits InterfacesRemoved when an object manager is above.
 * @o may be NULL (a no-op), or an object whose connection is already gone.
 * Return: NULL, so that `o = busrpc_object_release(o);` clears the handle.
 */
busrpc_object *busrpc_object_release(busrpc_object *o);
/* For __attribute__((cleanup)): busrpc_object_release() if set. */
static inline void busrpc_object_releasep(busrpc_object **o) {
        if (*o)
                busrpc_object_release(*o);
}

/**
 * busrpc_objects_add_manager() - serve org.freedesktop.DBus.ObjectManager
 * at @path in @objs, for the objects below it. @out as for
 * busrpc_object_export(). Return: 0, -EEXIST, -EINVAL, -ENOMEM.
 */
int busrpc_objects_add_manager(busrpc_objects *objs, const char *path, busrpc_object **out);
const char *busrpc_object_get_path(busrpc_object *o);
/** The connection whose objects @o is among; NULL for a server's object, or once detached. */
busrpc_conn *busrpc_object_get_conn(busrpc_object *o);
/** The server whose objects @o is among; NULL for a connection's object, or once detached. */
busrpc_server *busrpc_object_get_server(busrpc_object *o);

/** A new signal message from @o; append its arguments, then busrpc_msg_send(). */
int busrpc_object_signal_new(busrpc_object *o, const char *member, busrpc_msg **out);
/**
 * busrpc_object_notify() - @prop of @o changed: queue PropertiesChanged as
 * its emits flag says (the value, read through the getter when sent;
 * invalidated: the name; const, false, or emits-true but not readable:
 * nothing). A successful Set from the wire does this by itself.
 * Changes are coalesced: what is queued on a connection during one loop
 * iteration goes out at the start of the next, one PropertiesChanged per
 * object (path and interface), in the order first changed; a property
 * changed twice goes once, with its latest value. A getter that fails
 * then puts the property in the invalidated list. A connection without a
 * loop sends at once. Queued changes are sent before the object is
 * unexported and before its connection or server goes.
 * Return: 0 (queued, or nothing to send), -EINVAL (unknown property),
 * -ENOTCONN (not exported), -ENOMEM.
 */
int busrpc_object_notify(busrpc_object *o, const char *prop);
/**
 * busrpc_object_flush_changes() - send the PropertiesChanged queued for @o
 * now, rather than at the next loop iteration (e.g. before a signal that
 * must follow it, or before a blocking call).
 * Return: 0 (sent, or nothing queued), or the -errno of sending it.
 */
int busrpc_object_flush_changes(busrpc_object *o);
/**
 * busrpc_objects_flush_changes() - busrpc_object_flush_changes() for every
 * object in @objs, in the order first changed.
 * Return: 0, or the first -errno.
 */
int busrpc_objects_flush_changes(busrpc_objects *objs);
/** Send and release a reply or signal message; the reference is consumed. */
int busrpc_msg_send(busrpc_msg *m);
/** Emit signal @member of @o's interface with the arguments in @values (borrowed, described by @args). */
int busrpc_object_emit(busrpc_object *o, const char *member, const busrpc_args *args, const void *values);

/* Calls being served. */
busrpc_call *busrpc_call_ref(busrpc_call *call);
busrpc_call *busrpc_call_unref(busrpc_call *call);
busrpc_msg *busrpc_call_get_msg(busrpc_call *call); /* borrowed */
busrpc_conn *busrpc_call_get_conn(busrpc_call *call); /* borrowed */
busrpc_object *busrpc_call_get_object(busrpc_call *call); /* borrowed */
const char *busrpc_call_get_sender(busrpc_call *call); /* unique name, or NULL on a peer */
/** The caller's uid / pid: -ENODATA when unknown (never guessed as root). */
int busrpc_call_get_uid(busrpc_call *call, uid_t *out);
int busrpc_call_get_pid(busrpc_call *call, pid_t *out);
bool busrpc_call_is_replied(busrpc_call *call);
bool busrpc_call_no_reply_expected(busrpc_call *call);
/** A reply message for @call; append outputs and busrpc_msg_send() it. -EALREADY if replied. */
int busrpc_call_reply_new(busrpc_call *call, busrpc_msg **out);
/** Reply with an error now. Return: -EREMOTEIO (to `return` from an op), or -EALREADY. */
int busrpc_call_fail(busrpc_call *call, const char *name, const char *fmt, ...) BUSRPC_PRINTF(3, 4);
int busrpc_call_fail_error(busrpc_call *call, const busrpc_error *e);
/** busrpc_call_fail() with a va_list (formats once). */
int busrpc_call_failv(busrpc_call *call, const char *name, const char *fmt, va_list ap) BUSRPC_PRINTF(3, 0);
/**
 * busrpc_call_reply_args() - reply with the outputs in @values (borrowed,
 * described by @args, the method's busrpc_method_desc.out): deferred
 * replies. Return: 0 (also when the caller
 * expects no reply: nothing is sent); -EALREADY if replied; -EINVAL when
 * an output cannot be sent (bad UTF-8, an undeclared enum value...): the
 * call is then not replied yet, so busrpc_call_fail() still can.
 */
int busrpc_call_reply_args(busrpc_call *call, const busrpc_args *args, const void *values);

static inline void busrpc_call_unrefp(busrpc_call **c) {
        if (*c)
                busrpc_call_unref(*c);
}

/* ------------------------------------------------------------------ */
/* Calling: proxies                                                    */

/* Call timeouts are microseconds: BUSRPC_TIMEOUT_DEFAULT, BUSRPC_TIMEOUT_INFINITE ("Time" above). */

/**
 * busrpc_proxy_new() - a handle for calling the object at @path of
 * @destination (a bus name; NULL on a peer connection). Borrowed strings
 * are copied.
 */
int busrpc_proxy_new(busrpc_conn *c, const char *destination, const char *path, busrpc_proxy **out);
busrpc_proxy *busrpc_proxy_ref(busrpc_proxy *p);
busrpc_proxy *busrpc_proxy_unref(busrpc_proxy *p);
/**
 * busrpc_proxy_set_timeout() - the timeout of @p's sync and async calls,
 * in microseconds: BUSRPC_TIMEOUT_DEFAULT (0) restores 25 s,
 * BUSRPC_TIMEOUT_INFINITE waits as long as it takes. A call that gets no
 * reply in time fails with -ETIMEDOUT (sync) or its callback gets it
 * (async), with org.freedesktop.DBus.Error.NoReply. The deadline has
 * millisecond granularity, rounded up; 24.8 days (INT_MAX ms) or more is
 * as BUSRPC_TIMEOUT_INFINITE. Return: 0, -EINVAL.
 */
int busrpc_proxy_set_timeout(busrpc_proxy *p, uint64_t timeout_usec);
/** busrpc_proxy_get_timeout() - *@out: @p's timeout in microseconds (25 s unless set; BUSRPC_TIMEOUT_INFINITE). Return: 0, -EINVAL. */
int busrpc_proxy_get_timeout(busrpc_proxy *p, uint64_t *out);
/** Timeout of the next call only, in microseconds (then back to the proxy's); BUSRPC_TIMEOUT_DEFAULT cancels it. */
int busrpc_proxy_set_next_timeout(busrpc_proxy *p, uint64_t timeout_usec);
busrpc_conn *busrpc_proxy_get_conn(busrpc_proxy *p);
const char *busrpc_proxy_get_destination(busrpc_proxy *p);
const char *busrpc_proxy_get_path(busrpc_proxy *p);

static inline void busrpc_proxy_unrefp(busrpc_proxy **p) {
        if (*p)
                busrpc_proxy_unref(*p);
}

/** A method call message; append the inputs, then call it. */
int busrpc_proxy_method_new(busrpc_proxy *p, const char *iface, const char *member, busrpc_msg **out);
/**
 * busrpc_proxy_call() - send @m (reference consumed) and wait for the reply.
 * @expected_sig: the reply's signature; a reply of another signature is
 * -EBADMSG with InvalidArgs in @err.
 * @out: the reply (caller unrefs); may be NULL.
 * Return: 0; -EREMOTEIO with @err set for an error reply; -ETIMEDOUT;
 * -ECONNRESET when the connection is gone; -EOPNOTSUPP when @m carries fds
 * and the connection cannot pass them (tcp).
 * Dispatches nothing while waiting: calling an object served by the same
 * connection from its own thread waits for the timeout. What arrives
 * meanwhile (signals, calls, replies to async calls) is dispatched by the
 * loop afterwards, in the order it arrived.
 */
int busrpc_proxy_call(busrpc_proxy *p, busrpc_msg *m, const char *expected_sig, busrpc_msg **out,
                      busrpc_error *err);
/** Send @m (reference consumed) expecting no reply (@noreply methods). */
int busrpc_proxy_send(busrpc_proxy *p, busrpc_msg *m);

/**
 * busrpc_reply_fn - completion of an async call; runs exactly once: with
 * the reply (borrowed; @r == 0) or with an error (@r < 0, @err set: remote
 * error, timeout, disconnect, or cancellation with BUSRPC_ERROR_CANCELLED).
 */
typedef void (*busrpc_reply_fn)(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata);
/**
 * busrpc_proxy_call_async() - send @m (consumed); @cb runs from the loop.
 * @out: handle for busrpc_pending_cancel(); may be NULL. The handle is
 * valid until the callback has run; unref it after that (or never take it).
 * On failure (< 0) @cb never runs. A lost connection completes outstanding
 * calls with -ECONNRESET (BUSRPC_ERROR_DISCONNECTED). An outstanding call
 * keeps its connection alive until it completes.
 */
int busrpc_proxy_call_async(busrpc_proxy *p, busrpc_msg *m, const char *expected_sig, busrpc_reply_fn cb,
                            void *userdata, busrpc_pending **out);
/** Cancel: the callback runs once, now, with -ECANCELED. No-op after completion. */
void busrpc_pending_cancel(busrpc_pending *pending);
busrpc_pending *busrpc_pending_ref(busrpc_pending *pending);
busrpc_pending *busrpc_pending_unref(busrpc_pending *pending);
/* For __attribute__((cleanup)): busrpc_pending_unref() if set. */
static inline void busrpc_pending_unrefp(busrpc_pending **pending) {
        if (*pending)
                busrpc_pending_unref(*pending);
}

/** What a generated client stub calls: one method of one interface. */
typedef struct busrpc_remote_method {
        const char *interface;
        const char *member;
        const busrpc_args *in;
        const busrpc_args *out;
        unsigned flags; /* BUSRPC_METHOD_NOREPLY: send only, no reply awaited */
} busrpc_remote_method;

/**
 * busrpc_proxy_invoke() - call @m with the inputs in @in (borrowed), wait
 * (as busrpc_proxy_call()) and read the outputs into @out (initialised by
 * the runtime; owned by the caller afterwards, released with
 * busrpc_args_clear(); empty on failure). Return: as busrpc_proxy_call();
 * a reply that does not match @m->out is -EBADMSG with InvalidArgs.
 */
int busrpc_proxy_invoke(busrpc_proxy *p, const busrpc_remote_method *m, const void *in, void *out,
                        busrpc_error *err);
/**
 * busrpc_invoke_done_fn - the generated trampoline of an async stub: calls
 * @cb (the user's typed callback, cast back) with the outputs in @out
 * (borrowed: the runtime clears them when this returns; empty when r < 0).
 */
typedef void (*busrpc_invoke_done_fn)(int r, const busrpc_error *err, void *out, void (*cb)(void), void *userdata);
/**
 * busrpc_proxy_invoke_async() - busrpc_proxy_invoke() without waiting:
 * @done runs once from the loop, as busrpc_reply_fn does (never when this
 * fails). A BUSRPC_METHOD_NOREPLY method is only sent: @done never runs
 * and *@out is NULL. The call's closure is freed by the runtime.
 */
int busrpc_proxy_invoke_async(busrpc_proxy *p, const busrpc_remote_method *m, const void *in, busrpc_invoke_done_fn done,
                              void (*cb)(void), void *userdata, busrpc_pending **out);
/** Get a property by descriptor: @out (of @type) is owned by the caller (busrpc_value_clear()); empty on failure. */
int busrpc_proxy_get_value(busrpc_proxy *p, const char *iface, const char *name, const busrpc_type *type,
                           void *out, busrpc_error *err);
/** Set a property by descriptor (@value borrowed). */
int busrpc_proxy_set_value(busrpc_proxy *p, const char *iface, const char *name, const busrpc_type *type,
                           const void *value, busrpc_error *err);
/** The generated trampoline of a typed signal callback: @args borrowed (cleared after it returns). */
typedef void (*busrpc_signal_done_fn)(void *args, void (*cb)(void), void *userdata);
/**
 * busrpc_proxy_on_signal() - subscribe to @iface.@member with the arguments
 * described by @args, as busrpc_proxy_subscribe(); @done (required) gets
 * them read by the marshaller. A signal whose arguments the marshaller
 * refuses (an undeclared enum value, a map key twice, an shm over its
 * bound) is dropped, as one of another signature is. The closure is freed
 * when the subscription ends.
 */
int busrpc_proxy_on_signal(busrpc_proxy *p, const char *iface, const char *member, const busrpc_args *args,
                           busrpc_signal_done_fn done, void (*cb)(void), void *userdata, busrpc_subscription **out);

/* Properties. The value is checked against @sig before it is handed over. */
/** Get: @out_reply holds the reply; @out_value reads the value inside the
 * variant (@out_value needs @out_reply: -EINVAL otherwise). */
int busrpc_proxy_get_property(busrpc_proxy *p, const char *iface, const char *name, const char *sig,
                              busrpc_msg **out_reply, busrpc_iter *out_value, busrpc_error *err);
/** Set: a message (@out_msg) to append the value to (inside the variant opened as @out_value), then busrpc_proxy_set_property_finish(). */
int busrpc_proxy_set_property_begin(busrpc_proxy *p, const char *iface, const char *name, const char *sig,
                                    busrpc_msg **out_msg, busrpc_iter *out_value);
/** @m is consumed on every path; -EINVAL unless exactly one value of @sig was appended. */
int busrpc_proxy_set_property_finish(busrpc_proxy *p, busrpc_msg *m, busrpc_iter *value, busrpc_error *err);
/** GetAll: the a{sv} reply, read by the caller. */
int busrpc_proxy_get_all(busrpc_proxy *p, const char *iface, busrpc_msg **out, busrpc_error *err);

/**
 * busrpc_signal_fn - a signal with the expected signature (checked) from
 * the current owner of the proxy's destination, at the proxy's path.
 */
typedef void (*busrpc_signal_fn)(busrpc_msg *m, busrpc_iter *args, void *userdata);
/**
 * busrpc_proxy_subscribe() - call @cb for each signal @iface.@member with
 * signature @sig from the object. Signals from anyone but the current
 * owner of the destination name are dropped.
 * @destroy: may be NULL; called once with @userdata when the subscription
 *       ends (released, or its connection gone); not called when
 *       subscribing fails.
 * @out: handle; busrpc_subscription_release() unsubscribes. May be NULL: the
 *       subscription lives as long as the proxy's connection.
 */
typedef void (*busrpc_destroy_fn)(void *userdata);
int busrpc_proxy_subscribe(busrpc_proxy *p, const char *iface, const char *member, const char *sig,
                           busrpc_signal_fn cb, void *userdata, busrpc_destroy_fn destroy,
                           busrpc_subscription **out);
busrpc_subscription *busrpc_subscription_release(busrpc_subscription *s);
/* For __attribute__((cleanup)): busrpc_subscription_release() if set. */
static inline void busrpc_subscription_releasep(busrpc_subscription **s) {
        if (*s)
                busrpc_subscription_release(*s);
}

/* ------------------------------------------------------------------ */
/* Typed client: property changes, property cache, errors, ObjectManager */

/**
 * struct busrpc_property_info - one property of an interface as a client
 * reads it: its D-Bus @name, its value's @type, and the offsetof() its
 * field in the interface's values struct (generated: one field per
 * property, of the property's C type), and its @flags: the
 * BUSRPC_PROP_EMITS_* it is declared with. A cache does not keep an
 * EMITS_FALSE property (no signal would tell it changed).
 */
typedef struct busrpc_property_info {
        const char *name;
        const busrpc_type *type;
        size_t offset;
        unsigned flags;
} busrpc_property_info;

/**
 * struct busrpc_property_table - the properties of one interface. Property
 * i of @props is bit i (UINT64_C(1) << i) of every mask below: at most 64
 * properties. Checked when a watch, cache or object-manager client is
 * made (-EINVAL: bad names, a field outside @size, a name twice; -E2BIG).
 */
typedef struct busrpc_property_table {
        const char *interface;
        const busrpc_property_info *props;
        size_t n_props;
        size_t size; /* sizeof the values struct */
} busrpc_property_table;

/**
 * struct busrpc_property_changes - what a PropertiesChanged said (or what
 * a cache learnt), decoded by the table. Borrowed by the callback: the
 * runtime clears @values when it returns.
 * @changed: bit i set: props[i] has its new value in @values.
 * @invalidated: bit i set: props[i] changed, its value was not sent (a
 *               cache is fetching it with Get; a second callback follows).
 * @values: @table->size bytes; fields not in @changed are empty.
 * @msg: the signal (borrowed); NULL for what a cache's GetAll or Get read.
 *
 * A name the table does not know, or a value of another signature than
 * the property's (or one busrpc_value_read() refuses), is ignored, as if
 * it had not been sent; a name sent twice counts once (the first).
 */
typedef struct busrpc_property_changes {
        const busrpc_property_table *table;
        uint64_t changed;
        uint64_t invalidated;
        const void *values;
        busrpc_msg *msg;
} busrpc_property_changes;

/** Called with what changed; @cb, @userdata as given (@cb: a generated trampoline's typed callback). */
typedef void (*busrpc_properties_fn)(const busrpc_property_changes *ch, void (*cb)(void), void *userdata);
/**
 * busrpc_proxy_watch_properties() - call @fn for each PropertiesChanged of
 * @t->interface at the proxy's object that names at least one property of
 * @t. Sender-checked as busrpc_proxy_subscribe() (only the current owner
 * of the destination; on a peer connection, the peer). The match rule
 * carries arg0=@t->interface and is shared (counted) by every watch and
 * cache of one (connection, destination, path, interface).
 * @out: handle; busrpc_subscription_release() stops. May be NULL: the watch
 *       lives as long as the proxy's connection.
 * Return: 0, -EINVAL (bad table or arguments), -E2BIG (> 64 properties),
 * or what busrpc_proxy_subscribe() returns.
 */
int busrpc_proxy_watch_properties(busrpc_proxy *p, const busrpc_property_table *t, busrpc_properties_fn fn,
                                  void (*cb)(void), void *userdata, busrpc_subscription **out);
/** Called with property @index's new value (borrowed, of its type), or NULL when it was invalidated. */
typedef void (*busrpc_property_fn)(const void *value, void (*cb)(void), void *userdata);
/** busrpc_proxy_watch_properties() for property @index of @t only. */
int busrpc_proxy_watch_property(busrpc_proxy *p, const busrpc_property_table *t, size_t index,
                                busrpc_property_fn fn, void (*cb)(void), void *userdata,
                                busrpc_subscription **out);

typedef struct busrpc_property_cache busrpc_property_cache;
/**
 * busrpc_proxy_cache_properties() - keep the values of @t's properties at
 * the proxy's object, readable without a round trip: GetAll (async, from
 * the loop), then every PropertiesChanged applied; an invalidated property
 * is fetched again with Get (async). Signals that arrive before the GetAll
 * reply are older than it and are not applied. On a bus, when the
 * destination changes owner (the service restarted or went away), every
 * value is dropped (@fn: all of them invalidated; -ENODATA) and the new
 * owner, when there is one, is asked with GetAll again; the same after a
 * reconnection (busrpc_conn_set_reconnect()) to a bus where the name has
 * an owner, though no signal said so.
 * @fn: may be NULL; else called after the cache took each change: first
 *      with every property GetAll gave (@msg NULL), then per signal, and
 *      per completed Get. @cb and @userdata are passed through.
 * @out: the cache (required: it is read through it); holds a reference to
 *       @p. busrpc_property_cache_release() stops it and cancels its calls.
 * Return: 0, -EINVAL, -E2BIG, -ENOMEM, or a subscription's -errno.
 */
int busrpc_proxy_cache_properties(busrpc_proxy *p, const busrpc_property_table *t, busrpc_properties_fn fn,
                                  void (*cb)(void), void *userdata, busrpc_property_cache **out);
/**
 * busrpc_property_cache_get() - copy property @index's cached value into
 * @out (of its type; owned by the caller: busrpc_value_clear()).
 * Return: 0; -ENODATA before the first GetAll completed, when GetAll did
 * not give it (write-only, a getter failed) or while it is invalidated
 * and fetched again; -EOPNOTSUPP for a BUSRPC_PROP_EMITS_FALSE property
 * (never kept: ask with Get); -EINVAL; -ENOMEM.
 */
int busrpc_property_cache_get(busrpc_property_cache *c, size_t index, void *out);
/** Whether GetAll completed. */
bool busrpc_property_cache_is_ready(busrpc_property_cache *c);
/**
 * busrpc_property_cache_get_error() - why the cache has nothing: 0 while
 * GetAll is on its way or after it succeeded, else its -errno (with the
 * remote error copied into @err, may be NULL).
 */
int busrpc_property_cache_get_error(busrpc_property_cache *c, busrpc_error *err);
busrpc_property_cache *busrpc_property_cache_release(busrpc_property_cache *c);
/* For __attribute__((cleanup)): busrpc_property_cache_release() if set. */
static inline void busrpc_property_cache_releasep(busrpc_property_cache **c) {
        if (*c)
                busrpc_property_cache_release(*c);
}

/**
 * busrpc_proxy_get_all_values() - Properties.GetAll of @t->interface,
 * waited for, read by @t into @out_values (@t->size bytes; every field of @t
 * is initialised first, so nothing needs to be set by the caller).
 * Names @t does not know are ignored; one sent twice counts once.
 * @out_present: bit i set when props[i] was in the reply (required).
 * On success the values are the caller's (busrpc_value_clear() each field
 * of @t; the generated X_get_all() sets the has flags its
 * X_properties_clear() needs); on failure every field is empty.
 * Return: 0; -EBADMSG when a known property has another signature than
 * @t says (InvalidArgs in @err naming it); -EINVAL (a bad table); what
 * busrpc_proxy_get_all() returns.
 */
int busrpc_proxy_get_all_values(busrpc_proxy *p, const busrpc_property_table *t, void *out_values,
                                uint64_t *out_present, busrpc_error *err);

/**
 * busrpc_error_classify() - which of @names (the errors a method declares)
 * @e is. Return: i when @e is set and named @names[i]; @n for anything
 * else: another remote error, a local one (Timeout, Disconnected,
 * NoMemory...), or @e unset / NULL. So a generated enum of the declared
 * errors ends with its "not declared" value, equal to @n.
 * (busrpc_error_has_name() tests one name.)
 */
size_t busrpc_error_classify(const busrpc_error *e, const char *const *names, size_t n);

/* ObjectManager client */
typedef struct busrpc_om_client busrpc_om_client;
enum {
        BUSRPC_OM_INTERFACE_ADDED = 1, /* an interface appeared at @path */
        BUSRPC_OM_INTERFACE_REMOVED,   /* an interface went from @path */
        BUSRPC_OM_READY,               /* GetManagedObjects answered (@error: r < 0, following nothing) */
};
/**
 * struct busrpc_om_event - one thing an ObjectManager client saw; every
 * pointer is borrowed for the callback only.
 * @path, @interface: the object and interface (both for ADDED and REMOVED).
 * @object_added: ADDED: the first interface seen at @path.
 * @object_removed: REMOVED: the last interface of @path went.
 * @proxy: a proxy for @path on the client's connection and destination
 *         (busrpc_proxy_ref() to keep it).
 * @table: the index in the client's tables of @interface's table, or
 *         (size_t)-1 when none describes it.
 * @present, @values: ADDED with a table: the properties sent (bit i:
 *         props[i]), decoded into @values (the table's values struct) as
 *         for busrpc_property_changes; else 0 and NULL.
 * @props: ADDED: the a{sv} of properties as sent, for reading by hand.
 * @r, @error: READY: 0, or the -errno of GetManagedObjects and its error.
 */
typedef struct busrpc_om_event {
        int kind;
        const char *path;
        const char *interface;
        bool object_added;
        bool object_removed;
        busrpc_proxy *proxy;
        size_t table;
        uint64_t present;
        const void *values;
        busrpc_iter *props;
        int r;
        const busrpc_error *error;
} busrpc_om_event;
/** @ops and @userdata as given to busrpc_om_client_new() (@ops: a generated client's typed callbacks). */
typedef void (*busrpc_om_fn)(busrpc_om_client *om, const busrpc_om_event *ev, const void *ops,
                             void *userdata);
/**
 * busrpc_om_client_new() - follow the objects under the ObjectManager at
 * @path of @destination (NULL on a peer connection): InterfacesAdded and
 * InterfacesRemoved are subscribed (sender-checked as
 * busrpc_proxy_subscribe()), then GetManagedObjects is called (async):
 * every object it lists is reported as ADDED, then READY. Signals older
 * than that reply are not applied (it already holds them); an interface
 * added twice is reported once, one never added is not reported removed,
 * one whose name is not a valid interface name is skipped. On a bus, when the destination changes owner, every known interface is
 * reported REMOVED; the new owner's objects then come as ADDED and READY.
 * After a reconnection (busrpc_conn_set_reconnect()) to a bus where the
 * destination has an owner, GetManagedObjects is called again and only the
 * difference from the old view is reported (ADDED, REMOVED), then READY.
 * @tables: descriptor tables (borrowed; may be NULL with @n_tables 0) by
 *          which the properties of their interfaces are decoded.
 * @fn: called from the loop for every event; it may free @om.
 * @out: the client (required); busrpc_om_client_release() stops following.
 * Return: 0, -EINVAL, -E2BIG (a table), -ENOMEM, or a subscription's -errno.
 */
int busrpc_om_client_new(busrpc_conn *c, const char *destination, const char *path,
                         const busrpc_property_table *const *tables, size_t n_tables, busrpc_om_fn fn,
                         const void *ops, void *userdata, busrpc_om_client **out);
/** Whether @interface is known at @path now (1), or not (0); -EINVAL. */
int busrpc_om_client_has(busrpc_om_client *om, const char *path, const char *interface);
/** The number of objects known now. */
size_t busrpc_om_client_count(busrpc_om_client *om);
busrpc_om_client *busrpc_om_client_release(busrpc_om_client *om);
/* For __attribute__((cleanup)): busrpc_om_client_release() if set. */
static inline void busrpc_om_client_releasep(busrpc_om_client **om) {
        if (*om)
                busrpc_om_client_release(*om);
}

/* ------------------------------------------------------------------ */
/* Variants                                                            */

/* A self-contained value of any D-Bus type with its signature. Immutable
 * once built; reference counted. */
int busrpc_variant_new_basic(int type, const void *value, busrpc_variant **out);
int busrpc_variant_new_bool(bool v, busrpc_variant **out);
int busrpc_variant_new_byte(uint8_t v, busrpc_variant **out);
int busrpc_variant_new_int16(int16_t v, busrpc_variant **out);
int busrpc_variant_new_uint16(uint16_t v, busrpc_variant **out);
int busrpc_variant_new_int32(int32_t v, busrpc_variant **out);
int busrpc_variant_new_uint32(uint32_t v, busrpc_variant **out);
int busrpc_variant_new_int64(int64_t v, busrpc_variant **out);
int busrpc_variant_new_uint64(uint64_t v, busrpc_variant **out);
int busrpc_variant_new_double(double v, busrpc_variant **out);
int busrpc_variant_new_string(const char *v, busrpc_variant **out);
int busrpc_variant_new_objpath(const char *v, busrpc_variant **out);
int busrpc_variant_new_signature(const char *v, busrpc_variant **out);
/** A variant holding a variant. */
int busrpc_variant_new_variant(const busrpc_variant *inner, busrpc_variant **out);
/** Any value: @sig a single complete type; @build appends exactly that value. */
typedef int (*busrpc_variant_build_fn)(busrpc_iter *it, void *userdata);
int busrpc_variant_new_built(const char *sig, busrpc_variant_build_fn build, void *userdata, busrpc_variant **out);
busrpc_variant *busrpc_variant_ref(busrpc_variant *v);
busrpc_variant *busrpc_variant_unref(busrpc_variant *v);
const char *busrpc_variant_get_signature(const busrpc_variant *v);
/* Typed getters: -EINVAL when the variant holds another type. */
int busrpc_variant_get_bool(const busrpc_variant *v, bool *out);
int busrpc_variant_get_byte(const busrpc_variant *v, uint8_t *out);
int busrpc_variant_get_int16(const busrpc_variant *v, int16_t *out);
int busrpc_variant_get_uint16(const busrpc_variant *v, uint16_t *out);
int busrpc_variant_get_int32(const busrpc_variant *v, int32_t *out);
int busrpc_variant_get_uint32(const busrpc_variant *v, uint32_t *out);
int busrpc_variant_get_int64(const busrpc_variant *v, int64_t *out);
int busrpc_variant_get_uint64(const busrpc_variant *v, uint64_t *out);
int busrpc_variant_get_double(const busrpc_variant *v, double *out);
/** Borrowed string ('s', 'o' or 'g' as asked by the function). */
int busrpc_variant_get_string(const busrpc_variant *v, const char **out);
int busrpc_variant_get_objpath(const busrpc_variant *v, const char **out);
int busrpc_variant_get_signature_value(const busrpc_variant *v, const char **out);
/** The variant held by a 'v' variant: @out is a new reference owned by the
 * caller (busrpc_variant_unref()), independent of @v; -EINVAL when @v does
 * not hold a variant. */
int busrpc_variant_get_variant(const busrpc_variant *v, busrpc_variant **out);
/** Read any value: @it is positioned on the value (borrowed until v is freed). */
int busrpc_variant_read(const busrpc_variant *v, busrpc_iter *it);
/** Print to @stream as busctl does ("i 42", "as 2 \"a\" \"b\""); returns chars written or -errno. */
int busrpc_variant_print(const busrpc_variant *v, FILE *stream);
/** The printed form in a new string (caller frees). */
int busrpc_variant_to_string(const busrpc_variant *v, char **out);
bool busrpc_variant_equal(const busrpc_variant *a, const busrpc_variant *b);

static inline void busrpc_variant_unrefp(busrpc_variant **v) {
        if (*v)
                busrpc_variant_unref(*v);
}

/* ------------------------------------------------------------------ */
/* Shared memory (the shm type)                                        */

/**
 * busrpc_shm_new() - a writable buffer of @size bytes in a memfd. Fill it
 * with busrpc_shm_write() or through busrpc_shm_data(); appending it to a
 * message seals it, after which it is read-only for everyone (sending it
 * again costs no new memfd, and a receiver that still has it mapped maps
 * nothing new). For buffers sent again and again, see busrpc_conn_shm_new().
 */
int busrpc_shm_new(size_t size, busrpc_shm **out);
/**
 * busrpc_shm_from_fd() - wrap a memfd @fd (borrowed; dup'ed) read-only.
 * Sealed against writes: read in place; sealed only against resizing (a
 * pool slot): copied now. -EPERM when it could shrink or is no memfd.
 */
int busrpc_shm_from_fd(int fd, busrpc_shm **out);
busrpc_shm *busrpc_shm_ref(busrpc_shm *s);
/** A pool slot goes back to its pool when its last reference goes. */
busrpc_shm *busrpc_shm_unref(busrpc_shm *s);
/** Writable pointer (mapped on first use) until sealed; NULL after, and for a received shm. */
void *busrpc_shm_data(busrpc_shm *s);
const void *busrpc_shm_const_data(const busrpc_shm *s);
size_t busrpc_shm_size(const busrpc_shm *s);
/** Seal against writes and resizing: 0; -EPERM for a pool slot (written again). */
int busrpc_shm_seal(busrpc_shm *s);
/** True when what this process reads can no longer change (sealed, or a received copy). */
bool busrpc_shm_is_sealed(const busrpc_shm *s);
/**
 * busrpc_shm_get_fd() - the memfd (borrowed). For a received slot (a
 * private copy) a sealed memfd of the copy is made on the first call.
 * Return: the fd, or -errno.
 */
int busrpc_shm_get_fd(const busrpc_shm *s);
/**
 * busrpc_shm_write() - copy @len bytes of @data into @s at @offset with
 * pwrite(): no page is mapped or faulted in this process (a fresh buffer
 * fills ~1.6x faster than through busrpc_shm_data()).
 * Return: 0; -EPERM when @s is sealed or received; -EFBIG past its end;
 * -errno of pwrite().
 */
int busrpc_shm_write(busrpc_shm *s, uint64_t offset, const void *data, size_t len);

/* The shared-memory pool of a connection (docs/performance.md, "shm").
 * Defaults of busrpc_shm_limits: */
#define BUSRPC_SHM_POOL_BYTES_DEFAULT (UINT64_C(64) * 1024 * 1024)
#define BUSRPC_SHM_POOL_SLOTS_DEFAULT 16u
#define BUSRPC_SHM_CACHE_BYTES_DEFAULT (UINT64_C(256) * 1024 * 1024)
#define BUSRPC_SHM_CACHE_ENTRIES_DEFAULT 32u
#define BUSRPC_SHM_COPY_BYTES_DEFAULT (UINT64_C(32) * 1024 * 1024)

/**
 * struct busrpc_shm_limits - what one connection keeps for shm; 0 in a
 * field means its default.
 * @pool_bytes: bytes of the slots it sends (lent and idle). A slot larger
 *              than this is a plain busrpc_shm_new() buffer instead.
 * @pool_slots: slots alive at once; with all of them lent, the next
 *              busrpc_conn_shm_new() is a plain buffer too.
 * @cache_bytes: bytes of received memfds kept mapped (address space: the
 *              pages are the sender's). A larger shm is mapped for its
 *              message only.
 * @cache_entries: received memfds kept mapped; the least recently used goes.
 * @copy_bytes: bytes of private memory kept, once a received slot's copy
 *              is released, for the next copy (its pages stay faulted
 *              in); the least recently used goes.
 */
typedef struct busrpc_shm_limits {
        uint64_t pool_bytes;
        unsigned pool_slots;
        uint64_t cache_bytes;
        unsigned cache_entries;
        uint64_t copy_bytes;
} busrpc_shm_limits;

/**
 * struct busrpc_shm_stats - what a connection's pool and cache hold now,
 * and counters since it was made (busrpc_conn_get_shm_stats()).
 */
typedef struct busrpc_shm_stats {
        unsigned slots;          /* slots alive, lent or idle */
        unsigned idle_slots;
        uint64_t slot_bytes;
        unsigned maps;           /* received memfds kept mapped */
        uint64_t map_bytes;
        unsigned idle_copies;    /* private copy buffers kept */
        uint64_t idle_copy_bytes;
        uint64_t map_hits;       /* received memfds found mapped already */
        uint64_t map_misses;     /* ... mapped anew */
        uint64_t copies;         /* received slots copied */
        uint64_t copy_reuses;    /* ... into a kept buffer */
} busrpc_shm_stats;

/**
 * busrpc_conn_shm_new() - a writable slot of @size bytes from @c's pool:
 * mapped once here, and on the receiving side by inode, so a call that
 * sends the same slot again costs no new memfd, mapping or page fault.
 * Appended to a method call that waits for a reply, the slot is lent to
 * the receiver (it goes as a read-only fd, sealed against resizing); keep
 * your reference until the reply (a sync call returns: done; async: the
 * callback), then busrpc_shm_unref() returns it to the pool for the next
 * busrpc_conn_shm_new() of the same size. Appended to a reply or signal
 * (nobody says when the receiver is done) a sealed copy goes instead.
 * Sizes above the pool's bounds give a plain busrpc_shm_new() buffer. The receiver copies a slot on receipt
 * (its snapshot cannot change), unless both sides set
 * busrpc_conn_set_shm_direct().
 * Return: 0 and *@out (owned), -EINVAL, -E2BIG, -ENOMEM, -errno of memfd_create().
 */
int busrpc_conn_shm_new(busrpc_conn *c, size_t size, busrpc_shm **out);
/**
 * busrpc_conn_set_shm_limits() - bound @c's pool and cache (@limits
 * borrowed; NULL or 0 fields: the defaults). Lowering drops what is kept
 * beyond the new bounds now (lent slots when they come back).
 * Return: 0, -EINVAL, -ENOMEM, -ENOTCONN.
 */
int busrpc_conn_set_shm_limits(busrpc_conn *c, const busrpc_shm_limits *limits);
/** The limits in force on @c (no zero field): 0, -EINVAL, -ENOMEM, -ENOTCONN. */
int busrpc_conn_get_shm_limits(busrpc_conn *c, busrpc_shm_limits *out);
/** Fill *@out for @c: 0, -EINVAL, -ENOMEM, -ENOTCONN. */
int busrpc_conn_get_shm_stats(busrpc_conn *c, busrpc_shm_stats *out);
/**
 * busrpc_conn_set_shm_direct() - declare, for @c, that (1) this program
 * never writes a slot it lent until the reply, and (2) it reads a slot
 * received on @c in place, without the copy, when its sender declared (1)
 * too (the slot's memfd is named "busrpc-lent") and runs as our uid. A
 * received direct slot is valid until the call is answered, and
 * busrpc_shm_is_sealed() says false for it. Off by default.
 * Return: 0, -EINVAL, -ENOMEM, -ENOTCONN.
 */
int busrpc_conn_set_shm_direct(busrpc_conn *c, bool direct);
/**
 * busrpc_server_set_shm_limits(), busrpc_server_set_shm_direct() - what
 * busrpc_conn_set_shm_limits() / _set_shm_direct() set on each peer that
 * @s serves afterwards (a peer's own conn may still change its own).
 * busrpc_server_get_shm_limits(): those limits, defaults filled in.
 * Return: 0, -EINVAL.
 */
int busrpc_server_set_shm_limits(busrpc_server *s, const busrpc_shm_limits *limits);
int busrpc_server_get_shm_limits(busrpc_server *s, busrpc_shm_limits *out);
int busrpc_server_set_shm_direct(busrpc_server *s, bool direct);

static inline void busrpc_shm_unrefp(busrpc_shm **s) {
        if (*s)
                busrpc_shm_unref(*s);
}

#ifdef __cplusplus
}
#endif
