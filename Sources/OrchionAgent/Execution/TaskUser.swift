import COrchionSpawn
public import OrchionCore

#if canImport(Glibc)
  import Glibc
#endif

/// The OS user tasks run as when it is not the agent's own (`orchion agent --task-user`): with
/// the agent running as root, tasks then cannot read the agent's files (its node credential,
/// the client config, an `orchion up` data dir) nor signal or trace it.
public struct TaskUser: Sendable, Equatable {
  public var name: String
  public var uid: UInt32
  public var gid: UInt32
  public var home: String

  /// Looks `name` up in the system's user database.
  /// - Throws: `invalidArgument` for an unknown user; `failedPrecondition` when this process is
  ///   not root (only root may start processes as another user).
  public init(named name: String) throws(OrchionError) {
    guard let entry = getpwnam(name) else {
      throw .invalidArgument("--task-user: no user named \(TextRules.quoted(name)) on this machine")
    }
    guard geteuid() == 0 else {
      throw .failedPrecondition(
        "--task-user needs the agent to run as root: only root may start processes as another user"
      )
    }
    self.name = name
    uid = entry.pointee.pw_uid
    gid = entry.pointee.pw_gid
    home = String(cString: entry.pointee.pw_dir)
  }

  /// From now on the spawner starts every command as this user.
  func apply() {
    orchion_spawn_set_task_user(Int32(bitPattern: uid), Int32(bitPattern: gid))
  }

  /// What the task's environment says about its user.
  var environment: [String: String] {
    ["HOME": home, "USER": name, "LOGNAME": name]
  }
}
