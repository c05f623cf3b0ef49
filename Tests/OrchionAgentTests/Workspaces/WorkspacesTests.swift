import Foundation
import Logging
import OrchionCore
import OrchionTestSupport
import Testing

@testable import OrchionAgent

/// The workspace policy on real directories, time on the manual clock.
@Suite("Workspaces")
struct WorkspacesTests {
  let clock = ManualClock()
  let root = FileManager.default.temporaryDirectory
    .appendingPathComponent("workspaces-\(UUID().uuidString)").path

  func workspaces(ttl: Duration = .seconds(3600), budget: Int64 = 1 << 40) -> Workspaces {
    Workspaces(
      root: root,
      ttl: ttl,
      budget: budget,
      clock: clock,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
  }

  func ids(_ number: UInt32) throws -> (TaskID, AttemptID) {
    (
      TaskID(createdAt: clock.now, sequence: number),
      try AttemptID(validating: String(format: "a%016x", number))
    )
  }

  /// Creates a workspace holding `bytes` bytes of file.
  func make(_ store: Workspaces, _ number: UInt32, bytes: Int = 1000) throws -> String {
    let (task, attempt) = try ids(number)
    let path = try store.create(task: task, attempt: attempt, owner: nil)
    try Data(repeating: 7, count: bytes).write(to: URL(fileURLWithPath: path + "/out"))
    return path
  }

  @Test("each attempt gets its own 0700 directory under its task")
  func create() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let store = workspaces()
    let first = try make(store, 1)
    let second = try make(store, 2)
    #expect(first != second)
    let mode = (try FileManager.default.attributesOfItem(atPath: first))[.posixPermissions] as? Int
    #expect(mode == 0o700)
    let (task, attempt) = try ids(1)
    #expect(first == "\(root)/\(task)/\(attempt)")
    // The same attempt twice is an error, not a shared directory.
    #expect(throws: (any Error).self) { try store.create(task: task, attempt: attempt, owner: nil) }
  }

  @Test("a finished workspace stays until its report is acknowledged and its TTL passes")
  func ttl() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let store = workspaces(ttl: .seconds(3600))
    let path = try make(store, 1)
    let (task, attempt) = try ids(1)
    store.ended(task: task, attempt: attempt, reportSequence: 10)
    clock.advance(by: .seconds(7200))
    store.sweep(acknowledged: 9)
    #expect(FileManager.default.fileExists(atPath: path), "removed before its result was safe")
    store.sweep(acknowledged: 10)
    #expect(FileManager.default.fileExists(atPath: path), "the TTL counts from when it was safe")
    clock.advance(by: .seconds(3599))
    store.sweep(acknowledged: 10)
    #expect(FileManager.default.fileExists(atPath: path))
    clock.advance(by: .seconds(1))
    store.sweep(acknowledged: 10)
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(!FileManager.default.fileExists(atPath: "\(root)/\(task)"))
  }

  @Test("over the budget the oldest safe workspaces go first; one still running or unsaved never")
  func budget() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let store = workspaces(budget: 250_000)
    var paths: [String] = []
    for number in UInt32(1)...4 {
      paths.append(try make(store, number, bytes: 100_000))
      if number < 4 {
        let (task, attempt) = try ids(number)
        store.ended(task: task, attempt: attempt, reportSequence: UInt64(number))
        store.sweep(acknowledged: UInt64(number))
        clock.advance(by: .seconds(10))
      }
    }
    // 400 kB on disk, 250 kB allowed: the two oldest finished ones go; the running one stays.
    store.sweep(acknowledged: 100)
    #expect(paths.map { FileManager.default.fileExists(atPath: $0) } == [false, false, true, true])

    // A workspace a task made hard to remove (a directory without write permission) still goes,
    // and a symbolic link out of it is removed, not followed.
    let outside = root + "-outside"
    try FileManager.default.createDirectory(
      atPath: outside,
      withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o755]
    )
    defer { try? FileManager.default.removeItem(atPath: outside) }
    try "keep".write(toFile: outside + "/file", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: paths[2] + "/link", withDestinationPath: outside)
    try FileManager.default.createDirectory(atPath: paths[2] + "/locked", withIntermediateDirectories: true)
    try "x".write(toFile: paths[2] + "/locked/f", atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: paths[2] + "/locked")
    clock.advance(by: .seconds(3600))
    store.sweep(acknowledged: 100)
    #expect(!FileManager.default.fileExists(atPath: paths[2]))
    #expect(FileManager.default.fileExists(atPath: paths[3]), "never marked: never removed")
    #expect(try String(contentsOfFile: outside + "/file", encoding: .utf8) == "keep")
    // Its permissions were not touched through the link.
    #expect((try FileManager.default.attributesOfItem(atPath: outside))[.posixPermissions] as? Int == 0o755)
  }
}
