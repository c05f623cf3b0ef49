public import MCP

/// The tools Orchion serves over MCP, with their input and output schemas and hints. The
/// names are fixed: clients and prompts refer to them.
public enum ToolCatalog {
  public static let listNodes = "list_nodes"
  public static let runTask = "run_task"
  public static let waitTasks = "wait_tasks"
  public static let getTask = "get_task"
  public static let getLogs = "get_logs"
  public static let cancelTask = "cancel_task"
  public static let sendMessage = "send_message"
  public static let receiveMessages = "receive_messages"
  public static let getResult = "get_result"

  public static let tools: [Tool] = [
    Tool(
      name: listNodes,
      title: "List nodes",
      description:
        "The machines in the Orchion cluster: status, labels, total and free CPU, memory and GPUs, and the coding-agent CLIs each has.",
      inputSchema: object([
        "status": [
          "type": "string", "enum": ["active", "inactive", "disconnected"],
          "description": "Only nodes in this status; all when absent.",
        ]
      ]),
      annotations: .init(readOnlyHint: true, openWorldHint: false),
      outputSchema: object(["nodes": ["type": "array", "items": nodeSchema]], required: ["nodes"])
    ),
    Tool(
      name: runTask,
      title: "Run a task",
      description:
        "Queue a command (argv) or a coding agent with a prompt on whichever machine fits, `count` copies at once (each gets ORCHION_INDEX 0..count-1 and ORCHION_COUNT). Returns the task IDs at once; follow them with wait_tasks, get_logs and get_result.",
      inputSchema: object([
        "command": [
          "type": "array", "items": ["type": "string"], "minItems": 1,
          "description": "argv: the program and its arguments; no shell unless you run one (e.g. [\"sh\", \"-c\", \"make test\"]).",
        ],
        "agent": [
          "type": "string",
          "description": "A coding-agent CLI to run instead of a command: claude, codex, gemini, aider, opencode, … (see list_nodes).",
        ],
        "prompt": ["type": "string", "description": "The agent's prompt (with `agent`)."],
        "model": ["type": "string", "description": "The agent's model (with `agent`)."],
        "name": ["type": "string", "description": "A name to find the task by."],
        "env": [
          "type": "object", "additionalProperties": ["type": "string"],
          "description": "Environment variables for the task.",
        ],
        "secret_env": [
          "type": "object", "additionalProperties": ["type": "string"],
          "description": "Environment variables filled from Orchion secrets, by secret name: {\"ANTHROPIC_API_KEY\": \"anthropic\"}.",
        ],
        "workdir": ["type": "string", "description": "Working directory on the node; default: a fresh workspace."],
        "selector": [
          "type": "object", "additionalProperties": ["type": "string"],
          "description": "Labels the node must carry, e.g. {\"gpu\": \"a100\"}.",
        ],
        "node_id": ["type": "string", "description": "Run only on this node."],
        "cpu": ["type": "number", "minimum": 0, "description": "CPU cores to reserve (0.5 is half a core)."],
        "memory_mb": ["type": "integer", "minimum": 0, "description": "Memory to reserve, in MiB."],
        "gpus": ["type": "integer", "minimum": 0, "description": "Whole GPUs to reserve."],
        "timeout_s": ["type": "integer", "minimum": 0, "description": "Wall time allowed per attempt, in seconds; 0: no limit."],
        "retries": ["type": "integer", "minimum": 0, "description": "Attempts allowed after a failed one."],
        "priority": ["type": "integer", "minimum": 0, "maximum": 100, "description": "0-100, higher first; default 50."],
        "count": [
          "type": "integer", "minimum": 1, "maximum": .int(ToolLimits.maxCount),
          "description": "How many copies to run, as one group queued all or none; default: one task.",
        ],
      ]),
      annotations: .init(readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true),
      outputSchema: object(
        [
          "task_ids": ["type": "array", "items": ["type": "string"]],
          "group_id": ["type": "string", "description": "With count: the group, queued all or none."],
        ],
        required: ["task_ids"]
      )
    ),
    Tool(
      name: waitTasks,
      title: "Wait for tasks",
      description:
        "Wait until all (or any) of the tasks have finished, for at most timeout_s seconds (≤ 50: call again to go on waiting). Returns each task's state and exit code, and whether the wait timed out. Sends progress notifications while it waits.",
      inputSchema: object(
        [
          "task_ids": [
            "type": "array", "items": ["type": "string"], "minItems": 1,
            "maxItems": .int(ToolLimits.maxWaitedTasks),
          ],
          "until": ["type": "string", "enum": ["all", "any"], "description": "Default: all."],
          "timeout_s": [
            "type": "integer", "minimum": 0, "maximum": .int(ToolLimits.maxWaitSeconds),
            "description": "Default \(ToolLimits.defaultWaitSeconds).",
          ],
        ],
        required: ["task_ids"]
      ),
      annotations: .init(readOnlyHint: true, openWorldHint: false),
      outputSchema: object(
        [
          "timed_out": ["type": "boolean"],
          "finished": ["type": "integer"],
          "tasks": ["type": "array", "items": taskSchema],
        ],
        required: ["timed_out", "finished", "tasks"]
      )
    ),
    Tool(
      name: getTask,
      title: "Get a task",
      description: "A task's state, node, attempts, exit code and, for an agent task, its result.",
      inputSchema: object(["task_id": ["type": "string"]], required: ["task_id"]),
      annotations: .init(readOnlyHint: true, openWorldHint: false),
      outputSchema: object(["task": taskSchema], required: ["task"])
    ),
    Tool(
      name: getLogs,
      title: "Read a task's output",
      description:
        "A page of a task's output (stdout, stderr and Orchion's notices, in order) from `cursor`. Pass the returned next_cursor to read on; it is empty once the task has finished and everything was returned, so the pages together are exactly the stored log.",
      inputSchema: object(
        [
          "task_id": ["type": "string"],
          "cursor": ["type": "string", "description": "From a previous call's next_cursor; empty or absent: from the start."],
          "max_bytes": [
            "type": "integer", "minimum": 1, "maximum": .int(ToolLimits.maxLogPageBytes),
            "description": "Default \(ToolLimits.defaultLogPageBytes).",
          ],
        ],
        required: ["task_id"]
      ),
      annotations: .init(readOnlyHint: true, openWorldHint: false),
      outputSchema: object(
        [
          "text": ["type": "string"],
          "next_cursor": ["type": "string"],
          "finished": ["type": "boolean"],
        ],
        required: ["text", "next_cursor", "finished"]
      )
    ),
    Tool(
      name: cancelTask,
      title: "Cancel a task",
      description: "Cancel a task: a pending one never runs; a running one has its process tree stopped.",
      inputSchema: object(["task_id": ["type": "string"]], required: ["task_id"]),
      annotations: .init(readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false),
      outputSchema: object(["task": taskSchema], required: ["task"])
    ),
    Tool(
      name: sendMessage,
      title: "Send a message",
      description:
        "Send a message through Orchion's router to task/ID, node/ID, queue/NAME or topic/NAME. Returns its ID once the orchestrator keeps it.",
      inputSchema: object(
        [
          "to": ["type": "string"],
          "payload": ["type": "string", "description": "The message text."],
          "headers": ["type": "object", "additionalProperties": ["type": "string"]],
          "ttl_s": ["type": "integer", "minimum": 1, "description": "Drop it if undelivered this long."],
        ],
        required: ["to", "payload"]
      ),
      annotations: .init(readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false),
      outputSchema: object(["message_id": ["type": "string"]], required: ["message_id"])
    ),
    Tool(
      name: receiveMessages,
      title: "Receive messages",
      description:
        "Take up to max_messages from queue/NAME, topic/NAME or another address, waiting at most timeout_s for the first. Messages returned are acknowledged: they are not delivered again.",
      inputSchema: object(
        [
          "address": ["type": "string"],
          "consumer": ["type": "string", "description": "For a topic: a name that keeps messages while away."],
          "max_messages": ["type": "integer", "minimum": 1, "maximum": .int(ToolLimits.maxReceivedMessages)],
          "timeout_s": ["type": "integer", "minimum": 0, "maximum": .int(ToolLimits.maxWaitSeconds)],
        ],
        required: ["address"]
      ),
      annotations: .init(readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false),
      outputSchema: object(
        [
          "messages": [
            "type": "array",
            "items": object(
              [
                "id": ["type": "string"], "from": ["type": "string"], "to": ["type": "string"],
                "payload": ["type": "string"],
                "headers": ["type": "object", "additionalProperties": ["type": "string"]],
                "sent_at": ["type": "string"],
              ],
              required: ["id", "from", "to", "payload"]
            ),
          ]
        ],
        required: ["messages"]
      )
    ),
    Tool(
      name: getResult,
      title: "Get a task's result",
      description:
        "How a task ended: state, exit code, why, the agent's summary (text, turns, tokens, cost) for an agent task, and the last lines of its output.",
      inputSchema: object(["task_id": ["type": "string"]], required: ["task_id"]),
      annotations: .init(readOnlyHint: true, openWorldHint: false),
      outputSchema: object(
        [
          "task": taskSchema,
          "output_tail": ["type": "string"],
        ],
        required: ["task", "output_tail"]
      )
    ),
  ]

  /// A task as the tools return it.
  static let taskSchema: Value = object(
    [
      "task_id": ["type": "string"],
      "name": ["type": "string"],
      "state": ["type": "string", "enum": ["PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "UNKNOWN"]],
      "finished": ["type": "boolean"],
      "node_id": ["type": "string"],
      "attempt": ["type": "integer"],
      "exit_code": ["type": ["integer", "null"]],
      "termination": ["type": "string"],
      "message": ["type": "string"],
      "created_at": ["type": "string"],
      "started_at": ["type": ["string", "null"]],
      "finished_at": ["type": ["string", "null"]],
      "parent_task_id": ["type": "string"],
      "agent": ["type": ["object", "null"]],
    ],
    required: ["task_id", "state", "finished", "exit_code"]
  )

  static let nodeSchema: Value = object(
    [
      "node_id": ["type": "string"],
      "status": ["type": "string"],
      "cordoned": ["type": "boolean"],
      "labels": ["type": "object", "additionalProperties": ["type": "string"]],
      "cpu": ["type": "number"], "cpu_free": ["type": "number"],
      "memory_mb": ["type": "integer"], "memory_free_mb": ["type": "integer"],
      "gpus": ["type": "integer"], "gpus_free": ["type": "integer"],
      "agents": ["type": "array", "items": ["type": "string"]],
    ],
    required: ["node_id", "status"]
  )

  static func object(_ properties: [String: Value], required: [String] = []) -> Value {
    var schema: [String: Value] = ["type": "object", "properties": .object(properties)]
    if !required.isEmpty { schema["required"] = .array(required.map(Value.string)) }
    return .object(schema)
  }
}

/// The bounds of the tools' arguments.
public enum ToolLimits {
  /// Copies one run_task may start.
  public static let maxCount = 1_000
  /// Clients time a tool call out near 60 s: a wait ends well before.
  public static let maxWaitSeconds = 50
  public static let defaultWaitSeconds = 30
  public static let maxWaitedTasks = 100
  public static let maxLogPageBytes = 256 * 1024
  public static let defaultLogPageBytes = 64 * 1024
  public static let maxReceivedMessages = 100
  /// The longest prompt or payload taken.
  public static let maxTextBytes = 256 * 1024
}
