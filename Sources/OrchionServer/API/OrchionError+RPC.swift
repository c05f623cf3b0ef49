public import GRPCCore
public import OrchionCore

// Handlers throw OrchionError; grpc-swift turns RPCErrorConvertible errors into the matching
// status, so every condition Orchion can name reaches the client with its code and message.
// This is the one place a domain code becomes a gRPC status.
extension OrchionError: RPCErrorConvertible {
  public var rpcErrorCode: RPCError.Code {
    switch code {
    case .invalidArgument: .invalidArgument
    case .notFound: .notFound
    case .alreadyExists: .alreadyExists
    case .failedPrecondition: .failedPrecondition
    case .unauthenticated: .unauthenticated
    case .permissionDenied: .permissionDenied
    case .resourceExhausted: .resourceExhausted
    case .unavailable: .unavailable
    case .dataLoss: .dataLoss
    // A client retries these, here or at another orchestrator.
    case .storeUnavailable, .leaseLost, .shuttingDown: .unavailable
    case .storeFull: .resourceExhausted
    default: .internalError
    }
  }

  public var rpcErrorMessage: String { fullMessage }
}
