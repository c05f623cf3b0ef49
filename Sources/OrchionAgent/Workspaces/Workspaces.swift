import Foundation
import Logging
import OrchionCore
import Synchronization

/// Each attempt's own directory, `<root>/<task>/<attempt>`, and the policy that removes them.
///
/// A workspace is kept after its attempt for inspection. It becomes removable only once the
/// attempt's final report is acknowledged by the orchestrator (its result is safe there): then
/// a marker `<root>/<task>/<attempt>.done` records when, on the agent's clock. A workspace
/// without a marker (its attempt still runs, or the agent died before the report was safe) is
/// never removed. Removable ones go when older than ``ttl``, and oldest first while all
/// workspaces together take more than ``budget`` bytes.
final class Workspaces: Sendable {
  let root: String
  let ttl: Duration
  let budget: Int64
  private let clock: any WallClock
  private let logger: Logger
  /// Attempts that ended, by the outbox sequence of their final report.
  private let ended = Mutex<[(task: TaskID, attempt: AttemptID, sequence: UInt64)]>([])

  /// The name of the marker of a workspace whose result is safe.
  static let markerSuffix = ".done"

  init(root: String, ttl: Duration, budget: Int64, clock: any WallClock, logger: Logger) {
    self.root = root
    self.ttl = ttl
    self.budget = budget
    self.clock = clock
    self.logger = logger
  }

  /// Creates the workspace of an attempt: mode 0700, owned by `owner` when tasks run as
  /// another user (the directories above it are then only traversable, not listable).
  /// - Returns: Its path.
  func create(task: TaskID, attempt: AttemptID, owner: TaskUser?) throws -> String {
    let taskDirectory = root + "/" + task.rawValue
    let path = taskDirectory + "/" + attempt.rawValue
    let manager = FileManager.default
    let traversable = owner == nil ? 0o700 : 0o711
    for directory in [root, taskDirectory] {
      try manager.createDirectory(
        atPath: directory,
        withIntermediateDirectories: true,
        attributes: [.posixPermissions: traversable]
      )
      try manager.setAttributes([.posixPermissions: traversable], ofItemAtPath: directory)
    }
    try manager.createDirectory(
      atPath: path,
      withIntermediateDirectories: false,
      attributes: [.posixPermissions: 0o700]
    )
    if let owner {
      try manager.setAttributes(
        [.ownerAccountID: NSNumber(value: owner.uid), .groupOwnerAccountID: NSNumber(value: owner.gid)],
        ofItemAtPath: path
      )
    }
    return path
  }

  /// An attempt ended; its final report is the outbox item `sequence`.
  func ended(task: TaskID, attempt: AttemptID, reportSequence sequence: UInt64) {
    ended.withLock { $0.append((task, attempt, sequence)) }
  }

  /// Marks the workspaces whose report the orchestrator has acknowledged (up to
  /// `acknowledged`), then removes what the policy says.
  func sweep(acknowledged: UInt64) {
    let safe = ended.withLock { ended in
      let safe = ended.filter { $0.sequence <= acknowledged }
      ended.removeAll { $0.sequence <= acknowledged }
      return safe
    }
    let now = clock.now
    for attempt in safe {
      let marker = "\(root)/\(attempt.task)/\(attempt.attempt)\(Self.markerSuffix)"
      let written = FileManager.default.createFile(
        atPath: marker,
        contents: Data("\(now.nanosecondsSinceEpoch)\n".utf8),
        attributes: [.posixPermissions: 0o600]
      )
      if !written {
        logger.warning("cannot mark a workspace removable", metadata: ["orchion.workspace": "\(marker)"])
      }
    }
    removeExpired(now: now)
  }

  /// Sweeps every `interval` until cancelled.
  func run(every interval: Duration, acknowledged: @escaping @Sendable () -> UInt64) async {
    while !Task.isCancelled {
      sweep(acknowledged: acknowledged())
      do {
        try await clock.sleep(for: interval)
      } catch {
        return
      }
    }
  }

  /// A workspace on disk, and when its result became safe (`nil`: not yet, or unknown).
  struct Entry: Sendable {
    var path: String
    var safeSince: UTCInstant?
    var bytes: Int64
  }

  /// Every workspace under the root.
  func entries() -> [Entry] {
    let manager = FileManager.default
    var entries: [Entry] = []
    for task in (try? manager.contentsOfDirectory(atPath: root)) ?? [] {
      let taskDirectory = root + "/" + task
      let names = (try? manager.contentsOfDirectory(atPath: taskDirectory)) ?? []
      for name in names where !name.hasSuffix(Self.markerSuffix) {
        let path = taskDirectory + "/" + name
        let marker = path + Self.markerSuffix
        let safeSince = manager.contents(atPath: marker)
          .flatMap { Int64(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
          .map(UTCInstant.init(nanosecondsSinceEpoch:))
        entries.append(Entry(path: path, safeSince: safeSince, bytes: Self.size(of: path)))
      }
    }
    return entries
  }

  private func removeExpired(now: UTCInstant) {
    let all = entries()
    var total = all.reduce(Int64(0)) { $0 &+ $1.bytes }
    // Oldest first; only those whose result is safe.
    let removable = all.compactMap { entry in entry.safeSince.map { (entry, $0) } }
      .sorted { $0.1 < $1.1 }
    for (entry, safeSince) in removable {
      let expired = safeSince.advanced(by: ttl) <= now
      guard expired || total > budget else { continue }
      if remove(entry.path) {
        total &-= entry.bytes
        logger.debug(
          "workspace removed",
          metadata: ["orchion.workspace": "\(entry.path)", "orchion.reason": "\(expired ? "ttl" : "budget")"]
        )
      }
    }
  }

  /// Removes a workspace and its marker (the task directory too, once empty).
  private func remove(_ path: String) -> Bool {
    let manager = FileManager.default
    do {
      try manager.removeItem(atPath: path)
    } catch {
      // A task may have left directories it cannot write: give them back, then try again.
      Self.makeWritable(path)
      do {
        try manager.removeItem(atPath: path)
      } catch {
        logger.warning(
          "cannot remove a workspace",
          metadata: ["orchion.workspace": "\(path)", "error": "\(error)"]
        )
        return false
      }
    }
    try? manager.removeItem(atPath: path + Self.markerSuffix)
    let parent = (path as NSString).deletingLastPathComponent
    if (try? manager.contentsOfDirectory(atPath: parent))?.isEmpty == true {
      try? manager.removeItem(atPath: parent)
    }
    return true
  }

  /// Bytes of the files under `path` (their sizes; symbolic links not followed).
  static func size(of path: String) -> Int64 {
    let url = URL(fileURLWithPath: path)
    let keys: [URLResourceKey] = [.fileSizeKey, .isRegularFileKey]
    guard
      let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: keys)
    else { return 0 }
    var total: Int64 = 0
    for case let file as URL in enumerator {
      guard let values = try? file.resourceValues(forKeys: Set(keys)), values.isRegularFile == true
      else { continue }
      total &+= Int64(values.fileSize ?? 0)
    }
    return total
  }

  private static func makeWritable(_ path: String) {
    let manager = FileManager.default
    try? manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
    guard let enumerator = manager.enumerator(atPath: path) else { return }
    for case let relative as String in enumerator {
      let item = path + "/" + relative
      // The item itself (lstat), never what a symbolic link a task left points at.
      let type = (try? manager.attributesOfItem(atPath: item))?[.type] as? FileAttributeType
      if type == .typeDirectory {
        try? manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: item)
      }
    }
  }
}
