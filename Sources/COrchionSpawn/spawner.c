#define _GNU_SOURCE
#include "orchion_spawn.h"
#include "spawn_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

// The spawner: one small process, forked from the agent when it first starts a task, that
// starts and supervises every task's command.
//
// Why not fork per task from the agent: a fork copies the page tables of a large multithreaded
// process, and afterwards every page the agent writes is a copy-on-write fault (with a TLB
// shootdown across its threads) for as long as the child lives — most of a task's start cost.
// The spawner has one thread and starts commands with vfork, which copies nothing. The agent
// sends it each command over a socket with the task's pipes attached (SCM_RIGHTS) and gets back
// the command's pid. The spawner runs only system calls (no malloc, no stdio): it is the child
// of a multithreaded process, where locks other threads held at the fork stay locked forever.
//
// What the spawner does for each command (what a per-task supervisor process did before):
// - The command leads a new process group (its pid), which everything it starts belongs to.
// - When the command ends, its wait status goes on the status pipe, the pipe is closed, and
//   whatever is left of its group is killed: no background process outlives its task.
// - Fenced tasks (orchion_spawn's `fenced`): when the agent's lease runs out the group gets
//   SIGTERM, then SIGKILL after the kill grace, even if the agent is frozen — the spawner
//   watches the shared lease page itself.
// - When the agent dies, however it dies, the spawner's socket reaches end of file (or its
//   parent changes): it kills every group and exits. If the spawner itself is killed, each
//   command gets SIGKILL (its parent-death signal; the spawner is single-threaded, so the
//   signal is exact).

/// What the agent sends for one command; the payload follows: path, working directory, the
/// arguments and the environment, each NUL-terminated. Three descriptors ride along: the
/// command's stdout and stderr and the status pipe.
struct spawn_request {
  uint32_t payload_length;
  uint32_t argc;
  uint32_t envc;
  int32_t fenced;
  int64_t kill_grace_ns;
  // The user and group the command runs as; -1: the spawner's own.
  int32_t uid;
  int32_t gid;
};

enum {
  // Far above what execve accepts (a quarter of the stack limit, 2 MiB by default).
  max_payload = 64 << 20,
  max_strings = 1 << 20,
};

/// How often the spawner looks at the lease and its parent when nothing else happens. A fence
/// lands within this of its deadline.
static const int64_t poll_interval_ns = 100 * 1000 * 1000;

// ---- The spawner process ----

/// A running command.
struct supervised {
  pid_t command;  // also its process group
  int status_fd;
  int cgroup_fd;  // the attempt's cgroup directory, or -1
  int fenced;
  int64_t kill_grace_ns;
  int64_t kill_at;  // 0: not being stopped; -1: SIGKILL sent
};

static struct supervised *table = NULL;
static size_t table_count = 0;
static size_t table_capacity = 0;
static pid_t agent_pid = 0;

/// SIGKILL to the command's group and everything in its cgroup.
static void kill_everything(const struct supervised *entry) {
  kill(-entry->command, SIGKILL);
  if (entry->cgroup_fd >= 0) orchion_cgroup_kill(entry->cgroup_fd);
}

__attribute__((noreturn)) static void abandon_all(void) {
  for (size_t i = 0; i < table_count; i++) kill_everything(&table[i]);
  _exit(0);
}

/// Room for one more entry, or -1 (mmap/mremap only: no malloc here).
static int reserve_entry(void) {
  if (table_count < table_capacity) return 0;
  size_t capacity = table_capacity == 0 ? 256 : table_capacity * 2;
  void *grown =
      table == NULL
          ? mmap(NULL, capacity * sizeof(*table), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
          : mremap(table, table_capacity * sizeof(*table), capacity * sizeof(*table),
                   MREMAP_MAYMOVE);
  if (grown == MAP_FAILED) return -1;
  table = grown;
  table_capacity = capacity;
  return 0;
}

/// Stops fenced commands whose lease ran out; SIGKILLs those past their grace.
static void enforce_leases(void) {
  if (getppid() != agent_pid) abandon_all();  // the agent is gone: take every task with us
  int expired = -1;  // looked up once, and only if some task is fenced
  int64_t now = orchion_monotonic_ns();
  for (size_t i = 0; i < table_count; i++) {
    struct supervised *entry = &table[i];
    if (entry->fenced && entry->kill_at == 0) {
      if (expired < 0) expired = orchion_lease_expired();
      if (expired) {
        // The orchestrator has not heard from this node for so long that it gives the task to
        // another node: stop it here, even if the agent is frozen, so it does not run twice.
        orchion_write_record(entry->status_fd, ORCHION_STATUS_FENCED, 0);
        kill(-entry->command, SIGTERM);
        int64_t grace = orchion_lease_fence_grace(entry->kill_grace_ns);
        entry->kill_at = now + (grace > 0 ? grace : 1);
      }
    }
    if (entry->kill_at > 0 && now >= entry->kill_at) {
      kill(entry->command, SIGKILL);  // the rest of the group goes once the command is reaped
      // A detached process (setsid) that ignored the SIGTERM is not in the group: the cgroup
      // has it.
      if (entry->cgroup_fd >= 0) orchion_cgroup_kill(entry->cgroup_fd);
      entry->kill_at = -1;
    }
  }
}

/// Reports every command that ended and clears up after it.
static void reap_ended(void) {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (size_t i = 0; i < table_count; i++) {
      if (table[i].command != pid) continue;
      // Leftovers first — of the group, and in the cgroup whatever detached — so they are
      // going by the time the agent hears the command ended: the task ends with its command.
      kill_everything(&table[i]);
      if (table[i].cgroup_fd >= 0) close(table[i].cgroup_fd);
      orchion_write_record(table[i].status_fd, ORCHION_STATUS_EXITED, status);
      close(table[i].status_fd);
      table[i] = table[--table_count];
      break;
    }
  }
}

/// Reads exactly `length` bytes, collecting up to three passed descriptors on the way (extra
/// ones are closed). Keeps enforcing leases while a request trickles in. Returns 0, or -1 at
/// end of file or on an error.
static int receive_exactly(int socket_fd, void *buffer, size_t length, int fds[3],
                           int *fd_count) {
  size_t done = 0;
  while (done < length) {
    union {
      struct cmsghdr header;
      char space[CMSG_SPACE(sizeof(int) * 3)];
    } control;
    struct iovec part = {.iov_base = (char *)buffer + done, .iov_len = length - done};
    struct msghdr message = {0};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof(control.space);
    ssize_t count = recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      enforce_leases();  // a frozen agent mid-request must not stop the fencing
      continue;
    }
    if (count <= 0) return -1;
    for (struct cmsghdr *entry = CMSG_FIRSTHDR(&message); entry != NULL;
         entry = CMSG_NXTHDR(&message, entry)) {
      if (entry->cmsg_level != SOL_SOCKET || entry->cmsg_type != SCM_RIGHTS) continue;
      size_t passed = (entry->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int received[3];
      memcpy(received, CMSG_DATA(entry), sizeof(int) * (passed > 3 ? 3 : passed));
      for (size_t i = 0; i < passed && i < 3; i++) {
        if (*fd_count < 3) {
          fds[(*fd_count)++] = received[i];
        } else {
          close(received[i]);
        }
      }
    }
    if (message.msg_flags & MSG_CTRUNC) return -1;
    done += (size_t)count;
  }
  return 0;
}

static void reply(int socket_fd, int32_t value) {
  size_t done = 0;
  while (done < sizeof(value)) {
    ssize_t count = send(socket_fd, (char *)&value + done, sizeof(value) - done, MSG_NOSIGNAL);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) abandon_all();  // the agent is gone
    done += (size_t)count;
  }
}

/// Splits the payload into its strings. Returns 0, or -1 when it is malformed.
static int parse(char *payload, size_t length, uint32_t argc, uint32_t envc, char **path,
                 char **workdir, char **cgroup, char **argv, char **envp) {
  if (length == 0 || payload[length - 1] != '\0') return -1;
  size_t wanted = 3 + (size_t)argc + (size_t)envc;
  size_t found = 0;
  for (size_t offset = 0; offset < length; offset += strlen(payload + offset) + 1) {
    char *string = payload + offset;
    if (found == 0) {
      *path = string;
    } else if (found == 1) {
      *workdir = string;
    } else if (found == 2) {
      *cgroup = string;
    } else if (found < 3 + (size_t)argc) {
      argv[found - 3] = string;
    } else if (found < wanted) {
      envp[found - 3 - argc] = string;
    } else {
      return -1;
    }
    found++;
  }
  if (found != wanted) return -1;
  argv[argc] = NULL;
  envp[envc] = NULL;
  return 0;
}

/// Starts the command in its own process group; returns its pid or -errno.
static int32_t start_command(const struct spawn_request *request, char *path, char *workdir,
                             char *cgroup, char **argv, char **envp, int fds[3]) {
  if (reserve_entry() != 0) return -ENOMEM;
  // Opened here, not in the child: the spawner keeps it to kill the cgroup later.
  int cgroup_fd = -1;
  if (cgroup[0] != '\0') {
    cgroup_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd < 0) return -errno;
  }
  // vfork: the spawner waits (microseconds) until the child has exec'd or failed; the child
  // changes only its own descriptor table, signal dispositions, mask and working directory.
  // The cost of that wait: an exec or chdir that hangs (a dead network filesystem) holds every
  // other launch and the fencing until it ends. The agent launches from a blocking-work thread,
  // so its heartbeats go on meanwhile (and with them its lease); fork instead would remove the
  // wait but measured 1.1 ms more CPU per task (308-320 against 361-402 tasks/s, alternating).
  pid_t command = vfork();
  if (command == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // kept across execve: no orphan if the spawner dies
    orchion_exec_command(path, argv, envp, workdir, cgroup_fd, request->uid, request->gid,
                         fds[0], fds[1], fds[2]);
  }
  if (command < 0) {
    int error = errno;
    if (cgroup_fd >= 0) close(cgroup_fd);
    return -error;
  }
  // Normally done by the child already; either way the group exists before the agent hears
  // of it, so it can signal the group at once.
  setpgid(command, command);
  table[table_count++] = (struct supervised){
      .command = command,
      .status_fd = fds[2],
      .cgroup_fd = cgroup_fd,
      .fenced = request->fenced,
      .kill_grace_ns = request->kill_grace_ns,
      .kill_at = 0,
  };
  fds[2] = -1;  // kept until the command ends
  return command;
}

static void handle_request(int socket_fd) {
  struct spawn_request request;
  int fds[3] = {-1, -1, -1};
  int fd_count = 0;
  if (receive_exactly(socket_fd, &request, sizeof(request), fds, &fd_count) != 0) {
    abandon_all();  // end of file: the agent is gone
  }
  if (fd_count != 3 || request.payload_length > max_payload ||
      request.argc + (uint64_t)request.envc > max_strings) {
    abandon_all();  // not the agent's protocol; the agent starts a new spawner
  }
  size_t strings = (size_t)request.argc + request.envc + 3;
  size_t pointers_offset = ((size_t)request.payload_length + 15) & ~(size_t)15;
  size_t size = pointers_offset + strings * sizeof(char *);
  char *area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) abandon_all();  // the payload cannot be skipped
  int stray[3];
  int stray_count = 0;
  int received = receive_exactly(socket_fd, area, request.payload_length, stray, &stray_count);
  for (int i = 0; i < stray_count; i++) close(stray[i]);
  if (received != 0) abandon_all();

  char **argv = (char **)(void *)(area + pointers_offset);
  char **envp = argv + request.argc + 1;
  char *path = NULL;
  char *workdir = NULL;
  char *cgroup = NULL;
  int32_t result =
      parse(area, request.payload_length, request.argc, request.envc, &path, &workdir, &cgroup,
            argv, envp) == 0
          ? start_command(&request, path, workdir, cgroup, argv, envp, fds)
          : -EINVAL;
  munmap(area, size);
  for (int i = 0; i < 3; i++) {
    if (fds[i] >= 0) close(fds[i]);
  }
  reply(socket_fd, result);
}

__attribute__((noreturn)) static void serve(int socket_fd) {
  // Signals for the agent (Ctrl-C in its terminal, systemd's SIGTERM) are not for the spawner:
  // it goes when the agent goes. Commands start with default signals (orchion_exec_command).
  int ignored[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP};
  for (unsigned i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
    orchion_set_disposition(ignored[i], SIG_IGN);
  }
  orchion_set_disposition(SIGCHLD, SIG_DFL);
  sigset_t children;
  sigemptyset(&children);
  sigaddset(&children, SIGCHLD);
  sigprocmask(SIG_SETMASK, &children, NULL);  // only SIGCHLD blocked: read from a signalfd
  int child_events = signalfd(-1, &children, SFD_CLOEXEC | SFD_NONBLOCK);
  if (child_events < 0) _exit(1);
  prctl(PR_SET_NAME, "orchion-spawner");
  // Orphans of a task (a double fork) become the spawner's children instead of init's, so
  // they are reaped here and never outlive the spawner unnoticed as init's.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // A request arriving in pieces must not hold up the fencing (receive_exactly).
  struct timeval receive_timeout = {.tv_sec = 0, .tv_usec = poll_interval_ns / 1000};
  setsockopt(socket_fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof(receive_timeout));

  for (;;) {
    // Wake for a request, an ended command, the next SIGKILL due, or the next lease check.
    int64_t wait_ns = poll_interval_ns;
    int64_t now = orchion_monotonic_ns();
    for (size_t i = 0; i < table_count; i++) {
      if (table[i].kill_at > 0 && table[i].kill_at - now < wait_ns) {
        wait_ns = table[i].kill_at - now;
      }
    }
    struct pollfd events[2] = {
        {.fd = socket_fd, .events = POLLIN},
        {.fd = child_events, .events = POLLIN},
    };
    int timeout_ms = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
    int ready = poll(events, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) _exit(1);
    if (ready > 0 && events[1].revents) {
      struct signalfd_siginfo info;
      while (read(child_events, &info, sizeof(info)) == sizeof(info)) {
      }
      reap_ended();
    }
    if (ready > 0 && events[0].revents) handle_request(socket_fd);
    enforce_leases();
  }
}

// ---- The agent's side ----

static pthread_mutex_t spawner_lock = PTHREAD_MUTEX_INITIALIZER;
static int32_t task_uid = -1;
static int32_t task_gid = -1;

void orchion_spawn_set_task_user(int32_t uid, int32_t gid) {
  pthread_mutex_lock(&spawner_lock);
  task_uid = uid;
  task_gid = gid;
  pthread_mutex_unlock(&spawner_lock);
}
static int spawner_socket = -1;
static pid_t spawner_pid = 0;

/// Forks the spawner. Returns 0, or -errno.
static int start_spawner(void) {
  // The lease page must exist before the fork for the spawner to share it.
  int result = orchion_lease_init();
  if (result != 0) return result;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return -errno;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    close(pair[0]);
    close(pair[1]);
    return -error;
  }
  if (pid == 0) {
    agent_pid = parent;
    orchion_close_inherited(pair[1], pair[1], pair[1]);
    // Tasks are the spawner's children: nothing of the agent's command line or environment
    // (its token, an API key it was started with) may be readable at /proc/$PPID.
    orchion_wipe_process_strings();
    serve(pair[1]);
  }
  close(pair[1]);
  spawner_socket = pair[0];
  spawner_pid = pid;
  return 0;
}

static void drop_spawner(void) {
  close(spawner_socket);
  spawner_socket = -1;
  // Reap it if it is gone; if it is not, it goes on its own now that its socket is closed.
  waitpid(spawner_pid, NULL, WNOHANG);
  spawner_pid = 0;
}

static int send_all(const struct spawn_request *header, const char *payload, int fds[3]) {
  union {
    struct cmsghdr header;
    char space[CMSG_SPACE(sizeof(int) * 3)];
  } control;
  memset(&control, 0, sizeof(control));
  struct iovec parts[2] = {
      {.iov_base = (void *)header, .iov_len = sizeof(*header)},
      {.iov_base = (void *)payload, .iov_len = header->payload_length},
  };
  struct msghdr message = {0};
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  message.msg_control = control.space;
  message.msg_controllen = sizeof(control.space);
  struct cmsghdr *entry = CMSG_FIRSTHDR(&message);
  entry->cmsg_level = SOL_SOCKET;
  entry->cmsg_type = SCM_RIGHTS;
  entry->cmsg_len = CMSG_LEN(sizeof(int) * 3);
  memcpy(CMSG_DATA(entry), fds, sizeof(int) * 3);

  while (message.msg_iovlen > 0) {
    ssize_t count = sendmsg(spawner_socket, &message, MSG_NOSIGNAL);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return -1;
    // The descriptors went with the first byte; the rest is plain data.
    message.msg_control = NULL;
    message.msg_controllen = 0;
    while (message.msg_iovlen > 0 && (size_t)count >= message.msg_iov->iov_len) {
      count -= (ssize_t)message.msg_iov->iov_len;
      message.msg_iov++;
      message.msg_iovlen--;
    }
    if (message.msg_iovlen > 0) {
      message.msg_iov->iov_base = (char *)message.msg_iov->iov_base + count;
      message.msg_iov->iov_len -= (size_t)count;
    }
  }
  return 0;
}

static int receive_reply(int32_t *value) {
  size_t done = 0;
  while (done < sizeof(*value)) {
    ssize_t count = recv(spawner_socket, (char *)value + done, sizeof(*value) - done, 0);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return -1;
    done += (size_t)count;
  }
  return 0;
}

static size_t count_strings(char *const list[]) {
  size_t count = 0;
  while (list[count] != NULL) count++;
  return count;
}

/// The payload of a request, or NULL (with errno set).
static char *build_payload(const char *path, char *const argv[], char *const envp[],
                           const char *workdir, const char *cgroup,
                           struct spawn_request *header) {
  size_t argc = count_strings(argv);
  size_t envc = count_strings(envp);
  size_t length = strlen(path) + 1 + strlen(workdir) + 1 + strlen(cgroup) + 1;
  for (size_t i = 0; i < argc; i++) length += strlen(argv[i]) + 1;
  for (size_t i = 0; i < envc; i++) length += strlen(envp[i]) + 1;
  if (length > max_payload || argc + envc > max_strings) {
    errno = E2BIG;
    return NULL;
  }
  char *payload = malloc(length);
  if (payload == NULL) return NULL;
  char *cursor = payload;
  const char *fixed[3] = {path, workdir, cgroup};
  for (int i = 0; i < 3; i++) cursor = stpcpy(cursor, fixed[i]) + 1;
  for (size_t i = 0; i < argc; i++) cursor = stpcpy(cursor, argv[i]) + 1;
  for (size_t i = 0; i < envc; i++) cursor = stpcpy(cursor, envp[i]) + 1;
  header->payload_length = (uint32_t)length;
  header->argc = (uint32_t)argc;
  header->envc = (uint32_t)envc;
  return payload;
}

pid_t orchion_spawner_request(const char *path, char *const argv[], char *const envp[],
                              const char *workdir, const char *cgroup, int stdout_fd,
                              int stderr_fd, int status_fd, int fenced, int64_t kill_grace_ns) {
  struct spawn_request header = {
      .fenced = fenced,
      .kill_grace_ns = kill_grace_ns,
      .uid = task_uid,
      .gid = task_gid,
  };
  char *payload = build_payload(path, argv, envp, workdir, cgroup, &header);
  if (payload == NULL) return -errno;
  int fds[3] = {stdout_fd, stderr_fd, status_fd};

  pthread_mutex_lock(&spawner_lock);
  pid_t result = -ECHILD;
  // Two tries: a spawner that died (killed, or gone with a protocol error) is replaced. A
  // command it may have started for this request was killed with it (parent-death signal).
  for (int attempt = 0; attempt < 2; attempt++) {
    if (spawner_socket < 0) {
      int started = start_spawner();
      if (started != 0) {
        result = started;
        break;
      }
    }
    int32_t reply_value = 0;
    if (send_all(&header, payload, fds) == 0 && receive_reply(&reply_value) == 0) {
      result = reply_value;
      break;
    }
    drop_spawner();
  }
  pthread_mutex_unlock(&spawner_lock);
  free(payload);
  return result;
}
