/* invoke.c: calling and serving by descriptor. The client half
 * (busrpc_proxy_invoke*, busrpc_proxy_get_value/set_value,
 * busrpc_proxy_on_signal) builds on the proxy's message API; the server
 * half is what the dispatcher runs for a method with .op and for a
 * property with .get_op/.set_op, plus busrpc_object_emit(). On a conn
 * on busrpc's own transport, busrpc_proxy_invoke*() go through
 * fastcall.c first (no DBusMessage either way) and come back here only
 * for what it does not cover (fastcall.h: FAST_NOT_TAKEN); so does
 * busrpc_object_emit() (fast_emit(): on a bus conn on the transport and
 * toward a fast-path server's peers).
 *
 * The arguments of one call live in one block (marshal.h, Scratch): on
 * the stack when small, so a simple call allocates nothing here; an
 * async call's outputs live with its closure, allocated when it is made.
 */
#include <stdlib.h>
#include <string.h>
#include "fastcall.h"
#include "marshal.h"
#include "message.h"
#include "validate.h"

/* ---- client ---- */

static const char *args_sig(const busrpc_args *a) {
        return a ? a->signature : "";
}

/* Names and descriptors checked once per method table (and thread). */
static bool remote_valid(const busrpc_remote_method *m) {
        if (marshal_checked(m))
                return true;
        if (!m->interface || !valid_interface_name(m->interface) || !m->member || !valid_member_name(m->member))
                return false;
        if ((m->in && !marshal_args_valid(m->in)) || (m->out && !marshal_args_valid(m->out)))
                return false;
        marshal_check_done(m);
        return true;
}

/* A call message for @m with the inputs @in appended. The names were
 * checked with the table: no per-call validation, no scratch message. */
static int invoke_message(busrpc_proxy *p, const busrpc_remote_method *m, const void *in, busrpc_msg **ret) {
        busrpc_msg *msg = NULL;
        DBusMessage *dm;
        int r = 0;

        dm = dbus_message_new_method_call(busrpc_proxy_get_destination(p), busrpc_proxy_get_path(p), m->interface,
                                          m->member);
        if (!dm)
                return -ENOMEM;
        if (m->in && m->in->n_fields)
                r = marshal_args_append_msg(dm, m->in, in);
        if (r >= 0 && !(msg = msg_new(dm, busrpc_proxy_get_conn(p))))
                r = -ENOMEM;
        dbus_message_unref(dm);
        if (r < 0)
                return r;
        *ret = msg;
        return 0;
}

BUSRPC_EXPORT int busrpc_proxy_invoke(busrpc_proxy *p, const busrpc_remote_method *m, const void *in, void *out,
                                      busrpc_error *err) {
        busrpc_msg *msg, *reply = NULL;
        busrpc_iter it;
        int r;

        return_if_fail(p && m, -EINVAL);
        return_if_fail(remote_valid(m), -EINVAL);
        return_if_fail(in || !m->in || m->in->n_fields == 0, -EINVAL);
        if (out && m->out)
                marshal_args_init(m->out, out);
        r = fast_invoke(p, m, in, out, err);
        if (r != FAST_NOT_TAKEN)
                return r;
        r = invoke_message(p, m, in, &msg);
        if (r < 0)
                return busrpc_error_set_errno(err, r);
        if (m->flags & BUSRPC_METHOD_NOREPLY)
                return busrpc_proxy_send(p, msg);
        r = busrpc_proxy_call(p, msg, args_sig(m->out), out && m->out ? &reply : NULL, err);
        if (r < 0 || !reply)
                return r;
        busrpc_msg_read(reply, &it);
        r = marshal_args_read(&it, m->out, out, err);
        busrpc_msg_unref(reply);
        if (r < 0)
                return busrpc_error_set_errno(err, r);
        return 0;
}

/* The outputs live in the closure's block, allocated at invoke time: a
 * completion never runs short of memory for them. */
static InvokeClosure *invoke_closure_new(const busrpc_args *out, busrpc_invoke_done_fn done, void (*cb)(void),
                                         void *userdata) {
        size_t head = (sizeof(InvokeClosure) + 15) & ~(size_t)15;
        InvokeClosure *ic = malloc(head + (out ? out->size : 0));

        if (!ic)
                return NULL;
        *ic = (InvokeClosure){ .out = out, .done = done, .cb = cb, .userdata = userdata };
        if (out) {
                ic->values = (char *)ic + head;
                marshal_args_init(out, ic->values);
        }
        return ic;
}

/* Free @ic (NULL is fine) without running its callback: the call was not made. */
static void invoke_closure_complete_silently(InvokeClosure *ic) {
        if (!ic)
                return;
        ic->done = NULL;
        invoke_closure_complete(ic, 0);
}

void invoke_closure_complete(InvokeClosure *ic, int r) {
        const busrpc_error *err = NULL;

        if (r < 0) {
                if (!busrpc_error_is_set(&ic->err))
                        busrpc_error_set_errno(&ic->err, r);
                err = &ic->err;
        }
        if (ic->done)
                ic->done(r, err, ic->values, ic->cb, ic->userdata);
        if (ic->values)
                marshal_args_clear(ic->out, ic->values);
        busrpc_error_clear(&ic->err);
        free(ic);
}

static void invoke_done(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        InvokeClosure *ic = userdata;
        busrpc_iter it;

        if (r < 0 && err && busrpc_error_is_set(err))
                (void)busrpc_error_set(&ic->err, err->name, "%s", err->message ? err->message : "");
        if (r >= 0 && ic->values) {
                busrpc_msg_read(reply, &it);
                r = marshal_args_read(&it, ic->out, ic->values, &ic->err);
        }
        invoke_closure_complete(ic, r);
}

BUSRPC_EXPORT int busrpc_proxy_invoke_async(busrpc_proxy *p, const busrpc_remote_method *m, const void *in,
                                            busrpc_invoke_done_fn done, void (*cb)(void), void *userdata,
                                            busrpc_pending **ret) {
        InvokeClosure *ic;
        busrpc_msg *msg;
        int r;

        return_if_fail(p && m, -EINVAL);
        return_if_fail(remote_valid(m), -EINVAL);
        return_if_fail(in || !m->in || m->in->n_fields == 0, -EINVAL);
        ic = NULL;
        if (!(m->flags & BUSRPC_METHOD_NOREPLY)) {
                ic = invoke_closure_new(m->out, done, cb, userdata);
                if (!ic)
                        return -ENOMEM;
        }
        r = fast_invoke_async(p, m, in, ic, invoke_done, ret);
        if (r != FAST_NOT_TAKEN) {
                if (r < 0)
                        invoke_closure_complete_silently(ic);
                return r;
        }
        r = invoke_message(p, m, in, &msg);
        if (r < 0) {
                invoke_closure_complete_silently(ic);
                return r;
        }
        if (m->flags & BUSRPC_METHOD_NOREPLY) {
                /* No reply will come: nothing completes, nothing to cancel. */
                if (ret)
                        *ret = NULL;
                return busrpc_proxy_send(p, msg);
        }
        r = busrpc_proxy_call_async(p, msg, args_sig(m->out), invoke_done, ic, ret);
        if (r < 0)
                invoke_closure_complete_silently(ic);
        return r;
}

BUSRPC_EXPORT int busrpc_proxy_get_value(busrpc_proxy *p, const char *iface, const char *name,
                                         const busrpc_type *type, void *ret_value, busrpc_error *err) {
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        int r;

        return_if_fail(p && iface && name && type && ret_value, -EINVAL);
        return_if_fail(marshal_type_valid(type), -EINVAL);
        busrpc_value_init(type, ret_value);
        r = busrpc_proxy_get_property(p, iface, name, type->signature, &reply, &it, err);
        if (r < 0)
                return r;
        r = busrpc_value_read(&it, type, ret_value, err);
        busrpc_msg_unref(reply);
        if (r < 0)
                return busrpc_error_set_errno(err, r);
        return 0;
}

BUSRPC_EXPORT int busrpc_proxy_set_value(busrpc_proxy *p, const char *iface, const char *name,
                                         const busrpc_type *type, const void *value, busrpc_error *err) {
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        return_if_fail(p && iface && name && type && value, -EINVAL);
        return_if_fail(marshal_type_valid(type), -EINVAL);
        r = busrpc_proxy_set_property_begin(p, iface, name, type->signature, &m, &it);
        if (r >= 0)
                r = busrpc_value_append(&it, type, value);
        if (r < 0) {
                busrpc_msg_unref(m);
                return busrpc_error_set_errno(err, r);
        }
        return busrpc_proxy_set_property_finish(p, m, &it, err);
}

typedef struct SignalClosure {
        const busrpc_args *args;
        busrpc_signal_done_fn done;
        void (*cb)(void);
        void *userdata;
} SignalClosure;

/* A signal whose arguments cannot be read (an undeclared enum value, a
 * map key twice, an shm over its bound) is dropped, as a signal of the
 * wrong signature is. */
static void signal_trampoline(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        SignalClosure *c = userdata;
        Scratch s;
        void *values;

        (void)m;
        values = scratch_get(&s, c->args->size);
        if (!values)
                return;
        marshal_args_init(c->args, values);
        if (marshal_args_read(args, c->args, values, NULL) >= 0) {
                c->done(values, c->cb, c->userdata);
                marshal_args_clear(c->args, values);
        }
        scratch_put(&s);
}

BUSRPC_EXPORT int busrpc_proxy_on_signal(busrpc_proxy *p, const char *iface, const char *member,
                                         const busrpc_args *args, busrpc_signal_done_fn done, void (*cb)(void),
                                         void *userdata, busrpc_subscription **ret) {
        SignalClosure *c;
        int r;

        return_if_fail(p && iface && member && args && done, -EINVAL);
        return_if_fail(marshal_args_valid(args), -EINVAL);
        c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (SignalClosure){ .args = args, .done = done, .cb = cb, .userdata = userdata };
        r = busrpc_proxy_subscribe(p, iface, member, args->signature, signal_trampoline, c, free, ret);
        if (r < 0)
                free(c);
        return r;
}

/* ---- server ---- */

/* Arguments that could not be read: the reader's error, NoMemory, or
 * InvalidArgs. */
static int fail_args(busrpc_call *call, int r, const busrpc_error *err) {
        if (busrpc_error_is_set(err))
                busrpc_call_fail_error(call, err);
        else if (r == -ENOMEM)
                busrpc_call_fail(call, BUSRPC_ERROR_NO_MEMORY, "out of memory");
        else
                busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "invalid arguments (%s)", strerror(-r));
        return r;
}

int marshal_dispatch(busrpc_call *call, const busrpc_method_desc *md, busrpc_iter *args, const void *ops,
                     void *self) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        const busrpc_args *in = md->in, *out = md->out;
        size_t out_at = (in->size + 15) & ~(size_t)15;
        Scratch s;
        char *block;
        int r;

        /* One block for both: inputs, then outputs. */
        block = scratch_get(&s, out_at + out->size);
        if (!block)
                return -ENOMEM;
        marshal_args_init(in, block);
        marshal_args_init(out, block + out_at);
        r = marshal_args_read(args, in, block, &err);
        if (r < 0) {
                r = fail_args(call, r, &err);
                busrpc_error_clear(&err);
                goto out;
        }
        r = md->op(call, ops, self, block, block + out_at);
        if (r == BUSRPC_DEFER)
                r = 0;
        else if (r >= 0) {
                r = 0;
                if (!busrpc_call_is_replied(call) && !busrpc_call_no_reply_expected(call))
                        r = busrpc_call_reply_args(call, out, block + out_at);
                /* The op's outputs are the server's fault, not the caller's arguments. */
                if (r < 0 && r != -ENOMEM)
                        busrpc_call_fail(call, BUSRPC_ERROR_FAILED, "Method '%s' returned outputs that cannot be sent (%s)",
                                         md->name, strerror(-r));
        }
        marshal_args_clear(in, block);
out:
        marshal_args_clear(out, block + out_at);
        scratch_put(&s);
        return r;
}

int marshal_prop_get(const busrpc_property_desc *p, busrpc_iter *value, const void *ops, void *self,
                     busrpc_error *err) {
        Scratch s;
        void *v;
        int r;

        v = scratch_get(&s, p->type->size);
        if (!v)
                return -ENOMEM;
        busrpc_value_init(p->type, v);
        r = p->get_op(ops, self, v, err);
        if (r >= 0)
                r = busrpc_value_append(value, p->type, v);
        busrpc_value_clear(p->type, v);
        scratch_put(&s);
        return r;
}

int marshal_prop_set(const busrpc_property_desc *p, busrpc_iter *value, const void *ops, void *self,
                     busrpc_error *err) {
        Scratch s;
        void *v;
        int r;

        v = scratch_get(&s, p->type->size);
        if (!v)
                return -ENOMEM;
        r = busrpc_value_read(value, p->type, v, err);
        if (r >= 0) {
                r = p->set_op(ops, self, v, err);
                busrpc_value_clear(p->type, v);
        }
        scratch_put(&s);
        return r;
}

BUSRPC_EXPORT int busrpc_object_emit(busrpc_object *o, const char *member, const busrpc_args *args,
                                     const void *values) {
        busrpc_msg *m = NULL;
        int r;

        return_if_fail(o && member && args && (values || args->n_fields == 0), -EINVAL);
        return_if_fail(marshal_args_valid(args), -EINVAL);
        r = fast_emit(o, member, args, values);
        if (r != FAST_NOT_TAKEN)
                return r;
        r = busrpc_object_signal_new(o, member, &m);
        if (r < 0)
                return r;
        r = marshal_args_append_msg(msg_get_dbus(m), args, values);
        if (r < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        return busrpc_msg_send(m);
}
