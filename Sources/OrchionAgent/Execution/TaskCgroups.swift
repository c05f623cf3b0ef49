import COrchionSpawn
import Foundation
import Logging
import OrchionCore

#if canImport(Glibc)
  import Glibc
#endif

/// One cgroup v2 directory per attempt, below the agent's own cgroup, so that everything an
/// attempt starts — also what leaves its process group with `setsid` or is orphaned by a double
/// fork — is killed when the attempt ends (`cgroup.kill`).
///
/// Needs a writable cgroup v2 hierarchy: root, or a systemd unit with `Delegate=yes`. Without
/// one (``make(node:logger:)`` returns `nil`) attempts run in their process group only, and a
/// process that detached from it is not stopped with its task; the README says so.
struct TaskCgroups: Sendable {
  /// `<cgroup2 mount>/<the agent's cgroup>/orchion-<node>-<data dir hash>`.
  let base: String

  /// The agent's cgroup directory, made if needed, with what a previous agent process of the
  /// same node *and data directory* left behind killed and removed; `nil` where cgroups cannot
  /// be used. (Named by both: two agents on one machine may share a node ID — tests do — and
  /// one must never take the other's attempts for leftovers.)
  static func make(node: NodeID, dataDirectory: String, logger: Logger) -> TaskCgroups? {
    guard let own = ownCgroupDirectory() else {
      logger.notice(
        "no cgroup v2 hierarchy: a task's detached processes (setsid) are not stopped with it"
      )
      return nil
    }
    let name = String(node.rawValue.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    let base = own + "/orchion-" + name + "-" + Self.hash(dataDirectory)
    guard mkdir(base, 0o755) == 0 || errno == EEXIST, access(base + "/cgroup.procs", W_OK) == 0
    else {
      logger.notice(
        "cannot create a cgroup under \(own) (\(String(cString: strerror(errno)))): a task's detached processes (setsid) are not stopped with it; run the agent as root or with systemd's Delegate=yes"
      )
      return nil
    }
    let cgroups = TaskCgroups(base: base)
    // A previous agent of this node killed with its spawner: its attempts' leftovers go now.
    let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
    for name in leftovers where name.hasPrefix("attempt-") {
      cgroups.removeAtStart(base + "/" + name)
    }
    return cgroups
  }

  /// A new, empty cgroup for one attempt; `nil` when it cannot be made (the attempt then runs
  /// in its process group only).
  func create(for attempt: String) -> String? {
    let name = "attempt-" + attempt.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
    let directory = base + "/" + String(name)
    if mkdir(directory, 0o755) == 0 { return directory }
    if errno == EEXIST {
      // From an earlier run of the same attempt: empty it first.
      Self.kill(directory)
      return directory
    }
    return nil
  }

  /// Kills every process in `directory`'s cgroup and removes it. Removal waits (briefly, on
  /// `clock`, never blocking a thread) for the killed processes to be gone: a cgroup with
  /// members cannot be removed.
  func remove(_ directory: String, clock: any WallClock) async {
    Self.kill(directory)
    for _ in 0..<50 {
      if rmdir(directory) == 0 || errno == ENOENT { return }
      try? await clock.sleep(for: .milliseconds(5))
    }
  }

  /// ``remove(_:clock:)`` for the agent's start, before any task runs: it may block briefly.
  private func removeAtStart(_ directory: String) {
    Self.kill(directory)
    for _ in 0..<50 {
      if rmdir(directory) == 0 || errno == ENOENT { return }
      usleep(5_000)
    }
  }

  /// Removes the agent's own directory, if no attempt's is left in it.
  func removeBase() {
    _ = rmdir(base)
  }

  /// A short, stable name for a path (FNV-1a, 64 bits, hex): the same on every start.
  static func hash(_ path: String) -> String {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in path.utf8 {
      value ^= UInt64(byte)
      value = value &* 0x0000_0100_0000_01b3
    }
    return String(value, radix: 16)
  }

  /// SIGKILL to everything in the cgroup at `directory`.
  static func kill(_ directory: String) {
    let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    _ = orchion_cgroup_kill(descriptor)
    close(descriptor)
  }

  /// This process's cgroup directory in the cgroup v2 hierarchy, from /proc/self/mountinfo
  /// and /proc/self/cgroup.
  static func ownCgroupDirectory() -> String? {
    guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8),
      let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)
    else { return nil }
    // "<id> <parent> <major:minor> <root> <mount point> <options> ... - cgroup2 <source> ..."
    let mount = mountinfo.split(separator: "\n").lazy.compactMap { line -> String? in
      let halves = line.split(separator: " - ", maxSplits: 1)
      guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { return nil }
      let fields = halves[0].split(separator: " ")
      return fields.count > 4 ? String(fields[4]) : nil
    }.first
    // The v2 line is "0::<path>".
    let path = membership.split(separator: "\n").first { $0.hasPrefix("0::") }?.dropFirst(3)
    guard let mount, let path else { return nil }
    return path == "/" ? mount : mount + path
  }
}
