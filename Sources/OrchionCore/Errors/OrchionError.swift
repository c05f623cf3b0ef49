/// An error Orchion can name: a code a program can switch on and a message a person can act on.
///
/// Codes are the domain's: besides the kinds every API has (a bad argument, a missing thing),
/// they name the conditions Orchion's own components must tell apart — the store is down
/// (retry), the store is full (refuse and say so), the leader lease is lost (stop writing for
/// good). Only the server's API boundary turns a code into a gRPC status, so no component
/// decides anything from the wording of a message.
public struct OrchionError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What kind of failure this is. Extensible: new codes can be added without breaking callers.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: Hashable, Sendable {
      case invalidArgument, notFound, alreadyExists, failedPrecondition
      case unauthenticated, permissionDenied, resourceExhausted, unavailable, internalError
      case dataLoss
      case storeUnavailable, storeFull, leaseLost, shuttingDown
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
    /// Try again later: not the leader, a peer or dependency is down.
    public static let unavailable = Code(.unavailable)
    /// A bug or broken invariant.
    public static let internalError = Code(.internalError)
    /// Stored state is unreadable or damaged.
    public static let dataLoss = Code(.dataLoss)
    /// The store cannot be reached or failed to answer; the same change may succeed later.
    public static let storeUnavailable = Code(.storeUnavailable)
    /// The store has no space for the change; it may succeed once space is freed.
    public static let storeFull = Code(.storeFull)
    /// This orchestrator no longer holds the leader lease of its shared store: another may have
    /// taken over, so it must never write again (its memory may be stale).
    public static let leaseLost = Code(.leaseLost)
    /// The process is stopping: the request was not carried out.
    public static let shuttingDown = Code(.shuttingDown)

    public var description: String { String(describing: wrapped) }
  }

  /// What kind of failure this is.
  public var code: Code
  /// What went wrong, for a person: which field, which rule, what to do.
  public var message: String
  /// The request field that broke a rule (`spec.command`, `labels`), for `invalidArgument`;
  /// `nil` when no single field is to blame.
  public var field: String?
  /// At most one element: the failure underneath this one (an array, because a struct cannot
  /// hold itself directly).
  private var causes: [OrchionError]

  /// Creates an error.
  /// - Parameters:
  ///   - code: What kind of failure this is.
  ///   - message: What went wrong, for a person.
  ///   - field: The request field to blame, if one is.
  ///   - cause: The failure that led to this one, if any.
  public init(code: Code, message: String, field: String? = nil, cause: OrchionError? = nil) {
    self.code = code
    self.message = message
    self.field = field
    self.causes = cause.map { [$0] } ?? []
  }

  /// The failure underneath this one: a lost lease caused by a refused write, say.
  public var cause: OrchionError? { causes.first }

  /// The message followed by its causes': what a person reads in a log or a status.
  public var fullMessage: String {
    guard let cause else { return message }
    return "\(message): \(cause.fullMessage)"
  }

  public var description: String { "\(code): \(fullMessage)" }

  /// An `invalidArgument` error, naming the field when one is to blame.
  /// - Parameters:
  ///   - field: The request field that broke the rule (`spec.env`, not `spec.env['X']`).
  ///   - message: The whole message, field included: `spec.env['X']: names are letters…`.
  public static func invalidArgument(field: String? = nil, _ message: String) -> OrchionError {
    OrchionError(code: .invalidArgument, message: message, field: field)
  }

  /// A `notFound` error.
  public static func notFound(_ message: String) -> OrchionError {
    OrchionError(code: .notFound, message: message)
  }

  /// A `failedPrecondition` error.
  public static func failedPrecondition(_ message: String) -> OrchionError {
    OrchionError(code: .failedPrecondition, message: message)
  }

  /// An `unauthenticated` error.
  public static func unauthenticated(_ message: String) -> OrchionError {
    OrchionError(code: .unauthenticated, message: message)
  }

  /// A `permissionDenied` error.
  public static func permissionDenied(_ message: String) -> OrchionError {
    OrchionError(code: .permissionDenied, message: message)
  }

  /// A `resourceExhausted` error.
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

  /// A `storeUnavailable` error.
  public static func storeUnavailable(_ message: String) -> OrchionError {
    OrchionError(code: .storeUnavailable, message: message)
  }

  /// A `storeFull` error.
  public static func storeFull(_ message: String, cause: OrchionError? = nil) -> OrchionError {
    OrchionError(code: .storeFull, message: message, cause: cause)
  }

  /// A `leaseLost` error.
  public static func leaseLost(_ message: String, cause: OrchionError? = nil) -> OrchionError {
    OrchionError(code: .leaseLost, message: message, cause: cause)
  }

  /// A `shuttingDown` error.
  public static func shuttingDown(_ message: String) -> OrchionError {
    OrchionError(code: .shuttingDown, message: message)
  }
}
