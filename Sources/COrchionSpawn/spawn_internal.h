#ifndef ORCHION_SPAWN_INTERNAL_H
#define ORCHION_SPAWN_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

/// 1 when the lease (orchion_lease_init) is set and its deadline has passed.
int orchion_lease_expired(void);

/// The grace a fenced stop gives a task whose own kill grace is `task_grace_ns`: that, capped
/// by orchion_lease_set_grace.
int64_t orchion_lease_fence_grace(int64_t task_grace_ns);

/// sigaction(signal) with `handler` (SIG_DFL, SIG_IGN), no flags, nothing masked.
void orchion_set_disposition(int signal, void (*handler)(int));

/// Writes one status record (see orchion_spawn.h) to `fd`.
void orchion_write_record(int fd, char tag, int value);

/// In a freshly (v)forked child: default signals, stdin from /dev/null, the output pipes on
/// 1 and 2, the working directory, then execve. Never returns; failures are recorded on
/// `status_fd` before _exit(127).
void orchion_exec_command(const char *path, char *const argv[], char *const envp[],
                          const char *workdir, int cgroup_fd, int32_t uid, int32_t gid,
                          int stdout_fd, int stderr_fd, int status_fd);

/// Zeroes this process's argument and environment strings, so /proc/PID/cmdline and environ
/// show nothing of the agent it was forked from (system calls only: safe after fork).
void orchion_wipe_process_strings(void);

/// Closes every descriptor but 0-2 and the three given (which may repeat).
void orchion_close_inherited(int a, int b, int c);

/// Asks the spawner (started on first use) to start the command, in the cgroup directory
/// `cgroup` unless it is empty, handing it the three
/// descriptors (the caller keeps and closes its copies). Returns the command's pid, or -errno.
pid_t orchion_spawner_request(const char *path, char *const argv[], char *const envp[],
                              const char *workdir, const char *cgroup, int stdout_fd,
                              int stderr_fd, int status_fd, int fenced, int64_t kill_grace_ns);

#endif
