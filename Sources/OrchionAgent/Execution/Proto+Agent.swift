import OrchionAPI
import OrchionCore
import SwiftProtobuf

extension Google_Protobuf_Timestamp {
  init(_ instant: UTCInstant) {
    let (seconds, nanos) = instant.secondsAndNanos
    self.init(seconds: seconds, nanos: nanos)
  }
}

extension Orchion_V1_TaskState {
  init(_ state: TaskState) {
    switch state {
    case .pending: self = .pending
    case .assigned: self = .assigned
    case .running: self = .running
    case .succeeded: self = .succeeded
    case .failed: self = .failed
    case .cancelled: self = .cancelled
    }
  }
}
