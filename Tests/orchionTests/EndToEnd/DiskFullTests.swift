import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a system command (mount, umount) and fails the test with its output unless it succeeds.
private func system(_ arguments: [String]) async throws {
  let process = try ChildProcess(arguments[0], Array(arguments.dropFirst()))
  let status = try await process.waitForExit()
  try #require(status == 0, "\(arguments.joined(separator: " ")): \(process.standardError)")
}

/// Writes zeros to `path` until the file system is full.
private func fill(_ path: String) throws {
  let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  try #require(descriptor >= 0)
  defer { close(descriptor) }
  let block = [UInt8](repeating: 0, count: 64 * 1024)
  var total = 0
  while true {
    let written = block.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    guard written > 0 else { break }
    total += written
  }
  #expect(errno == ENOSPC, "filling stopped with \(String(cString: strerror(errno)))")
}

@Suite("End to end: a full disk", .serialized)
struct DiskFullTests {
  @Test(
    "with the store's disk full, SubmitTask answers RESOURCE_EXHAUSTED instead of hanging; once space frees it works again",
    .timeLimit(.minutes(2))
  )
  func submitOnFullDisk() async throws {
    // A real, small file system holding a real SQLite store (needs root, as in CI).
    let mountPoint = FileManager.default.temporaryDirectory
      .appendingPathComponent("orchion-full-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    try await system(["/bin/mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint])
    let cleanUp = {
      _ = try? await system(["/bin/umount", "-l", mountPoint])
      try? FileManager.default.removeItem(atPath: mountPoint)
    }
    do {
      let (server, address) = try await Cluster.launchServer(
        directory: mountPoint,
        arguments: ["--port", "0"],
        environment: ["HOME": mountPoint]
      )
      var options = CallOptions.defaults
      // A hang fails the test as DEADLINE_EXCEEDED, not as a timed test.
      options.timeout = .seconds(20)
      let filler = mountPoint + "/filler"
      try await withOrchionClient(server: address, token: testAdminToken) { client in
        func submit(_ bytes: Int) async throws -> Orchion_V1_Task {
          try await client.tasks.submitTask(
            .with {
              $0.spec.command = ["echo", String(repeating: "x", count: bytes)]
              $0.spec.name = "big"
            },
            options: options
          ).task
        }
        _ = try await submit(10)
        try fill(filler)
        // The WAL may have room left from earlier commits: submit until the disk is reached.
        var refusal: RPCError?
        for _ in 0..<20 where refusal == nil {
          do {
            _ = try await submit(200_000)
          } catch let error as RPCError {
            refusal = error
          }
        }
        let error = try #require(refusal, "no submission was refused on a full disk")
        #expect(error.code == .resourceExhausted, "\(error)")
        #expect(error.message.hasPrefix("disk full"), "\(error.message)")
        // While the disk stays full, new work is refused at once and changes nothing.
        let again = await #expect(throws: RPCError.self) { _ = try await submit(10) }
        #expect(again?.code == .resourceExhausted)

        try FileManager.default.removeItem(atPath: filler)
        // The journal retries (backing off up to 2 s) and takes work again.
        var accepted: Orchion_V1_Task?
        try await eventually(timeout: .seconds(20), interval: .milliseconds(200)) {
          accepted = try? await submit(10)
          return accepted != nil
        }
        let task = try #require(accepted)
        #expect(try await client.task(task.id).state == .pending)
      }
      server.signal(SIGTERM)
      #expect(try await server.waitForExit() == 0, "\(server.standardError)")
    } catch {
      await cleanUp()
      throw error
    }
    await cleanUp()
  }
}
