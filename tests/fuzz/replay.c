/*
 * replay.c: runs a libFuzzer target over files without libFuzzer, so every build (including the
 * sanitizer build) replays each corpus under ctest. Arguments are files or directories.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;

    if (f == NULL) {
        (void)fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        (void)fclose(f);
        return 1;
    }
    buf = malloc((size_t)len + 1);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        (void)fclose(f);
        return 1;
    }
    (void)fclose(f);
    (void)LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    return 0;
}

static int
run_path(const char *path, int *count)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (stat(path, &st) != 0) {
        (void)fprintf(stderr, "cannot stat %s\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    d = opendir(path);
    if (d == NULL) {
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[4096];

        if (e->d_name[0] == '.') {
            continue;
        }
        if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int)sizeof(sub)) {
            rc = 1;
            continue;
        }
        rc |= run_path(sub, count);
    }
    (void)closedir(d);
    return rc;
}

int
main(int argc, char **argv)
{
    int count = 0;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        rc |= run_path(argv[i], &count);
    }
    (void)fprintf(stderr, "replayed %d inputs\n", count);
    return rc;
}
