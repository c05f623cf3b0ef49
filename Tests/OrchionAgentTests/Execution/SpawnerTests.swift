import Foundation
import Testing

@testable import OrchionAgent

#if canImport(Glibc)
  import Glibc
#endif

/// The spawner with real processes: one process starting and supervising many commands.
@Suite("Spawner")
struct SpawnerTests {
  func launch(_ script: String) throws -> LaunchedProcess {
    try ProcessLauncher.launch(
      executable: "/bin/sh",
      arguments: ["sh", "-c", script],
      environment: ["PATH": "/usr/bin:/bin"],
      workingDirectory: "",
      fenced: false,
      killGrace: .seconds(1)
    )
  }

  @Test("64 commands at once: each reports its own output and exit status")
  func manyAtOnce() async throws {
    let results = try await withThrowingTaskGroup(of: (Int, String, ProcessOutcome).self) {
      group in
      for index in 0..<64 {
        let process = try launch("echo out-\(index); exit \(index % 7)")
        group.addTask {
          let (output, outcome) = await process.finish()
          return (index, output, outcome)
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    #expect(results.count == 64)
    for (index, output, outcome) in results {
      #expect(output == "out-\(index)\n")
      #expect(outcome == .exited(code: Int32(index % 7)))
    }
  }

  @Test("what a command leaves running in the background is killed when it ends")
  func leftoversKilled() async throws {
    let process = try launch("sleep 1234 & echo $!")
    let (output, outcome) = await process.finish()
    #expect(outcome == .exited(code: 0))
    let leftover = try #require(Int32(output.trimmingCharacters(in: .whitespacesAndNewlines)))
    // Gone, or a zombie waiting for init: either way no longer running.
    let stat = try? String(contentsOfFile: "/proc/\(leftover)/stat", encoding: .utf8)
    #expect(stat == nil || stat?.contains(") Z ") == true)
  }

  @Test("a command that cannot be executed reports why; the spawner carries on")
  func cannotExecute() async throws {
    // A regular file without execute permission: execve fails with EACCES, even for root.
    let path = NSTemporaryDirectory() + "not-executable-\(UUID().uuidString)"
    #expect(FileManager.default.createFile(atPath: path, contents: Data("data\n".utf8)))
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(chmod(path, 0o644) == 0)
    let process = try ProcessLauncher.launch(
      executable: path,
      arguments: ["not-executable"],
      environment: [:],
      workingDirectory: "",
      fenced: false,
      killGrace: .seconds(1)
    )
    let outcome = await process.finish().outcome
    #expect(outcome == .cannotExecute(errno: EACCES))
    let next = try launch("exit 5")
    #expect(await next.finish().outcome == .exited(code: 5))
  }
}
