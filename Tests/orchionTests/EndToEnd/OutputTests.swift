import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

@Suite("End to end: task output", .serialized, .timeLimit(.minutes(3)))
struct OutputTests {
  @Test("100,000 numbered lines on each stream arrive complete and in order")
  func nothingLostNothingReordered() async throws {
    try await Cluster.with(serverArguments: ["--max-log-bytes-per-task", "\(4 << 20)"]) { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let task = try await client.submit(["sh", "-c", "seq 1 100000; seq 1 100000 >&2"])
        #expect(try await client.waitFor(task.id).state == .succeeded)
        let (stdout, stderr) = try await client.output(task.id)
        let expected = (1...100_000).map(String.init).joined(separator: "\n") + "\n"
        #expect(stdout == expected)
        #expect(stderr == expected)
        // Sequences per stream are gapless from 0.
        let sequences = try await client.tasks.streamTaskLogs(.with { $0.taskID = task.id }) {
          response in
          var byStream: [Orchion_V1_LogStream: [Int64]] = [:]
          for try await chunk in response.messages {
            byStream[chunk.stream, default: []].append(chunk.sequence)
          }
          return byStream
        }
        for (_, values) in sequences { #expect(values == Array(0..<Int64(values.count))) }
      }
    }
  }

  @Test("output beyond the per-task limit keeps the newest part and says what was dropped")
  func truncated() async throws {
    try await Cluster.with(serverArguments: ["--max-log-bytes-per-task", "65536"]) { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        // 20 MB through a 64 KiB window: also exercises back-pressure end to end.
        let task = try await client.submit([
          "sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' 'x'; echo; echo the-end",
        ])
        #expect(try await client.waitFor(task.id, timeout: .seconds(120)).state == .succeeded)
        let chunks = try await client.tasks.streamTaskLogs(.with { $0.taskID = task.id }) {
          response in
          var chunks: [Orchion_V1_LogChunk] = []
          for try await chunk in response.messages { chunks.append(chunk) }
          return chunks
        }
        let notice = try #require(chunks.first)
        #expect(notice.stream == .system)
        #expect(
          String(decoding: notice.data, as: UTF8.self).contains(
            "bytes of earlier output were dropped"
          )
        )
        let kept = chunks.dropFirst().reduce(0) { $0 + $1.data.count }  // the final one has none
        #expect(kept <= 65536)
        // The task is finished: the stream ends with it, as it ended, after the last output.
        let final = try #require(chunks.last)
        #expect(final.hasFinalTask && final.data.isEmpty)
        #expect(final.finalTask.state == .succeeded)
        let output = chunks.dropLast()
        let tail = String(decoding: output.last?.data ?? Data(), as: UTF8.self)
        #expect(tail.hasSuffix("the-end\n"))
      }
    }
  }
}
