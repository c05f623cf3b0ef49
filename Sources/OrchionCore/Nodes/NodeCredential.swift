/// The per-node credential RegisterNode issues: one node cannot act as another.
public enum NodeCredential {
  /// The metadata key a node's credential travels in, on every call for that node after it
  /// registered (heartbeats, the agent stream, unregistering, registering again).
  public static let metadataKey = "orchion-node-credential"
}
