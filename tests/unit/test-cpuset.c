/* test-cpuset.c: CPU list syntax both ways and the systemd byte mask. */
#include "config.h"

#include <stdlib.h>

#include "check.h"
#include "cpuset.h"
#include "util.h"

static void roundtrip(const char *in, const char *out, unsigned count) {
        CpuSet s;
        _cleanup_(freep) char *f = NULL;

        CHECK(cpuset_parse(in, &s) == 0);
        CHECK_EQ_U64(cpuset_count(&s), count);
        f = cpuset_format(&s);
        CHECK_STREQ(f, out);
}

int main(void) {
        CpuSet s, t;

        roundtrip("0-3,8", "0-3,8", 5);
        roundtrip("3,2,1,0\n", "0-3", 4);
        roundtrip("", "", 0);
        roundtrip("5", "5", 1);
        roundtrip("0,2,4,16-17", "0,2,4,16-17", 5);
        roundtrip("63-65", "63-65", 3);
        CHECK(cpuset_parse("3-1", &s) == -EINVAL);
        CHECK(cpuset_parse("1,", &s) == -EINVAL);
        CHECK(cpuset_parse("a", &s) == -EINVAL);
        CHECK(cpuset_parse("1-", &s) == -EINVAL);
        CHECK(cpuset_parse("99999", &s) == -ERANGE);

        CHECK(cpuset_parse("0-7", &s) == 0);
        CHECK(cpuset_parse("2-3", &t) == 0);
        CHECK(cpuset_subset(&t, &s));
        CHECK(!cpuset_subset(&s, &t));
        CHECK(cpuset_intersects(&s, &t));
        cpuset_and_not(&s, &t);
        CHECK_EQ_U64(cpuset_count(&s), 6);
        CHECK(!cpuset_intersects(&s, &t));
        CHECK_EQ_U64(cpuset_end(&s), 8);
        CHECK_EQ_U64(cpuset_first(&s), 0);
        CHECK_EQ_U64(cpuset_first(&t), 2);
        CHECK(cpuset_parse("70,130", &t) == 0);
        CHECK_EQ_U64(cpuset_first(&t), 70);
        cpuset_zero(&t);
        CHECK_EQ_U64(cpuset_first(&t), 0);

        uint8_t *m = NULL;
        size_t len = 0;
        CHECK(cpuset_parse("1,9", &s) == 0);
        CHECK(cpuset_to_mask(&s, &m, &len) == 0);
        CHECK_EQ_U64(len, 2);
        CHECK_EQ_U64(m[0], 0x02);
        CHECK_EQ_U64(m[1], 0x02);
        free(m);
        CHECK_DONE();
}
