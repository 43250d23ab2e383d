/* task.c: the task record's constructors and enum names. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "task.h"
#include "util.h"

static const char * const state_names[_TASK_STATE_MAX] = {
        [TASK_QUEUED] = "queued",
        [TASK_RUNNING] = "running",
        [TASK_CLEANUP] = "cleanup",
        [TASK_FINISHED] = "finished",
};

static const char * const reason_names[_TASK_REASON_MAX] = {
        [TASK_REASON_NONE] = "none",
        [TASK_REASON_EXITED] = "exited",
        [TASK_REASON_SIGNALED] = "signaled",
        [TASK_REASON_OOM] = "oom",
        [TASK_REASON_TIME_LIMIT] = "time-limit",
        [TASK_REASON_CANCELLED] = "cancelled",
        [TASK_REASON_FAILED_TO_START] = "failed-to-start",
        [TASK_REASON_INTERRUPTED] = "interrupted",
        [TASK_REASON_DEPENDENCY_FAILED] = "dependency-failed",
};

DEFINE_STRING_TABLE_LOOKUP(task_state, TaskState, state_names)

DEFINE_STRING_TABLE_LOOKUP(task_reason, TaskReason, reason_names)

Task *task_new(void) {
        Task *t = calloc(1, sizeof(Task));
        if (!t)
                return NULL;
        t->threads = 1;
        t->state = TASK_QUEUED;
        return t;
}

Task *task_free(Task *t) {
        if (!t)
                return NULL;
        free(t->name);
        free(t->user);
        free(t->submit_token);
        strv_free(t->argv);
        strv_free(t->env);
        free(t->submit_dir);
        strv_free(t->cleanup_argv);
        free(t->cpus);
        free(t->unit);
        free(t->output_dir);
        free(t->retry_oom);
        free(t->after);
        free(t->series);
        free(t->environment);
        strv_free(t->warnings);
        free(t->numa_nodes);
        free(t->backend);
        free(t->cluster);
        free(t->node);
        free(t->job_id);
        free(t);
        return NULL;
}

const char *task_display_name(const Task *t, char *buf, size_t len) {
        if (t->name)
                return t->name;
        snprintf(buf, len, "task-%lld", (long long) t->id);
        return buf;
}
