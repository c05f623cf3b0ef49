import Logging
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf
import Synchronization

extension Cluster {
  /// Performs actions whose changes are durable: messages to agents, log followers, messages
  /// to reveal to subscribers. Runs on the journal's task, one batch after another, so what one
  /// agent receives is in the order the state decided it (a stop never overtakes the assignment it refers to). No lock is
  /// held while messages are built (secrets decrypted, tokens signed) and sent.
  func perform(_ actions: [ClusterAction]) {
    for action in actions {
      switch action {
      case .assign(let node, let assignment):
        let message = assignMessage(assignment)
        if stream(of: node)?.send(message) != true {
          // The node's stream ended (or was replaced) since the decision: place it again.
          undeliverable(assignment.task, attempt: assignment.attemptID)
        }
      case .stop(let node, let task, let attempt, let stopState, let reason):
        logger.debug(
          "stopping attempt",
          metadata: [
            LoggingKeys.taskID: "\(task)", LoggingKeys.attemptID: "\(attempt)",
            LoggingKeys.nodeID: "\(node)", LoggingKeys.reason: "\(reason)",
          ]
        )
        stream(of: node)?.send(
          .with {
            $0.stop = .with {
              $0.taskID = task.rawValue
              $0.attemptID = attempt.rawValue
              $0.state = .init(stopState)
              $0.reason = reason
            }
          }
        )
      case .finished(let task):
        logs.finish(task)
      case .evicted(let task):
        logs.remove(task)
      case .reveal(let ids):
        reveal(ids)
      case .endSession, .deliver, .endSubscription:
        // Immediate: performed right after the transition's lock, never queued here.
        break
      }
    }
  }

  /// The message that hands an attempt to its agent, with the values of the secrets its spec
  /// names and the token it uses with the router.
  private func assignMessage(_ assignment: ClusterAction.Assignment) -> Orchion_V1_ServerMessage {
    .with {
      $0.assign = .with {
        $0.taskID = assignment.task.rawValue
        $0.attemptID = assignment.attemptID.rawValue
        $0.attempt = assignment.attempt
        $0.spec = .init(assignment.spec)
        $0.serverAddress = advertisedAddress()
        $0.secretValues = secrets?.values(for: assignment.spec.secretEnvironment) ?? [:]
        $0.taskToken = taskTokens?.token(task: assignment.task, attempt: assignment.attemptID) ?? ""
      }
    }
  }
}
