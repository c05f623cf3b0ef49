// FoundationEssentials, not Foundation: `Data` only, none of the I/O.
public import FoundationEssentials

/// A piece of a task's output as the orchestrator keeps it: what an agent read from one
/// stream of one attempt, or a line of Orchion's own.
public struct LogChunk: Hashable, Sendable {
  /// Where the bytes came from.
  public enum Stream: Hashable, Sendable {
    case stdout
    case stderr
    /// Written by Orchion itself, e.g. "output truncated".
    case system
    /// One serialized agent event (`orchion.v1.AgentEvent`), parsed by the node from an agent
    /// CLI's output: sequenced, acknowledged and kept like output, read by StreamAgentEvents.
    case agentEvent
  }

  public var task: TaskID
  /// Which attempt of the task wrote it (1 for the first).
  public var attempt: Int32
  public var stream: Stream
  /// Per attempt and stream, from 0, without gaps: a reader can tell what is missing.
  public var sequence: Int64
  public var data: Data
  /// When the agent read it, if it said.
  public var time: UTCInstant?

  public init(
    task: TaskID,
    attempt: Int32,
    stream: Stream,
    sequence: Int64,
    data: Data,
    time: UTCInstant? = nil
  ) {
    self.task = task
    self.attempt = attempt
    self.stream = stream
    self.sequence = sequence
    self.data = data
    self.time = time
  }
}
