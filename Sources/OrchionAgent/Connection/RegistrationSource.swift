import OrchionAPI
import Synchronization

/// The registration the agent sends, which detection may change while the agent runs; each
/// session registers with the current one and registers again whenever it changes, so the
/// orchestrator learns of a new CLI without a restart.
final class RegistrationSource: Sendable {
  private struct State {
    var request: Orchion_V1_RegisterNodeRequest
    var generation: UInt64 = 0
    var doorbell: AsyncStream<Void>.Continuation?
  }

  private let state: Mutex<State>

  init(_ request: Orchion_V1_RegisterNodeRequest) {
    state = Mutex(State(request: request))
  }

  /// The registration now, and a number that grows with each change.
  var current: (request: Orchion_V1_RegisterNodeRequest, generation: UInt64) {
    state.withLock { ($0.request, $0.generation) }
  }

  /// Changes the registration; the subscriber hears of it when it differs from before.
  func update(_ change: (inout Orchion_V1_RegisterNodeRequest) -> Void) {
    let doorbell = state.withLock { state -> AsyncStream<Void>.Continuation? in
      var request = state.request
      change(&request)
      guard request != state.request else { return nil }
      state.request = request
      state.generation += 1
      return state.doorbell
    }
    doorbell?.yield()
  }

  /// Rings once per change from now on (changes in a row may ring once); replaces (and ends)
  /// the previous subscription: there is one session at a time.
  func subscribe() -> AsyncStream<Void> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: Void.self,
      bufferingPolicy: .bufferingNewest(1)
    )
    let previous = state.withLock { state in
      defer { state.doorbell = continuation }
      return state.doorbell
    }
    previous?.finish()
    return stream
  }
}
