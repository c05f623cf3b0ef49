#ifndef ORCHION_SPAWN_H
#define ORCHION_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

/// Status pipe records: one tag byte, then a 4-byte int in host order.
/// 'C': chdir to the working directory failed (errno follows).
/// 'X': execve failed (errno follows).
/// 'S': the command ended (its wait status follows).
#define ORCHION_STATUS_CHDIR_FAILED 'C'
#define ORCHION_STATUS_EXEC_FAILED 'X'
#define ORCHION_STATUS_EXITED 'S'
/// 'F': the spawner fenced the task: the agent's lease ran out (0 follows), so the group was
/// sent SIGTERM, then SIGKILL after the kill grace. An 'S' record follows.
#define ORCHION_STATUS_FENCED 'F'

/// Sets up the lease shared with the spawner: one page of shared memory holding a
/// CLOCK_MONOTONIC deadline. Call once, before the first orchion_spawn.
/// Returns 0, or -errno.
int orchion_lease_init(void);

/// Moves the lease deadline (CLOCK_MONOTONIC nanoseconds); 0 means "no lease": never fence.
/// The agent pushes it forward whenever it hears from the orchestrator. When the deadline
/// passes, the spawner stops every fenced task itself, even if the agent is frozen.
void orchion_lease_set(int64_t deadline_ns);

/// Moves the lease deadline to `deadline_ns` unless it is already later (or there was no
/// lease, in which case it is set): renewals never shorten the lease.
void orchion_lease_extend(int64_t deadline_ns);

/// Caps the SIGTERM-to-SIGKILL grace of stops the lease causes (0: no cap), so SIGKILL lands
/// before the orchestrator may run the task elsewhere, whatever the task's own kill grace.
void orchion_lease_set_grace(int64_t grace_ns);

/// CLOCK_MONOTONIC now, in nanoseconds.
int64_t orchion_monotonic_ns(void);

/// Starts `path` with `argv` and `envp` through the spawner (spawner.c): one small process,
/// forked from this one on first use, that starts and supervises every command.
///
/// The command leads a new process group that everything it starts belongs to. The spawner
/// reports the command's wait status on a pipe, then kills what is left of the group so no
/// background process outlives the task. If the agent dies, the spawner kills every group at
/// once and exits, so a task never keeps running as an orphan after its agent was killed.
///
/// Standard input is /dev/null; standard output and error go to `stdout_fd` and `stderr_fd`,
/// which are closed in the caller on success. On success returns the command's pid (which is
/// also the process group ID) and stores the read end of the status pipe in `*status_fd`; on
/// failure returns -errno.
///
/// With `fenced` non-zero the spawner also watches the lease (orchion_lease_init) and stops
/// the task when it expires, SIGTERM then SIGKILL after `kill_grace_ns`.
///
/// With a non-empty `cgroup` (a cgroup v2 directory the agent made for this attempt) the
/// command starts inside it, and when the command ends — or is killed, or the agent dies —
/// everything in the cgroup is killed too: a process that left the group (setsid) or was
/// orphaned (double fork) still goes.
pid_t orchion_spawn(const char *path, char *const argv[], char *const envp[], const char *workdir,
                    const char *cgroup, int stdout_fd, int stderr_fd, int fenced,
                    int64_t kill_grace_ns, int *status_fd);

/// Commands started from now on run as `uid`:`gid` (with no supplementary groups); -1 for
/// either keeps the agent's own. Needs the agent to run as root.
void orchion_spawn_set_task_user(int32_t uid, int32_t gid);

/// Makes this process undumpable (prctl PR_SET_DUMPABLE 0): processes of the same user that
/// are not root — the tasks an agent runs — can no longer ptrace it or read its
/// /proc/PID/environ and memory. Returns 0, or -errno.
int orchion_set_undumpable(void);

/// Kills every process in the cgroup whose directory `cgroup_fd` is open on (cgroup.kill, or
/// SIGKILL to each listed process on kernels without it). Returns 0, or -errno.
int orchion_cgroup_kill(int cgroup_fd);

/// pipe2(fds, O_CLOEXEC): a pipe whose ends do not leak into processes started later.
/// Returns 0, or -errno.
int orchion_pipe_cloexec(int fds[2]);

/// 1 when `path` is a regular file this process may execute, else 0.
int orchion_is_executable_file(const char *path);

#endif
