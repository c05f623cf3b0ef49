/// An error Orchion can name: a code a program can switch on and a message a person can act on.
///
/// The server maps ``Code`` to the matching gRPC status at its boundary, so a caller never sees
/// `UNKNOWN` for a condition Orchion understands.
public struct OrchionError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What kind of failure this is. Extensible: new codes can be added without breaking callers.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: Hashable, Sendable {
      case invalidArgument, notFound, alreadyExists, failedPrecondition
      case unauthenticated, permissionDenied, resourceExhausted, unavailable, internalError
      case dataLoss
    }

    private let wrapped: Wrapped
    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    /// The request is malformed: a field breaks a rule.
    public static let invalidArgument = Code(.invalidArgument)
    /// The named thing does not exist.
    public static let notFound = Code(.notFound)
    /// The thing to create exists already.
    public static let alreadyExists = Code(.alreadyExists)
    /// The request is well formed but the system is not in a state to carry it out.
    public static let failedPrecondition = Code(.failedPrecondition)
    /// No valid credentials were presented.
    public static let unauthenticated = Code(.unauthenticated)
    /// The credentials do not allow this.
    public static let permissionDenied = Code(.permissionDenied)
    /// A limit was reached.
    public static let resourceExhausted = Code(.resourceExhausted)
    /// Try again later: shutting down, not the leader, a dependency is down.
    public static let unavailable = Code(.unavailable)
    /// A bug or broken invariant.
    public static let internalError = Code(.internalError)
    /// Stored state is unreadable or damaged.
    public static let dataLoss = Code(.dataLoss)

    public var description: String { String(describing: wrapped) }
  }

  /// What kind of failure this is.
  public var code: Code
  /// What went wrong, for a person: which field, which rule, what to do.
  public var message: String

  /// Creates an error.
  /// - Parameters:
  ///   - code: What kind of failure this is.
  ///   - message: What went wrong, for a person.
  public init(code: Code, message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }

  /// An `invalidArgument` error.
  public static func invalidArgument(_ message: String) -> OrchionError {
    OrchionError(code: .invalidArgument, message: message)
  }

  /// A `notFound` error.
  public static func notFound(_ message: String) -> OrchionError {
    OrchionError(code: .notFound, message: message)
  }

  /// A `failedPrecondition` error.
  public static func failedPrecondition(_ message: String) -> OrchionError {
    OrchionError(code: .failedPrecondition, message: message)
  }

  /// A `resourceExhausted` error.
  public static func unauthenticated(_ message: String) -> OrchionError {
    OrchionError(code: .unauthenticated, message: message)
  }

  public static func permissionDenied(_ message: String) -> OrchionError {
    OrchionError(code: .permissionDenied, message: message)
  }

  public static func resourceExhausted(_ message: String) -> OrchionError {
    OrchionError(code: .resourceExhausted, message: message)
  }

  /// An `unavailable` error.
  public static func unavailable(_ message: String) -> OrchionError {
    OrchionError(code: .unavailable, message: message)
  }

  /// A `dataLoss` error.
  public static func dataLoss(_ message: String) -> OrchionError {
    OrchionError(code: .dataLoss, message: message)
  }
}
