import GRPCCore
import OrchionCore
import OrchionServer
import Testing

@Suite("OrchionError at the API boundary")
struct OrchionErrorRPCTests {
  @Test(
    "each domain code reaches a client as the gRPC status it can act on",
    arguments: [
      (OrchionError.Code.invalidArgument, RPCError.Code.invalidArgument),
      (.notFound, .notFound), (.alreadyExists, .alreadyExists),
      (.failedPrecondition, .failedPrecondition), (.unauthenticated, .unauthenticated),
      (.permissionDenied, .permissionDenied), (.resourceExhausted, .resourceExhausted),
      (.unavailable, .unavailable), (.internalError, .internalError), (.dataLoss, .dataLoss),
      // Orchion's own conditions: retry here or elsewhere, or free space.
      (.storeUnavailable, .unavailable), (.leaseLost, .unavailable), (.shuttingDown, .unavailable),
      (.storeFull, .resourceExhausted),
    ]
  )
  func status(code: OrchionError.Code, expected: RPCError.Code) {
    #expect(OrchionError(code: code, message: "m").rpcErrorCode == expected)
  }

  @Test("the status message carries the cause, so a client reads why")
  func message() {
    let error = OrchionError.storeFull(
      "not saved",
      cause: .storeUnavailable("SQLite: database or disk is full")
    )
    #expect(error.rpcErrorMessage == "not saved: SQLite: database or disk is full")
  }
}
