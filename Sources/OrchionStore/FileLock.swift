import OrchionCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An exclusive advisory lock on a file (`flock`), held while the process lives: the kernel
/// releases it when the process dies, even by kill -9, so a crashed owner never blocks a restart.
final class FileLock: Sendable {
  private let descriptor: Int32

  private init(descriptor: Int32) {
    self.descriptor = descriptor
  }

  /// Takes the lock on `path`, creating the file if needed.
  /// - Throws: `failedPrecondition` when another process holds it.
  static func acquire(path: String, purpose: String) throws(OrchionError) -> FileLock {
    let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      throw .storeUnavailable("cannot open \(path): \(String(cString: strerror(errno)))")
    }
    // A few tries: for the moment between fork and exec, a process another thread of the
    // previous owner spawned shares its descriptor, and so briefly keeps the lock after the
    // owner let go (seen when an orchestrator restarts in a process that spawns others).
    var attempts = 0
    while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
      attempts += 1
      guard attempts < 20, errno == EWOULDBLOCK else { throw refusal(descriptor, purpose) }
      usleep(50_000)
    }
    return FileLock(descriptor: descriptor)
  }

  private static func refusal(_ descriptor: Int32, _ purpose: String) -> OrchionError {
    Glibc.close(descriptor)
    return .failedPrecondition(
      "another orchestrator is using \(purpose); stop it, or give this one its own --data-dir"
    )
  }

  /// Creates `path` empty with mode 0600 unless it exists.
  /// - Throws: `storeUnavailable` when it cannot be created.
  static func createPrivately(_ path: String) throws(OrchionError) {
    let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    if descriptor >= 0 {
      Glibc.close(descriptor)
    } else if errno != EEXIST {
      throw .storeUnavailable("cannot create \(path): \(String(cString: strerror(errno)))")
    }
  }

  /// Gives the lock up.
  func release() {
    Glibc.close(descriptor)
  }
}
