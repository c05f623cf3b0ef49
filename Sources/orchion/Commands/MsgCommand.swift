import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// `orchion msg`: messages between tasks, nodes and people.
struct MsgCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "msg",
    abstract: "Send and receive messages: task/ID, node/ID, topic/NAME, queue/NAME.",
    discussion: """
      Inside a task both work with no flags: its agent sets ORCHION_SERVER, ORCHION_TOKEN (good \
      for this attempt only) and ORCHION_TASK_ID. Delivery is at least once: a message not \
      acknowledged (orchion msg recv acknowledges after printing) is delivered again with the \
      same ID.
      """,
    subcommands: [MsgSendCommand.self, MsgRecvCommand.self, MsgListCommand.self]
  )
}

struct MsgSendCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "send",
    abstract: "Send a message (--data, else all of standard input), or one per line (--lines).",
    discussion: """
      Prints each message's ID once the orchestrator keeps it. With --lines, lines are sent in \
      order over one stream without waiting for each; a full mailbox (RESOURCE_EXHAUSTED) is \
      waited out and the rest sent in order.
      """
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "Where to: task/ID, node/ID, topic/NAME or queue/NAME.")
  var address: String

  @Option(name: .customLong("header"), help: "A header, key=value (repeatable).")
  var headers: [KeyValue] = []

  @Option(help: "The payload (default: all of standard input).")
  var data: String?

  @Flag(help: "Each line of standard input is a message of its own.")
  var lines = false

  @Option(help: "How long the message may wait to be delivered: 1s to 14d (default 1d).")
  var ttl: DurationArgument?

  @Flag(name: [.short, .long], help: "Do not print message IDs.")
  var quiet = false

  func validate() throws {
    if lines, data != nil { throw ValidationError("--data and --lines exclude each other") }
    do { _ = try MessageAddress(parsing: address, field: "ADDRESS") } catch {
      throw ValidationError(error.message)
    }
  }

  func run() async throws {
    let template = Orchion_V1_SendRequest.with {
      $0.to = address
      $0.headers = Dictionary(headers.map { ($0.key, $0.value) }) { $1 }
      if let ttl { $0.ttl = .init(ttl.duration) }
    }
    try await CLIErrors.reporting {
      try await client.connect { client in
        if lines {
          try await sendLines(template, with: client)
        } else {
          var request = template
          request.payload =
            data.map { Data($0.utf8) } ?? FileHandle.standardInput.readDataToEndOfFile()
          let id = try await client.router.send(request).messageID
          if !quiet { Console.line(id) }
        }
      }
    }
  }

  /// Sends standard input line by line, pipelined; waits out full mailboxes and resends what
  /// was refused, in order.
  private func sendLines(_ template: Orchion_V1_SendRequest, with client: OrchionNetworkClient)
    async throws
  {
    let unanswered = UnansweredLines()
    var delay = Duration.milliseconds(100)
    let quiet = quiet
    while true {
      let resend = unanswered.takeAll()
      do {
        try await client.sendPipelined(
          { writer in
            for payload in resend {
              unanswered.append(payload)
              try await writer.write(Self.request(template, payload))
            }
            while let line = readLine(strippingNewline: true) {
              let payload = Data(line.utf8)
              unanswered.append(payload)
              try await writer.write(Self.request(template, payload))
            }
          },
          accepted: { id in
            unanswered.removeFirst()
            if !quiet { Console.line(id) }
          }
        )
        return
      } catch let error as RPCError where error.code == .resourceExhausted {
        Console.error("waiting: \(error.message)")
        try await Task.sleep(for: delay)
        delay = min(delay * 2, .seconds(5))
      }
    }
  }

  private static func request(_ template: Orchion_V1_SendRequest, _ payload: Data)
    -> Orchion_V1_SendRequest
  {
    var request = template
    request.payload = payload
    return request
  }
}

/// Lines sent but not yet acknowledged by the orchestrator, oldest first.
private final class UnansweredLines: Sendable {
  private let lines = Mutex<(items: [Data], head: Int)>(([], 0))

  func append(_ line: Data) { lines.withLock { $0.items.append(line) } }

  func removeFirst() {
    lines.withLock { state in
      state.head += 1
      if state.head > 4096, state.head * 2 > state.items.count {
        state.items.removeFirst(state.head)
        state.head = 0
      }
    }
  }

  func takeAll() -> [Data] {
    lines.withLock { state in
      defer { state = ([], 0) }
      return Array(state.items[state.head...])
    }
  }
}

struct MsgRecvCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "recv",
    abstract: "Receive messages: print each payload on a line of its own, then acknowledge it.",
    discussion: """
      Exits after --count messages (default 1), or goes on with --follow. Inside a task, \
      ADDRESS defaults to the task's own mailbox (task/$ORCHION_TASK_ID).
      """
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "task/ID, node/ID, topic/NAME or queue/NAME (default: task/$ORCHION_TASK_ID).")
  var address: String?

  @Option(help: "Exit after this many messages (default 1).")
  var count: Int?

  @Flag(help: "Keep receiving until interrupted.")
  var follow = false

  @Option(name: [.short, .customLong("output")], help: "Output format: text (payloads) or json.")
  var output: MessageOutputFormat = .text

  @Option(help: "For topics: a name that keeps messages for you while you are away.")
  var consumer: String = ""

  @Option(help: "Unacknowledged this long, a message is delivered again (1s to 1h; default 30s).")
  var ackTimeout: DurationArgument?

  @Flag(help: "Print without acknowledging: the messages are delivered again later.")
  var noAck = false

  func validate() throws {
    if follow, count != nil { throw ValidationError("--count and --follow exclude each other") }
    if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    do { _ = try MessageAddress(parsing: try resolvedAddress(), field: "ADDRESS") } catch let
      error as OrchionError
    {
      throw ValidationError(error.message)
    }
  }

  private func resolvedAddress() throws -> String {
    if let address { return address }
    guard let task = ProcessInfo.processInfo.environment["ORCHION_TASK_ID"], !task.isEmpty else {
      throw ValidationError("give an ADDRESS (outside a task there is no default)")
    }
    return "task/\(task)"
  }

  func run() async throws {
    let address = try resolvedAddress()
    let limit = follow ? nil : (count ?? 1)
    let received = Mutex(0)
    let output = output
    try await CLIErrors.reporting {
      try await client.connect { client in
        try await client.receive(
          from: address,
          consumer: consumer,
          // No more outstanding than will be printed: the rest stays for other receivers.
          maxInFlight: limit.map { UInt32(min($0, 256)) } ?? 0,
          ackTimeout: ackTimeout?.duration,
          acknowledge: !noAck
        ) { delivery in
          Self.print(delivery, as: output)
          let total = received.withLock { count in
            count += 1
            return count
          }
          return limit.map { total < $0 } ?? true
        }
      }
    }
  }

  private static func print(_ delivery: Orchion_V1_Delivery, as format: MessageOutputFormat) {
    let message = delivery.message
    switch format {
    case .text:
      Console.write(bytes: Array(message.payload) + [UInt8(ascii: "\n")])
    case .json:
      var object: [String: Any] = [
        "id": message.id, "delivery_id": delivery.deliveryID, "from": message.from,
        "to": message.to, "headers": message.headers, "delivery_count": delivery.deliveryCount,
        "sent_at": message.sentAt.seconds * 1_000_000_000 + Int64(message.sentAt.nanos),
        "received_at": Int64(Date().timeIntervalSince1970 * 1e9),
      ]
      if let text = String(data: message.payload, encoding: .utf8) {
        object["payload"] = text
      } else {
        object["payload_base64"] = message.payload.base64EncodedString()
      }
      guard
        let json = try? JSONSerialization.data(
          withJSONObject: object,
          options: [.sortedKeys, .withoutEscapingSlashes]
        )
      else { return }
      Console.write(bytes: Array(json) + [UInt8(ascii: "\n")])
    }
  }
}

/// How `orchion msg recv` prints.
enum MessageOutputFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json
}

struct MsgListCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ls",
    abstract: "List mailboxes holding messages or subscribers (needs an admin token)."
  )

  @OptionGroup var client: ClientOptions

  @Option(name: [.short, .customLong("output")], help: "Output format: table or json.")
  var output: OutputFormat = .table

  func run() async throws {
    let response = try await CLIErrors.reporting {
      try await client.connect { try await $0.router.listMailboxes(.init()) }
    }
    switch output {
    case .json:
      Console.line(try response.jsonString())
    case .table:
      var table = TextTable(columns: [
        "ADDRESS", "CONSUMER", "PENDING", "IN-FLIGHT", "SUBSCRIBERS", "ACKED", "BYTES",
      ])
      for box in response.mailboxes {
        table.append([
          box.address, box.consumer.isEmpty ? "-" : box.consumer, "\(box.pending)",
          "\(box.inFlight)", "\(box.subscribers)", "\(box.acknowledged)", "\(box.bytes)",
        ])
      }
      Console.write(table.render())
    }
  }
}
