/* test-summary.c: src/client/summary.c against values worked out by hand:
 * mean, sample sd, median of odd and even counts, CV, the MAD and the
 * modified z-score's outliers, a MAD of 0, one value, none. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "check.h"
#include "summary.h"

#define CHECK_NEAR(a, b)                                                                          \
        do {                                                                                      \
                double _a = (a), _b = (b);                                                        \
                if (fabs(_a - _b) > 1e-9 * (fabs(_b) > 1 ? fabs(_b) : 1))                          \
                        check_failed(__FILE__, __LINE__, "%s == %.12g, expected %.12g", #a, _a, _b); \
        } while (0)

static void test_outlier(void) {
        const double x[] = { 12, 10, 100, 13, 11 };
        bool out[5];
        Summary s;

        CHECK_OK(summary_of(x, 5, &s, out));
        CHECK_EQ_U64(s.n, 5);
        CHECK_NEAR(s.mean, 29.2);
        CHECK_NEAR(s.median, 12);
        CHECK_NEAR(s.min, 10);
        CHECK_NEAR(s.max, 100);
        CHECK_NEAR(s.sd, sqrt(6270.8 / 4));
        CHECK_NEAR(s.cv, sqrt(6270.8 / 4) / 29.2);
        CHECK_NEAR(s.mad, 1);   /* |x - 12|: 0 1 1 2 88 */
        CHECK_EQ_U64(s.n_outliers, 1);
        CHECK(!out[0] && !out[1] && out[2] && !out[3] && !out[4]);
        CHECK(x[0] == 12 && x[2] == 100);   /* not sorted in place */
}

static void test_even_and_edges(void) {
        const double even[] = { 4, 1, 3, 2 }, same[] = { 5, 5, 9, 5 }, one[] = { 7 };
        bool out[4];
        Summary s;

        CHECK_OK(summary_of(even, 4, &s, NULL));
        CHECK_NEAR(s.median, 2.5);
        CHECK_NEAR(s.mean, 2.5);
        CHECK_NEAR(s.sd, sqrt(5.0 / 3));
        CHECK_EQ_U64(s.n_outliers, 0);

        /* a MAD of 0: 9 is far off, but no scale to say how far */
        CHECK_OK(summary_of(same, 4, &s, out));
        CHECK_NEAR(s.mad, 0);
        CHECK_EQ_U64(s.n_outliers, 0);
        CHECK(!out[2]);

        CHECK_OK(summary_of(one, 1, &s, NULL));
        CHECK(s.n == 1 && s.sd == 0 && s.cv == 0 && s.median == 7 && s.min == 7 && s.max == 7);

        CHECK(summary_of(one, 0, &s, NULL) == -EINVAL);
}

/* large values with a small spread keep their precision (two passes) */
static void test_precision(void) {
        const double x[] = { 1e9 + 1, 1e9 + 2, 1e9 + 3 };
        Summary s;

        CHECK_OK(summary_of(x, 3, &s, NULL));
        CHECK_NEAR(s.sd, 1);
}

int main(void) {
        test_outlier();
        test_even_and_edges();
        test_precision();
        CHECK_DONE();
}
