/*
 * bench_exec.c: the process layer's costs.
 *
 *   bench_exec [bytes] [spawns]
 *
 * 1. Throughput: `yes | head -c <bytes>` (default 1 GiB) read through exec_proc, counting bytes
 *    in on_data: MiB/s of wall time, and CPU seconds of our own process (getrusage
 *    RUSAGE_SELF, user + system) per GiB. The children's CPU is not ours and is not counted.
 * 2. Per-step overhead: `true` spawned <spawns> times (default 200) one after another; the time
 *    from exec_proc_spawn() to on_exit, median and 90th percentile.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "err.h"
#include "proc.h"

struct state {
    uint64_t bytes;
    bool done;
    int code;
};

static void
on_data(struct exec_proc *p, enum exec_stream s, struct ag_iov d, void *arg)
{
    struct state *st = arg;

    (void)p;
    (void)s;
    st->bytes += d.len;
}

static void
on_exit_cb(struct exec_proc *p, const struct exec_exit *ex, void *arg)
{
    struct state *st = arg;

    st->done = true;
    st->code = ex->code;
    exec_proc_close(p, NULL, NULL);
}

static double
cpu_seconds(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return x < y ? -1 : (x > y ? 1 : 0);
}

static int
run_one(uv_loop_t *loop, char **argv, struct state *st, size_t chunk)
{
    struct exec_proc_opts o;
    struct exec_proc *p = NULL;
    struct ag_err err = {0};
    int rc = 0;

    memset(st, 0, sizeof(*st));
    exec_proc_opts_init(&o);
    o.argv = argv;
    o.merge_stderr = true;
    o.read_chunk = chunk;
    o.on_data = on_data;
    o.on_exit = on_exit_cb;
    o.arg = st;
    rc = exec_proc_spawn(loop, &o, &p, &err);
    if (rc != 0) {
        fprintf(stderr, "spawn failed: %s\n", err.msg);
        return rc;
    }
    (void)uv_run(loop, UV_RUN_DEFAULT);
    return st->done ? 0 : -1;
}

int
main(int argc, char **argv)
{
    uint64_t bytes = argc > 1 ? strtoull(argv[1], NULL, 10) : (1ull << 30);
    size_t spawns = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 200;
    char script[128];
    char *yes_argv[] = {"/bin/sh", "-c", script, NULL};
    char *true_argv[] = {"/bin/true", NULL};
    uv_loop_t loop;
    struct state st;
    uint64_t *lat = NULL;
    uint64_t t0 = 0;
    double c0 = 0;
    double wall = 0;
    double cpu = 0;

    (void)signal(SIGPIPE, SIG_IGN);
    if (bytes == 0 || spawns == 0 || uv_loop_init(&loop) != 0) {
        fprintf(stderr, "usage: bench_exec [bytes] [spawns]\n");
        return 2;
    }
    (void)snprintf(script, sizeof(script), "yes | head -c %llu", (unsigned long long)bytes);
    c0 = cpu_seconds();
    t0 = uv_hrtime();
    if (run_one(&loop, yes_argv, &st, EXEC_PROC_DEFAULT_READ_CHUNK) != 0 || st.bytes != bytes) {
        fprintf(stderr, "throughput run failed: %llu bytes, exit %d\n",
                (unsigned long long)st.bytes, st.code);
        return 1;
    }
    wall = (double)(uv_hrtime() - t0) / 1e9;
    cpu = cpu_seconds() - c0;
    printf("throughput: %llu bytes in %.3f s = %.0f MiB/s; our CPU %.3f s = %.3f CPU s/GiB\n",
           (unsigned long long)bytes, wall, (double)bytes / wall / (1024.0 * 1024.0), cpu,
           cpu / ((double)bytes / (1024.0 * 1024.0 * 1024.0)));

    lat = calloc(spawns, sizeof(*lat));
    if (lat == NULL) {
        return 1;
    }
    for (size_t i = 0; i < spawns; i++) {
        t0 = uv_hrtime();
        if (run_one(&loop, true_argv, &st, 4096) != 0 || st.code != 0) {
            fprintf(stderr, "spawn %zu failed\n", i);
            return 1;
        }
        lat[i] = uv_hrtime() - t0;
    }
    qsort(lat, spawns, sizeof(*lat), cmp_u64);
    printf("spawn `true` to exit report: median %.3f ms, p90 %.3f ms, min %.3f ms (%zu runs)\n",
           (double)lat[spawns / 2] / 1e6, (double)lat[spawns * 9 / 10] / 1e6, (double)lat[0] / 1e6,
           spawns);
    free(lat);
    (void)uv_loop_close(&loop);
    return 0;
}
