import Foundation
import SwiftProtobuf

extension Google_Protobuf_Timestamp {
  /// ISO 8601 with milliseconds, UTC: what tables show.
  var displayText: String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withFullDate, .withFullTime, .withFractionalSeconds]
    return formatter.string(from: date)
  }
}
