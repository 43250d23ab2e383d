/* test-cgroup.c: parsing a cgroup v2 pressure file (cgroup.c). */
#include "config.h"

#include <errno.h>

#include "cgroup.h"
#include "check.h"

int main(void) {
        CgroupPressure p;

        CHECK_OK(cgroup_parse_pressure("some avg10=1.50 avg60=0.30 avg300=0.10 total=123456\n"
                                       "full avg10=0.00 avg60=0.00 avg300=0.00 total=789\n", &p));
        CHECK(p.has_some && p.has_full && p.some_usec == 123456 && p.full_usec == 789);
        /* cpu.pressure before 5.13: "some" only; "full" stays unknown, not 0 */
        CHECK_OK(cgroup_parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=5", &p));
        CHECK(p.has_some && !p.has_full && p.some_usec == 5);
        CHECK(cgroup_parse_pressure("", &p) == -ENODATA);
        CHECK(!p.has_some && !p.has_full);
        CHECK(cgroup_parse_pressure("some avg10=0.00 total=x\nother total=3\n", &p) == -ENODATA);
        CHECK_DONE();
}
