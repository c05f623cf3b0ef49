import Foundation
import OrchionCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A real process started by a test, its output collected, so end-to-end tests can drive the
/// `orchion` binary exactly as a person would.
public final class ChildProcess: Sendable {
  private let process: Process
  private let output: OutputBuffer
  /// The home directory made for this process, removed with it; `nil` when the test chose one.
  private let ownHome: String?

  /// Output collected from the pipes' reader threads.
  private final class OutputBuffer: Sendable {
    let state = Mutex((stdout: "", stderr: ""))
    func withLock<T>(_ body: (inout (stdout: String, stderr: String)) -> T) -> T {
      state.withLock { body(&$0) }
    }
  }

  /// The process ID.
  public var pid: Int32 { process.processIdentifier }

  /// Starts `executable` with `arguments`.
  /// - Parameters:
  ///   - executable: Path to the program.
  ///   - arguments: Its arguments.
  ///   - environment: Extra environment variables, on top of this process's. Unless it sets
  ///     `HOME`, the process gets a fresh, empty home of its own: nothing a test starts can read
  ///     or overwrite the `~/.orchion` of the person running the tests.
  ///   - standardInput: What the process reads on standard input (nothing when `nil`).
  public init(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String] = [:],
    standardInput: String? = nil
  ) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    // Every `orchion` a test starts presents (or, as a server, accepts) the test admin token,
    // unless the test says otherwise (an empty ORCHION_TOKEN means none).
    let ownHome = environment["HOME"] == nil ? try Self.makeHome() : nil
    var isolation = ["ORCHION_TOKEN": testAdminToken]
    if let ownHome {
      isolation["HOME"] = ownHome
      // An inherited ORCHION_CONFIG would point the process at someone else's config.
      isolation["ORCHION_CONFIG"] = ownHome + "/.orchion/config"
    }
    process.environment = ProcessInfo.processInfo.environment
      .merging(isolation) { $1 }
      .merging(environment) { $1 }
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    let input = standardInput.map { _ in Pipe() }
    process.standardInput = input ?? FileHandle.nullDevice
    let output = OutputBuffer()
    // At end of file the handler uninstalls itself: a handler left installed
    // keeps the descriptor open for the life of the test process, and a full run leaked
    // hundreds of them — past 1024, Foundation's select()-based watchers misbehave.
    stdout.fileHandleForReading.readabilityHandler = { handle in
      let data = handle.availableData
      guard !data.isEmpty else { return Self.finish(handle) }
      output.withLock { $0.stdout += String(decoding: data, as: UTF8.self) }
    }
    stderr.fileHandleForReading.readabilityHandler = { handle in
      let data = handle.availableData
      guard !data.isEmpty else { return Self.finish(handle) }
      output.withLock { $0.stderr += String(decoding: data, as: UTF8.self) }
    }
    self.output = output
    self.process = process
    self.ownHome = ownHome
    try process.run()
    if let input, let standardInput {
      input.fileHandleForWriting.write(Data(standardInput.utf8))
      try input.fileHandleForWriting.close()
    }
  }

  /// Everything written to standard output so far.
  public var standardOutput: String { output.withLock { $0.stdout } }
  /// Everything written to standard error so far.
  public var standardError: String { output.withLock { $0.stderr } }

  /// Stops watching a pipe at its end, so the handle (and its descriptor) can go with the
  /// process object. (Closing it here, inside its own handler, would deadlock Foundation.)
  private static func finish(_ handle: FileHandle) {
    handle.readabilityHandler = nil
  }

  /// Sends a signal.
  public func signal(_ signal: Int32) {
    kill(process.processIdentifier, signal)
  }

  /// Waits for the process to exit and returns its exit status (or 128 + signal).
  /// - Parameter timeout: Real time to wait before failing.
  public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while process.isRunning {
      guard ContinuousClock.now < deadline else {
        signal(SIGKILL)
        throw OrchionError(code: .internalError, message: "process \(pid) did not exit in time")
      }
      try await Task.sleep(for: .milliseconds(10))
    }
    // Let the pipes drain.
    try await Task.sleep(for: .milliseconds(50))
    return process.terminationReason == .uncaughtSignal
      ? 128 + process.terminationStatus : process.terminationStatus
  }

  /// Waits until standard error or output contains `text`, and returns the line holding it.
  /// - Parameter timeout: Real time to wait before failing.
  public func waitForOutput(containing text: String, timeout: Duration = .seconds(30)) async throws
    -> String
  {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while true {
      let all = output.withLock { $0.stderr + "\n" + $0.stdout }
      if let line = all.split(separator: "\n").first(where: { $0.contains(text) }) {
        return String(line)
      }
      guard ContinuousClock.now < deadline, process.isRunning || all.contains(text) else {
        throw OrchionError(
          code: .internalError,
          message: "no '\(text)' in output of process \(pid); stderr:\n\(standardError)"
        )
      }
      try await Task.sleep(for: .milliseconds(10))
    }
  }

  /// Makes an empty home directory for one process.
  private static func makeHome() throws -> String {
    let home = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-home-\(UUID().uuidString.prefix(12))").path
    try FileManager.default.createDirectory(
      atPath: home,
      withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o700]
    )
    return home
  }

  deinit {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    if let ownHome { try? FileManager.default.removeItem(atPath: ownHome) }
  }
}

/// Where the binaries built alongside the tests live.
public enum BuiltProducts {
  /// The directory of this test runner's executable, which is where SwiftPM puts products.
  public static var directory: String {
    let runner =
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? CommandLine.arguments[0]
    var url = URL(fileURLWithPath: runner)
    // On Linux the runner is <bin>/orchionPackageTests.xctest; on macOS it is inside a bundle.
    while url.pathComponents.count > 1, !url.lastPathComponent.hasSuffix(".xctest") {
      url.deleteLastPathComponent()
    }
    return url.deletingLastPathComponent().path
  }

  /// The `orchion` binary (`ORCHION_BINARY` overrides).
  public static var orchion: String {
    ProcessInfo.processInfo.environment["ORCHION_BINARY"] ?? directory + "/orchion"
  }

  /// The `orchion-bench` binary (`ORCHION_BENCH_BINARY` overrides). It starts the `orchion`
  /// beside it, or `ORCHION_BINARY`.
  public static var orchionBench: String {
    ProcessInfo.processInfo.environment["ORCHION_BENCH_BINARY"] ?? directory + "/orchion-bench"
  }

  /// The repository root, found from this source file's path.
  public static var repositoryRoot: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path
  }
}
