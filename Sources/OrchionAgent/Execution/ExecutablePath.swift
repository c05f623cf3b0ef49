import COrchionSpawn

#if canImport(Glibc)
  import Glibc
#endif

/// Finds a program the way a shell does: a name with a `/` is used as it is, anything else is
/// looked up on PATH. Done in the agent, before forking, because the child may only make
/// async-signal-safe calls.
enum ExecutablePath {
  /// The path of an executable file for `program`, or `nil`.
  /// - Parameters:
  ///   - program: `command[0]`.
  ///   - path: The PATH to search (the task's, else the agent's).
  static func resolve(_ program: String, path: String?) -> String? {
    if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
    let directories = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
    for directory in directories where !directory.isEmpty {
      let candidate = "\(directory)/\(program)"
      if orchion_is_executable_file(candidate) != 0 { return candidate }
    }
    return nil
  }
}
