/* summary.c: the statistics of repeated runs (summary.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* The median of the sorted s[0..n). */
static double median_sorted(const double *s, size_t n) {
        return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int summary_of(const double *x, size_t n, Summary *ret, bool *outlier) {
        double *s, sum = 0, sq = 0;

        if (n == 0)
                return -EINVAL;
        s = malloc(n * sizeof(double));
        if (!s)
                return -ENOMEM;
        memcpy(s, x, n * sizeof(double));
        qsort(s, n, sizeof(double), cmp_double);

        *ret = (Summary) { .n = n, .min = s[0], .max = s[n - 1], .median = median_sorted(s, n) };
        for (size_t i = 0; i < n; i++)
                sum += x[i];
        ret->mean = sum / (double) n;
        /* two passes: the squares of deviations, not of values, so that
         * large values of small spread keep their precision */
        for (size_t i = 0; i < n; i++)
                sq += (x[i] - ret->mean) * (x[i] - ret->mean);
        ret->sd = n > 1 ? sqrt(sq / (double) (n - 1)) : 0;
        ret->cv = ret->mean != 0 ? ret->sd / ret->mean : 0;

        for (size_t i = 0; i < n; i++)
                s[i] = fabs(x[i] - ret->median);
        qsort(s, n, sizeof(double), cmp_double);
        ret->mad = median_sorted(s, n);
        free(s);

        for (size_t i = 0; i < n; i++) {
                bool out = ret->mad > 0 && fabs(0.6745 * (x[i] - ret->median) / ret->mad) > SUMMARY_OUTLIER_Z;
                if (outlier)
                        outlier[i] = out;
                ret->n_outliers += out;
        }
        return 0;
}
