#include "harness.h"

#include <stdlib.h>

int t_failed_checks;

void
t_dump_mismatch_(const char *file, int line, const char *what, const void *a, size_t alen,
                 const void *b, size_t blen)
{
    const uint8_t *x = a;
    const uint8_t *y = b;
    size_t i = 0;

    while (i < alen && i < blen && x[i] == y[i]) {
        i++;
    }
    (void)fprintf(stderr, "%s:%d: %s: bytes differ (lengths %zu and %zu), first difference at %zu",
                  file, line, what, alen, blen, i);
    if (i < alen && i < blen) {
        (void)fprintf(stderr, ": %02x != %02x", x[i], y[i]);
    }
    (void)fprintf(stderr, "\n");
}

uint8_t *
t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    size_t cap = 0;
    size_t n = 0;

    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        size_t r;

        if (n == cap) {
            uint8_t *q;

            cap = cap == 0 ? 65536 : cap * 2;
            q = realloc(p, cap);
            if (q == NULL) {
                free(p);
                (void)fclose(f);
                return NULL;
            }
            p = q;
        }
        r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            break;
        }
    }
    (void)fclose(f);
    *len = n;
    return p;
}

const char *
t_source_dir(void)
{
    return AG_SOURCE_DIR;
}

const char *
t_shared_dir(void)
{
    const char *s = getenv("AG_SHARED_DIR");
    return s != NULL ? s : AG_SHARED_DIR;
}

int
t_run(const char *suite, const struct t_case *cases, size_t n)
{
    int failed = 0;

    for (size_t i = 0; i < n; i++) {
        int before = t_failed_checks;

        cases[i].fn();
        if (t_failed_checks != before) {
            (void)fprintf(stderr, "FAIL %s: %s\n", suite, cases[i].name);
            failed++;
        } else {
            (void)fprintf(stderr, "ok   %s\n", cases[i].name);
        }
    }
    (void)fprintf(stderr, "%s: %zu tests, %d failed\n", suite, n, failed);
    return failed > 100 ? 100 : failed;
}
