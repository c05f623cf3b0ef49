#define _GNU_SOURCE
#include "orchion_spawn.h"
#include "spawn_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// The agent's side of starting commands and the pieces the spawner (spawner.c) shares.
// Everything between fork and exec (or _exit) in the children uses only async-signal-safe
// calls: the agent is multithreaded, so nothing else is safe there.

/// The lease deadline shared with the spawner (see orchion_lease_init); NULL until set up.
static _Atomic int64_t *lease_deadline = NULL;

int orchion_lease_init(void) {
  if (lease_deadline != NULL) return 0;
  void *page = mmap(NULL, sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                    -1, 0);
  if (page == MAP_FAILED) return -errno;
  lease_deadline = (_Atomic int64_t *)page;
  atomic_store(lease_deadline, 0);
  return 0;
}

void orchion_lease_set(int64_t deadline_ns) {
  if (lease_deadline != NULL) atomic_store(lease_deadline, deadline_ns);
}

int64_t orchion_monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int orchion_lease_expired(void) {
  if (lease_deadline == NULL) return 0;
  int64_t deadline = atomic_load(lease_deadline);
  return deadline != 0 && orchion_monotonic_ns() > deadline;
}

void orchion_write_record(int fd, char tag, int value) {
  char record[1 + sizeof(int)];
  record[0] = tag;
  memcpy(record + 1, &value, sizeof(int));
  ssize_t ignored = write(fd, record, sizeof(record));
  (void)ignored;
}

void orchion_set_disposition(int signal, void (*handler)(int)) {
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = handler;
  sigaction(signal, &action, NULL);
}

void orchion_exec_command(const char *path, char *const argv[], char *const envp[],
                          const char *workdir, int stdout_fd, int stderr_fd, int status_fd) {
  // The command starts with default signal handling and nothing blocked, whatever the
  // spawner set up.
  for (int signal = 1; signal < NSIG; signal++) {
    if (signal != SIGKILL && signal != SIGSTOP) orchion_set_disposition(signal, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    if (null_fd != STDIN_FILENO) close(null_fd);
  }
  dup2(stdout_fd, STDOUT_FILENO);
  dup2(stderr_fd, STDERR_FILENO);
  if (stdout_fd > STDERR_FILENO) close(stdout_fd);
  if (stderr_fd > STDERR_FILENO && stderr_fd != stdout_fd) close(stderr_fd);

  if (workdir != NULL && workdir[0] != '\0' && chdir(workdir) != 0) {
    orchion_write_record(status_fd, ORCHION_STATUS_CHDIR_FAILED, errno);
    _exit(127);
  }
  execve(path, argv, envp);
  orchion_write_record(status_fd, ORCHION_STATUS_EXEC_FAILED, errno);
  _exit(127);
}

static void close_fd_range(unsigned int first, unsigned int last) {
  if (first > last) return;
#ifdef SYS_close_range
  if (syscall(SYS_close_range, first, last, 0) == 0) return;
#endif
  // Older kernels: close what a normal process could have open.
  for (unsigned int fd = first; fd <= last && fd < 65536; fd++) close((int)fd);
}

/// Closes every descriptor except 0-2 and the three given. The spawner never execs, so
/// without this it would keep whatever the agent had open: sockets (a listening port that then
/// cannot be bound again), other tasks' pipes (whose readers would never see EOF).
void orchion_close_inherited(int a, int b, int c) {
  int keep[3] = {a, b, c};
  for (int i = 0; i < 3; i++) {
    for (int j = i + 1; j < 3; j++) {
      if (keep[j] < keep[i]) {
        int t = keep[i];
        keep[i] = keep[j];
        keep[j] = t;
      }
    }
  }
  unsigned int next = 3;
  for (int i = 0; i < 3; i++) {
    if (keep[i] < 3) continue;
    if ((unsigned int)keep[i] > next) close_fd_range(next, (unsigned int)keep[i] - 1);
    if ((unsigned int)keep[i] + 1 > next) next = (unsigned int)keep[i] + 1;
  }
  close_fd_range(next, ~0U);
}

pid_t orchion_spawn(const char *path, char *const argv[], char *const envp[], const char *workdir,
                    int stdout_fd, int stderr_fd, int fenced, int64_t kill_grace_ns,
                    int *status_fd) {
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) return -errno;
  pid_t command = orchion_spawner_request(path, argv, envp, workdir != NULL ? workdir : "",
                                          stdout_fd, stderr_fd, status_pipe[1], fenced,
                                          kill_grace_ns);
  // The spawner has its own copies of the descriptors it needs.
  close(status_pipe[1]);
  if (command < 0) {
    close(status_pipe[0]);
    return command;
  }
  close(stdout_fd);
  if (stderr_fd != stdout_fd) close(stderr_fd);
  *status_fd = status_pipe[0];
  return command;
}

int orchion_pipe_cloexec(int fds[2]) {
  return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}

int orchion_is_executable_file(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 && S_ISREG(info.st_mode) && access(path, X_OK) == 0;
}
