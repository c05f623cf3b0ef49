/// Every metric the orchestrator exports, with its Prometheus help text: one place, so the
/// exporter gives each name one help line and the README's list stays true.
public enum MetricCatalog {
  // Recorded as they happen (swift-metrics, through the factory the orchestrator is given).
  public static let taskSubmissions = "orchion_task_submissions_total"
  public static let attempts = "orchion_task_attempts_total"
  public static let placements = "orchion_scheduler_placements_total"
  public static let schedulingPass = "orchion_scheduler_pass_duration_seconds"
  public static let heartbeats = "orchion_heartbeats_received_total"
  public static let heartbeatHandling = "orchion_heartbeat_handling_duration_seconds"
  public static let rpcs = "orchion_rpc_requests_total"
  public static let rpcDuration = "orchion_rpc_duration_seconds"
  public static let journalCommit = "orchion_journal_commit_duration_seconds"
  public static let journalBatch = "orchion_journal_commit_changes"
  public static let routerAccepted = "orchion_router_messages_accepted_total"
  public static let routerDelivered = "orchion_router_messages_delivered_total"
  public static let routerRedelivered = "orchion_router_messages_redelivered_total"
  // Read when scraped.
  public static let nodes = "orchion_nodes"
  public static let tasks = "orchion_tasks"
  public static let queueDepth = "orchion_queue_depth"
  public static let leader = "orchion_leader"
  public static let buildInfo = "orchion_build_info"
  public static let processCPU = "process_cpu_seconds_total"
  public static let processRSS = "process_resident_memory_bytes"
  public static let processOpenFDs = "process_open_fds"
  public static let processMaxFDs = "process_max_fds"
  public static let processStart = "process_start_time_seconds"

  /// Help text by metric name.
  public static let help: [String: String] = [
    taskSubmissions: "Tasks accepted by SubmitTask.",
    attempts: "Attempts that ended, by outcome (succeeded, failed, cancelled, lost, preempted, drained).",
    placements: "Attempts placed on a node by the scheduler.",
    schedulingPass: "Time one scheduling pass took (placing what fits).",
    heartbeats: "Heartbeats received from agents (every agent stream message counts as one).",
    heartbeatHandling: "Time spent handling one heartbeat.",
    rpcs: "gRPC calls answered, by service, method and status code.",
    rpcDuration: "Time from a gRPC call's arrival to its last response message, by service, method and status code.",
    journalCommit: "Time one journal commit took to be durable in the store.",
    journalBatch: "State changes written per journal commit.",
    routerAccepted: "Messages accepted by the router (once per mailbox they were queued for).",
    routerDelivered: "Message deliveries to subscribers, first deliveries and redeliveries.",
    routerRedelivered: "Message deliveries that were redeliveries (unacknowledged in time, or the holder left).",
    nodes: "Registered nodes by status.",
    tasks: "Tasks held by state (finished tasks within retention).",
    queueDepth: "Tasks waiting to be placed, including those waiting out a retry delay.",
    leader: "1 when this orchestrator leads (serves writes), else 0.",
    buildInfo: "Always 1; the labels say which release runs and which agent protocol it speaks.",
    processCPU: "User and system CPU time spent by the orchestrator process, in seconds.",
    processRSS: "Resident memory of the orchestrator process, in bytes.",
    processOpenFDs: "File descriptors the orchestrator process holds open.",
    processMaxFDs: "The orchestrator process's open-file limit.",
    processStart: "When the orchestrator process started, in seconds since the Unix epoch.",
  ]
}
