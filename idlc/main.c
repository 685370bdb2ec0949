/* main.c: the busrpc-idlc command line.
 *
 * load (IDL or XML, imports) -> check -> generate each selected output to
 * a temporary file in the output directory -> rename them all into place
 * only when every one succeeded. Any error leaves the directory as it was.
 *
 * Exit status: 0 success (warnings allowed), 1 errors in the input or
 * while writing, 2 usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "compat.h"
#include "diag.h"
#include "gen.h"
#include "parse.h"

enum {
        OUT_HEADER, OUT_CLIENT, OUT_SERVER, OUT_XML, OUT_IDL,
        OUT_SERVICE_FILE, OUT_BUS_POLICY, OUT_SYSTEMD_UNIT, OUT_DOCS, OUT_MAN,
        N_OUT
};

static const struct {
        const char *name;
        const char *suffix;
        int (*gen)(const IdlUnit *u, FILE *out);
        char *(*file_name)(const IdlUnit *u); /* instead of MODULE + suffix */
} outputs[N_OUT] = {
        [OUT_HEADER] = { "header", ".h", idl_gen_header, NULL },
        [OUT_CLIENT] = { "client", "-client.c", idl_gen_client, NULL },
        [OUT_SERVER] = { "server", "-server.c", idl_gen_server, NULL },
        [OUT_XML] = { "xml", ".xml", idl_gen_xml, NULL },
        [OUT_IDL] = { "idl", ".idl", idl_gen_idl, NULL },
        [OUT_SERVICE_FILE] = { "service-file", ".service", idl_gen_service_file, idl_gen_service_file_name },
        [OUT_BUS_POLICY] = { "bus-policy", ".conf", idl_gen_bus_policy, idl_gen_bus_policy_name },
        [OUT_SYSTEMD_UNIT] = { "systemd-unit", ".service", idl_gen_systemd_unit, idl_gen_systemd_unit_name },
        [OUT_DOCS] = { "docs", ".md", idl_gen_docs, NULL },
        [OUT_MAN] = { "man", ".7", idl_gen_man, NULL },
};

static void usage(FILE *out) {
        fputs("Usage: busrpc-idlc [OPTION]... FILE.idl|FILE.xml\n"
              "Compile a busrpc IDL file, or D-Bus introspection XML, into C code\n"
              "for libbusrpc, introspection XML, or canonical IDL.\n"
              "\n"
              "Outputs (default: --header --client --server --xml):\n"
              "      --header        MODULE.h: types and the client and server API\n"
              "      --client        MODULE-client.c: typed client stubs\n"
              "      --server        MODULE-server.c: server skeletons\n"
              "      --xml           MODULE.xml: D-Bus introspection XML\n"
              "      --idl           MODULE.idl: canonical IDL (e.g. from XML)\n"
              "      --service-file  BUS_NAME.service: D-Bus activation file (needs\n"
              "                      @bus_name and @exec)\n"
              "      --bus-policy    BUS_NAME.conf: system bus policy (needs @bus_name;\n"
              "                      the owner is @user, default root)\n"
              "      --systemd-unit  UNIT.service: hardened Type=dbus unit (needs\n"
              "                      @bus_name, @exec and @systemd_service, its name)\n"
              "      --docs          MODULE.md: Markdown reference of the interfaces\n"
              "      --man           MODULE.7: the same as a man page (section 7)\n"
              "\n"
              "Options:\n"
              "  -o, --output=DIR    write the outputs into DIR (default: .), created\n"
              "                      if missing;\n"
              "                      '-' writes the one selected output to stdout\n"
              "  -I, --include=DIR   search DIR for imported files (repeatable);\n"
              "                      the importing file's directory is searched first\n"
              "      --check         parse and check only; write nothing\n"
              "      --compat OLD NEW\n"
              "                      compare two versions of an API (IDL or XML),\n"
              "                      say whom each change breaks; exit 1 if one does\n"
              "      --compat-level=LEVEL\n"
              "                      what breaks: wire (default: what breaks peers\n"
              "                      on D-Bus), source (also the generated C API),\n"
              "                      strict (any change to an existing member)\n"
              "  -h, --help          show this help and exit\n"
              "  -V, --version       show the version and exit\n"
              "\n"
              "MODULE is the name given by 'module NAME;' (default: the input's base\n"
              "name). Outputs are written only when there is no error.\n"
              "Exit status: 0 success, 1 errors in the input or output, 2 usage error.\n",
              out);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("busrpc-idlc: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'busrpc-idlc --help' for more information.\n", stderr);
        return 2;
}

/* Remove dir and its parents up to top, which make_dirs() created; each
 * only if empty. */
static void remove_dirs(const char *dir, const char *top) {
        char *p = idl_xstrdup(dir);
        size_t n = strlen(p), ntop = strlen(top);

        for (;;) {
                while (n > 1 && p[n - 1] == '/')
                        p[--n] = '\0';
                if (rmdir(p) != 0 || n <= ntop)
                        break;
                while (n > 0 && p[n - 1] != '/')
                        n--;
                p[n] = '\0';
        }
        free(p);
}

typedef struct Pending {
        char *tmp;   /* temporary file in the output directory */
        char *final; /* where it goes */
} Pending;

static bool same_file(const char *a, const struct stat *st_b) {
        struct stat st;
        return stat(a, &st) == 0 && st.st_dev == st_b->st_dev && st.st_ino == st_b->st_ino;
}

/* 0, or -errno / -ENOSYS as the generator said; the temporary file is
 * recorded in p even on failure so the caller removes it. */
static int gen_to_temp(const IdlUnit *u, int which, const char *dir, mode_t mode, Pending *p) {
        const char *base = idl_gen_basename(u);
        int fd, r, errors = idl_diag_errors();
        FILE *f;

        if (outputs[which].file_name) {
                char *name = outputs[which].file_name(u);
                p->final = idl_xasprintf("%s/%s", dir, name);
                p->tmp = idl_xasprintf("%s/.%s.XXXXXX", dir, name);
                free(name);
        } else {
                p->final = idl_xasprintf("%s/%s%s", dir, base, outputs[which].suffix);
                p->tmp = idl_xasprintf("%s/.%s%s.XXXXXX", dir, base, outputs[which].suffix);
        }
        fd = mkstemp(p->tmp);
        if (fd < 0) {
                r = -errno;
                free(p->tmp);
                p->tmp = NULL;
                idl_error_noloc("cannot create a file in '%s': %s", dir, strerror(-r));
                return r;
        }
        (void)fchmod(fd, mode);
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                idl_error_noloc("cannot write '%s': %s", p->final, strerror(-r));
                return r;
        }
        r = outputs[which].gen(u, f);
        if (r >= 0 && (fflush(f) != 0 || ferror(f)))
                r = errno ? -errno : -EIO;
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r == -ENOSYS)
                idl_error_noloc("output '%s' is not implemented", outputs[which].name);
        else if (r < 0)
                idl_error_noloc("cannot write '%s': %s", p->final, strerror(-r));
        else if (idl_diag_errors() > errors)
                r = -EINVAL; /* the generator reported why */
        return r < 0 ? r : 0;
}

/* mkdir -p dir, mode 0777 & ~umask. *ret_top is the outermost directory
 * created (caller frees), or NULL when none was; on failure nothing created
 * is left behind. */
static int make_dirs(const char *dir, char **ret_top) {
        char *p = idl_xstrdup(dir), *top = NULL;
        int r = 0;

        for (char *s = p;; s++) {
                char ch = *s;
                if (ch != '/' && ch != '\0')
                        continue;
                if (s == p) { /* "/..." or "" */
                        if (ch)
                                continue;
                        r = -ENOENT;
                        break;
                }
                *s = '\0';
                /* "a//b" and a trailing '/' give empty components: skip them. */
                if (s[-1] != '/') {
                        if (mkdir(p, 0777) == 0) {
                                if (!top)
                                        top = idl_xstrdup(p);
                        } else if (errno != EEXIST) {
                                r = -errno;
                                *s = ch;
                                break;
                        }
                }
                *s = ch;
                if (!ch)
                        break;
        }
        free(p);
        if (r < 0 && top) {
                remove_dirs(dir, top);
                free(top);
                top = NULL;
        }
        *ret_top = top;
        return r;
}

static int generate(const IdlUnit *u, const bool *want, const char *dir) {
        Pending pend[N_OUT] = { { 0 } };
        struct stat st;
        mode_t mask;
        int failed = 0, r;
        char *created = NULL;

        /* Only now, with the input checked: an error creates nothing. */
        if (stat(dir, &st) != 0 && errno == ENOENT && (r = make_dirs(dir, &created)) < 0) {
                idl_error_noloc("cannot create the output directory '%s': %s", dir, strerror(-r));
                return -1;
        }
        if (stat(dir, &st) != 0) {
                idl_error_noloc("output directory '%s': %s", dir, strerror(errno));
                goto fail_dir;
        }
        if (!S_ISDIR(st.st_mode)) {
                idl_error_noloc("output directory '%s': not a directory", dir);
                goto fail_dir;
        }
        mask = umask(0);
        umask(mask);
        for (int i = 0; i < N_OUT && !failed; i++) {
                if (!want[i])
                        continue;
                if (gen_to_temp(u, i, dir, 0666 & ~mask, &pend[i]) < 0)
                        failed = 1;
                /* Never replace an input with an output (calc.idl --idl -o .). */
                for (size_t k = 0; !failed && k < u->n_files; k++) {
                        if (stat(u->files[k]->path, &st) == 0 && same_file(pend[i].final, &st)) {
                                idl_error_noloc("output '%s' would overwrite the input '%s'",
                                                pend[i].final, u->files[k]->path);
                                failed = 1;
                        }
                }
                /* --service-file and --systemd-unit may choose one name. */
                for (int k = 0; !failed && k < i; k++) {
                        if (pend[k].final && strcmp(pend[k].final, pend[i].final) == 0) {
                                idl_error_noloc("outputs '%s' and '%s' would both be written to '%s'",
                                                outputs[k].name, outputs[i].name, pend[i].final);
                                failed = 1;
                        }
                }
        }
        for (int i = 0; i < N_OUT; i++) {
                if (!pend[i].tmp)
                        goto next;
                if (!failed && rename(pend[i].tmp, pend[i].final) != 0) {
                        idl_error_noloc("cannot rename '%s' to '%s': %s", pend[i].tmp,
                                        pend[i].final, strerror(errno));
                        failed = 1;
                }
                if (failed)
                        unlink(pend[i].tmp);
        next:
                free(pend[i].tmp);
                free(pend[i].final);
        }
        if (!failed) {
                free(created);
                return 0;
        }
fail_dir:
        if (created)
                remove_dirs(dir, created);
        free(created);
        return -1;
}

/* -o -: the single selected output goes to stdout, only once complete. */
static int generate_stdout(const IdlUnit *u, int which) {
        char *buf = NULL;
        size_t len = 0;
        int r, errors = idl_diag_errors();
        FILE *f = open_memstream(&buf, &len);

        if (!f) {
                idl_error_noloc("cannot allocate the output: %s", strerror(errno));
                return -1;
        }
        r = outputs[which].gen(u, f);
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r == -ENOSYS)
                idl_error_noloc("output '%s' is not implemented", outputs[which].name);
        else if (r < 0)
                idl_error_noloc("cannot generate '%s': %s", outputs[which].name, strerror(-r));
        if (r >= 0 && idl_diag_errors() == errors) {
                if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
                        idl_error_noloc("cannot write to stdout: %s", strerror(errno));
                        r = -EIO;
                }
        } else if (r >= 0) {
                r = -EINVAL;
        }
        free(buf);
        return r < 0 ? -1 : 0;
}

/* --compat OLD NEW: both inputs are read and checked, so one run shows
 * every problem; then compat.c compares them. */
static int compat_main(const char *old_path, const char *new_path, const char *const *incs,
                       size_t n_incs, IdlCompatLevel level) {
        IdlUnit *o, *n;
        int errors, status;

        o = idl_load(old_path, incs, n_incs);
        if (idl_diag_errors() == 0)
                idl_check(o);
        errors = idl_diag_errors();
        n = idl_load(new_path, incs, n_incs);
        if (idl_diag_errors() == errors)
                idl_check(n);
        if (idl_diag_errors() == 0)
                idl_compat(o, n, level);
        status = idl_diag_errors() ? 1 : 0;
        idl_unit_free(o);
        idl_unit_free(n);
        idl_diag_reset();
        return status;
}

int main(int argc, char **argv) {
        enum { OPT_CHECK = 256, OPT_HEADER, OPT_CLIENT, OPT_SERVER, OPT_XML, OPT_IDL };
        /* The outputs from OUT_SERVICE_FILE on, in the same order. */
        enum { OPT_SERVICE_FILE = 512, OPT_BUS_POLICY, OPT_SYSTEMD_UNIT, OPT_DOCS, OPT_MAN };
        enum { OPT_COMPAT = 768, OPT_COMPAT_LEVEL };
        static const struct option longopts[] = {
                { "output", required_argument, NULL, 'o' },
                { "include", required_argument, NULL, 'I' },
                { "check", no_argument, NULL, OPT_CHECK },
                { "compat", no_argument, NULL, OPT_COMPAT },
                { "compat-level", required_argument, NULL, OPT_COMPAT_LEVEL },
                { "header", no_argument, NULL, OPT_HEADER },
                { "client", no_argument, NULL, OPT_CLIENT },
                { "server", no_argument, NULL, OPT_SERVER },
                { "xml", no_argument, NULL, OPT_XML },
                { "idl", no_argument, NULL, OPT_IDL },
                { "service-file", no_argument, NULL, OPT_SERVICE_FILE },
                { "bus-policy", no_argument, NULL, OPT_BUS_POLICY },
                { "systemd-unit", no_argument, NULL, OPT_SYSTEMD_UNIT },
                { "docs", no_argument, NULL, OPT_DOCS },
                { "man", no_argument, NULL, OPT_MAN },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        const char *dir = ".", **incs;
        bool want[N_OUT] = { false }, any = false, check_only = false;
        bool compat = false, level_given = false;
        IdlCompatLevel level = IDL_COMPAT_WIRE;
        size_t n_incs = 0;
        IdlUnit *u;
        int c, status, n_want = 0, which = 0;
        char opt[3] = "-?";

        incs = idl_xcalloc((size_t)argc + 1, sizeof(*incs));
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":o:I:hV", longopts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        dir = optarg;
                        break;
                case 'I':
                        incs[n_incs++] = optarg;
                        break;
                case OPT_CHECK:
                        check_only = true;
                        break;
                case OPT_COMPAT:
                        compat = true;
                        break;
                case OPT_COMPAT_LEVEL:
                        if (idl_compat_level_parse(optarg, &level) < 0) {
                                free(incs);
                                return usage_error("invalid --compat-level '%s': expected wire, "
                                                   "source or strict", optarg);
                        }
                        level_given = true;
                        break;
                case OPT_HEADER: case OPT_CLIENT: case OPT_SERVER: case OPT_XML: case OPT_IDL:
                        want[c - OPT_HEADER] = true;
                        any = true;
                        break;
                case OPT_SERVICE_FILE: case OPT_BUS_POLICY: case OPT_SYSTEMD_UNIT: case OPT_DOCS:
                case OPT_MAN:
                        want[OUT_SERVICE_FILE + (c - OPT_SERVICE_FILE)] = true;
                        any = true;
                        break;
                case 'h':
                        usage(stdout);
                        free(incs);
                        return 0;
                case 'V':
                        printf("busrpc-idlc %s\n", PACKAGE_VERSION);
                        free(incs);
                        return 0;
                case ':':
                        free(incs);
                        if (optopt) {
                                opt[1] = (char)optopt;
                                return usage_error("option '%s' requires an argument",
                                                   optopt < 256 ? opt : argv[optind - 1]);
                        }
                        return usage_error("option '%s' requires an argument", argv[optind - 1]);
                default:
                        free(incs);
                        if (optopt && optopt < 256) {
                                opt[1] = (char)optopt;
                                return usage_error("unknown option '%s'", opt);
                        }
                        return usage_error("unknown option '%s'", argv[optind - 1]);
                }
        }
        if (level_given && !compat) {
                free(incs);
                return usage_error("%s", "--compat-level needs --compat");
        }
        if (compat) {
                if (any || check_only || strcmp(dir, ".") != 0) {
                        free(incs);
                        return usage_error("%s", "--compat writes no output: it takes no "
                                                 "output option, -o or --check");
                }
                if (argc - optind != 2) {
                        free(incs);
                        return usage_error("%s", "--compat needs two input files, OLD and NEW");
                }
                status = compat_main(argv[optind], argv[optind + 1], incs, n_incs, level);
                free(incs);
                return status;
        }
        if (optind >= argc) {
                free(incs);
                return usage_error("%s", "no input file");
        }
        if (argc - optind > 1) {
                free(incs);
                return usage_error("more than one input file ('%s' and more)", argv[optind + 1]);
        }
        if (!any)
                want[OUT_HEADER] = want[OUT_CLIENT] = want[OUT_SERVER] = want[OUT_XML] = true;
        for (int i = 0; i < N_OUT; i++) {
                if (want[i]) {
                        n_want++;
                        which = i;
                }
        }
        if (!check_only && strcmp(dir, "-") == 0 && n_want != 1) {
                free(incs);
                return usage_error("%s", "'-o -' needs exactly one output option (--header, "
                                         "--client, --xml, --docs, ...)");
        }

        u = idl_load(argv[optind], incs, n_incs);
        if (idl_diag_errors() == 0)
                idl_check(u);
        if (idl_diag_errors() == 0 && !check_only) {
                if (strcmp(dir, "-") == 0)
                        generate_stdout(u, which);
                else
                        generate(u, want, dir);
        }
        status = idl_diag_errors() ? 1 : 0;
        idl_unit_free(u);
        idl_diag_reset();
        free(incs);
        return status;
}
