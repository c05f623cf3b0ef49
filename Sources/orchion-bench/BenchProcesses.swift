import Foundation
import OrchionCore

#if canImport(Glibc)
  import Glibc
#endif

/// `orchion` processes a bench starts itself (a private orchestrator, agents, `orchion up`),
/// from the real `orchion` executable, so what is measured is the real thing.
final class BenchProcess: @unchecked Sendable {
  private let process: Process

  /// Starts `orchion arguments…` with its output in `logPath` (or discarded).
  init(_ arguments: [String], logPath: String? = nil, environment: [String: String] = [:]) throws {
    process = Process()
    process.executableURL = URL(fileURLWithPath: Self.orchion)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    if let logPath {
      _ = FileManager.default.createFile(atPath: logPath, contents: nil)
      let handle = FileHandle(forWritingAtPath: logPath)
      process.standardOutput = handle
      process.standardError = handle
    } else {
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
    }
    process.standardInput = FileHandle.nullDevice
    try process.run()
  }

  /// This executable, `orchion-bench`.
  static var this: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? CommandLine.arguments[0]
  }

  /// The `orchion` the bench measures: `$ORCHION_BINARY`, else the one built beside this
  /// executable (SwiftPM and `make bench` put both in one directory).
  static var orchion: String {
    if let path = ProcessInfo.processInfo.environment["ORCHION_BINARY"], !path.isEmpty {
      return path
    }
    return URL(fileURLWithPath: this).deletingLastPathComponent().appendingPathComponent("orchion")
      .path
  }

  var pid: Int32 { process.processIdentifier }

  func signal(_ signal: Int32) {
    kill(process.processIdentifier, signal)
  }

  /// SIGKILL, then waits for the exit.
  func stop() {
    if process.isRunning {
      kill(process.processIdentifier, SIGCONT)
      kill(process.processIdentifier, SIGKILL)
    }
    process.waitUntilExit()
  }
}

/// Loopback ports and scratch directories for bench processes.
enum BenchEnvironment {
  /// A TCP port on 127.0.0.1 that was free a moment ago.
  static func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw OrchionError.unavailable("socket: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
        bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
      }
    }
    guard bound else { throw OrchionError.unavailable("cannot find a free port: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// Whether something accepts TCP connections on 127.0.0.1:`port`.
  static func accepts(port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  /// A new directory under the system's temporary directory.
  static func scratchDirectory(_ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-bench-\(name)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Milliseconds, two decimals.
  static func milliseconds(_ duration: Duration) -> String {
    String(format: "%.2f ms", duration.seconds * 1000)
  }
}
