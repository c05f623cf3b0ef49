import GRPCCore
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionWire
import SwiftProtobuf

/// `orchion.v1.NodeService`: registration, heartbeats and listing, over the ``Cluster``.
struct NodeServiceHandler: Orchion_V1_NodeService.SimpleServiceProtocol {
  let cluster: Cluster
  let leadership: Leadership
  /// Where a follower reads nodes from (as the leader last wrote them).
  let store: any Store
  /// Bounds registrations per join token; `nil` for none. Admin tokens are not limited.
  let registrationLimiter: RateLimiter?
  /// Streams opened with a node credential end when it is replaced or the node removed.
  let watch: CredentialWatch

  func registerNode(
    request: Orchion_V1_RegisterNodeRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_RegisterNodeResponse {
    if let registrationLimiter, case .join(let token)? = Caller.current?.principal,
      !registrationLimiter.admit(token)
    {
      throw OrchionError.resourceExhausted(
        "too many node registrations with join token \(token): \(registrationLimiter.description); retry later"
      )
    }
    let registration = try NodeRegistration(validating: request)
    var issued = ""
    var replaced: [UInt8]?
    let claim = NodeAccess.RegistrationClaim()
    let (node, created) = try cluster.register(registration) { existing throws(OrchionError) in
      let decision = try claim.decide(existing: existing)
      issued = decision.credential
      if let old = existing?.credentialDigest, !old.isEmpty, old != decision.digest {
        replaced = old
      }
      return decision.digest
    }
    if let replaced {
      // The old holder's agent stream would go on receiving the node's assignments.
      watch.revoke(
        .nodeCredential(digest: replaced),
        reason: "node '\(node.id)' was registered again with a new credential"
      )
    }
    return .with {
      $0.node = makeNode(node)
      $0.created = created
      $0.heartbeatInterval = .init(cluster.configuration.heartbeatInterval)
      $0.credential = issued
    }
  }

  func heartbeat(
    request: Orchion_V1_HeartbeatRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_HeartbeatResponse {
    let id = try NodeID(validating: request.nodeID)
    try NodeAccess.authorize(try cluster.node(id))
    let node = try cluster.heartbeat(id)
    return .with {
      $0.status = .init(node.status)
      $0.heartbeatInterval = .init(cluster.configuration.heartbeatInterval)
    }
  }

  func unregisterNode(
    request: Orchion_V1_UnregisterNodeRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_UnregisterNodeResponse {
    let id = try NodeID(validating: request.nodeID)
    try NodeAccess.authorize(try cluster.node(id))
    let node = try cluster.remove(id)
    if !node.credentialDigest.isEmpty {
      watch.revoke(
        .nodeCredential(digest: node.credentialDigest),
        reason: "node '\(id)' was unregistered"
      )
    }
    return .with { $0.node = makeNode(node) }
  }

  func listNodes(
    request: Orchion_V1_ListNodesRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_ListNodesResponse {
    let status = try NodeStatus.filter(request.status)
    guard leadership.isLeader else {
      let nodes = try await store.nodes().filter { status == nil || $0.status == status }
      return .with { $0.nodes = nodes.map { Orchion_V1_Node($0) } }
    }
    return .with { $0.nodes = cluster.nodes(status: status).map(makeNode) }
  }

  func getNode(
    request: Orchion_V1_GetNodeRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_GetNodeResponse {
    let id = try NodeID(validating: request.nodeID)
    guard leadership.isLeader else {
      guard let node = try await store.nodes().first(where: { $0.id == id }) else {
        throw OrchionError.notFound("node '\(id)' is not registered")
      }
      return .with { $0.node = Orchion_V1_Node(node) }
    }
    let node = try cluster.node(id)
    return .with { $0.node = makeNode(node) }
  }

  func cordonNode(
    request: Orchion_V1_CordonNodeRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_CordonNodeResponse {
    let id = try NodeID(validating: request.nodeID)
    let node = try cluster.cordon(id)
    return .with { $0.node = makeNode(node) }
  }

  func uncordonNode(
    request: Orchion_V1_UncordonNodeRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_UncordonNodeResponse {
    let node = try cluster.setScheduling(try NodeID(validating: request.nodeID), cordoned: false)
    return .with { $0.node = makeNode(node) }
  }

  func drainNode(
    request: Orchion_V1_DrainNodeRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_DrainNodeResponse {
    let id = try NodeID(validating: request.nodeID)
    var deadline = Self.defaultDrainDeadline
    if request.hasDeadline {
      let requested = try Duration(validating: request.deadline, field: "deadline")
      guard requested >= .zero else {
        throw OrchionError.invalidArgument(field: "deadline", "deadline: must not be negative")
      }
      if requested > .zero { deadline = requested }
    }
    if request.force { deadline = .zero }
    let node = try cluster.setScheduling(
      id,
      cordoned: true,
      drainDeadline: cluster.clock.now.advanced(by: deadline)
    )
    return .with { $0.node = makeNode(node) }
  }

  /// How long a drain lets tasks run when the request does not say (as Nomad's default).
  static let defaultDrainDeadline = Duration.seconds(3600)

  private func makeNode(_ node: Node) -> Orchion_V1_Node {
    Orchion_V1_Node(node, usage: cluster.usage(of: node.id))
  }
}
