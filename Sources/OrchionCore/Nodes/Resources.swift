/// Resources a node offers or a task asks for.
public struct Resources: Hashable, Sendable {
  /// CPU in millicores: 1000 is one core.
  public var cpuMillis: Int64
  /// Memory in bytes.
  public var memoryBytes: Int64
  /// Whole GPUs.
  public var gpus: Int32
  /// Named countable resources, e.g. `tool/claude` = 4.
  public var extended: [String: Int64]

  /// Creates resources.
  /// - Parameters:
  ///   - cpuMillis: CPU in millicores.
  ///   - memoryBytes: Memory in bytes.
  ///   - gpus: Whole GPUs.
  ///   - extended: Named countable resources.
  public init(
    cpuMillis: Int64 = 0,
    memoryBytes: Int64 = 0,
    gpus: Int32 = 0,
    extended: [String: Int64] = [:]
  ) {
    self.cpuMillis = cpuMillis
    self.memoryBytes = memoryBytes
    self.gpus = gpus
    self.extended = extended
  }

  /// No resources.
  public static let zero = Resources()

  /// The most extended resource names one value may carry.
  public static let maxExtendedEntries = 64

  /// Checks that every amount is non-negative and extended names are well formed.
  /// - Parameter field: The field name for error messages, e.g. `resources`.
  /// - Throws: ``OrchionError`` `invalidArgument` naming the field and the rule.
  public func validate(field: String) throws(OrchionError) {
    guard cpuMillis >= 0 else {
      throw .invalidArgument(
        field: "\(field).cpu_millis",
        "\(field).cpu_millis: must not be negative"
      )
    }
    guard memoryBytes >= 0 else {
      throw .invalidArgument(
        field: "\(field).memory_bytes",
        "\(field).memory_bytes: must not be negative"
      )
    }
    guard gpus >= 0 else {
      throw .invalidArgument(field: "\(field).gpus", "\(field).gpus: must not be negative")
    }
    guard extended.count <= Self.maxExtendedEntries else {
      throw .invalidArgument(
        field: "\(field).extended",
        "\(field).extended: \(extended.count) entries, at most \(Self.maxExtendedEntries) allowed"
      )
    }
    for (name, amount) in extended.sorted(by: { $0.key < $1.key }) {
      guard !name.isEmpty, name.utf8.count <= 128,
        name.unicodeScalars.allSatisfy(TextRules.isKeyCharacter)
      else {
        throw .invalidArgument(
          field: "\(field).extended",
          "\(field).extended[\(TextRules.quoted(name))]: names are 1-128 characters of letters, digits, '.', '_', '-' and '/'"
        )
      }
      guard amount >= 0 else {
        throw .invalidArgument(
          field: "\(field).extended",
          "\(field).extended[\(TextRules.quoted(name))]: must not be negative"
        )
      }
    }
  }
}
