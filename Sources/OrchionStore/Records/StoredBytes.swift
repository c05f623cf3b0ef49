import Foundation
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// Stores keep each record as the binary protobuf of its `Stored…` message: compact, fast to
/// encode, and readable by later versions because fields are only ever added.
enum StoredBytes {
  static func encode(_ task: TaskRecord) throws(OrchionError) -> Data {
    try serialize(Orchion_V1_StoredTask(task))
  }

  static func encode(_ node: Node) throws(OrchionError) -> Data {
    try serialize(stored(node))
  }

  static func encode(_ entry: StoredLogEntry) throws(OrchionError) -> Data {
    try serialize(stored(entry))
  }

  static func stored(_ node: Node) -> Orchion_V1_StoredNode {
    .with {
      $0.node = .init(node)
      $0.credentialSha256 = Data(node.credentialDigest)
    }
  }

  static func stored(_ entry: StoredLogEntry) -> Orchion_V1_StoredLogChunk {
    .with {
      $0.index = entry.index
      $0.attemptID = entry.attempt.rawValue
      $0.chunk = .init(entry.chunk)
    }
  }

  static func task(_ data: Data) throws(OrchionError) -> TaskRecord {
    try TaskRecord(stored: parse(Orchion_V1_StoredTask.self, data))
  }

  static func node(_ data: Data) throws(OrchionError) -> Node {
    try Node(stored: parse(Orchion_V1_StoredNode.self, data))
  }

  static func log(_ data: Data) throws(OrchionError) -> StoredLogEntry {
    var stored = try parse(Orchion_V1_StoredLogChunk.self, data)
    switch stored.chunk.stream {
    case .stdout, .stderr, .system, .agentEvent: break
    default:
      // Written by a version that knew another stream (or none): kept as output, rather than
      // refusing to load the task's log and so to start.
      stored.chunk.stream = .stdout
    }
    do {
      return StoredLogEntry(
        task: try TaskID(validating: stored.chunk.taskID),
        index: stored.index,
        attempt: try AttemptID(validating: stored.attemptID),
        chunk: try LogChunk(validating: stored.chunk)
      )
    } catch {
      throw .dataLoss("stored output chunk is unreadable: \(error.message)")
    }
  }

  private static func serialize(_ message: some SwiftProtobuf.Message) throws(OrchionError) -> Data
  {
    do {
      let bytes: [UInt8] = try message.serializedBytes()
      return Data(bytes)
    } catch {
      throw OrchionError(
        code: .internalError,
        message: "cannot encode \(type(of: message)): \(error)"
      )
    }
  }

  private static func parse<M: SwiftProtobuf.Message>(_ type: M.Type, _ data: Data)
    throws(OrchionError) -> M
  {
    do {
      return try M(serializedBytes: [UInt8](data))
    } catch {
      throw .dataLoss("stored \(M.protoMessageName) is unreadable: \(error)")
    }
  }
}
