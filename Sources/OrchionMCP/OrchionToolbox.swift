import Foundation
public import GRPCCore
public import MCP
import OrchionAPI
public import OrchionClient
import SwiftProtobuf
import Synchronization

/// The tools' one implementation, over the Orchion API: the HTTP endpoint runs it over an
/// in-process client with each caller's token, `orchion mcp` over the CLI's gRPC connection.
/// Every refusal of the API is the tool error, in the API's own words.
public struct OrchionToolbox<Transport: ClientTransport>: Sendable {
  public let client: OrchionClient<Transport>
  let clock: any ToolClock
  /// How often `wait_tasks` looks at its tasks.
  let pollInterval: Duration

  public init(
    client: OrchionClient<Transport>,
    clock: any ToolClock = ContinuousToolClock(),
    pollInterval: Duration = .milliseconds(250)
  ) {
    self.client = client
    self.clock = clock
    self.pollInterval = pollInterval
  }

  /// Reports how far a long call has come: (done, total, message).
  public typealias Progress = @Sendable (Double, Double?, String) async -> Void

  /// Runs the tool `name`; a bad argument, an API refusal or a failure is an error result.
  public func call(
    _ name: String,
    arguments: [String: Value]?,
    progress: Progress? = nil
  ) async -> CallTool.Result {
    let arguments = ToolArguments(arguments)
    do {
      let structured = try await run(name, arguments, progress: progress)
      return try CallTool.Result(
        content: [.text(text: Self.json(structured), annotations: nil, _meta: nil)],
        structuredContent: structured
      )
    } catch let error as ToolArgumentError {
      return Self.failure(error.description)
    } catch let error as RPCError {
      return Self.failure(error.message)
    } catch let error as ToolFailure {
      return Self.failure(error.message)
    } catch {
      return Self.failure("\(error)")
    }
  }

  private func run(_ name: String, _ arguments: ToolArguments, progress: Progress?) async throws
    -> Value
  {
    switch name {
    case ToolCatalog.listNodes:
      let status = try ToolRequests.listNodes(arguments)
      let nodes = try await client.nodes.listNodes(.with { $0.status = status }).nodes
      return .object(["nodes": .array(nodes.map(ToolValues.node))])
    case ToolCatalog.runTask:
      return try await runTask(ToolRequests.runTask(arguments))
    case ToolCatalog.waitTasks:
      return try await wait(ToolRequests.waitTasks(arguments), progress: progress)
    case ToolCatalog.getTask:
      return .object(["task": ToolValues.task(try await task(ToolRequests.taskID(arguments)))])
    case ToolCatalog.getLogs:
      let page = try await logPage(ToolRequests.getLogs(arguments))
      return .object([
        "text": .string(page.text), "next_cursor": .string(page.nextCursor),
        "finished": .bool(page.finished),
      ])
    case ToolCatalog.cancelTask:
      let id = try ToolRequests.taskID(arguments)
      let task = try await client.tasks.cancelTask(.with { $0.taskID = id }).task
      return .object(["task": ToolValues.task(task)])
    case ToolCatalog.sendMessage:
      let id = try await client.router.send(ToolRequests.sendMessage(arguments)).messageID
      return .object(["message_id": .string(id)])
    case ToolCatalog.receiveMessages:
      let messages = try await receive(ToolRequests.receiveMessages(arguments))
      return .object(["messages": .array(messages.map(ToolValues.message))])
    case ToolCatalog.getResult:
      let id = try ToolRequests.taskID(arguments)
      let task = try await task(id)
      let log = try await output(of: id)
      return .object([
        "task": ToolValues.task(task),
        "output_tail": .string(Self.tail(of: log.bytes, bytes: 4_096)),
      ])
    default:
      throw ToolFailure(
        "no tool is named '\(name.prefix(64))' (tools: \(ToolCatalog.tools.map(\.name).joined(separator: ", ")))"
      )
    }
  }

  func task(_ id: String) async throws -> Orchion_V1_Task {
    try await client.tasks.getTask(.with { $0.taskID = id }).task
  }

  /// One task, or — with a count — one group, queued all or none. Each call has its own
  /// idempotency key, so the client's retry through a failover cannot queue it twice.
  private func runTask(_ request: ToolRequests.RunTask) async throws -> Value {
    let key = "mcp-" + UUID().uuidString.lowercased()
    guard let count = request.count else {
      let task = try await client.tasks.submitTask(
        .with {
          $0.spec = request.spec
          $0.idempotencyKey = key
        }
      ).task
      return .object(["task_ids": [.string(task.id)]])
    }
    let group = try await client.tasks.submitTaskGroup(
      .with {
        $0.spec = request.spec
        $0.count = Int32(count)
        $0.idempotencyKey = key
      }
    ).group
    return .object([
      "task_ids": .array(group.members.map { .string($0.taskID) }),
      "group_id": .string(group.id),
    ])
  }

  // MARK: wait_tasks

  private func wait(_ request: ToolRequests.Wait, progress: Progress?) async throws -> Value {
    let deadline = clock.now() + request.timeout
    let total = request.taskIDs.count
    var reported: (finished: Int, at: Duration)?
    while true {
      var tasks: [Orchion_V1_Task] = []
      for id in request.taskIDs { tasks.append(try await task(id)) }
      let finished = tasks.filter { $0.state.isFinished }.count
      let done = request.untilAll ? finished == total : finished > 0
      let timedOut = !done && clock.now() >= deadline
      if done || timedOut {
        return .object([
          "timed_out": .bool(timedOut),
          "finished": .int(finished),
          "tasks": .array(tasks.map(ToolValues.task)),
        ])
      }
      // On every change, and every few seconds without one: clients that time calls out
      // reset the clock on progress.
      let now = clock.now()
      if let progress, reported.map({ $0.finished != finished || now - $0.at >= Self.progressInterval }) ?? true {
        reported = (finished, now)
        await progress(Double(finished), Double(total), "\(finished) of \(total) tasks finished")
      }
      try await clock.sleep(for: min(pollInterval, max(.zero, deadline - clock.now())))
    }
  }

  /// The longest `wait_tasks` goes without a progress notification.
  static var progressInterval: Duration { .seconds(5) }

  // MARK: get_logs

  /// A task's whole stored output, in order, and whether the task has finished.
  func output(of id: String) async throws -> (bytes: Data, finished: Bool) {
    try await client.tasks.streamTaskLogs(
      .with {
        $0.taskID = id
        $0.follow = false
      }
    ) { response in
      var bytes = Data()
      var finished = false
      for try await chunk in response.messages {
        if chunk.hasFinalTask {
          finished = true
          continue
        }
        bytes.append(chunk.data)
      }
      return (bytes, finished)
    }
  }

  private func logPage(_ request: ToolRequests.Logs) async throws
    -> (text: String, nextCursor: String, finished: Bool)
  {
    let (bytes, finished) = try await output(of: request.taskID)
    let start = min(request.offset, bytes.count)
    var end = min(bytes.count, start + request.maxBytes)
    // Never split a character: back off to the start of the one the page would cut.
    if end < bytes.count {
      var cut = end
      while cut > start, bytes[bytes.startIndex + cut] & 0xC0 == 0x80 { cut -= 1 }
      if cut > start { end = cut }
    }
    let text = String(decoding: bytes[(bytes.startIndex + start)..<(bytes.startIndex + end)], as: UTF8.self)
    let next = finished && end >= bytes.count ? "" : LogCursor.make(end)
    return (text, next, finished && end >= bytes.count)
  }

  static func tail(of bytes: Data, bytes limit: Int) -> String {
    guard bytes.count > limit else { return String(decoding: bytes, as: UTF8.self) }
    var start = bytes.count - limit
    while start < bytes.count, bytes[bytes.startIndex + start] & 0xC0 == 0x80 { start += 1 }
    return String(decoding: bytes[(bytes.startIndex + start)...], as: UTF8.self)
  }

  // MARK: receive_messages

  /// What the subscription's request side does next.
  private enum ReceiveStep: Sendable {
    case acknowledge(String)
    case stop
  }

  /// Takes up to `maxMessages`, each acknowledged before the subscription closes, so a message
  /// returned is never delivered again and one not returned goes back to its mailbox. Stops at
  /// the timeout, or shortly after the first message when no more come at once.
  private func receive(_ request: ToolRequests.Receive) async throws -> [Orchion_V1_RoutedMessage] {
    let taken = Mutex(Taken())
    let (steps, feed) = AsyncStream<ReceiveStep>.makeStream()
    let stop: @Sendable () -> Void = {
      taken.withLock { taken in
        guard !taken.stopped else { return }
        taken.stopped = true
        feed.yield(.stop)
      }
    }
    let clock = clock
    let timer = Task {
      try? await clock.sleep(for: request.timeout)
      stop()
    }
    defer { timer.cancel() }
    let open = Orchion_V1_SubscribeRequest.with {
      $0.open = .with {
        $0.address = request.address
        $0.consumer = request.consumer
        $0.maxInFlight = UInt32(request.maxMessages)
      }
    }
    let linger = Mutex<Task<Void, Never>?>(nil)
    defer { linger.withLock { $0?.cancel() } }
    try await client.router.subscribe(
      requestProducer: { writer in
        try await writer.write(open)
        for await step in steps {
          switch step {
          case .acknowledge(let id): try await writer.write(.with { $0.ack = .with { $0.deliveryIds = [id] } })
          case .stop: return
          }
        }
      },
      onResponse: { response in
        for try await message in response.messages {
          guard case .delivery(let delivery) = message.kind else { continue }
          let (count, first) = taken.withLock { taken -> (Int, Bool) in
            guard !taken.stopped else { return (0, false) }
            taken.messages.append(delivery.message)
            // Yielded under the lock: an acknowledgement always precedes the stop.
            feed.yield(.acknowledge(delivery.deliveryID))
            return (taken.messages.count, taken.messages.count == 1)
          }
          if count >= request.maxMessages { stop() }
          if first {
            linger.withLock {
              $0 = Task {
                try? await clock.sleep(for: .milliseconds(200))
                stop()
              }
            }
          }
        }
        stop()
      }
    )
    return taken.withLock { $0.messages }
  }

  // MARK: Results

  static func failure(_ message: String) -> CallTool.Result {
    CallTool.Result(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
  }

  static func json(_ value: Value) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
  }
}

/// What receive_messages took so far, and whether it stopped taking.
private struct Taken: Sendable {
  var messages: [Orchion_V1_RoutedMessage] = []
  var stopped = false
}

/// A tool failure that is not an argument's or the API's.
struct ToolFailure: Error {
  let message: String
  init(_ message: String) { self.message = message }
}
