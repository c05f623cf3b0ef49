import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// How wire values read on a page: the names the CLI prints.
enum WireText {
  static func state(_ state: Orchion_V1_TaskState) -> String {
    (try? TaskState.from(state, field: "state"))?.description ?? "UNKNOWN"
  }

  static func status(_ status: Orchion_V1_NodeStatus) -> String {
    switch status {
    case .active: "ACTIVE"
    case .inactive: "INACTIVE"
    case .disconnected: "DISCONNECTED"
    default: "UNKNOWN"
    }
  }

  static func outcome(_ outcome: Orchion_V1_AttemptOutcome) -> String {
    switch outcome {
    case .active: "ACTIVE"
    case .succeeded: "SUCCEEDED"
    case .failed: "FAILED"
    case .lost: "LOST"
    case .preempted: "PREEMPTED"
    case .drained: "DRAINED"
    case .cancelled: "CANCELLED"
    default: "UNKNOWN"
    }
  }

  static func instant(_ timestamp: Google_Protobuf_Timestamp, set: Bool) -> UTCInstant? {
    set ? UTCInstant(timestamp) : nil
  }

  /// `1.5` cores from 1500 millicores.
  static func cores(_ millis: Int64) -> String {
    millis % 1000 == 0 ? "\(millis / 1000)" : "\(Double(millis) / 1000)"
  }

  /// `512Mi`, `15.6Gi`: binary units, as `--memory` takes them.
  static func bytes(_ value: Int64) -> String {
    let units = ["", "Ki", "Mi", "Gi", "Ti", "Pi"]
    var amount = Double(max(0, value))
    var unit = 0
    while amount >= 1024, unit < units.count - 1 {
      amount /= 1024
      unit += 1
    }
    let rounded = (amount * 10).rounded() / 10
    let text = rounded == rounded.rounded() ? "\(Int(rounded))" : "\(rounded)"
    return text + units[unit]
  }
}
