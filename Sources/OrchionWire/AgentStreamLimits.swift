/// Bounds on what an agent sends on its stream, shared by the agent (which stays within them)
/// and the orchestrator (which refuses a message beyond them, naming the field).
public enum AgentStreamLimits {
  /// Largest `LogChunk.data` an agent sends: it splits output into chunks of at most this.
  public static let maxChunkBytes = 64 * 1024
  /// Most entries in one `LogBatch` (the agent packs at most 1 MiB, so far fewer).
  public static let maxLogEntries = 4_096
  /// Most updates in one `TaskStatusBatch`.
  public static let maxStatusUpdates = 4_096
  /// Most attempts a hello may say it runs.
  public static let maxRunningAttempts = 10_000
  /// Longest `AgentHello.instance_id`, in bytes.
  public static let maxInstanceIDBytes = 128
  /// Longest `TaskStatusUpdate.message` kept, in Unicode scalars (longer is cut).
  public static let maxStatusMessageScalars = 1_024
}
