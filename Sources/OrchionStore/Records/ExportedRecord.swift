public import OrchionAPI
public import OrchionCore
import OrchionWire
import SwiftProtobuf

/// One record of a store's export (``Store/export(_:)``): nodes first, then each task followed
/// by its output.
public enum ExportedRecord: Sendable, Equatable {
  case node(Node)
  case task(TaskRecord)
  case log(StoredLogEntry)
}

extension Orchion_V1_ExportRecord {
  /// The record as `orchion admin export` writes it: in the stored (`Stored…`) form, which is
  /// what a later version reads back.
  public init(_ record: ExportedRecord) {
    self.init()
    switch record {
    case .node(let node): self.node = StoredBytes.stored(node)
    case .task(let task): self.task = Orchion_V1_StoredTask(task)
    case .log(let entry): self.log = StoredBytes.stored(entry)
    }
  }
}
