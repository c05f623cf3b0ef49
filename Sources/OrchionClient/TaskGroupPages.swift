import GRPCCore
public import OrchionAPI
import SwiftProtobuf

extension OrchionClient {
  /// A group with every member (in `state`, when given), read a page at a time: one message
  /// could not hold a big group's members.
  public func taskGroup(
    _ id: String,
    state: Orchion_V1_TaskState = .unspecified
  ) async throws -> Orchion_V1_TaskGroup {
    var group = try await tasks.getTaskGroup(
      .with {
        $0.groupID = id
        $0.state = state
      }
    ).group
    var next = group.nextIndex
    while next > 0 {
      let page = try await tasks.getTaskGroup(
        .with {
          $0.groupID = id
          $0.state = state
          $0.fromIndex = next
        }
      ).group
      group.members += page.members
      next = page.nextIndex
    }
    group.nextIndex = 0
    return group
  }
}
