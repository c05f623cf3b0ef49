#ifndef ORCHION_SPAWN_H
#define ORCHION_SPAWN_H

#include <sys/types.h>

/// Status pipe records: one tag byte, then a 4-byte int in host order.
/// 'C': chdir to the working directory failed (errno follows).
/// 'X': execve failed (errno follows).
/// 'S': the command ended (its wait status follows).
#define ORCHION_STATUS_CHDIR_FAILED 'C'
#define ORCHION_STATUS_EXEC_FAILED 'X'
#define ORCHION_STATUS_EXITED 'S'

/// Starts `path` with `argv` and `envp` under a small supervisor process.
///
/// The supervisor leads a new process group that the command and everything it starts belong
/// to. It reports the command's wait status on a pipe, then kills what is left of the group so
/// no background process outlives the task. If the agent (its parent) dies, the supervisor kills
/// the whole group at once (PR_SET_PDEATHSIG, with a poll of getppid() as a backstop), so a
/// task never keeps running as an orphan after its agent was killed.
///
/// Standard input is /dev/null; standard output and error go to `stdout_fd` and `stderr_fd`,
/// which are closed in the caller. On success returns the supervisor's pid (which is also the
/// process group ID) and stores the read end of the status pipe in `*status_fd`; on failure
/// returns -errno.
pid_t orchion_spawn(const char *path, char *const argv[], char *const envp[], const char *workdir,
                    int stdout_fd, int stderr_fd, int *status_fd);

/// pipe2(fds, O_CLOEXEC): a pipe whose ends do not leak into processes started later.
/// Returns 0, or -errno.
int orchion_pipe_cloexec(int fds[2]);

/// 1 when `path` is a regular file this process may execute, else 0.
int orchion_is_executable_file(const char *path);

#endif
