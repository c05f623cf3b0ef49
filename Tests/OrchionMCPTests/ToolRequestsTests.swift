import MCP
import OrchionAPI
import OrchionMCP
import SwiftProtobuf
import Testing

/// Every tool's argument rules: a bad call is refused naming the argument, and a good one
/// becomes exactly the API request it should.
@Suite("MCP tool arguments")
struct ToolRequestsTests {
  private func refusal<T>(_ body: () throws -> T) -> String {
    do {
      _ = try body()
      return "accepted"
    } catch let error as ToolArgumentError {
      return error.description
    } catch {
      return "\(error)"
    }
  }

  // MARK: run_task

  @Test("run_task: command as argv, resources, limits and selector become the spec")
  func runTaskSpec() throws {
    let request = try ToolRequests.runTask(
      ToolArguments([
        "command": ["python3", "eval.py", "--split", "test"], "name": "eval", "env": ["A": "1"],
        "secret_env": ["KEY": "anthropic"], "selector": ["gpu": "a100"], "node_id": "box",
        "cpu": 1.5, "memory_mb": 2048, "gpus": 1, "timeout_s": 600, "retries": 2, "priority": 80,
        "workdir": "/srv/work",
      ])
    )
    let spec = request.spec
    #expect(request.count == nil)
    #expect(spec.command == ["python3", "eval.py", "--split", "test"])
    #expect(spec.name == "eval")
    #expect(spec.env == ["A": "1"])
    #expect(spec.secretEnv == ["KEY": "anthropic"])
    #expect(spec.nodeSelector == ["gpu": "a100"])
    #expect(spec.nodeID == "box")
    #expect(spec.resources.cpuMillis == 1_500)
    #expect(spec.resources.memoryBytes == 2048 * 1_048_576)
    #expect(spec.resources.gpus == 1)
    #expect(spec.timeout.seconds == 600)
    #expect(spec.maxAttempts == 3)
    #expect(spec.priority == 80)
    #expect(spec.workdir == "/srv/work")
    #expect(!spec.hasAgent)
  }

  @Test("run_task: count makes a group of that many copies (the orchestrator sets ORCHION_INDEX and ORCHION_COUNT)")
  func runTaskCount() throws {
    let request = try ToolRequests.runTask(ToolArguments(["command": ["./eval.sh"], "count": 4, "env": ["X": "y"]]))
    #expect(request.count == 4)
    #expect(request.spec.env == ["X": "y"])
    // A count of 3.0 is 3 (JSON has one number type); 2.5 is not a count.
    #expect(try ToolRequests.runTask(ToolArguments(["command": ["true"], "count": 3.0])).count == 3)
    #expect(refusal { try ToolRequests.runTask(ToolArguments(["command": ["true"], "count": 2.5])) } == "count: must be a whole number")
    #expect(refusal { try ToolRequests.runTask(ToolArguments(["command": ["true"], "count": 0])) } == "count: must be 1-1000, not 0")
    #expect(refusal { try ToolRequests.runTask(ToolArguments(["command": ["true"], "count": 1001])) } == "count: must be 1-1000, not 1001")
    #expect(refusal { try ToolRequests.runTask(ToolArguments(["command": ["true"], "count": "3"])) } == "count: must be a whole number")
  }

  @Test("run_task: an agent with a prompt and model")
  func runTaskAgent() throws {
    let spec = try ToolRequests.runTask(ToolArguments(["agent": "claude", "prompt": "fix the tests", "model": "sonnet"])).spec
    #expect(spec.agent.name == "claude")
    #expect(spec.agent.prompt == "fix the tests")
    #expect(spec.agent.model == "sonnet")
    #expect(spec.command.isEmpty)
  }

  @Test("run_task: refusals name the argument")
  func runTaskRefusals() {
    let cases: [([String: Value], String)] = [
      ([:], "command: give either command (argv, a list of strings) or agent with prompt"),
      (["command": "make test"], "command: must be a list of strings"),
      (["command": []], "command: must hold 1-1024 items, not 0"),
      (["command": ["echo", 3]], "command[1]: must be a string"),
      (["command": ["true"], "agent": "claude", "prompt": "x"], "agent: give either command or agent, not both"),
      (["agent": "claude"], "prompt: required with agent"),
      (["agent": "claude", "prompt": ""], "prompt: required with agent"),
      (["command": ["true"], "prompt": "x"], "prompt: only with agent"),
      (["command": ["true"], "model": "x"], "model: only with agent"),
      (["command": ["true"], "timeout": 5], "timeout: unknown argument (this tool takes agent, command, count, cpu, env, gpus, memory_mb, model, name, node_id, priority, prompt, retries, secret_env, selector, timeout_s, workdir)"),
      (["command": ["true"], "cpu": -1], "cpu: must be 0.0-1000000.0, not -1.0"),
      (["command": ["true"], "cpu": "2"], "cpu: must be a number"),
      (["command": ["true"], "memory_mb": -5], "memory_mb: must be 0-1073741824, not -5"),
      (["command": ["true"], "gpus": 2000], "gpus: must be 0-1024, not 2000"),
      (["command": ["true"], "timeout_s": -1], "timeout_s: must be 0-31622400, not -1"),
      (["command": ["true"], "retries": 100], "retries: must be 0-99, not 100"),
      (["command": ["true"], "priority": 101], "priority: must be 0-100, not 101"),
      (["command": ["true"], "env": ["A": 1]], "env.A: must be a string"),
      (["command": ["true"], "env": "A=1"], "env: must be an object of strings"),
      (["command": ["true"], "selector": ["gpu\u{1}": "x"]], "selector key: must not contain control characters (U+1)"),
      (["command": ["true"], "name": "a\u{7F}b"], "name: must not contain control characters (U+7F)"),
      (["command": ["true"], "name": .string(String(repeating: "n", count: 257))], "name: at most 256 bytes, not 257"),
    ]
    for (arguments, expected) in cases {
      #expect(refusal { try ToolRequests.runTask(ToolArguments(arguments)) } == expected, "\(arguments)")
    }
  }

  // MARK: wait_tasks

  @Test("wait_tasks: defaults all and 30 s; at most 50 s; duplicates waited once")
  func waitTasks() throws {
    let wait = try ToolRequests.waitTasks(ToolArguments(["task_ids": ["a", "b", "a"]]))
    #expect(wait == .init(taskIDs: ["a", "b"], untilAll: true, timeout: .seconds(30)))
    let any = try ToolRequests.waitTasks(ToolArguments(["task_ids": ["a"], "until": "any", "timeout_s": 50]))
    #expect(any == .init(taskIDs: ["a"], untilAll: false, timeout: .seconds(50)))
    let cases: [([String: Value], String)] = [
      ([:], "task_ids: required"),
      (["task_ids": []], "task_ids: must hold 1-100 items, not 0"),
      (["task_ids": .array(Array(repeating: Value.string("t"), count: 101))], "task_ids: must hold 1-100 items, not 101"),
      (["task_ids": "t1"], "task_ids: must be a list of strings"),
      (["task_ids": ["a"], "timeout_s": 51], "timeout_s: must be 0-50, not 51"),
      (["task_ids": ["a"], "until": "first"], "until: must be one of \"all\", \"any\", not \"first\""),
      (["task_ids": ["a"], "wait": true], "wait: unknown argument (this tool takes task_ids, timeout_s, until)"),
    ]
    for (arguments, expected) in cases {
      #expect(refusal { try ToolRequests.waitTasks(ToolArguments(arguments)) } == expected, "\(arguments)")
    }
  }

  // MARK: get_task, cancel_task, get_result

  @Test("get_task, cancel_task, get_result: one task_id, required")
  func taskID() throws {
    #expect(try ToolRequests.taskID(ToolArguments(["task_id": "t1"])) == "t1")
    #expect(refusal { try ToolRequests.taskID(ToolArguments([:])) } == "task_id: required")
    #expect(refusal { try ToolRequests.taskID(ToolArguments(["task_id": ""])) } == "task_id: must not be empty")
    #expect(refusal { try ToolRequests.taskID(ToolArguments(["task_id": 7])) } == "task_id: must be a string")
    #expect(refusal { try ToolRequests.taskID(ToolArguments(["task_id": "t1", "force": true])) } == "force: unknown argument (this tool takes task_id)")
  }

  // MARK: get_logs

  @Test("get_logs: cursors are the ones it returned; max_bytes bounded")
  func getLogs() throws {
    #expect(try ToolRequests.getLogs(ToolArguments(["task_id": "t"])) == .init(taskID: "t", offset: 0, maxBytes: 65_536))
    #expect(
      try ToolRequests.getLogs(ToolArguments(["task_id": "t", "cursor": .string(LogCursor.make(1234)), "max_bytes": 10]))
        == .init(taskID: "t", offset: 1234, maxBytes: 10)
    )
    #expect(try ToolRequests.getLogs(ToolArguments(["task_id": "t", "cursor": ""])).offset == 0)
    let cases: [([String: Value], String)] = [
      (["task_id": "t", "cursor": "1234"], "cursor: not a cursor get_logs returned"),
      (["task_id": "t", "cursor": "b-1"], "cursor: not a cursor get_logs returned"),
      (["task_id": "t", "max_bytes": 0], "max_bytes: must be 1-262144, not 0"),
      (["task_id": "t", "max_bytes": 262_145], "max_bytes: must be 1-262144, not 262145"),
      (["cursor": "b0"], "task_id: required"),
    ]
    for (arguments, expected) in cases {
      #expect(refusal { try ToolRequests.getLogs(ToolArguments(arguments)) } == expected, "\(arguments)")
    }
  }

  // MARK: send_message, receive_messages

  @Test("send_message: to and payload required; headers and ttl")
  func sendMessage() throws {
    let request = try ToolRequests.sendMessage(
      ToolArguments(["to": "queue/jobs", "payload": "héllo", "headers": ["k": "v"], "ttl_s": 60])
    )
    #expect(request.to == "queue/jobs")
    #expect(String(decoding: request.payload, as: UTF8.self) == "héllo")
    #expect(request.headers == ["k": "v"])
    #expect(request.ttl.seconds == 60)
    #expect(refusal { try ToolRequests.sendMessage(ToolArguments(["payload": "x"])) } == "to: required")
    #expect(refusal { try ToolRequests.sendMessage(ToolArguments(["to": "queue/a"])) } == "payload: required")
    #expect(refusal { try ToolRequests.sendMessage(ToolArguments(["to": "queue/a", "payload": "x", "ttl_s": 0])) } == "ttl_s: must be 1-2592000, not 0")
  }

  @Test("receive_messages: address required; at most 100 messages and 50 s")
  func receiveMessages() throws {
    #expect(
      try ToolRequests.receiveMessages(ToolArguments(["address": "queue/jobs"]))
        == .init(address: "queue/jobs", consumer: "", maxMessages: 10, timeout: .seconds(5))
    )
    #expect(refusal { try ToolRequests.receiveMessages(ToolArguments([:])) } == "address: required")
    #expect(refusal { try ToolRequests.receiveMessages(ToolArguments(["address": "q", "max_messages": 101])) } == "max_messages: must be 1-100, not 101")
    #expect(refusal { try ToolRequests.receiveMessages(ToolArguments(["address": "q", "timeout_s": 60])) } == "timeout_s: must be 0-50, not 60")
  }

  // MARK: list_nodes

  @Test("list_nodes: an optional status")
  func listNodes() throws {
    #expect(try ToolRequests.listNodes(ToolArguments(nil)) == .unspecified)
    #expect(try ToolRequests.listNodes(ToolArguments(["status": "active"])) == .active)
    #expect(refusal { try ToolRequests.listNodes(ToolArguments(["status": "up"])) } == "status: must be one of \"active\", \"inactive\", \"disconnected\", not \"up\"")
  }

  // MARK: Catalog and resources

  @Test("every tool in the catalog has an object input and output schema, and a description")
  func catalog() {
    #expect(
      Set(ToolCatalog.tools.map(\.name)) == [
        "list_nodes", "run_task", "wait_tasks", "get_task", "get_logs", "cancel_task", "send_message",
        "receive_messages", "get_result",
      ]
    )
    for tool in ToolCatalog.tools {
      #expect(tool.inputSchema.objectValue?["type"] == "object", "\(tool.name)")
      #expect(tool.outputSchema?.objectValue?["type"] == "object", "\(tool.name)")
      #expect(tool.description?.isEmpty == false, "\(tool.name)")
      #expect(tool.annotations.readOnlyHint != nil, "\(tool.name)")
    }
  }

  @Test("resource URIs: a task and its log; anything else is not one")
  func resourceURIs() {
    #expect(TaskResourceURI("orchion://tasks/t01") == .task("t01"))
    #expect(TaskResourceURI("orchion://tasks/t01/log") == .log("t01"))
    #expect(TaskResourceURI("orchion://tasks/t01/log").map(\.uri) == "orchion://tasks/t01/log")
    for bad in ["orchion://tasks/", "orchion://tasks/t01/other", "orchion://nodes/a", "orchion://tasks/a/b/c", "orchion://tasks/../x"] {
      #expect(TaskResourceURI(bad) == nil, "\(bad)")
    }
  }
}
