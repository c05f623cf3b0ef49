import OrchionCore

/// Who may act for which node: an admin for any; a join token only with the node's credential,
/// which RegisterNode issued to whoever registered it.
enum NodeAccess {
  /// Random bytes in a node credential (hex: 64 characters).
  static let credentialBytes = 32

  /// Checks that the caller may act for `node`.
  /// - Throws: `permissionDenied` when it may not.
  static func authorize(
    _ node: Node,
    caller: Caller? = Caller.current
  ) throws(OrchionError) {
    if caller?.principal.isAdmin ?? true { return }
    guard let credential = caller?.nodeCredential, !node.credentialDigest.isEmpty,
      Credential.equal(node.credentialDigest, Credential.digest(credential))
    else {
      throw .permissionDenied(
        "node '\(node.id)': present the credential its registration returned (\(NodeCredential.metadataKey) metadata), or use an admin token"
      )
    }
  }

  /// Decides a registration: who may (re-)register the node already under the ID, and which
  /// credential the node keeps.
  ///
  /// A new node gets a new credential (so does one stored without any, from before credentials
  /// existed). Registering an existing node again needs its credential
  /// (which it keeps) or an admin token (which issues a new one: the old holder is locked out).
  /// - Returns: The credential digest to store and the credential to hand back.
  /// - Throws: `permissionDenied` when a join token re-registers a node without its credential.
  static func register(
    existing: Node?,
    caller: Caller? = Caller.current
  ) throws(OrchionError) -> (digest: [UInt8], credential: String) {
    let principal = caller?.principal
    if let existing, !existing.credentialDigest.isEmpty, let credential = caller?.nodeCredential,
      Credential.equal(existing.credentialDigest, Credential.digest(credential))
    {
      return (existing.credentialDigest, credential)
    }
    // A node without a credential was registered before Orchion issued them: claimable once.
    if let existing, !existing.credentialDigest.isEmpty, !(principal?.isAdmin ?? true) {
      throw .permissionDenied(
        "node '\(existing.id)' is registered already: registering it again needs its credential (\(NodeCredential.metadataKey) metadata) or an admin token"
      )
    }
    let issued = Credential.randomHex(bytes: credentialBytes)
    return (Credential.digest(issued), issued)
  }
}
