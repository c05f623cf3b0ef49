import Foundation
public import OrchionAPI
public import OrchionCore
import OrchionWire
import SwiftProtobuf

extension Orchion_V1_StoredTask {
  /// The durable form of a task: the API's view plus the bookkeeping the API does not show.
  public init(_ task: TaskRecord) {
    self.init()
    self.task = .init(task)
    // The API shows not_before only while pending; the store keeps whatever the record has.
    if let notBefore = task.notBefore { self.task.notBefore = .init(notBefore) }
    lostAttempts = task.lostAttempts
    failedAttempts = task.failedAttempts
    cancelRequested = task.cancelRequested
    if let eviction = task.eviction { self.eviction = .init(eviction) }
    queuedAt = .init(task.queuedAt)
    exitCodeKnown = task.exitCode != nil
    if let idempotency = task.idempotency {
      idempotencyKey = idempotency.key
      requestSha256 = Data(idempotency.requestDigest)
    }
    groupItem = task.membership?.item ?? ""
    groupSpread = task.membership?.spread ?? false
  }
}

extension TaskRecord {
  /// The task a stored record describes.
  /// - Throws: `dataLoss` when the record cannot be a task this server wrote.
  public init(stored: Orchion_V1_StoredTask) throws(OrchionError) {
    let proto = stored.task
    do throws(OrchionError) {
      let id = try TaskID(validating: proto.id)
      guard let state = try TaskState.from(proto.state, field: "state") else {
        throw OrchionError.invalidArgument(field: "state", "state: unspecified")
      }
      self.init(
        id: id,
        spec: try TaskSpec(validating: proto.spec),
        createdAt: UTCInstant(proto.createdAt)
      )
      self.state = state
      nodeID = proto.nodeID.isEmpty ? nil : try NodeID(validating: proto.nodeID)
      attempt = proto.attempt
      attemptID = proto.attemptID.isEmpty ? nil : try AttemptID(validating: proto.attemptID)
      exitCode = stored.exitCodeKnown ? proto.exitCode : nil
      startedAt = proto.hasStartedAt ? UTCInstant(proto.startedAt) : nil
      finishedAt = proto.hasFinishedAt ? UTCInstant(proto.finishedAt) : nil
      message = proto.message
      termination = try TerminationReason.from(proto.termination, field: "termination")
      lostAttempts = stored.lostAttempts
      failedAttempts = stored.failedAttempts
      cancelRequested = stored.cancelRequested
      eviction = try AttemptOutcome.from(stored.eviction)
      attempts = try proto.attempts.map(AttemptRecord.init(stored:))
      notBefore = proto.hasNotBefore ? UTCInstant(proto.notBefore) : nil
      queuedAt = stored.hasQueuedAt ? UTCInstant(stored.queuedAt) : createdAt
      agentResult =
        proto.hasAgentResult
        ? try AgentResult(validating: proto.agentResult, field: "agent_result") : nil
      parent =
        proto.parentTaskID.isEmpty
        ? nil : try TaskID(validating: proto.parentTaskID, field: "parent_task_id")
      if !proto.groupID.isEmpty {
        membership = GroupMembership(
          group: try GroupID(validating: proto.groupID),
          index: proto.groupIndex,
          item: stored.groupItem.isEmpty ? nil : stored.groupItem,
          spread: stored.groupSpread
        )
      }
      if !stored.idempotencyKey.isEmpty {
        idempotency = IdempotencyKey(key: stored.idempotencyKey, requestDigest: Array(stored.requestSha256))
      }
    } catch {
      throw .dataLoss("stored task '\(proto.id)' is unreadable: \(error.message)")
    }
  }
}

extension AttemptRecord {
  init(stored proto: Orchion_V1_Attempt) throws(OrchionError) {
    self.init(
      number: proto.number,
      id: try AttemptID(validating: proto.attemptID),
      node: try NodeID(validating: proto.nodeID),
      assignedAt: UTCInstant(proto.assignedAt)
    )
    startedAt = proto.hasStartedAt ? UTCInstant(proto.startedAt) : nil
    finishedAt = proto.hasFinishedAt ? UTCInstant(proto.finishedAt) : nil
    outcome = try AttemptOutcome.from(proto.outcome) ?? .active
    exitCode = proto.hasExitCode ? proto.exitCode : nil
    reason = proto.reason
    termination = try TerminationReason.from(proto.termination, field: "attempt termination")
  }
}

extension AttemptOutcome {
  /// The outcome a stored value names; `nil` for UNSPECIFIED.
  static func from(_ proto: Orchion_V1_AttemptOutcome) throws(OrchionError) -> AttemptOutcome? {
    switch proto {
    case .unspecified: nil
    case .active: .active
    case .succeeded: .succeeded
    case .failed: .failed
    case .lost: .lost
    case .preempted: .preempted
    case .drained: .drained
    case .cancelled: .cancelled
    case .UNRECOGNIZED(let value): throw .invalidArgument("unknown attempt outcome \(value)")
    }
  }
}
