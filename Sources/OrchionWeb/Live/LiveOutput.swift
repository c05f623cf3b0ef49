import AsyncAlgorithms
import Hummingbird
import NIOCore
import OrchionAPI
import OrchionCore
import OrchionServer
import ServiceLifecycle

/// `/tasks/{id}/events`: a task's log as Server-Sent Events, following it until the task ends.
///
/// Each chunk is one event whose `id:` is its position in the task's log — positions are the
/// store's, the same after a restart — so a browser that reconnects with `Last-Event-ID: N`
/// (EventSource does so by itself) gets exactly the events after N: no gap, no duplicate.
/// `event: output` and `event: agent` carry ``OutputEvent`` JSON; `event: notice` says output
/// was dropped; `event: final` carries the task's state, exit code and message as it ended,
/// and the stream ends. A quiet stream sends a comment every keep-alive interval, so a
/// browser that left is noticed by the write that fails; graceful shutdown ends every stream.
struct LiveOutput: Sendable {
  let api: InProcessAPI
  let keepAliveInterval: Duration

  /// The response for `task`, starting after position `after` (-1: from the start).
  func response(task: String, after: Int64) async throws -> Response {
    // NOT_FOUND and bad IDs are answered as errors before the stream starts.
    _ = try await api.getTask(task)
    var headers = Pages.securityHeaders
    headers[.contentType] = "text/event-stream; charset=utf-8"
    headers[.cacheControl] = "no-store"
    let api = api
    let keepAlive = keepAliveInterval
    return Response(
      status: .ok,
      headers: headers,
      body: ResponseBody { writer in
        // One writer: the log and the keep-alive comments meet in a channel that holds one
        // message at a time, so a slow browser slows the reading instead of filling memory.
        let channel = AsyncChannel<String>()
        // Graceful shutdown finishes the channel: the loop below ends, and with it the stream.
        try await withGracefulShutdownHandler {
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
              defer { channel.finish() }
              try await api.followLog(
                task,
                from: after &+ 1,
                follow: true,
                missed: { bytes in
                  await channel.send(
                    Self.event(
                      "notice",
                      id: nil,
                      data: "{\"missed_bytes\":\(bytes)}"
                    )
                  )
                },
                write: { chunks in
                  var batch = ""
                  for chunk in chunks {
                    guard let event = OutputEvent(chunk.chunk) else { continue }
                    batch += Self.event(event.kind.rawValue, id: chunk.position, data: event.json)
                  }
                  if !batch.isEmpty { await channel.send(batch) }
                },
                final: { task in
                  await channel.send(Self.event("final", id: nil, data: Self.finalJSON(task)))
                }
              )
            }
            group.addTask {
              while true {
                try await Task.sleep(for: keepAlive)
                await channel.send(": keep-alive\n\n")
              }
            }
            // Tell the browser to wait a second before reconnecting (the default is 3 s).
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            for await text in channel {
              try await writer.write(ByteBuffer(string: text))
            }
            group.cancelAll()
          }
        } onGracefulShutdown: {
          channel.finish()
        }
        try await writer.finish(nil)
      }
    )
  }

  /// One SSE event. `data` is one line (JSON with its newlines escaped).
  static func event(_ name: String, id: Int64?, data: String) -> String {
    var text = "event: \(name)\n"
    if let id { text += "id: \(id)\n" }
    return text + "data: \(data)\n\n"
  }

  static func finalJSON(_ task: Orchion_V1_Task) -> String {
    let state = WireText.state(task.state)
    let exit = task.hasFinishedAt && state != "CANCELLED" ? "\(task.exitCode)" : "null"
    return "{\"state\":\"\(state)\",\"exit_code\":\(exit),\"message\":\(JSONText.quoted(task.message))}"
  }
}
