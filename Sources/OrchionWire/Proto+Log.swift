public import OrchionAPI
public import OrchionCore
import SwiftProtobuf

extension Orchion_V1_LogChunk {
  /// The chunk as it goes on the wire.
  public init(_ chunk: LogChunk) {
    self.init()
    data = chunk.data
    stream = .init(chunk.stream)
    taskID = chunk.task.rawValue
    attempt = chunk.attempt
    sequence = chunk.sequence
    if let time = chunk.time { self.time = .init(time) }
  }
}

extension Orchion_V1_LogStream {
  public init(_ stream: LogChunk.Stream) {
    switch stream {
    case .stdout: self = .stdout
    case .stderr: self = .stderr
    case .system: self = .system
    case .agentEvent: self = .agentEvent
    }
  }
}

extension LogChunk {
  /// The chunk a message describes. `final_task` is not part of a chunk (it ends a stream).
  /// - Throws: `invalidArgument` naming the field that is not a task ID, a known stream or a
  ///   valid time.
  public init(validating proto: Orchion_V1_LogChunk, field: String = "chunk") throws(OrchionError) {
    let stream: Stream
    switch proto.stream {
    case .stdout: stream = .stdout
    case .stderr: stream = .stderr
    case .system: stream = .system
    case .agentEvent: stream = .agentEvent
    default:
      throw .invalidArgument(
        field: "\(field).stream",
        "\(field).stream: \(proto.stream.rawValue) is not STDOUT, STDERR or SYSTEM"
      )
    }
    self.init(
      task: try TaskID(validating: proto.taskID, field: "\(field).task_id"),
      attempt: proto.attempt,
      stream: stream,
      sequence: proto.sequence,
      data: proto.data,
      time: proto.hasTime ? try UTCInstant(validating: proto.time, field: "\(field).time") : nil
    )
  }
}
