import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `strace`, which the durability test needs (.ci/run installs it).
private func straceExecutable() throws -> String {
  let found = ["/usr/bin/strace", "/bin/strace", "/usr/local/bin/strace"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
  return try #require(found, "strace is needed for this test: apt-get install strace")
}

/// Whether every thread of `pid` is traced.
private func fullyTraced(_ pid: Int32) -> Bool {
  guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"),
    !threads.isEmpty
  else { return false }
  return threads.allSatisfy { thread in
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("TracerPid:") })
    else { return false }
    return line.split(separator: "\t").last.map { $0 != "0" } ?? false
  }
}

@Suite("End to end: an acknowledged submission is synced to disk", .serialized)
struct WALSyncTests {
  @Test(
    "each SubmitTask is answered only after the orchestrator fsyncs the SQLite WAL (strace)",
    .timeLimit(.minutes(2))
  )
  func submitWaitsForSync() async throws {
    let strace = try straceExecutable()
    let (server, address) = try await startServer()
    let log = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-strace-\(UUID().uuidString.prefix(8)).log").path
    defer { try? FileManager.default.removeItem(atPath: log) }
    // Attached to the running server, so the start-up writes are not in the log; -y names
    // each descriptor's file, so the WAL's writes and syncs can be told from others.
    let tracer = try ChildProcess(
      strace,
      [
        "-f", "-y", "-e", "trace=pwrite64,fsync,fdatasync", "-o", log, "-p", "\(server.pid)",
      ]
    )
    try await eventually(timeout: .seconds(20)) { fullyTraced(server.pid) }

    /// The WAL's writes and syncs so far, in order (`w` and `s`).
    func walEvents() -> [Character] {
      let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      return text.split(separator: "\n").compactMap { line -> Character? in
        guard line.contains("-wal>") else { return nil }
        if line.contains("pwrite64(") { return "w" }
        if line.contains("fdatasync(") || line.contains("fsync(") { return "s" }
        return nil
      }
    }

    try await withOrchionClient(server: address, token: testAdminToken) { client in
      for index in 0..<3 {
        let before = walEvents()
        let syncsBefore = before.filter { $0 == "s" }.count
        _ = try await client.submit(["echo", "\(index)"])
        // The answer came, so the commit returned: its WAL write and the sync after it have
        // been traced (strace logs a call when it starts, before the call can return).
        try await eventually(timeout: .seconds(10)) {
          walEvents().filter { $0 == "s" }.count > syncsBefore
        }
        let after = walEvents().dropFirst(before.count)
        let firstWrite = try #require(after.firstIndex(of: "w"), "no WAL write for submit \(index)")
        #expect(after[firstWrite...].contains("s"), "no sync after the WAL write: \(after)")
      }
    }
    // The tracer ends with its tracee.
    server.signal(SIGTERM)
    #expect(try await server.waitForExit() == 0, "\(server.standardError)")
    _ = try await tracer.waitForExit()
  }
}
