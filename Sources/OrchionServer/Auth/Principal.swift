public import OrchionCore

/// Who is calling, as ``AuthInterceptor`` found it, for the handler that serves the call:
/// handlers do not see request metadata, so the interceptor hands it over in a task-local.
struct Caller: Sendable {
  var principal: Principal
  /// The node credential presented (`orchion-node-credential` metadata), if any.
  var nodeCredential: String?

  /// The caller of the RPC being served; `nil` outside one.
  @TaskLocal static var current: Caller?

  /// What revoking would cut this caller off by: its token and the node credential it
  /// presented.
  var credentialKeys: [CredentialWatch.Key] {
    var keys: [CredentialWatch.Key] = []
    switch principal {
    case .admin(let id), .join(let id), .read(let id), .agent(let id):
      keys.append(.token(id: id))
    case .unauthenticated, .task: break
    }
    if let nodeCredential { keys.append(.nodeCredential(digest: Credential.digest(nodeCredential))) }
    return keys
  }
}

/// Who is calling, as the bearer token says.
public enum Principal: Sendable, Equatable {
  /// An admin (client) token: everything, and acting for any node.
  case admin(tokenID: String)
  /// A join token: registering nodes and running the agent stream for the nodes it registered.
  case join(tokenID: String)
  /// A read token: listing and reading nodes, tasks and their output; nothing that changes
  /// anything, and no secrets, messages or tokens.
  case read(tokenID: String)
  /// An agent token: a person's own coding agent driving the fleet (MCP): tasks, nodes to
  /// look at, messages; no tokens, secrets or node management.
  case agent(tokenID: String)
  /// Authentication is off (`--no-auth`, allowed on loopback only): as an admin.
  case unauthenticated
  /// A task's attempt, by the token its agent gave it (``TaskTokens``): the router, and the
  /// tasks it submits itself (a planner fanning out) — reading, following and cancelling only
  /// those.
  case task(TaskID, AttemptID)

  /// Whether the caller may do anything, including act for any node.
  public var isAdmin: Bool {
    switch self {
    case .admin, .unauthenticated: true
    case .join, .read, .agent, .task: false
    }
  }
}
