/// Logger metadata keys, one place for all of them so log queries stay stable.
public enum LoggingKeys {
  public static let nodeID = "orchion.node.id"
  public static let nodeStatus = "orchion.node.status"
  public static let previousStatus = "orchion.node.previous_status"
  public static let reason = "orchion.reason"
  public static let taskID = "orchion.task.id"
  public static let attemptID = "orchion.attempt.id"
  public static let rpcMethod = "orchion.rpc.method"
  public static let rpcPeer = "orchion.rpc.peer"
  public static let rpcStatus = "orchion.rpc.status"
  public static let error = "orchion.error"
  public static let address = "orchion.address"
}
