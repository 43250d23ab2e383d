-- tests/data/schema-v1.sql: a database written by benchrunnerd with schema 1
-- (sqlite3 .dump of the state directory of a daemon killed with SIGKILL: four
-- finished tasks (exited 0 with env, exited 3 with a cleanup, oom, time-limit),
-- one running, one queued).  tests/unit/test-db.c migrates it.  Never edit.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE tasks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT,
        state TEXT NOT NULL
                CHECK (state IN ('queued', 'running', 'cleanup', 'finished')),
        user TEXT,
        uid INTEGER NOT NULL,
        gid INTEGER NOT NULL,
        command TEXT NOT NULL,
        argv TEXT NOT NULL,
        env TEXT NOT NULL DEFAULT '[]',
        submit_dir TEXT NOT NULL,
        cleanup_command TEXT,
        cleanup_argv TEXT,
        threads INTEGER NOT NULL CHECK (threads >= 1),
        memory_bytes INTEGER NOT NULL CHECK (memory_bytes >= 0),
        time_limit_us INTEGER,
        cleanup_time_limit_us INTEGER,
        priority_group INTEGER NOT NULL DEFAULT 0,
        priority INTEGER NOT NULL DEFAULT 0,
        whole_cores INTEGER NOT NULL DEFAULT 0,
        queued_at_us INTEGER NOT NULL,
        started_at_us INTEGER,
        finished_at_us INTEGER,
        cpus TEXT,
        unit TEXT,
        output_dir TEXT,
        output_truncated INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        exit_code INTEGER,
        signal INTEGER,
        wall_us INTEGER,
        cpu_user_us INTEGER,
        cpu_system_us INTEGER,
        peak_memory_bytes INTEGER,
        cleanup_reason TEXT,
        cleanup_exit_code INTEGER,
        cleanup_signal INTEGER,
        cleanup_started_at_us INTEGER,
        cleanup_finished_at_us INTEGER,
        cleanup_wall_us INTEGER,
        cleanup_cpu_user_us INTEGER,
        cleanup_cpu_system_us INTEGER,
        cleanup_peak_memory_bytes INTEGER
);
INSERT INTO tasks VALUES(1,'ok-task','finished','root',0,0,'/usr/bin/sh -c ''echo hello; exit 0''','["/usr/bin/sh","-c","echo hello; exit 0"]','["FOO=bar"]','/',NULL,NULL,1,1073741824,NULL,NULL,0,0,0,1796169665510809,1796169665530316,1796169665537886,'1','benchrunner-task-1.service','/var/lib/br-test/mk-v1.7496/output/1',0,'exited',0,NULL,7570,0,4784,966656,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO tasks VALUES(2,'failing','finished','root',0,0,'/usr/bin/sh -c ''exit 3''','["/usr/bin/sh","-c","exit 3"]','[]','/','/usr/bin/sh -c ''exit 0''','["/usr/bin/sh","-c","exit 0"]',1,1073741824,NULL,600000000,0,0,0,1796169665564863,1796169665577971,1796169665582985,'1','benchrunner-task-2.service','/var/lib/br-test/mk-v1.7496/output/2',0,'exited',3,NULL,5015,0,4718,622592,'exited',0,NULL,1796169665590766,1796169665595810,5044,4461,0,679936);
INSERT INTO tasks VALUES(3,'hog','finished','root',0,0,'/usr/bin/tail /dev/zero','["/usr/bin/tail","/dev/zero"]','[]','/',NULL,NULL,1,67108864,NULL,NULL,0,0,0,1796169665621952,1796169665627938,1796169665670205,'1','benchrunner-task-3.service','/var/lib/br-test/mk-v1.7496/output/3',0,'oom',NULL,9,42266,3866,38668,67108864,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO tasks VALUES(4,'slow','finished','root',0,0,'/usr/bin/sleep 10','["/usr/bin/sleep","10"]','[]','/',NULL,NULL,1,1073741824,1000000,NULL,0,0,0,1796169665695616,1796169665702007,1796169666874241,'1','benchrunner-task-4.service','/var/lib/br-test/mk-v1.7496/output/4',0,'time-limit',NULL,15,1172235,2581,2581,954368,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO tasks VALUES(5,'queued-1','running','root',0,0,'/usr/bin/sleep 30','["/usr/bin/sleep","30"]','[]','/',NULL,NULL,1,1073741824,NULL,NULL,0,0,0,1796169666904691,1796169666904981,NULL,'1','benchrunner-task-5.service','/var/lib/br-test/mk-v1.7496/output/5',0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO tasks VALUES(6,'queued-2','queued','root',0,0,'/usr/bin/true','["/usr/bin/true"]','[]','/',NULL,NULL,1,1073741824,NULL,NULL,2,5,0,1796169666930135,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('tasks',6);
CREATE INDEX tasks_state ON tasks (state);
CREATE INDEX tasks_uid ON tasks (uid);
CREATE VIEW task_history AS SELECT
        id,
        coalesce(name, 'task-' || id) AS name,
        state,
        coalesce(user, uid) AS user,
        command,
        threads,
        memory_bytes,
        cpus,
        datetime(queued_at_us / 1000000, 'unixepoch', 'localtime') AS queued_at,
        datetime(started_at_us / 1000000, 'unixepoch', 'localtime') AS started_at,
        datetime(finished_at_us / 1000000, 'unixepoch', 'localtime') AS finished_at,
        reason,
        exit_code,
        signal,
        round(wall_us / 1e6, 3) AS wall_s,
        round(cpu_user_us / 1e6, 3) AS cpu_user_s,
        round(cpu_system_us / 1e6, 3) AS cpu_system_s,
        peak_memory_bytes,
        cleanup_command,
        cleanup_reason,
        cleanup_exit_code,
        cleanup_signal,
        datetime(cleanup_finished_at_us / 1000000, 'unixepoch', 'localtime') AS cleanup_finished_at,
        round(cleanup_wall_us / 1e6, 3) AS cleanup_wall_s,
        output_dir,
        output_truncated
FROM tasks;
COMMIT;
PRAGMA user_version = 1;
PRAGMA application_id = 1112692046;
