/* test-util.c: sizes and durations as users type them, and the number in a
 * sysfs or cgroup file. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "util.h"

static void test_sizes(void) {
        uint64_t v = 0;

        CHECK(parse_size("4096", &v) == 0);
        CHECK_EQ_U64(v, 4096);
        CHECK(parse_size("512M", &v) == 0);
        CHECK_EQ_U64(v, UINT64_C(512) << 20);
        CHECK(parse_size("16G", &v) == 0);
        CHECK_EQ_U64(v, UINT64_C(16) << 30);
        CHECK(parse_size("16g", &v) == 0);
        CHECK_EQ_U64(v, UINT64_C(16) << 30);
        CHECK(parse_size("1.5G", &v) == 0);
        CHECK_EQ_U64(v, UINT64_C(3) << 29);
        CHECK(parse_size("64MiB", &v) == 0);
        CHECK_EQ_U64(v, UINT64_C(64) << 20);
        CHECK(parse_size("2K", &v) == 0);
        CHECK_EQ_U64(v, 2048);
        CHECK(parse_size("100B", &v) == 0);
        CHECK_EQ_U64(v, 100);
        CHECK(parse_size("", &v) == -EINVAL);
        CHECK(parse_size("G", &v) == -EINVAL);
        CHECK(parse_size("12X", &v) == -EINVAL);
        CHECK(parse_size("-5M", &v) == -EINVAL);
        CHECK(parse_size("1.5", &v) == -EINVAL);
        CHECK(parse_size("5M junk", &v) == -EINVAL);
        CHECK(parse_size("99999999999999999999", &v) == -ERANGE);
        CHECK(parse_size("99999999P", &v) == -ERANGE);
}

static void test_durations(void) {
        uint64_t v = 0;

        {
                uint64_t u = 1, b = 1;
                CHECK(parse_keep("30d", &u, &b) == 0 && u == 30 * 86400 * USEC_PER_SEC && b == 0);
                CHECK(parse_keep("10G", &u, &b) == 0 && u == 0 && b == UINT64_C(10) << 30);
                CHECK(parse_keep("15m,512M", &u, &b) == 0 && u == 900 * USEC_PER_SEC && b == UINT64_C(512) << 20);
                CHECK(parse_keep("forever", &u, &b) == 0 && u == 0 && b == 0);
                CHECK(parse_keep("90", &u, &b) == -EINVAL);
                CHECK(parse_keep("1d,2d", &u, &b) == -EINVAL);
                CHECK(parse_keep("0s", &u, &b) == -EINVAL);
                CHECK(parse_keep("", &u, &b) == -EINVAL);
                CHECK(parse_keep(",", &u, &b) == -EINVAL);
                CHECK(parse_keep("1x", &u, &b) == -EINVAL);
        }
        CHECK(parse_duration("90", &v) == 0);
        CHECK_EQ_U64(v, 90 * USEC_PER_SEC);
        CHECK(parse_duration("90s", &v) == 0);
        CHECK_EQ_U64(v, 90 * USEC_PER_SEC);
        CHECK(parse_duration("15m", &v) == 0);
        CHECK_EQ_U64(v, 15 * 60 * USEC_PER_SEC);
        CHECK(parse_duration("2h", &v) == 0);
        CHECK_EQ_U64(v, 2 * 3600 * USEC_PER_SEC);
        CHECK(parse_duration("1h30m", &v) == 0);
        CHECK_EQ_U64(v, 90 * 60 * USEC_PER_SEC);
        CHECK(parse_duration("500ms", &v) == 0);
        CHECK_EQ_U64(v, 500 * USEC_PER_MSEC);
        CHECK(parse_duration("1.5s", &v) == 0);
        CHECK_EQ_U64(v, 1500 * USEC_PER_MSEC);
        CHECK(parse_duration("1d", &v) == 0);
        CHECK_EQ_U64(v, 86400 * USEC_PER_SEC);
        CHECK(parse_duration("", &v) == -EINVAL);
        CHECK(parse_duration("m", &v) == -EINVAL);
        CHECK(parse_duration("5y", &v) == -EINVAL);
        CHECK(parse_duration("1h30", &v) == -EINVAL);
        CHECK(parse_duration("-1s", &v) == -EINVAL);
}

static void test_format(void) {
        char b[FORMAT_DURATION_MAX];
        CHECK_STREQ(format_size(b, sizeof b, UINT64_C(2) << 30), "2.0G");
        CHECK_STREQ(format_size(b, sizeof b, 100), "100B");
        CHECK_STREQ(format_duration(b, sizeof b, 90 * 60 * USEC_PER_SEC), "1h30m");
        CHECK_STREQ(format_duration(b, sizeof b, 2500 * USEC_PER_MSEC), "2.50s");
}

static int read_u64_of(const char *content, uint64_t *v) {
        char path[] = "/tmp/test-util-XXXXXX";
        int fd = mkstemp(path), r;

        CHECK(fd >= 0);
        CHECK(write(fd, content, strlen(content)) == (ssize_t) strlen(content));
        (void) close(fd);
        r = read_small_file_u64(path, v);
        (void) unlink(path);
        return r;
}

static void test_small_file_u64(void) {
        uint64_t v = 0;

        CHECK(read_u64_of("123\n", &v) == 0);
        CHECK_EQ_U64(v, 123);
        CHECK(read_u64_of("0", &v) == 0);
        CHECK_EQ_U64(v, 0);
        CHECK(read_u64_of("18446744073709551615\n", &v) == 0);
        CHECK_EQ_U64(v, UINT64_MAX);
        CHECK(read_u64_of("18446744073709551616\n", &v) == -ERANGE);
        CHECK(read_u64_of("-1\n", &v) == -EINVAL);
        CHECK(read_u64_of("12 x\n", &v) == -EINVAL);
        CHECK(read_u64_of("\n", &v) == -EINVAL);
        CHECK(read_small_file_u64("/nonexistent/test-util", &v) == -ENOENT);
}

static void test_uint(void) {
        uint64_t v;
        CHECK(parse_uint("12", 1, 100, &v) == 0);
        CHECK_EQ_U64(v, 12);
        CHECK(parse_uint("0", 1, 100, &v) == -ERANGE);
        CHECK(parse_uint("1x", 1, 100, &v) == -EINVAL);
        CHECK(parse_uint("", 1, 100, &v) == -EINVAL);
}

static void test_user_name(void) {
        _cleanup_(freep) char *root = uid_to_user_name(0);
        _cleanup_(freep) char *none = uid_to_user_name(4000000000u);

        CHECK_STREQ(root, "root");
        CHECK(!none);
}

static void test_string_table(void) {
        static const char * const names[] = { "zero", NULL, "two" };

        CHECK_STREQ(string_table_lookup(names, ELEMENTSOF(names), 2), "two");
        CHECK(string_table_lookup(names, ELEMENTSOF(names), 3) == NULL);
        CHECK(string_table_lookup(names, ELEMENTSOF(names), -1) == NULL);
        CHECK(string_table_find(names, ELEMENTSOF(names), "two") == 2);
        CHECK(string_table_find(names, ELEMENTSOF(names), "one") == -1);
        CHECK(string_table_find(names, ELEMENTSOF(names), NULL) == -1);
}

int main(void) {
        test_sizes();
        test_durations();
        test_format();
        test_small_file_u64();
        test_uint();
        test_user_name();
        test_string_table();
        CHECK_DONE();
}
