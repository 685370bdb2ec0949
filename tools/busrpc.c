/* busrpc: call, get, set, introspect and watch D-Bus objects from the shell,
 * with values as JSON typed by the introspection data, on a bus, a busrpc
 * peer socket or any D-Bus peer. See docs/man/busrpc.1. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <expat.h>
#include "busrpc-tool.h"

#define MAX_FDS 32
#define TREE_MAX_NODES 4096

static struct {
        bool peer;
        int timeout_ms;
        const char *xml_file, *idl_file;
        int fds[MAX_FDS];
        size_t n_fds;
        BytesMode bytes;
        bool json, names, raw;
} arg = { .timeout_ms = -1 };

/* ---- introspection data ---- */

typedef struct {
        char *iface, *name;
        char kind; /* 'm' method, 's' signal, 'p' property */
        char *in, *out; /* signatures; a property's type is in "in" */
        char *access;
        bool no_reply; /* org.freedesktop.DBus.Method.NoReply */
} Member;

typedef struct {
        Member *m;
        size_t n;
        char **nodes;
        size_t n_nodes;
        char *iface;
        Member *cur;
        unsigned depth;
        bool failed;
} Intro;

static void intro_free(Intro *in) {
        for (size_t i = 0; i < in->n; i++) {
                free(in->m[i].iface);
                free(in->m[i].name);
                free(in->m[i].in);
                free(in->m[i].out);
                free(in->m[i].access);
        }
        free(in->m);
        for (size_t i = 0; i < in->n_nodes; i++)
                free(in->nodes[i]);
        free(in->nodes);
        free(in->iface);
        memset(in, 0, sizeof(*in));
}

static const char *attr(const char **atts, const char *name) {
        for (size_t i = 0; atts[i]; i += 2)
                if (strcmp(atts[i], name) == 0)
                        return atts[i + 1];
        return NULL;
}

static char *cat(char *a, const char *b) {
        size_t la = a ? strlen(a) : 0;
        char *r = realloc(a, la + strlen(b) + 1);

        if (!r) {
                free(a);
                return NULL;
        }
        strcpy(r + la, b);
        return r;
}

static void on_start(void *data, const char *el, const char **atts) {
        Intro *in = data;
        const char *name = attr(atts, "name");

        in->depth++;
        if (in->failed)
                return;
        if (strcmp(el, "node") == 0 && in->depth == 2 && name) {
                char **n = realloc(in->nodes, (in->n_nodes + 1) * sizeof(*n));
                if (!n || !(n[in->n_nodes] = strdup(name))) {
                        in->failed = true;
                        if (n)
                                in->nodes = n;
                        return;
                }
                in->nodes = n;
                in->n_nodes++;
        } else if (strcmp(el, "interface") == 0 && name) {
                free(in->iface);
                in->iface = strdup(name);
        } else if (in->iface && name &&
                   (strcmp(el, "method") == 0 || strcmp(el, "signal") == 0 || strcmp(el, "property") == 0)) {
                Member *m = realloc(in->m, (in->n + 1) * sizeof(*m));
                const char *type = attr(atts, "type"), *access = attr(atts, "access");
                if (!m) {
                        in->failed = true;
                        return;
                }
                in->m = m;
                in->cur = &m[in->n++];
                memset(in->cur, 0, sizeof(*in->cur));
                in->cur->kind = el[0];
                in->cur->iface = strdup(in->iface);
                in->cur->name = strdup(name);
                in->cur->in = strdup(el[0] == 'p' && type ? type : "");
                in->cur->out = strdup("");
                in->cur->access = strdup(access ? access : "");
                if (!in->cur->iface || !in->cur->name || !in->cur->in || !in->cur->out || !in->cur->access)
                        in->failed = true;
                if (el[0] == 'p')
                        in->cur = NULL;
        } else if (strcmp(el, "annotation") == 0 && in->cur && name &&
                   strcmp(name, "org.freedesktop.DBus.Method.NoReply") == 0) {
                const char *value = attr(atts, "value");
                in->cur->no_reply = value && strcmp(value, "true") == 0;
        } else if (strcmp(el, "arg") == 0 && in->cur) {
                const char *type = attr(atts, "type"), *dir = attr(atts, "direction");
                bool out = in->cur->kind == 's' || (dir && strcmp(dir, "out") == 0);
                char **sig = out ? &in->cur->out : &in->cur->in;
                if (type && !(*sig = cat(*sig, type)))
                        in->failed = true;
        }
}

static void on_end(void *data, const char *el) {
        Intro *in = data;

        in->depth--;
        if (strcmp(el, "method") == 0 || strcmp(el, "signal") == 0)
                in->cur = NULL;
        else if (strcmp(el, "interface") == 0) {
                free(in->iface);
                in->iface = NULL;
        }
}

static int intro_parse(Intro *in, const char *xml, size_t len) {
        XML_Parser p = XML_ParserCreate(NULL);
        int r = 0;

        if (!p)
                return -ENOMEM;
        memset(in, 0, sizeof(*in));
        XML_SetUserData(p, in);
        XML_SetElementHandler(p, on_start, on_end);
        if (XML_Parse(p, xml, (int)len, 1) != XML_STATUS_OK) {
                fprintf(stderr, "busrpc: introspection data, line %lu: %s\n",
                        (unsigned long)XML_GetCurrentLineNumber(p), XML_ErrorString(XML_GetErrorCode(p)));
                r = -EINVAL;
        } else if (in->failed)
                r = -ENOMEM;
        XML_ParserFree(p);
        if (r < 0)
                intro_free(in);
        return r;
}

static const Member *intro_find(const Intro *in, const char *iface, const char *name, char kind) {
        for (size_t i = 0; i < in->n; i++)
                if (in->m[i].kind == kind && strcmp(in->m[i].name, name) == 0 &&
                    (!iface || strcmp(in->m[i].iface, iface) == 0))
                        return &in->m[i];
        return NULL;
}

/* ---- connection and calls ---- */

static DBusConnection *connect_to(const char *address) {
        DBusConnection *c;
        DBusError e;

        dbus_error_init(&e);
        if (!arg.peer && strcmp(address, "session") == 0)
                c = dbus_bus_get_private(DBUS_BUS_SESSION, &e);
        else if (!arg.peer && strcmp(address, "system") == 0)
                c = dbus_bus_get_private(DBUS_BUS_SYSTEM, &e);
        else {
                c = dbus_connection_open_private(address, &e);
                if (c && !arg.peer && !dbus_bus_register(c, &e)) {
                        dbus_connection_close(c);
                        dbus_connection_unref(c);
                        c = NULL;
                }
        }
        if (!c) {
                fprintf(stderr, "busrpc: cannot connect to %s: %s: %s\n", address, e.name, e.message);
                dbus_error_free(&e);
                return NULL;
        }
        dbus_connection_set_exit_on_disconnect(c, FALSE);
        return c;
}

static void disconnect(DBusConnection *c) {
        if (c) {
                dbus_connection_close(c);
                dbus_connection_unref(c);
        }
}

static const char *dest_of(const char *dest) {
        return strcmp(dest, "-") == 0 ? NULL : dest;
}

/* Send m and wait for the reply; prints a D-Bus error and returns NULL. */
static DBusMessage *call(DBusConnection *c, DBusMessage *m) {
        DBusMessage *reply;
        DBusError e;

        dbus_error_init(&e);
        reply = dbus_connection_send_with_reply_and_block(c, m, arg.timeout_ms, &e);
        if (!reply) {
                fprintf(stderr, "%s: %s\n", e.name, e.message ? e.message : "");
                dbus_error_free(&e);
        }
        return reply;
}

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
        char *buf = NULL;
        size_t len = 0, cap = 0, n;

        if (!f) {
                fprintf(stderr, "busrpc: %s: %s\n", path, strerror(errno));
                return NULL;
        }
        do {
                if (cap - len < 4096) {
                        char *nb = realloc(buf, cap = cap * 2 + 8192);
                        if (!nb) {
                                free(buf);
                                buf = NULL;
                                break;
                        }
                        buf = nb;
                }
                n = fread(buf + len, 1, cap - len - 1, f);
                len += n;
        } while (n > 0);
        if (buf && ferror(f)) {
                fprintf(stderr, "busrpc: %s: %s\n", path, strerror(errno));
                free(buf);
                buf = NULL;
        }
        if (f != stdin)
                fclose(f);
        if (buf) {
                buf[len] = '\0';
                *ret_len = len;
        }
        return buf;
}

/* XML from busrpc-idlc --xml -o - FILE: BUSRPC_IDLC, next to this program, or PATH. */
static char *idl_to_xml(const char *idl, const char *argv0, size_t *ret_len) {
        char *idlc = NULL, *xml = NULL;
        const char *env = getenv("BUSRPC_IDLC");
        int pipefd[2], status;
        pid_t pid;
        FILE *f;

        if (env)
                idlc = strdup(env);
        else if (strchr(argv0, '/')) {
                const char *slash = strrchr(argv0, '/');
                if (asprintf(&idlc, "%.*s/busrpc-idlc", (int)(slash - argv0), argv0) >= 0 &&
                    access(idlc, X_OK) < 0) {
                        free(idlc);
                        idlc = strdup("busrpc-idlc");
                }
        } else
                idlc = strdup("busrpc-idlc");
        if (!idlc || pipe2(pipefd, O_CLOEXEC) < 0) {
                free(idlc);
                return NULL;
        }
        pid = fork();
        if (pid == 0) {
                dup2(pipefd[1], 1);
                execlp(idlc, idlc, "--xml", "-o", "-", idl, (char *)NULL);
                fprintf(stderr, "busrpc: cannot run %s: %s\n", idlc, strerror(errno));
                _exit(127);
        }
        close(pipefd[1]);
        free(idlc);
        if (pid < 0) {
                close(pipefd[0]);
                return NULL;
        }
        f = fdopen(pipefd[0], "r");
        if (f) {
                size_t len = 0, cap = 0, n;
                do {
                        if (cap - len < 4096) {
                                char *nb = realloc(xml, cap = cap * 2 + 8192);
                                if (!nb)
                                        break;
                                xml = nb;
                        }
                        n = fread(xml + len, 1, cap - len - 1, f);
                        len += n;
                } while (n > 0);
                if (xml)
                        xml[len] = '\0';
                *ret_len = len;
                fclose(f);
        } else
                close(pipefd[0]);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "busrpc: busrpc-idlc failed on %s\n", idl);
                free(xml);
                return NULL;
        }
        return xml;
}

static const char *argv0 = "busrpc";

/* The introspection data: from --xml/--idl, else Introspect on the object. */
static int introspect(DBusConnection *c, const char *dest, const char *path, Intro *in, bool remote,
                      char **ret_xml) {
        DBusMessage *m, *reply;
        const char *xml;
        char *buf;
        size_t len;
        int r;

        if (!remote && (arg.xml_file || arg.idl_file)) {
                buf = arg.xml_file ? read_file(arg.xml_file, &len) : idl_to_xml(arg.idl_file, argv0, &len);
                if (!buf)
                        return -EIO;
                r = intro_parse(in, buf, len);
                if (ret_xml)
                        *ret_xml = buf;
                else
                        free(buf);
                return r;
        }
        m = dbus_message_new_method_call(dest_of(dest), path, DBUS_INTERFACE_INTROSPECTABLE, "Introspect");
        if (!m)
                return -ENOMEM;
        reply = call(c, m);
        dbus_message_unref(m);
        if (!reply)
                return -EIO;
        if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID)) {
                fprintf(stderr, "busrpc: Introspect returned no string\n");
                dbus_message_unref(reply);
                return -EIO;
        }
        r = intro_parse(in, xml, strlen(xml));
        if (ret_xml)
                *ret_xml = strdup(xml);
        dbus_message_unref(reply);
        return r;
}

/* Split IFACE.Member at the last dot. */
static int split_member(const char *full, char **iface, const char **member) {
        const char *dot = strrchr(full, '.');

        if (!dot || dot == full || !dot[1]) {
                fprintf(stderr, "busrpc: '%s' is not INTERFACE.MEMBER\n", full);
                return -EINVAL;
        }
        *iface = strndup(full, (size_t)(dot - full));
        *member = dot + 1;
        return *iface ? 0 : -ENOMEM;
}

static Json **parse_args(char **argv, int n, int *ret) {
        Json **vals = calloc((size_t)n + 1, sizeof(*vals));
        char err[256];

        *ret = 0;
        if (!vals) {
                *ret = 1;
                return NULL;
        }
        for (int i = 0; i < n; i++) {
                vals[i] = json_parse(argv[i], err, sizeof(err));
                if (!vals[i]) {
                        fprintf(stderr, "busrpc: argument %d: bad JSON %s\n", i + 1, err);
                        for (int k = 0; k < i; k++)
                                json_free(vals[k]);
                        free(vals);
                        *ret = EXIT_USAGE;
                        return NULL;
                }
        }
        return vals;
}

static void free_args(Json **vals, int n) {
        if (!vals)
                return;
        for (int i = 0; i < n; i++)
                json_free(vals[i]);
        free(vals);
}

static int print_reply(DBusMessage *reply) {
        message_args_print(stdout, reply, arg.bytes);
        fputc('\n', stdout);
        return fflush(stdout) == 0 ? 0 : 1;
}

static int verb_call(DBusConnection *c, char **argv, int argc) {
        const char *dest = argv[0], *path = argv[1], *member;
        char *iface = NULL, err[512];
        const Member *mb;
        DBusMessage *m = NULL, *reply;
        Intro in;
        Json **vals;
        int r;

        if (split_member(argv[2], &iface, &member) < 0)
                return EXIT_USAGE;
        vals = parse_args(argv + 3, argc - 3, &r);
        if (!vals) {
                free(iface);
                return r;
        }
        if (introspect(c, dest, path, &in, false, NULL) < 0) {
                r = 1;
                goto out;
        }
        mb = intro_find(&in, iface, member, 'm');
        if (!mb) {
                fprintf(stderr, "busrpc: %s has no method %s.%s in its introspection data\n", path, iface, member);
                r = 1;
                goto out_in;
        }
        m = dbus_message_new_method_call(dest_of(dest), path, iface, member);
        if (!m) {
                r = 1;
                goto out_in;
        }
        if (values_append(m, mb->in, vals, (size_t)argc - 3, arg.fds, arg.n_fds, err, sizeof(err)) < 0) {
                fprintf(stderr, "busrpc: %s.%s(%s): %s\n", iface, member, mb->in, err);
                r = EXIT_USAGE;
                goto out_in;
        }
        if (mb->no_reply) {
                /* No reply will come: send, flush, print nothing. */
                dbus_message_set_no_reply(m, TRUE);
                r = dbus_connection_send(c, m, NULL) ? 0 : 1;
                dbus_connection_flush(c);
                goto out_in;
        }
        reply = call(c, m);
        if (!reply) {
                r = 1;
                goto out_in;
        }
        r = print_reply(reply);
        dbus_message_unref(reply);
out_in:
        intro_free(&in);
out:
        if (m)
                dbus_message_unref(m);
        free_args(vals, argc - 3);
        free(iface);
        return r;
}

static int verb_get(DBusConnection *c, char **argv, int argc) {
        const char *dest = argv[0], *path = argv[1];
        int r = 0;

        for (int i = 2; i < argc && r == 0; i++) {
                const char *member;
                char *iface;
                DBusMessage *m, *reply;
                DBusMessageIter it;

                if (split_member(argv[i], &iface, &member) < 0)
                        return EXIT_USAGE;
                m = dbus_message_new_method_call(dest_of(dest), path, DBUS_INTERFACE_PROPERTIES, "Get");
                if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &member,
                                                    DBUS_TYPE_INVALID)) {
                        r = 1;
                } else if (!(reply = call(c, m)))
                        r = 1;
                else {
                        if (dbus_message_iter_init(reply, &it) &&
                            dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_VARIANT) {
                                DBusMessageIter sub;
                                dbus_message_iter_recurse(&it, &sub);
                                if (arg.json) /* the variant, with its type */
                                        value_print(stdout, &it, arg.bytes);
                                else
                                        value_print(stdout, &sub, arg.bytes);
                                fputc('\n', stdout);
                        } else {
                                fprintf(stderr, "busrpc: Get returned no variant\n");
                                r = 1;
                        }
                        dbus_message_unref(reply);
                }
                if (m)
                        dbus_message_unref(m);
                free(iface);
        }
        return r;
}

static int verb_set(DBusConnection *c, char **argv, int argc) {
        const char *dest = argv[0], *path = argv[1], *member;
        char *iface, err[512];
        const Member *mb;
        DBusMessage *m = NULL, *reply;
        DBusMessageIter it, var;
        Json *v;
        Intro in;
        int r = 1;

        if (argc != 4)
                return EXIT_USAGE;
        if (split_member(argv[2], &iface, &member) < 0)
                return EXIT_USAGE;
        v = json_parse(argv[3], err, sizeof(err));
        if (!v) {
                fprintf(stderr, "busrpc: value: bad JSON %s\n", err);
                free(iface);
                return EXIT_USAGE;
        }
        if (introspect(c, dest, path, &in, false, NULL) < 0)
                goto out;
        mb = intro_find(&in, iface, member, 'p');
        if (!mb) {
                fprintf(stderr, "busrpc: %s has no property %s.%s in its introspection data\n", path, iface,
                        member);
                goto out_in;
        }
        m = dbus_message_new_method_call(dest_of(dest), path, DBUS_INTERFACE_PROPERTIES, "Set");
        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &member,
                                            DBUS_TYPE_INVALID))
                goto out_in;
        dbus_message_iter_init_append(m, &it);
        if (!dbus_message_iter_open_container(&it, DBUS_TYPE_VARIANT, mb->in, &var))
                goto out_in;
        if (value_append(&var, mb->in, v, arg.fds, arg.n_fds, err, sizeof(err)) < 0) {
                dbus_message_iter_abandon_container(&it, &var);
                fprintf(stderr, "busrpc: %s.%s (%s): %s\n", iface, member, mb->in, err);
                r = EXIT_USAGE;
                goto out_in;
        }
        if (!dbus_message_iter_close_container(&it, &var))
                goto out_in;
        reply = call(c, m);
        if (reply) {
                r = 0;
                dbus_message_unref(reply);
        }
out_in:
        intro_free(&in);
out:
        if (m)
                dbus_message_unref(m);
        json_free(v);
        free(iface);
        return r;
}

static int verb_introspect(DBusConnection *c, char **argv, int argc) {
        const char *filter = argc > 2 ? argv[2] : NULL;
        char *xml = NULL;
        Intro in;

        if (introspect(c, argv[0], argv[1], &in, false, &xml) < 0) {
                free(xml);
                return 1;
        }
        if (arg.raw)
                fputs(xml, stdout);
        else if (!arg.names)
                printf("%-40s %-9s %-16s %-16s %s\n", "NAME", "TYPE", "SIGNATURE", "RESULT", "FLAGS");
        for (size_t i = 0; i < in.n && !arg.raw; i++) {
                const Member *m = &in.m[i];
                static const char *const kinds[] = { ['m'] = "method", ['s'] = "signal", ['p'] = "property" };

                if (filter && strcmp(filter, m->iface) != 0)
                        continue;
                if (arg.names)
                        printf("%s.%s\n", m->iface, m->name);
                else
                        printf("%-40s %-9s %-16s %-16s %s\n", m->name, kinds[(unsigned char)m->kind],
                               *m->in ? m->in : "-", *m->out ? m->out : "-", *m->access ? m->access : "-");
        }
        free(xml);
        intro_free(&in);
        return fflush(stdout) == 0 ? 0 : 1;
}

static int tree_walk(DBusConnection *c, const char *dest, const char *path, unsigned *count) {
        Intro in;
        int r = 0;

        if (++*count > TREE_MAX_NODES) {
                fprintf(stderr, "busrpc: more than %d objects, stopping\n", TREE_MAX_NODES);
                return 1;
        }
        if (introspect(c, dest, path, &in, true, NULL) < 0)
                return 1;
        printf("%s\n", path);
        for (size_t i = 0; i < in.n_nodes && r == 0; i++) {
                char *child;
                if (asprintf(&child, "%s/%s", strcmp(path, "/") == 0 ? "" : path, in.nodes[i]) < 0) {
                        r = 1;
                        break;
                }
                if (dbus_validate_path(child, NULL))
                        r = tree_walk(c, dest, child, count);
                free(child);
        }
        intro_free(&in);
        return r;
}

/* ---- options, fds ---- */

static int add_fd(int fd) {
        if (arg.n_fds >= MAX_FDS) {
                fprintf(stderr, "busrpc: at most %d --fd/--shm options\n", MAX_FDS);
                return -1;
        }
        arg.fds[arg.n_fds++] = fd;
        return 0;
}

static int opt_fd(const char *s) {
        char *end;
        long n;
        int fd;

        errno = 0;
        n = strtol(s, &end, 10);
        if (*s && !*end && !errno && n >= 0 && n <= INT32_MAX) {
                if (fcntl((int)n, F_GETFD) < 0) {
                        fprintf(stderr, "busrpc: --fd %ld: %s\n", n, strerror(errno));
                        return -1;
                }
                return add_fd((int)n);
        }
        fd = open(s, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "busrpc: --fd %s: %s\n", s, strerror(errno));
                return -1;
        }
        return add_fd(fd);
}

/* A sealed memfd holding FILE's bytes, as busrpc_shm makes them (runtime/shm.c),
 * copied in blocks (FILE may be large, or a pipe). */
static int opt_shm(const char *path) {
        int in = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
        int fd = -1;
        char buf[65536];
        ssize_t n;

        if (in < 0) {
                fprintf(stderr, "busrpc: --shm %s: %s\n", path, strerror(errno));
                return -1;
        }
        fd = memfd_create("busrpc-shm", MFD_ALLOW_SEALING | MFD_CLOEXEC);
        if (fd < 0)
                goto fail;
        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        goto fail;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(fd, buf + off, (size_t)(n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                goto fail;
                        off += w;
                }
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
                goto fail;
        if (in != 0)
                close(in);
        return add_fd(fd);
fail:
        fprintf(stderr, "busrpc: --shm %s: %s\n", path, strerror(errno));
        if (fd >= 0)
                close(fd);
        if (in != 0)
                close(in);
        return -1;
}

extern const char busrpc_completion_bash[];

static void usage(FILE *f) {
        fputs("Usage: busrpc [OPTION]... VERB ADDRESS ...\n"
              "  call ADDRESS DEST PATH IFACE.METHOD [JSON]...  call a method, print the reply as JSON\n"
              "  get ADDRESS DEST PATH IFACE.PROP...             print property values as JSON\n"
              "  set ADDRESS DEST PATH IFACE.PROP JSON           set a property\n"
              "  introspect ADDRESS DEST PATH [IFACE]            list an object's members\n"
              "  tree ADDRESS DEST [PATH]                        list the objects under PATH (default /)\n"
              "  monitor ADDRESS                                 print every message on a bus or peer socket\n"
              "  completion bash                                 print a bash completion script\n"
              "ADDRESS is session, system or a D-Bus address; DEST '-' sends without a destination.\n"
              "Options:\n"
              "  -p, --peer         ADDRESS is a peer (no bus: no Hello)\n"
              "      --xml FILE     type arguments by this introspection XML, not by Introspect\n"
              "      --idl FILE     the same from an IDL file (runs busrpc-idlc --xml)\n"
              "      --fd N|FILE    pass descriptor N or FILE opened read-only; 'h' arguments index these\n"
              "      --shm FILE     pass a sealed memfd holding FILE (also indexed by 'h' arguments)\n"
              "      --bytes array|base64|string  how byte arrays are printed (default array)\n"
              "      --json         get: print the variant with its type; monitor: JSON lines\n"
              "      --names        introspect: print IFACE.MEMBER lines only\n"
              "      --raw          introspect: print the XML\n"
              "  -t, --timeout MS   method call timeout (default: libdbus's 25 s)\n"
              "  -h, --help         this text\n"
              "Exit status: 0 success, 1 D-Bus or I/O error (the error name on stderr), 2 usage error.\n",
              f);
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "peer", no_argument, NULL, 'p' },   { "xml", required_argument, NULL, 'X' },
                { "idl", required_argument, NULL, 'I' }, { "fd", required_argument, NULL, 'F' },
                { "shm", required_argument, NULL, 'S' }, { "bytes", required_argument, NULL, 'B' },
                { "json", no_argument, NULL, 'j' },   { "names", no_argument, NULL, 'N' },
                { "raw", no_argument, NULL, 'R' },    { "timeout", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },   {}
        };
        DBusConnection *c;
        const char *verb;
        int o, r, n;

        argv0 = argv[0];
        while ((o = getopt_long(argc, argv, "+pt:h", opts, NULL)) != -1) {
                switch (o) {
                case 'p':
                        arg.peer = true;
                        break;
                case 'X':
                        arg.xml_file = optarg;
                        break;
                case 'I':
                        arg.idl_file = optarg;
                        break;
                case 'F':
                        if (opt_fd(optarg) < 0)
                                return 1;
                        break;
                case 'S':
                        if (opt_shm(optarg) < 0)
                                return 1;
                        break;
                case 'B':
                        if (strcmp(optarg, "array") == 0)
                                arg.bytes = BYTES_ARRAY;
                        else if (strcmp(optarg, "base64") == 0)
                                arg.bytes = BYTES_BASE64;
                        else if (strcmp(optarg, "string") == 0)
                                arg.bytes = BYTES_STRING;
                        else {
                                fprintf(stderr, "busrpc: --bytes: array, base64 or string\n");
                                return EXIT_USAGE;
                        }
                        break;
                case 'j':
                        arg.json = true;
                        break;
                case 'N':
                        arg.names = true;
                        break;
                case 'R':
                        arg.raw = true;
                        break;
                case 't': {
                        char *end;
                        long t = strtol(optarg, &end, 10);
                        if (*end || t <= 0 || t > INT32_MAX) {
                                fprintf(stderr, "busrpc: --timeout: a positive number of milliseconds\n");
                                return EXIT_USAGE;
                        }
                        arg.timeout_ms = (int)t;
                        break;
                }
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        verb = argv[optind++];
        n = argc - optind;
        if (strcmp(verb, "completion") == 0) {
                if (n != 1 || strcmp(argv[optind], "bash") != 0) {
                        fprintf(stderr, "busrpc: completion: only 'bash'\n");
                        return EXIT_USAGE;
                }
                fputs(busrpc_completion_bash, stdout);
                return 0;
        }
        if ((strcmp(verb, "call") == 0 && n >= 4) || (strcmp(verb, "get") == 0 && n >= 4) ||
            (strcmp(verb, "set") == 0 && n == 5) || (strcmp(verb, "introspect") == 0 && (n == 3 || n == 4)) ||
            (strcmp(verb, "tree") == 0 && (n == 2 || n == 3)) || (strcmp(verb, "monitor") == 0 && n == 1))
                ;
        else {
                fprintf(stderr, "busrpc: %s: wrong verb or number of arguments (see busrpc --help)\n", verb);
                return EXIT_USAGE;
        }
        if (strcmp(verb, "tree") != 0 && strcmp(verb, "monitor") != 0 && !dbus_validate_path(argv[optind + 2], NULL)) {
                fprintf(stderr, "busrpc: '%s' is not an object path\n", argv[optind + 2]);
                return EXIT_USAGE;
        }
        if (strcmp(verb, "tree") == 0 && n == 3 && !dbus_validate_path(argv[optind + 2], NULL)) {
                fprintf(stderr, "busrpc: '%s' is not an object path\n", argv[optind + 2]);
                return EXIT_USAGE;
        }
        c = connect_to(argv[optind]);
        if (!c)
                return 1;
        if (strcmp(verb, "call") == 0)
                r = verb_call(c, argv + optind + 1, n - 1);
        else if (strcmp(verb, "get") == 0)
                r = verb_get(c, argv + optind + 1, n - 1);
        else if (strcmp(verb, "set") == 0)
                r = verb_set(c, argv + optind + 1, n - 1);
        else if (strcmp(verb, "introspect") == 0)
                r = verb_introspect(c, argv + optind + 1, n - 1);
        else if (strcmp(verb, "tree") == 0) {
                unsigned count = 0;
                r = tree_walk(c, argv[optind + 1], n == 3 ? argv[optind + 2] : "/", &count);
        } else
                r = monitor_run(c, !arg.peer, arg.json, arg.bytes);
        disconnect(c);
        for (size_t i = 0; i < arg.n_fds; i++)
                close(arg.fds[i]);
        dbus_shutdown();
        return r;
}
