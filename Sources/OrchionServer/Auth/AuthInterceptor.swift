import GRPCCore
import OrchionCore

/// Requires `authorization: Bearer <token>` on every call but health checks, before any handler
/// runs: a missing or wrong token is UNAUTHENTICATED; a join, read, agent or task token calling
/// a method outside its set is PERMISSION_DENIED, and nothing is done. The caller is
/// then ``Caller/current`` for the handler (which checks node credentials).
struct AuthInterceptor: ServerInterceptor {
  /// `nil` when authentication is off (`--no-auth`, loopback only).
  let tokens: TokenRegistry?
  /// Where streams are registered by the credentials they hold, to be cut off on revocation.
  let watch: CredentialWatch
  /// Failed authentications per caller address: a guesser is refused before any lookup.
  let failures: RateLimiter
  /// Tasks' tokens are recognised even with authentication off: they say which task sends.
  let taskTokens: TaskTokens

  /// What a task's token may call: the router, and the tasks it starts itself (the task
  /// service checks that a task reads, follows and cancels only those it submitted).
  static let routerServicePrefix = "orchion.v1.RouterService/"
  static let taskMethods: Set<String> = [
    "orchion.v1.TaskService/SubmitTask", "orchion.v1.TaskService/GetTask",
    "orchion.v1.TaskService/CancelTask", "orchion.v1.TaskService/StreamTaskLogs",
    "orchion.v1.TaskService/StreamAgentEvents", "orchion.v1.NodeService/ListNodes",
    "orchion.v1.TaskService/SubmitTaskGroup", "orchion.v1.TaskService/GetTaskGroup",
    "orchion.v1.TaskService/CancelTaskGroup",
  ]

  /// What a join token may call: what an agent needs, nothing more.
  static let joinMethods: Set<String> = [
    "orchion.v1.NodeService/RegisterNode", "orchion.v1.NodeService/Heartbeat",
    "orchion.v1.NodeService/UnregisterNode", "orchion.v1.AgentService/Connect",
  ]

  /// What a read token may call: looking, never changing, and no secrets or tokens.
  static let readMethods: Set<String> = [
    "orchion.v1.NodeService/ListNodes", "orchion.v1.NodeService/GetNode",
    "orchion.v1.TaskService/GetTask", "orchion.v1.TaskService/ListTasks",
    "orchion.v1.TaskService/StreamTaskLogs", "orchion.v1.TaskService/StreamAgentEvents",
    "orchion.v1.TokenService/CreateLoginLink", "orchion.v1.TaskService/GetTaskGroup",
  ]

  /// What an agent token may call: run work and watch it, never manage the cluster.
  static let agentMethods: Set<String> = [
    "orchion.v1.NodeService/ListNodes", "orchion.v1.NodeService/GetNode",
    "orchion.v1.TaskService/SubmitTask", "orchion.v1.TaskService/GetTask",
    "orchion.v1.TaskService/ListTasks", "orchion.v1.TaskService/CancelTask",
    "orchion.v1.TaskService/StreamTaskLogs", "orchion.v1.TaskService/StreamAgentEvents",
    "orchion.v1.TaskService/SubmitTaskGroup", "orchion.v1.TaskService/GetTaskGroup",
    "orchion.v1.TaskService/CancelTaskGroup",
  ]

  /// Standard probes (load balancers, Kubernetes) carry no token; health says nothing secret.
  static let openServicePrefix = "grpc.health.v1.Health/"

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let method = context.descriptor.fullyQualifiedMethod
    if method.hasPrefix(Self.openServicePrefix) { return try await next(request, context) }
    let principal: Principal
    let authorization = request.metadata[stringValues: "authorization"].first(where: { _ in true })
    if let presented = authorization.flatMap(TokenRegistry.bearerToken),
      let (task, attempt) = taskTokens.verify(presented)
    {
      guard method.hasPrefix(Self.routerServicePrefix) || Self.taskMethods.contains(method) else {
        return StreamingServerResponse(
          error: RPCError(
            code: .permissionDenied,
            message:
              "a task's token may only send and receive messages and run, read and cancel tasks of its own; \(method) needs an admin token"
          )
        )
      }
      principal = .task(task, attempt)
    } else if let tokens {
      let address = RateLimiter.address(of: context.remotePeer)
      guard !failures.isExhausted(address) else {
        return StreamingServerResponse(
          error: RPCError(
            code: .resourceExhausted,
            message:
              "too many failed authentications from \(address) (\(failures.description)); retry later with a valid token"
          )
        )
      }
      do {
        principal = try await tokens.authenticate(authorization)
      } catch {
        _ = failures.admit(address)
        return StreamingServerResponse(
          error: RPCError(code: .unauthenticated, message: error.message)
        )
      }
      if case .read = principal, !Self.readMethods.contains(method) {
        return StreamingServerResponse(
          error: RPCError(
            code: .permissionDenied,
            message: "a read token may only look (list, get, follow output); \(method) needs an admin token"
          )
        )
      }
      if case .agent = principal, !Self.agentMethods.contains(method),
        !method.hasPrefix(Self.routerServicePrefix)
      {
        return StreamingServerResponse(
          error: RPCError(
            code: .permissionDenied,
            message:
              "an agent token may only run, read and cancel tasks, list nodes and use the router; \(method) needs an admin token"
          )
        )
      }
      if case .join = principal, !Self.joinMethods.contains(method) {
        return StreamingServerResponse(
          error: RPCError(
            code: .permissionDenied,
            message:
              "a join token may only register nodes and run their agents; \(method) needs an admin token"
          )
        )
      }
    } else {
      principal = .unauthenticated
    }
    let caller = Caller(
      principal: principal,
      nodeCredential: request.metadata[stringValues: NodeCredential.metadataKey].first(where: {
        _ in true
      })
    )
    // Long-lived streams outlive the check above: revoking what they were opened with ends
    // them (CredentialWatch). Watched from before the handler runs until the response ends.
    let ticket = watch.register(holding: caller.credentialKeys, cancellation: context.cancellation)
    // Unary handlers run inside `next`; streaming ones in the response's producer, later.
    var response: StreamingServerResponse<Output>
    do {
      response = try await Caller.$current.withValue(caller) {
        try await next(request, context)
      }
    } catch {
      if let ticket { watch.finish(ticket) }
      throw error
    }
    guard let ticket else {
      if case .success(var contents) = response.accepted {
        let producer = contents.producer
        contents.producer = { writer in
          try await Caller.$current.withValue(caller) { try await producer(writer) }
        }
        response.accepted = .success(contents)
      }
      return response
    }
    guard case .success(var contents) = response.accepted else {
      watch.finish(ticket)
      return response
    }
    let producer = contents.producer
    let watch = watch
    contents.producer = { writer in
      defer { watch.finish(ticket) }
      do {
        let trailers = try await Caller.$current.withValue(caller) { try await producer(writer) }
        try ticket.check()
        return trailers
      } catch {
        try ticket.check()
        throw error
      }
    }
    response.accepted = .success(contents)
    return response
  }
}
