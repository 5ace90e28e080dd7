/*
 * bench_jos.c: JOS decode/encode throughput and allocations per message.
 *
 *   bench_jos [SHARED_DIR]
 *
 * Workloads: every golden command (../shared/golden/05-*, 06-*, 07-*), and a
 * ProxyOutputStream$Chunk carrying 1 MiB of build output. The chunk is decoded with
 * JOS_DEC_BORROW (the byte[] points into the input: no copy) and built with borrow = true (the
 * only copy is the encoder's, into the output buffer).
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "jos.h"

#define MAX_FILES 128
#define RUN_SECONDS 0.5

struct input {
    uint8_t *p;
    size_t len;
};

static double
now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    long n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n + 1);
        if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
        *len = (size_t)n;
    }
    (void)fclose(f);
    return p;
}

static size_t
load_golden(const char *shared, struct input *in)
{
    char dir[512];
    DIR *d;
    struct dirent *de;
    size_t n = 0;

    (void)snprintf(dir, sizeof(dir), "%s/golden", shared);
    d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    while ((de = readdir(d)) != NULL && n < MAX_FILES) {
        char path[1024];

        if (strncmp(de->d_name, "05-", 3) != 0 && strncmp(de->d_name, "06-", 3) != 0 &&
            strncmp(de->d_name, "07-", 3) != 0) {
            continue;
        }
        (void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        in[n].p = read_file(path, &in[n].len);
        if (in[n].p != NULL) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Decode all inputs repeatedly for RUN_SECONDS; report MB/s and allocations per message. */
static void
bench_decode(const char *name, const struct input *in, size_t n, uint32_t flags)
{
    double t0 = now();
    double t;
    uint64_t bytes = 0;
    uint64_t msgs = 0;
    struct ag_alloc_stats a0;
    struct ag_alloc_stats a1;

    ag_alloc_stats_get(&a0);
    do {
        for (size_t i = 0; i < n; i++) {
            struct jos_msg *m = NULL;
            struct ag_err err;

            if (jos_decode(in[i].p, in[i].len, NULL, flags, &m, &err) != 0) {
                (void)fprintf(stderr, "decode failed: %s\n", err.msg);
                exit(1);
            }
            jos_msg_free(m);
            bytes += in[i].len;
            msgs++;
        }
        t = now() - t0;
    } while (t < RUN_SECONDS);
    ag_alloc_stats_get(&a1);
    (void)printf("decode %-28s %8.1f MB/s %9.0f msg/s %6.1f allocs/msg\n", name,
                 (double)bytes / t / 1e6, (double)msgs / t,
                 (double)(a1.allocs - a0.allocs) / (double)msgs);
}

static void
bench_encode(const char *name, const struct input *in, size_t n)
{
    struct jos_msg **ms = calloc(n, sizeof(*ms));
    double t0;
    double t;
    uint64_t bytes = 0;
    uint64_t msgs = 0;
    struct ag_alloc_stats a0;
    struct ag_alloc_stats a1;
    struct ag_buf out;

    for (size_t i = 0; i < n; i++) {
        struct ag_err err;

        if (jos_decode(in[i].p, in[i].len, NULL, JOS_DEC_BORROW, &ms[i], &err) != 0) {
            exit(1);
        }
    }
    ag_buf_init(&out, (size_t)64 << 20);
    ag_alloc_stats_get(&a0);
    t0 = now();
    do {
        for (size_t i = 0; i < n; i++) {
            struct ag_err err;

            ag_buf_reset(&out);
            if (jos_encode(&out, ms[i]->top.items, ms[i]->top.n, &err) != 0 ||
                out.len != in[i].len) {
                (void)fprintf(stderr, "encode failed: %s\n", err.msg);
                exit(1);
            }
            bytes += out.len;
            msgs++;
        }
        t = now() - t0;
    } while (t < RUN_SECONDS);
    ag_alloc_stats_get(&a1);
    (void)printf("encode %-28s %8.1f MB/s %9.0f msg/s %6.1f allocs/msg\n", name,
                 (double)bytes / t / 1e6, (double)msgs / t,
                 (double)(a1.allocs - a0.allocs) / (double)msgs);
    ag_buf_fini(&out);
    for (size_t i = 0; i < n; i++) {
        jos_msg_free(ms[i]);
    }
    free(ms);
}

/* Build + encode a 1 MiB Chunk per iteration, as the pipe writer would. */
static void
bench_build_chunk(const uint8_t *data, size_t len)
{
    double t0 = now();
    double t;
    uint64_t bytes = 0;
    uint64_t msgs = 0;
    struct ag_alloc_stats a0;
    struct ag_alloc_stats a1;
    struct ag_buf out;

    ag_buf_init(&out, (size_t)64 << 20);
    ag_alloc_stats_get(&a0);
    do {
        struct jos_msg *m = NULL;
        struct jos_val *c;
        struct ag_err err;

        if (jos_msg_new(NULL, 0, &m) != 0) {
            exit(1);
        }
        c = jos_new_object(m, "hudson.remoting.ProxyOutputStream$Chunk");
        (void)jos_set_int(m, c, "oid", 3);
        (void)jos_set_obj(m, c, "buf", jos_new_bytes(m, data, len, true));
        (void)jos_msg_add(m, c);
        ag_buf_reset(&out);
        if (jos_msg_encode(m, &out, &err) != 0) {
            (void)fprintf(stderr, "encode failed: %s\n", err.msg);
            exit(1);
        }
        jos_msg_free(m);
        bytes += out.len;
        msgs++;
        t = now() - t0;
    } while (t < RUN_SECONDS);
    ag_alloc_stats_get(&a1);
    (void)printf("build+encode %-22s %8.1f MB/s %9.0f msg/s %6.1f allocs/msg\n",
                 "Chunk 1 MiB (borrowed)", (double)bytes / t / 1e6, (double)msgs / t,
                 (double)(a1.allocs - a0.allocs) / (double)msgs);
    ag_buf_fini(&out);
}

int
main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : AG_SHARED_DIR;
    struct input in[MAX_FILES];
    size_t n = load_golden(shared, in);
    size_t big_len = (size_t)1 << 20;
    uint8_t *big = malloc(big_len);
    struct jos_msg *m = NULL;
    struct ag_buf chunk;
    struct ag_err err;
    struct input cin;
    size_t total = 0;

    if (n == 0) {
        (void)fprintf(stderr, "no golden files under %s/golden\n", shared);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        total += in[i].len;
    }
    (void)printf("%zu golden commands, %zu bytes\n", n, total);
    if (getenv("BENCH_ENCODE_ONLY") != NULL) {
        bench_encode("golden commands", in, n);
        return 0;
    }
    bench_decode("golden commands (copy)", in, n, 0);
    bench_decode("golden commands (borrow)", in, n, JOS_DEC_BORROW);
    bench_encode("golden commands", in, n);

    /* Build output: printable text. */
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (uint8_t)(i % 80 == 79 ? '\n' : 'a' + i % 26);
    }
    if (jos_msg_new(NULL, 0, &m) != 0) {
        return 1;
    }
    {
        struct jos_val *c = jos_new_object(m, "hudson.remoting.ProxyOutputStream$Chunk");

        (void)jos_set_int(m, c, "oid", 3);
        (void)jos_set_obj(m, c, "buf", jos_new_bytes(m, big, big_len, true));
        (void)jos_msg_add(m, c);
    }
    ag_buf_init(&chunk, (size_t)64 << 20);
    if (jos_msg_encode(m, &chunk, &err) != 0) {
        return 1;
    }
    jos_msg_free(m);
    cin.p = chunk.data;
    cin.len = chunk.len;
    bench_decode("Chunk 1 MiB (copy)", &cin, 1, 0);
    bench_decode("Chunk 1 MiB (borrow)", &cin, 1, JOS_DEC_BORROW);
    bench_encode("Chunk 1 MiB", &cin, 1);
    bench_build_chunk(big, big_len);
    ag_buf_fini(&chunk);
    free(big);
    for (size_t i = 0; i < n; i++) {
        free(in[i].p);
    }
    return 0;
}
