/*
 * export.c: our export table (channel.md 6.1): oid 1 is the channel itself (IChannel, handled
 * in rem__rpc_dispatch), ours count up from 2 and are never reused; each entry has a reference
 * count dropped by UnexportCommand, ProxyOutputStream$EOF/$Unexport and ProxyInputStream$EOF.
 * Live entries are kept in one array (capped at REM_MAX_EXPORTS); the number of live exports
 * is small (streams and processes of running steps), so lookups scan it.
 */
#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "rem_int.h"

struct rem_export *
rem__export_find(struct rem_channel *ch, int32_t oid)
{
    for (uint32_t i = 0; i < ch->nexports; i++) {
        if (ch->exports[i].oid == oid) {
            return &ch->exports[i];
        }
    }
    return NULL;
}

int
rem__export_add(struct rem_channel *ch, struct rem_export *e, int32_t *oid)
{
    if (ch->state == REM_CH_DEAD) {
        return AG_ECLOSED;
    }
    if (ch->nexports >= REM_MAX_EXPORTS || ch->next_oid == INT32_MAX) {
        return AG_ELIMIT;
    }
    if (ch->nexports == ch->exports_cap) {
        uint32_t ncap = ch->exports_cap == 0 ? 8 : ch->exports_cap * 2;
        struct rem_export *n = ag_realloc(ch->exports, (size_t)ncap * sizeof(*n));

        if (n == NULL) {
            return AG_ENOMEM;
        }
        ch->exports = n;
        ch->exports_cap = ncap;
    }
    e->oid = ch->next_oid++;
    e->refs = 1;
    ch->exports[ch->nexports++] = *e;
    *oid = e->oid;
    return 0;
}

static void
export_release(struct rem_export e, const char *close_error)
{
    if (e.kind == REM_EXP_SINK) {
        e.sink->close(e.obj, close_error);
    } else if (e.kind == REM_EXP_SOURCE) {
        e.source->close(e.obj);
    } else if (e.ops->release != NULL) {
        e.ops->release(e.obj);
    }
}

void
rem__export_unref(struct rem_channel *ch, int32_t oid, const char *close_error)
{
    struct rem_export *e = rem__export_find(ch, oid);
    struct rem_export copy;
    size_t i;

    if (e == NULL) {
        return;
    }
    if (--e->refs > 0) {
        return;
    }
    copy = *e;
    i = (size_t)(e - ch->exports);
    memmove(&ch->exports[i], &ch->exports[i + 1], (ch->nexports - i - 1) * sizeof(*e));
    ch->nexports--;
    AG_LOG_DEBUG(REM_LOG, "%s: export %" PRId32 " released", ch->name, oid);
    export_release(copy, close_error); /* after unlinking: it may export again */
}

void
rem__exports_terminate(struct rem_channel *ch)
{
    while (ch->nexports > 0) {
        struct rem_export e = ch->exports[ch->nexports - 1];

        ch->nexports--;
        export_release(e, "channel closed");
    }
}

int
rem_channel_export(struct rem_channel *ch, const struct rem_object_ops *ops, void *obj,
                   int32_t *oid)
{
    struct rem_export e = {0};

    e.kind = REM_EXP_OBJECT;
    e.ops = ops;
    e.obj = obj;
    return rem__export_add(ch, &e, oid);
}
