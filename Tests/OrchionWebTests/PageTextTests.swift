import Foundation
import OrchionAPI
import OrchionCore
import SwiftProtobuf
import Testing

@testable import OrchionWeb

/// What hostile text becomes on a page, in the live stream and in a JSON log line.
@Suite("Page text")
struct PageTextTests {
  @Test("HTML escaping leaves no markup, no attribute break-out and no invisible reordering")
  func escaping() {
    let hostile = "<img src=x onerror=\"alert(1)\">'&\u{1B}[31m\u{202E}txt"
    let escaped = HTML.escape(hostile)
    #expect(escaped == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;\u{FFFD}[31m\u{FFFD}txt")
    #expect(HTML.escape("line 1\n\tline 2") == "line 1\n\tline 2")
    #expect(HTML.query("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9")
  }

  @Test("live output events are one JSON line whatever the output holds")
  func outputEventJSON() throws {
    let chunk = Orchion_V1_LogChunk.with {
      $0.stream = .stderr
      $0.attempt = 2
      $0.data = Data("a \"quote\"\nnew\u{0}line \\ \u{2028}".utf8)
    }
    let event = try #require(OutputEvent(chunk))
    #expect(event.kind == .output && event.stream == "stderr" && event.attempt == 2)
    #expect(!event.json.contains("\n"))
    let decoded = try #require(
      try JSONSerialization.jsonObject(with: Data(event.json.utf8)) as? [String: Any]
    )
    #expect(decoded["text"] as? String == "a \"quote\"\nnew\u{0}line \\ \u{2028}")
    #expect(LiveOutput.event("output", id: 7, data: event.json).hasPrefix("event: output\nid: 7\ndata: {"))
  }

  @Test("an agent event reads as the CLI prints it; one that does not decode is skipped")
  func agentEvents() throws {
    let call = Orchion_V1_AgentEvent.with {
      $0.toolCall = .with {
        $0.name = "Bash"
        $0.inputJson = "{\"command\":\"ls\"}"
      }
    }
    let chunk = Orchion_V1_LogChunk.with {
      $0.stream = .agentEvent
      $0.data = try! call.serializedData()
    }
    let event = try #require(OutputEvent(chunk))
    #expect(event.kind == .agent && event.stream == "tool_call")
    #expect(event.text == "→ Bash {\"command\":\"ls\"}")
    let garbage = Orchion_V1_LogChunk.with {
      $0.stream = .agentEvent
      $0.data = Data([0xFF, 0xFF, 0xFF])
    }
    #expect(OutputEvent(garbage) == nil)
  }

  @Test("charts are drawn to scale with escaped titles")
  func charts() {
    let svg = SVGChart.bars(
      [(name: "<s>", cssClass: "submitted", values: [0, 5, 10])],
      firstLabel: "then",
      lastLabel: "now",
      title: "t<"
    )
    #expect(svg.contains("aria-label=\"t&lt;\""))
    #expect(svg.contains("height=\"110\""), "the largest bar fills the plot")
    #expect(svg.contains("height=\"55\""), "half the largest, half the height")
    #expect(svg.contains("&lt;s&gt;: 10"))
    let empty = SVGChart.shares([(name: "a", cssClass: "a", value: 0)], title: "none")
    #expect(empty.contains("class=\"empty\""))
  }

  @Test("a form's fields decode; an origin matches its own host only")
  func formsAndOrigins() {
    #expect(WebRoutes.formFields("csrf=a%2Bb+c&x=&y") == ["csrf": "a+b c", "x": "", "y": ""])
    #expect(WebAccess.isSameOrigin("http://127.0.0.1:50052", host: "127.0.0.1:50052"))
    #expect(!WebAccess.isSameOrigin("http://127.0.0.1:50053", host: "127.0.0.1:50052"))
    #expect(!WebAccess.isSameOrigin("http://evil.example", host: "127.0.0.1:50052"))
    #expect(!WebAccess.isSameOrigin("null", host: "127.0.0.1:50052"))
    #expect(!WebAccess.isSameOrigin("http://127.0.0.1:50052", host: nil))
  }

  @Test("a JSON string literal holds every character a message can")
  func jsonQuoting() throws {
    let quoted = JSONText.quoted("tab\tquote\" back\\ nul\u{0} é")
    let decoded = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
    #expect(decoded == ["tab\tquote\" back\\ nul\u{0} é"])
  }
}
