public import Foundation
import OrchionCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Files only their owner may read — tokens, keys, credentials, the client config — and the
/// one way Orchion writes any file of its own.
///
/// ```swift
/// try PrivateFile.write(Data((token + "\n").utf8), to: dataDir + "/admin.token")
/// ```
public enum PrivateFile {
  /// Writes `contents` to `path`, replacing any file there atomically (a reader sees the old
  /// file or the new one, never half) and durably (synced before it replaces the old one, and
  /// the rename synced too), creating the directory 0700 if needed.
  ///
  /// The bytes go into a new file in the same directory, created `O_EXCL` with `mode` from its
  /// first instant — never wider, whatever the umask — then renamed over `path`.
  /// - Parameters:
  ///   - contents: The bytes.
  ///   - path: Where they go.
  ///   - mode: The file's mode: 0600 unless the contents are public (a certificate).
  /// - Throws: `unavailable` naming the file and the system's reason.
  public static func write(_ contents: Data, to path: String, mode: mode_t = 0o600) throws {
    try write(contents, to: path, mode: mode, beforeRename: { _ in })
  }

  /// ``write(_:to:mode:)``, calling `beforeRename` with the temporary file's path once it is
  /// written and synced (tests look at it there).
  static func write(
    _ contents: Data,
    to path: String,
    mode: mode_t,
    beforeRename: (String) throws -> Void
  ) throws {
    let directory = (path as NSString).deletingLastPathComponent
    if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
      try FileManager.default.createDirectory(
        atPath: directory,
        withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700]
      )
    }
    let suffix = String(UInt64.random(in: .min ... .max), radix: 16)
    let temporary = path + ".tmp-" + suffix
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    guard descriptor >= 0 else { throw failure("create", temporary) }
    do {
      // The umask may have taken bits away (never added any): set exactly what was asked.
      guard fchmod(descriptor, mode) == 0 else { throw failure("set the mode of", temporary) }
      try writeAll(contents, to: descriptor, path: temporary)
      guard fsync(descriptor) == 0 else { throw failure("sync", temporary) }
    } catch {
      close(descriptor)
      unlink(temporary)
      throw error
    }
    guard close(descriptor) == 0 else {
      let error = failure("close", temporary)
      unlink(temporary)
      throw error
    }
    do {
      try beforeRename(temporary)
      guard rename(temporary, path) == 0 else { throw failure("replace", path) }
    } catch {
      unlink(temporary)
      throw error
    }
    // The rename is durable only once the directory is synced.
    let directoryDescriptor = open(
      directory.isEmpty ? "." : directory,
      O_RDONLY | O_DIRECTORY | O_CLOEXEC
    )
    guard directoryDescriptor >= 0 else { throw failure("open", directory) }
    defer { close(directoryDescriptor) }
    guard fsync(directoryDescriptor) == 0 else { throw failure("sync", directory) }
  }

  /// Makes `path` a directory only its owner can enter: created 0700 if absent; an existing
  /// one that others may read or enter is tightened to 0700.
  /// - Returns: The mode it had when it was tightened (for a warning), `nil` otherwise.
  /// - Throws: `failedPrecondition` for a directory others may write (such as `/tmp`) or that
  ///   belongs to another user: tightening those would break them, and using them would not be
  ///   private; `unavailable` when it cannot be created or changed.
  public static func prepareDirectory(_ path: String) throws -> mode_t? {
    if !FileManager.default.fileExists(atPath: path) {
      try FileManager.default.createDirectory(
        atPath: path,
        withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700]
      )
    }
    var info = stat()
    guard stat(path, &info) == 0 else { throw failure("inspect", path) }
    guard info.st_mode & S_IFMT == S_IFDIR else {
      throw OrchionError.failedPrecondition("\(path) is not a directory")
    }
    let permissions = info.st_mode & 0o7777
    guard info.st_uid == geteuid() else {
      throw OrchionError.failedPrecondition(
        "\(path) belongs to another user (uid \(info.st_uid)): use a directory of your own"
      )
    }
    guard permissions & (S_IWGRP | S_IWOTH | S_ISVTX) == 0 else {
      throw OrchionError.failedPrecondition(
        "\(path) may be written by others (mode \(octal(permissions))): use a directory of its own"
      )
    }
    guard permissions & 0o077 != 0 else { return nil }
    guard chmod(path, 0o700) == 0 else { throw failure("restrict", path) }
    return permissions
  }

  /// `mode` as `0755`.
  public static func octal(_ mode: mode_t) -> String {
    "0" + String(mode, radix: 8)
  }

  /// The file's text without surrounding whitespace; `nil` when absent or empty.
  public static func readText(_ path: String) -> String? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    return trimmed.isEmpty ? nil : trimmed
  }

  private static func writeAll(_ contents: Data, to descriptor: Int32, path: String) throws {
    try contents.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
      var offset = 0
      while offset < buffer.count {
        let written = Glibc.write(
          descriptor,
          buffer.baseAddress?.advanced(by: offset),
          buffer.count - offset
        )
        if written < 0 {
          if errno == EINTR { continue }
          throw failure("write", path)
        }
        offset += written
      }
    }
  }

  private static func failure(_ action: String, _ path: String) -> OrchionError {
    .unavailable("cannot \(action) \(path): \(String(cString: strerror(errno)))")
  }
}
