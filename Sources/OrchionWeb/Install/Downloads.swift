import Crypto
import Foundation
import OrchionCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The `orchion` binaries the orchestrator hands out (`/download/orchion-linux-<arch>`): the
/// executable it runs itself, for this machine's architecture, and any `orchion-linux-<arch>`
/// in its dist directory (`make dist` builds) for others. Each with its SHA-256, computed once
/// per file version (path, size, modification time) and kept.
public final class Downloads: Sendable {
  struct Binary: Sendable, Equatable {
    var arch: String
    var path: String
    var size: Int64
    var sha256: String
  }

  private struct Key: Hashable {
    var path: String
    var size: Int64
    var modified: Date
  }

  private let distDirectory: String?
  private let executable: String?
  private let digests = Mutex<[Key: String]>([:])

  /// Architecture names as `uname -m` prints them on Linux.
  static let knownArchitectures = ["x86_64", "aarch64"]

  init(distDirectory: String?, executable: String? = Downloads.currentExecutable) {
    self.distDirectory = distDirectory
    self.executable = executable
  }

  /// This process's executable, resolved (`/proc/self/exe`).
  static var currentExecutable: String? {
    try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
  }

  /// This machine's architecture as `uname -m` says it.
  static var machineArchitecture: String {
    var name = utsname()
    uname(&name)
    return withUnsafeBytes(of: &name.machine) { bytes in
      String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
  }

  /// The binary for `arch`, if there is one. A dist build for this machine's architecture
  /// wins over the running executable (it is the optimised, self-contained one).
  func binary(for arch: String) throws -> Binary? {
    guard Self.knownArchitectures.contains(arch) else { return nil }
    if let distDirectory {
      let path = (distDirectory as NSString).appendingPathComponent("orchion-linux-\(arch)")
      if FileManager.default.isReadableFile(atPath: path) { return try describe(path, arch: arch) }
    }
    guard arch == Self.machineArchitecture, let executable else { return nil }
    return try describe(executable, arch: arch)
  }

  /// Every binary on offer.
  func all() throws -> [Binary] {
    try Self.knownArchitectures.compactMap { try binary(for: $0) }
  }

  private func describe(_ path: String, arch: String) throws -> Binary {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
    let key = Key(path: path, size: size, modified: attributes[.modificationDate] as? Date ?? .distantPast)
    if let known = digests.withLock({ $0[key] }) {
      return Binary(arch: arch, path: path, size: size, sha256: known)
    }
    let digest = try Self.sha256(of: path)
    digests.withLock { $0[key] = digest }
    return Binary(arch: arch, path: path, size: size, sha256: digest)
  }

  /// The file's SHA-256, hex, read a megabyte at a time.
  public static func sha256(of path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw OrchionError.unavailable("cannot read \(path)")
    }
    defer { try? handle.close() }
    var hasher = SHA256()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
      hasher.update(data: chunk)
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }
}
