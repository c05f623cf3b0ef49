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

  /// What a registration presents and would issue, computed before the registration's
  /// transition so that deciding it under the cluster's lock only compares digests.
  struct RegistrationClaim: Sendable {
    /// The caller's node credential and its digest, if it presented one.
    let presented: (credential: String, digest: [UInt8])?
    /// An admin (or no authentication) may take over a registered node.
    let isAdmin: Bool
    /// The credential a new (or taken-over) node gets, and its digest.
    let issued: (credential: String, digest: [UInt8])

    init(caller: Caller? = Caller.current) {
      presented = caller?.nodeCredential.map { ($0, Credential.digest($0)) }
      isAdmin = caller?.principal.isAdmin ?? true
      let credential = Credential.randomHex(bytes: NodeAccess.credentialBytes)
      issued = (credential, Credential.digest(credential))
    }

    /// Decides the registration: who may (re-)register the node already under the ID, and
    /// which credential the node keeps.
    ///
    /// A new node gets a new credential (so does one stored without any, from before
    /// credentials existed). Registering an existing node again needs its credential (which it
    /// keeps) or an admin token (which issues a new one: the old holder is locked out).
    /// - Returns: The credential digest to store and the credential to hand back.
    /// - Throws: `permissionDenied` when a join token re-registers a node without its
    ///   credential.
    func decide(existing: Node?) throws(OrchionError) -> (digest: [UInt8], credential: String) {
      if let existing, !existing.credentialDigest.isEmpty, let presented,
        Credential.equal(existing.credentialDigest, presented.digest)
      {
        return (existing.credentialDigest, presented.credential)
      }
      // A node without a credential was registered before Orchion issued them: claimable once.
      if let existing, !existing.credentialDigest.isEmpty, !isAdmin {
        throw .permissionDenied(
          "node '\(existing.id)' is registered already: registering it again needs its credential (\(NodeCredential.metadataKey) metadata) or an admin token"
        )
      }
      return (issued.digest, issued.credential)
    }
  }
}
