/* batch.h: br-run's batch file format (BATCH FORMAT in br-run(1)): one task
 * spec, the protocol's SPEC, per JSON line; empty lines and # comments are
 * skipped.  No files, no PATH look-up, no messages on stderr: br-run reads
 * the file, resolves the commands and says what is wrong, so that the
 * batch fuzzer (tests/fuzz/fuzz-batch.c) runs the very code br-run does. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "task.h"

/* Cuts the line end ('\n', '\r') off line[0..*len) in place (NUL-terminated
 * at the new *len); false for a line without a task (empty, or a #
 * comment). */
bool batch_line_strip(char *line, size_t *len);

/* The spec of one stripped line (a C string: it ends at a NUL byte), field
 * names and types checked, lone UTF-16 surrogate escapes refused (as the
 * daemon refuses them); cwd (may be NULL) fills in a missing "cwd".
 * -EBADMSG: not a JSON object (no message); -EINVAL with *ret_error (may
 * be NULL); -ENOMEM. */
int batch_line_parse(const char *line, const char *cwd, Task **ret, char **ret_error);

/* Once argv[0] and cleanup[0] are resolved: the checks the daemon will
 * make (proto_spec_validate()), and that the task fits in a submit request
 * of its own.  -EINVAL with *ret_error (may be NULL); -E2BIG for a task too
 * large for a request; -ENOMEM. */
int batch_task_check(Task *t, char **ret_error);
