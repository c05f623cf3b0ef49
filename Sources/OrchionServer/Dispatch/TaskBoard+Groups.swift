import OrchionCore

/// Groups and idempotent submission on the board: which tasks belong to a group, and which
/// submission an idempotency key already made. Both are rebuilt from the tasks themselves at
/// restore (each member carries its group, and the key and request digest it came with), so
/// they survive restarts and failover with nothing else to store.
extension TaskBoard {
  /// What one idempotency key submitted.
  struct Submission: Sendable {
    var requestDigest: [UInt8]
    var tasks: Set<TaskID>
  }

  /// Records a new or restored task in the group and key indexes.
  mutating func index(_ task: TaskRecord) {
    if let membership = task.membership { groups[membership.group, default: []].insert(task.id) }
    if let idempotency = task.idempotency {
      submissions[idempotency.key, default: Submission(requestDigest: idempotency.requestDigest, tasks: [])]
        .tasks.insert(task.id)
    }
  }

  /// Drops a forgotten task from the indexes.
  mutating func unindex(_ task: TaskRecord) {
    if let group = task.membership?.group {
      groups[group]?.remove(task.id)
      if groups[group]?.isEmpty == true { groups[group] = nil }
    }
    if let key = task.idempotency?.key {
      submissions[key]?.tasks.remove(task.id)
      if submissions[key]?.tasks.isEmpty == true { submissions[key] = nil }
    }
  }

  /// The tasks an earlier submission with this key made, when the request is the same;
  /// `nil` when the key is new.
  /// - Throws: `alreadyExists` when the key was used for a different request.
  func earlierSubmission(_ idempotency: IdempotencyKey) throws(OrchionError) -> [TaskRecord]? {
    guard let earlier = submissions[idempotency.key] else { return nil }
    guard earlier.requestDigest == idempotency.requestDigest else {
      throw OrchionError(
        code: .alreadyExists,
        message:
          "idempotency_key \(TextRules.quoted(idempotency.key)): already used for a different request; use a new key for a new submission"
      )
    }
    return earlier.tasks.compactMap { tasks[$0] }.sorted(by: Self.inGroupOrder)
  }

  /// A group's members, in index order.
  /// - Throws: `notFound` for an unknown (or forgotten) group.
  func members(of group: GroupID) throws(OrchionError) -> [TaskRecord] {
    guard let ids = groups[group] else { throw .notFound("group '\(group)' not found") }
    return ids.compactMap { tasks[$0] }.sorted(by: Self.inGroupOrder)
  }

  static func inGroupOrder(_ a: TaskRecord, _ b: TaskRecord) -> Bool {
    (a.membership?.index ?? 0, a.id) < (b.membership?.index ?? 0, b.id)
  }
}
