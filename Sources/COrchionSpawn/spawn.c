#define _GNU_SOURCE
#include "orchion_spawn.h"
#include "spawn_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

/// The lease shared with the spawner (see orchion_lease_init); NULL until set up.
struct shared_lease {
  _Atomic int64_t deadline_ns;
  /// Longest SIGTERM-to-SIGKILL grace of a fenced stop; 0: each task's own kill grace.
  _Atomic int64_t fence_grace_ns;
};
static struct shared_lease *lease = NULL;

int orchion_lease_init(void) {
  if (lease != NULL) return 0;
  void *page = mmap(NULL, sizeof(struct shared_lease), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return -errno;
  lease = (struct shared_lease *)page;
  atomic_store(&lease->deadline_ns, 0);
  atomic_store(&lease->fence_grace_ns, 0);
  return 0;
}

void orchion_lease_set(int64_t deadline_ns) {
  if (lease != NULL) atomic_store(&lease->deadline_ns, deadline_ns);
}

void orchion_lease_extend(int64_t deadline_ns) {
  if (lease == NULL) return;
  int64_t current = atomic_load(&lease->deadline_ns);
  // Renewals can arrive out of order (acks of older heartbeats): never move the deadline back.
  if (current != 0 && current >= deadline_ns) return;
  while (!atomic_compare_exchange_weak(&lease->deadline_ns, &current, deadline_ns)) {
    if (current != 0 && current >= deadline_ns) return;
  }
}

void orchion_lease_set_grace(int64_t grace_ns) {
  if (lease != NULL) atomic_store(&lease->fence_grace_ns, grace_ns < 0 ? 0 : grace_ns);
}

int64_t orchion_lease_fence_grace(int64_t task_grace_ns) {
  int64_t cap = lease == NULL ? 0 : atomic_load(&lease->fence_grace_ns);
  if (cap > 0 && (task_grace_ns <= 0 || task_grace_ns > cap)) return cap;
  return task_grace_ns;
}

int64_t orchion_monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int orchion_lease_expired(void) {
  if (lease == NULL) return 0;
  int64_t deadline = atomic_load(&lease->deadline_ns);
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
                          const char *workdir, int cgroup_fd, int32_t uid, int32_t gid,
                          int stdout_fd, int stderr_fd, int status_fd) {
  // Into the attempt's cgroup before anything else: every process the command starts is
  // then in it, however it detaches (setsid, double fork), and goes with it. Without one the
  // process group is all there is.
  if (cgroup_fd >= 0) {
    int procs = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (procs >= 0) {
      ssize_t ignored = write(procs, "0", 1);  // "0": the writing process itself
      (void)ignored;
      close(procs);
    }
  }
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

  // Another user (orchion agent --task-user): after joining the cgroup, which needs the
  // agent's rights, and before the working directory, which must be that user's to enter.
  if (gid >= 0) {
    gid_t group = (gid_t)gid;
    if (setgroups(1, &group) != 0 || setgid(group) != 0) {
      orchion_write_record(status_fd, ORCHION_STATUS_EXEC_FAILED, errno);
      _exit(127);
    }
  }
  if (uid >= 0 && setuid((uid_t)uid) != 0) {
    orchion_write_record(status_fd, ORCHION_STATUS_EXEC_FAILED, errno);
    _exit(127);
  }
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
                    const char *cgroup, int stdout_fd, int stderr_fd, int fenced,
                    int64_t kill_grace_ns, int *status_fd) {
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) return -errno;
  pid_t command = orchion_spawner_request(path, argv, envp, workdir != NULL ? workdir : "",
                                          cgroup != NULL ? cgroup : "", stdout_fd, stderr_fd,
                                          status_pipe[1], fenced, kill_grace_ns);
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

int orchion_cgroup_kill(int cgroup_fd) {
  if (cgroup_fd < 0) return -EBADF;
  int kill_fd = openat(cgroup_fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
  if (kill_fd >= 0) {
    ssize_t written = write(kill_fd, "1", 1);
    int error = written == 1 ? 0 : -errno;
    close(kill_fd);
    if (error == 0) return 0;
  }
  // Kernels before 5.14 have no cgroup.kill: SIGKILL every process listed, a few rounds, as
  // processes may fork meanwhile.
  for (int round = 0; round < 8; round++) {
    int procs = openat(cgroup_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    if (procs < 0) return -errno;
    char buffer[4096];
    int found = 0;
    long pid = 0;
    int digits = 0;
    ssize_t count;
    while ((count = read(procs, buffer, sizeof(buffer))) > 0) {
      for (ssize_t i = 0; i < count; i++) {
        if (buffer[i] >= '0' && buffer[i] <= '9') {
          pid = pid * 10 + (buffer[i] - '0');
          digits++;
        } else {
          if (digits > 0 && pid > 0) {
            kill((pid_t)pid, SIGKILL);
            found++;
          }
          pid = 0;
          digits = 0;
        }
      }
    }
    if (digits > 0 && pid > 0) {
      kill((pid_t)pid, SIGKILL);
      found++;
    }
    close(procs);
    if (found == 0) return 0;
  }
  return 0;
}

int orchion_set_undumpable(void) {
  return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : -errno;
}

/// Reads fields 48 to 51 of /proc/self/stat: where this process's argument and environment
/// strings are. Returns 0, or -1. System calls only (called between fork and serve).
static int process_string_areas(unsigned long areas[4]) {
  char buffer[2048];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t length = read(fd, buffer, sizeof(buffer) - 1);
  close(fd);
  if (length <= 0) return -1;
  buffer[length] = '\0';
  // The command name (field 2) is in parentheses and may hold anything: count from after the
  // last ')', where field 3 starts.
  char *cursor = NULL;
  for (char *at = buffer; *at != '\0'; at++) {
    if (*at == ')') cursor = at + 1;
  }
  if (cursor == NULL) return -1;
  int field = 2;
  while (*cursor != '\0' && field < 51) {
    while (*cursor == ' ') cursor++;
    field++;
    unsigned long value = 0;
    while (*cursor >= '0' && *cursor <= '9') value = value * 10 + (unsigned long)(*cursor++ - '0');
    while (*cursor != ' ' && *cursor != '\0') cursor++;
    if (field >= 48) areas[field - 48] = value;
  }
  return field == 51 ? 0 : -1;
}

void orchion_wipe_process_strings(void) {
  unsigned long areas[4] = {0, 0, 0, 0};
  if (process_string_areas(areas) != 0) return;
  // argv (48-49) and the environment (50-51): what /proc/PID/cmdline and environ show.
  for (int pair = 0; pair < 4; pair += 2) {
    if (areas[pair] != 0 && areas[pair + 1] > areas[pair]) {
      memset((void *)areas[pair], 0, areas[pair + 1] - areas[pair]);
    }
  }
}

int orchion_pipe_cloexec(int fds[2]) {
  return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}

int orchion_is_executable_file(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 && S_ISREG(info.st_mode) && access(path, X_OK) == 0;
}
