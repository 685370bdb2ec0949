/* bulk-client: sends a file to org.example.Bulk as shm and prints the
 * SHA-256 the service computed, and the throughput.
 *
 *   bulk-client [--bus ADDRESS | --peer ADDRESS] [--inline] FILE
 *   bulk-client --local FILE
 *
 * --inline also sends the file as byte[] inside the message, to compare
 * the two paths. --local computes the digest here and prints it as
 * sha256sum does (tests compare the two).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bulk.h"
#include "sha256.h"

#define BULK_NAME "org.example.Bulk"
#define BULK_PATH "/org/example/Bulk"
/* Inline bytes go through the socket and the bus: keep them reasonable. */
#define INLINE_MAX (64u << 20)

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read all of @fd into @buf (@size bytes). */
static int read_all(int fd, uint8_t *buf, size_t size) {
        size_t done = 0;

        while (done < size) {
                ssize_t n = read(fd, buf + done, size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO; /* the file shrank under us */
                done += (size_t)n;
        }
        return 0;
}

/* The file in a new shm buffer, not yet sealed. */
static int load_file(const char *path, busrpc_shm **out) {
        struct stat st;
        busrpc_shm *shm;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                r = S_ISREG(st.st_mode) ? -errno : -EINVAL;
                close(fd);
                return r;
        }
        r = busrpc_shm_new((size_t)st.st_size, &shm);
        if (r >= 0) {
                r = read_all(fd, busrpc_shm_data(shm), (size_t)st.st_size);
                if (r < 0)
                        busrpc_shm_unref(shm);
                else
                        *out = shm;
        }
        close(fd);
        return r;
}

static void print_rate(const char *what, uint64_t size, double seconds) {
        double mib = (double)size / (1024.0 * 1024.0);

        printf("  %s: %.1f MiB in %.1f ms = %.0f MiB/s (hashing included)\n", what, mib, seconds * 1e3,
               seconds > 0 ? mib / seconds : 0.0);
}

static int report(const char *what, int r, busrpc_error *err) {
        if (r == -EREMOTEIO && busrpc_error_is_set(err))
                fprintf(stderr, "bulk-client: %s: %s: %s\n", what, err->name, err->message);
        else
                fprintf(stderr, "bulk-client: %s: %s\n", what, strerror(-r));
        busrpc_error_clear(err);
        return 1;
}

static void usage(FILE *f) {
        fprintf(f, "usage: bulk-client [--bus ADDRESS | --peer ADDRESS] [--inline] FILE\n"
                   "       bulk-client --local FILE\n");
}

int main(int argc, char **argv) {
        const char *bus = NULL, *peer = NULL, *file = NULL;
        bool inline_too = false, local = false;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_conn *conn = NULL;
        busrpc_proxy *proxy = NULL;
        busrpc_shm *shm = NULL;
        uint64_t size;
        char *digest;
        double t0;
        int r, status = 1;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc)
                        bus = argv[++i];
                else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
                        peer = argv[++i];
                else if (strcmp(argv[i], "--inline") == 0)
                        inline_too = true;
                else if (strcmp(argv[i], "--local") == 0)
                        local = true;
                else if (strcmp(argv[i], "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else if (argv[i][0] != '-' && !file)
                        file = argv[i];
                else {
                        usage(stderr);
                        return 2;
                }
        }
        if (!file || (bus && peer)) {
                usage(stderr);
                return 2;
        }

        r = load_file(file, &shm);
        if (r < 0) {
                fprintf(stderr, "bulk-client: %s: %s\n", file, strerror(-r));
                return 1;
        }
        if (local) {
                char hex[SHA256_HEX_SIZE];

                sha256_hex(busrpc_shm_data(shm), busrpc_shm_size(shm), hex);
                printf("%s  %s\n", hex, file);
                busrpc_shm_unref(shm);
                return 0;
        }

        r = peer ? busrpc_conn_open_peer(peer, &conn) : busrpc_conn_open(bus ? bus : "session", &conn);
        if (r < 0) {
                fprintf(stderr, "bulk-client: cannot connect: %s\n", strerror(-r));
                goto out;
        }
        r = bulk_proxy_new(conn, peer ? NULL : BULK_NAME, BULK_PATH, &proxy);
        if (r < 0)
                goto out;
        printf("%s: %zu bytes\n", file, busrpc_shm_size(shm));

        /* The call seals the buffer; from then on nobody can write it. */
        t0 = now_s();
        r = bulk_digest(proxy, shm, &digest, &size, &err);
        if (r < 0) {
                status = report("Digest", r, &err);
                goto out;
        }
        printf("Digest(shm) = %s, %" PRIu64 " bytes\n", digest, size);
        print_rate("shm (memfd)", size, now_s() - t0);
        free(digest);

        if (inline_too) {
                /* Still readable after sealing: send the same bytes inline. */
                bulk_byte_array bytes = { (uint8_t *)busrpc_shm_const_data(shm), busrpc_shm_size(shm) };

                if (bytes.n > INLINE_MAX) {
                        fprintf(stderr, "bulk-client: --inline: at most %u bytes\n", INLINE_MAX);
                        goto out;
                }
                t0 = now_s();
                r = bulk_digest_bytes(proxy, &bytes, &digest, &size, &err);
                if (r < 0) {
                        status = report("DigestBytes", r, &err);
                        goto out;
                }
                printf("DigestBytes(byte[]) = %s, %" PRIu64 " bytes\n", digest, size);
                print_rate("inline (byte[])", size, now_s() - t0);
                free(digest);
        }
        status = 0;
out:
        busrpc_shm_unref(shm);
        busrpc_proxy_unref(proxy);
        busrpc_conn_unref(conn);
        return status;
}
