#!/bin/sh
# bench/sched.sh: runs the scheduler simulator (bench/sched) and prints its
# table; as a test (make check) it also fails if the mixed workload misses
# its target (makespan <= 1.10 x lower bound, >= 1.3x shorter than the seed).
# Usage: bench/sched.sh [--seeds N] [...]   (options go to bench/sched)
set -e
builddir=${abs_top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
prog=$builddir/bench/sched
if [ ! -x "$prog" ]; then
        make -C "$builddir" bench/sched >/dev/null
fi
exec "$prog" --check "$@"
