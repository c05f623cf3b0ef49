#define _GNU_SOURCE
#include "orchion_spawn.h"

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

// Everything between fork and exec (or _exit) in the children uses only async-signal-safe
// calls: the parent is multithreaded, so nothing else is safe there.

/// The lease deadline shared with supervisors (see orchion_lease_init); NULL until set up.
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

static int lease_expired(void) {
  if (lease_deadline == NULL) return 0;
  int64_t deadline = atomic_load(lease_deadline);
  return deadline != 0 && orchion_monotonic_ns() > deadline;
}

static void write_record(int fd, char tag, int value) {
  char record[1 + sizeof(int)];
  record[0] = tag;
  memcpy(record + 1, &value, sizeof(int));
  ssize_t ignored = write(fd, record, sizeof(record));
  (void)ignored;
}

static void run_command(const char *path, char *const argv[], char *const envp[],
                        const char *workdir, int stdout_fd, int stderr_fd, int status_fd) {
  // The command starts with default signal handling and nothing blocked, whatever the
  // supervisor set up.
  for (int signal = 1; signal < NSIG; signal++) {
    if (signal != SIGKILL && signal != SIGSTOP) {
      struct sigaction action;
      memset(&action, 0, sizeof(action));
      action.sa_handler = SIG_DFL;
      sigaction(signal, &action, NULL);
    }
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
    write_record(status_fd, ORCHION_STATUS_CHDIR_FAILED, errno);
    _exit(127);
  }
  execve(path, argv, envp);
  write_record(status_fd, ORCHION_STATUS_EXEC_FAILED, errno);
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

/// Closes every descriptor except 0-2 and the three given. The supervisor never execs, so
/// without this it would keep whatever the agent had open: sockets (a listening port that then
/// cannot be bound again), other tasks' pipes (whose readers would never see EOF).
static void close_inherited(int a, int b, int c) {
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

static void supervise(pid_t agent, const char *path, char *const argv[], char *const envp[],
                      const char *workdir, int stdout_fd, int stderr_fd, int status_fd,
                      int fenced, int64_t kill_grace_ns) {
  setpgid(0, 0);
  close_inherited(stdout_fd, stderr_fd, status_fd);
  // SIGHUP on the agent's death; checked against getppid() below, because the kernel sends it
  // when the forking *thread* exits, which can happen while the agent lives on.
  prctl(PR_SET_PDEATHSIG, SIGHUP);
  if (getppid() != agent) {
    kill(0, SIGKILL);
    _exit(127);
  }

  sigset_t watched;
  sigemptyset(&watched);
  sigaddset(&watched, SIGCHLD);
  sigaddset(&watched, SIGHUP);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGINT);
  sigaddset(&watched, SIGQUIT);
  sigprocmask(SIG_BLOCK, &watched, NULL);

  // vfork: the supervisor is a copy of the (large) agent, and copying its page tables again
  // for a child that only sets up its descriptors and execs is most of a task's start cost.
  // The child runs only async-signal-safe calls on its own signal table, descriptor table and
  // working directory (vfork shares none of those), then execs or _exits.
  pid_t command = vfork();
  if (command < 0) {
    write_record(status_fd, ORCHION_STATUS_EXEC_FAILED, errno);
    _exit(127);
  }
  if (command == 0) {
    run_command(path, argv, envp, workdir, stdout_fd, stderr_fd, status_fd);
  }
  // Only the command (and what it starts) may hold the output pipes, so they reach EOF when
  // the group is gone.
  close(stdout_fd);
  if (stderr_fd != stdout_fd) close(stderr_fd);

  // Polled rather than signalled: a frozen agent can signal nothing, and the lease must still
  // expire on time. 100 ms keeps a fence within a tenth of a second of its deadline.
  struct timespec poll_interval = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
  int64_t kill_at = 0;
  for (;;) {
    // SIGTERM and SIGINT sent to the group are for the command; the supervisor outlives them
    // to report how the command ended.
    (void)sigtimedwait(&watched, NULL, &poll_interval);
    if (getppid() != agent) {
      kill(0, SIGKILL);  // the agent is gone: take the whole task with us
      _exit(127);
    }
    if (fenced && kill_at == 0 && lease_expired()) {
      // The orchestrator has not heard from this node for so long that it gives the task to
      // another node: stop it here, even if the agent is frozen, so it does not run twice.
      write_record(status_fd, ORCHION_STATUS_FENCED, 0);
      kill(0, SIGTERM);  // blocked in the supervisor itself: reaches only the task's processes
      kill_at = orchion_monotonic_ns() + (kill_grace_ns > 0 ? kill_grace_ns : 1);
    }
    if (kill_at > 0 && orchion_monotonic_ns() >= kill_at) {
      kill(command, SIGKILL);  // the rest of the group goes once the command is reaped
      kill_at = -1;
    }
    int status = 0;
    if (waitpid(command, &status, WNOHANG) == command) {
      write_record(status_fd, ORCHION_STATUS_EXITED, status);
      close(status_fd);
      kill(0, SIGKILL);  // leftovers of the group, and the supervisor itself
      _exit(0);
    }
  }
}

pid_t orchion_spawn(const char *path, char *const argv[], char *const envp[], const char *workdir,
                    int stdout_fd, int stderr_fd, int fenced, int64_t kill_grace_ns,
                    int *status_fd) {
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) return -errno;
  pid_t agent = getpid();
  pid_t supervisor = fork();
  if (supervisor < 0) {
    int error = errno;
    close(status_pipe[0]);
    close(status_pipe[1]);
    return -error;
  }
  if (supervisor == 0) {
    close(status_pipe[0]);
    supervise(agent, path, argv, envp, workdir, stdout_fd, stderr_fd, status_pipe[1], fenced,
              kill_grace_ns);
    _exit(127);
  }
  // Make the group exist before returning, so the caller can signal it at once (the child
  // does the same; whichever runs first wins, both are harmless).
  setpgid(supervisor, supervisor);
  close(status_pipe[1]);
  close(stdout_fd);
  if (stderr_fd != stdout_fd) close(stderr_fd);
  *status_fd = status_pipe[0];
  return supervisor;
}

int orchion_pipe_cloexec(int fds[2]) {
  return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}

int orchion_is_executable_file(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 && S_ISREG(info.st_mode) && access(path, X_OK) == 0;
}
