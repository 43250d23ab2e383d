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
};

const char *task_state_to_string(TaskState s) {
        if (s < 0 || s >= _TASK_STATE_MAX)
                return NULL;
        return state_names[s];
}

TaskState task_state_from_string(const char *s) {
        for (int i = 0; s && i < _TASK_STATE_MAX; i++)
                if (strcmp(state_names[i], s) == 0)
                        return (TaskState) i;
        return _TASK_STATE_INVALID;
}

const char *task_reason_to_string(TaskReason r) {
        if (r < 0 || r >= _TASK_REASON_MAX)
                return NULL;
        return reason_names[r];
}

TaskReason task_reason_from_string(const char *s) {
        for (int i = 0; s && i < _TASK_REASON_MAX; i++)
                if (strcmp(reason_names[i], s) == 0)
                        return (TaskReason) i;
        return _TASK_REASON_INVALID;
}

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
        free(t);
        return NULL;
}

const char *task_display_name(const Task *t, char *buf, size_t len) {
        if (t->name)
                return t->name;
        snprintf(buf, len, "task-%lld", (long long) t->id);
        return buf;
}
