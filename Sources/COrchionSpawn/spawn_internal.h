#ifndef ORCHION_SPAWN_INTERNAL_H
#define ORCHION_SPAWN_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

/// 1 when the lease (orchion_lease_init) is set and its deadline has passed.
int orchion_lease_expired(void);

/// sigaction(signal) with `handler` (SIG_DFL, SIG_IGN), no flags, nothing masked.
void orchion_set_disposition(int signal, void (*handler)(int));

/// Writes one status record (see orchion_spawn.h) to `fd`.
void orchion_write_record(int fd, char tag, int value);

/// In a freshly (v)forked child: default signals, stdin from /dev/null, the output pipes on
/// 1 and 2, the working directory, then execve. Never returns; failures are recorded on
/// `status_fd` before _exit(127).
void orchion_exec_command(const char *path, char *const argv[], char *const envp[],
                          const char *workdir, int stdout_fd, int stderr_fd, int status_fd);

/// Closes every descriptor but 0-2 and the three given (which may repeat).
void orchion_close_inherited(int a, int b, int c);

/// Asks the spawner (started on first use) to start the command, handing it the three
/// descriptors (the caller keeps and closes its copies). Returns the command's pid, or -errno.
pid_t orchion_spawner_request(const char *path, char *const argv[], char *const envp[],
                              const char *workdir, int stdout_fd, int stderr_fd, int status_fd,
                              int fenced, int64_t kill_grace_ns);

#endif
