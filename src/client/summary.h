/* summary.h: the statistics of repeated runs, as br-summary prints them:
 * mean, sample standard deviation, median, minimum, maximum, coefficient
 * of variation, and outliers by the modified z-score (Iglewicz and
 * Hoaglin: 0.6745 (x - median) / MAD beyond 3.5, as hyperfine flags
 * them).  Pure arithmetic, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SUMMARY_OUTLIER_Z 3.5

typedef struct Summary {
        size_t n;
        double mean;
        double sd;         /* sample standard deviation (n - 1); 0 for one value */
        double median;
        double min, max;
        double cv;         /* sd / mean; 0 when the mean is 0 */
        double mad;        /* median absolute deviation from the median */
        size_t n_outliers;
} Summary;

/* The summary of x[0..n) (n >= 1; x is not changed); outlier[i] (if not
 * NULL) says whether x[i] is an outlier.  A MAD of 0 (half the values or
 * more the same) flags none.  -EINVAL for n == 0, -ENOMEM. */
int summary_of(const double *x, size_t n, Summary *ret, bool *outlier);
