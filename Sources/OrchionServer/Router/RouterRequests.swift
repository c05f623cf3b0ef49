import OrchionAPI
import OrchionCore
import OrchionWire

extension OutgoingMessage {
  /// Validates a `SendRequest` against the router's limits.
  init(validating request: Orchion_V1_SendRequest, limits: RouterLimits) throws(OrchionError) {
    let to = try MessageAddress(parsing: request.to, field: "to")
    guard request.payload.count <= limits.maxPayloadBytes else {
      throw .invalidArgument(
        field: "payload",
        "payload: \(request.payload.count) bytes, at most \(limits.maxPayloadBytes) allowed"
      )
    }
    try StringMapLimits.messageHeaders.validate(request.headers)
    var ttl: Duration?
    if request.hasTtl {
      let value = try Duration(validating: request.ttl, field: "ttl")
      guard value >= limits.minTTL, value <= limits.maxTTL else {
        throw .invalidArgument(
          field: "ttl",
          "ttl: \(DurationFormat.format(value)) is outside \(DurationFormat.format(limits.minTTL))-\(DurationFormat.format(limits.maxTTL))"
        )
      }
      ttl = value
    }
    self.init(to: to, payload: request.payload, headers: request.headers, ttl: ttl)
  }
}

extension SubscriptionRequest {
  /// Validates a `SubscribeOpen` for `caller`.
  /// - Throws: `invalidArgument` for a malformed request, `permissionDenied` for an address
  ///   the caller may not read.
  init(
    validating open: Orchion_V1_SubscribeOpen,
    caller: RouterCaller,
    limits: RouterLimits
  ) throws(OrchionError) {
    let address = try MessageAddress(parsing: open.address, field: "open.address")
    guard caller.mayRead(address) else {
      throw .permissionDenied(
        "a task may receive from its own task/ID and node/ID, topics and queues; not \(address)"
      )
    }
    var consumer = open.consumer
    if !consumer.isEmpty {
      guard consumer.utf8.count <= MessageAddress.maxNameBytes,
        consumer.unicodeScalars.allSatisfy({
          ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
            || $0 == "." || $0 == "_" || $0 == "-"
        })
      else {
        throw .invalidArgument(
          field: "open.consumer",
          "open.consumer: 1-\(MessageAddress.maxNameBytes) letters, digits, '.', '_' or '-' (got \(TextRules.quoted(consumer)))"
        )
      }
    } else if let attempt = caller.attempt {
      // A task is one consumer across its attempts: the next attempt gets what the last missed.
      consumer = attempt.task.rawValue
    }
    let maxInFlight = open.maxInFlight == 0 ? limits.defaultMaxInFlight : Int(open.maxInFlight)
    guard maxInFlight <= limits.maxInFlight else {
      throw .invalidArgument(
        field: "open.max_in_flight",
        "open.max_in_flight: at most \(limits.maxInFlight)"
      )
    }
    var ackTimeout = limits.defaultAckTimeout
    if open.hasAckTimeout {
      ackTimeout = try Duration(validating: open.ackTimeout, field: "open.ack_timeout")
      guard ackTimeout >= limits.minAckTimeout, ackTimeout <= limits.maxAckTimeout else {
        throw .invalidArgument(
          field: "open.ack_timeout",
          "open.ack_timeout: \(DurationFormat.format(ackTimeout)) is outside \(DurationFormat.format(limits.minAckTimeout))-\(DurationFormat.format(limits.maxAckTimeout))"
        )
      }
    }
    self.init(
      address: address,
      consumer: consumer,
      maxInFlight: maxInFlight,
      ackTimeout: ackTimeout,
      attempt: caller.attempt,
      owner: caller.name
    )
  }
}

/// Checks the delivery IDs of an acknowledgement.
func validatedDeliveryIDs(_ ids: [String], field: String) throws(OrchionError) -> [String] {
  guard ids.count <= 10_000 else {
    throw .invalidArgument(field: field, "\(field): \(ids.count) IDs, at most 10000 per request")
  }
  for id in ids where id.isEmpty || id.utf8.count > 256 {
    throw .invalidArgument(
      field: field,
      "\(field): IDs are 1-256 bytes (got \(TextRules.quoted(id)))"
    )
  }
  return ids
}
