/// Limits on a task spec. The orchestrator holds every spec in memory and sends it to a node, so
/// each part is bounded; the numbers are documented in README.md.
extension TaskSpec {
  /// The longest name, in bytes.
  public static let maxNameBytes = 253
  /// The most arguments in `command`.
  public static let maxArguments = 4096
  /// The most bytes of all arguments together.
  public static let maxCommandBytes = 256 * 1024
  /// The longest working directory, in bytes.
  public static let maxWorkingDirectoryBytes = 4096
  /// The most attempts a task may ask for.
  public static let maxAttemptsLimit: Int32 = 100
  /// The most exit codes `retry_exit_codes` may list.
  public static let maxRetryExitCodes = 64
  /// The longest retry delay.
  public static let maxRetryBackoff = Duration.seconds(86_400)

  /// Environment limits: 256 variables, names up to 256 bytes, values up to 32 KiB, 256 KiB in all.
  public static let environmentLimits = StringMapLimits(
    field: "env",
    maxEntries: 256,
    maxKeyBytes: 256,
    maxValueBytes: 32 * 1024,
    maxTotalBytes: 256 * 1024,
    keysAreIdentifiers: false
  )

  /// The most secrets one task may refer to.
  public static let maxSecretReferences = 64

  /// Selector limits: as node labels.
  public static let selectorLimits = StringMapLimits(
    field: "node_selector",
    maxEntries: 64,
    maxKeyBytes: 128,
    maxValueBytes: 256,
    maxTotalBytes: 16 * 1024,
    keysAreIdentifiers: true
  )

  /// Checks every field; the first rule broken is reported.
  /// - Throws: `invalidArgument` naming the field (`spec.command`, `spec.env[…]`, …) and the rule.
  public func validate() throws(OrchionError) {
    guard name.utf8.count <= Self.maxNameBytes else {
      throw .invalidArgument(field: "spec.name", "spec.name: at most \(Self.maxNameBytes) bytes")
    }
    if TextRules.firstControlCharacter(in: name) != nil {
      throw .invalidArgument(field: "spec.name", "spec.name: must not contain control characters")
    }
    // An agent task's command is Orchion's to build (AgentCommandLine); until it is built
    // (on submission) it is empty.
    if let agent {
      try agent.validate()
      if !command.isEmpty { try validateCommand() }
    } else {
      try validateCommand()
    }
    try validateEnvironment()
    try validateSecretEnvironment()
    guard workingDirectory.utf8.count <= Self.maxWorkingDirectoryBytes else {
      throw .invalidArgument(
        field: "spec.workdir",
        "spec.workdir: at most \(Self.maxWorkingDirectoryBytes) bytes"
      )
    }
    guard !workingDirectory.utf8.contains(0) else {
      throw .invalidArgument(field: "spec.workdir", "spec.workdir: must not contain NUL")
    }
    try resources.validate(field: "spec.resources")
    do {
      try Self.selectorLimits.validate(nodeSelector)
    } catch {
      throw .invalidArgument(field: error.field.map { "spec." + $0 }, "spec." + error.message)
    }
    if let timeout, timeout < .zero {
      throw .invalidArgument(field: "spec.timeout", "spec.timeout: must not be negative")
    }
    guard (1...Self.maxAttemptsLimit).contains(maxAttempts) else {
      throw .invalidArgument(
        field: "spec.max_attempts",
        "spec.max_attempts: must be 1-\(Self.maxAttemptsLimit)"
      )
    }
    guard (0...100).contains(priority) else {
      throw .invalidArgument(field: "spec.priority", "spec.priority: must be 0-100")
    }
    guard constraints.count <= LabelConstraint.maxPerTask else {
      throw .invalidArgument(
        field: "spec.constraints",
        "spec.constraints: at most \(LabelConstraint.maxPerTask) expressions"
      )
    }
    guard retry.exitCodes.count <= Self.maxRetryExitCodes else {
      throw .invalidArgument(
        field: "spec.retry_exit_codes",
        "spec.retry_exit_codes: at most \(Self.maxRetryExitCodes) codes"
      )
    }
    guard retry.exitCodes.allSatisfy({ (1...255).contains($0) }) else {
      throw .invalidArgument(
        field: "spec.retry_exit_codes",
        "spec.retry_exit_codes: exit codes that fail are 1-255"
      )
    }
    guard retry.backoff > .zero, retry.backoff <= Self.maxRetryBackoff else {
      throw .invalidArgument(
        field: "spec.retry_backoff",
        "spec.retry_backoff: must be positive and at most 24h"
      )
    }
    guard retry.maxBackoff >= retry.backoff, retry.maxBackoff <= Self.maxRetryBackoff else {
      throw .invalidArgument(
        field: "spec.retry_backoff_max",
        "spec.retry_backoff_max: must be at least retry_backoff and at most 24h"
      )
    }
  }

  private func validateCommand() throws(OrchionError) {
    guard let program = command.first, !program.isEmpty else {
      throw .invalidArgument(
        field: "spec.command",
        "spec.command: must name a program (command[0] is empty)"
      )
    }
    guard command.count <= Self.maxArguments else {
      throw .invalidArgument(
        field: "spec.command",
        "spec.command: at most \(Self.maxArguments) arguments"
      )
    }
    var total = 0
    for (index, argument) in command.enumerated() {
      guard !argument.utf8.contains(0) else {
        throw .invalidArgument(
          field: "spec.command",
          "spec.command[\(index)]: must not contain NUL"
        )
      }
      total += argument.utf8.count
    }
    guard total <= Self.maxCommandBytes else {
      throw .invalidArgument(
        field: "spec.command",
        "spec.command: \(total) bytes, at most \(Self.maxCommandBytes)"
      )
    }
  }

  /// Whether `name` can be an environment variable's name: letters, digits and `_`, not
  /// starting with a digit.
  static func isEnvironmentName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first,
      first == "_" || (first.isASCII && first.properties.isAlphabetic)
    else { return false }
    return name.unicodeScalars.allSatisfy {
      $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
    }
  }

  private func validateSecretEnvironment() throws(OrchionError) {
    guard secretEnvironment.count <= Self.maxSecretReferences else {
      throw .invalidArgument(
        field: "spec.secret_env",
        "spec.secret_env: at most \(Self.maxSecretReferences) variables"
      )
    }
    for (variable, secret) in secretEnvironment.sorted(by: { $0.key < $1.key }) {
      let field = "spec.secret_env[\(TextRules.quoted(variable))]"
      guard Self.isEnvironmentName(variable), variable.utf8.count <= 256 else {
        throw .invalidArgument(
          field: field,
          "\(field): names are letters, digits and '_', not starting with a digit"
        )
      }
      guard environment[variable] == nil else {
        throw .invalidArgument(field: field, "\(field): also set in spec.env; set it in one place")
      }
      try SecretName.validate(secret, field: field)
    }
  }

  private func validateEnvironment() throws(OrchionError) {
    for name in environment.keys.sorted() {
      guard Self.isEnvironmentName(name) else {
        throw .invalidArgument(
          field: "spec.env",
          "spec.env[\(TextRules.quoted(name))]: names are letters, digits and '_', not starting with a digit"
        )
      }
      if environment[name]?.utf8.contains(0) == true {
        throw .invalidArgument(
          field: "spec.env",
          "spec.env[\(TextRules.quoted(name))]: value must not contain NUL"
        )
      }
    }
    guard environment.count <= Self.environmentLimits.maxEntries else {
      throw .invalidArgument(
        field: "spec.env",
        "spec.env: at most \(Self.environmentLimits.maxEntries) variables"
      )
    }
    let total = environment.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
    guard total <= Self.environmentLimits.maxTotalBytes,
      environment.values.allSatisfy({ $0.utf8.count <= Self.environmentLimits.maxValueBytes })
    else {
      throw .invalidArgument(
        field: "spec.env",
        "spec.env: values at most \(Self.environmentLimits.maxValueBytes) bytes, \(Self.environmentLimits.maxTotalBytes) in all"
      )
    }
  }
}
