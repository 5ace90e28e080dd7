/*
 * test_jos_classes.c: the generated class table (protocol/jos_classes.c): sorted, complete super
 * chains, the values channel.md Appendix A gives, and descriptors built from it. That the file is
 * current is checked by the ctest jos.classes-current (tests/jos/tests.cmake).
 */
#include <string.h>

#include "alloc.h"
#include "harness.h"
#include "jos.h"

T_TEST(table_sorted_and_linked)
{
    size_t n = 0;
    const struct jos_class_info *t = jos_class_table(&n);

    T_CHECK(n > 200);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            T_CHECK(strcmp(t[i - 1].name, t[i].name) < 0);
        }
        T_CHECK(jos_class_find(t[i].name) == &t[i]);
        if (t[i].super != NULL) {
            T_CHECK(jos_class_find(t[i].super) != NULL);
        }
        for (uint16_t k = 0; k < t[i].nfields; k++) {
            char ty = t[i].fields[k].type;

            T_CHECK(strchr("BCDFIJSZL[", ty) != NULL);
            T_CHECK((ty == 'L' || ty == '[') == (t[i].fields[k].sig != NULL));
        }
    }
    T_CHECK(jos_class_find("com.example.Nope") == NULL);
    T_CHECK(jos_class_find(NULL) == NULL);
}

T_TEST(appendix_a_values)
{
    const struct jos_class_info *c = jos_class_find("hudson.remoting.Response");

    T_CHECK(c != NULL);
    if (c != NULL) {
        T_EQ_INT(c->suid, 1);
        T_EQ_INT(c->flags, 0x02);
        T_EQ_INT(c->nfields, 4);
        T_EQ_STR(c->fields[0].name, "id");
        T_EQ_STR(c->fields[2].sig, "Ljava/lang/Throwable;");
        T_EQ_STR(c->super, "hudson.remoting.Command");
    }
    c = jos_class_find("hudson.remoting.Channel$CloseCommand");
    T_CHECK(c != NULL && c->suid == INT64_C(972857271608138115));
    c = jos_class_find("java.lang.reflect.Proxy");
    T_CHECK(c != NULL && c->suid == INT64_C(-2222568056686623797));
    c = jos_class_find("[B");
    T_CHECK(c != NULL && c->suid == INT64_C(-5984413125824719648) && c->super == NULL);
    c = jos_class_find("hudson.remoting.Pipe");
    T_CHECK(c != NULL && c->flags == 0x03);
    c = jos_class_find("java.util.concurrent.TimeUnit");
    T_CHECK(c != NULL && c->flags == 0x12 && c->suid == 0);
}

T_TEST(descriptors_from_table)
{
    struct jos_msg *m = NULL;
    const struct jos_classdesc *d;

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    d = jos_msg_class(m, "hudson.remoting.UserRequest");
    T_CHECK(d != NULL);
    if (d != NULL) {
        T_EQ_STR(d->super->name, "hudson.remoting.Request");
        T_EQ_STR(d->super->super->name, "hudson.remoting.Command");
        T_CHECK(d->super->super->super == NULL);
        T_CHECK(jos_msg_class(m, "hudson.remoting.UserRequest") == d); /* made once */
    }
    d = jos_msg_class(m, "hudson.remoting.Pipe");
    T_CHECK(d != NULL && d->custom_layout);
    T_CHECK(jos_msg_class(m, "not.in.Table") == NULL);
    T_EQ_INT(m->build_err, AG_EUSAGE);
    T_CHECK(strstr(m->build_detail.msg, "class not.in.Table is not in the class table") != NULL);
    jos_msg_free(m);
}

/* Build and encode a Response with a nested payload while the n-th allocation fails: the first
 * failure is reported as AG_ENOMEM by jos_msg_encode (or jos_msg_new), nothing leaks. */
T_TEST(builder_alloc_failure)
{
    bool ok = false;

    for (uint64_t n = 1; n < 200 && !ok; n++) {
        struct jos_msg *m = NULL;
        struct ag_buf b;
        struct ag_err err = {0};
        struct jos_val *r;
        struct jos_val *nr;
        int rc;

        ag_buf_init(&b, 1 << 20);
        ag_alloc_fail_after(n);
        rc = jos_msg_new(NULL, 0, &m);
        if (rc == 0) {
            r = jos_new_object(m, "hudson.remoting.Response");
            nr = jos_new_object(m, "hudson.remoting.UserRequest$NormalResponse");
            jos_set_int(m, r, "id", 3);
            jos_set_obj(m, nr, "response", jos_new_payload(m, jos_new_cstring(m, "v")));
            jos_set_obj(m, r, "returnValue", nr);
            jos_msg_add(m, r);
            rc = jos_msg_encode(m, &b, &err);
        }
        ag_alloc_fail_after(0);
        if (rc != 0) {
            T_EQ_INT(rc, AG_ENOMEM);
        } else {
            ok = b.len > 0;
        }
        jos_msg_free(m);
        ag_buf_fini(&b);
    }
    T_CHECK(ok);
}

T_MAIN(T_CASE(table_sorted_and_linked), T_CASE(appendix_a_values), T_CASE(descriptors_from_table),
       T_CASE(builder_alloc_failure))
