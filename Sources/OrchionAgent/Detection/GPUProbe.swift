import OrchionCore

/// NVIDIA GPUs as `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader` lists them.
struct GPUInventory: Equatable, Sendable {
  /// One line of the query: `NVIDIA GeForce RTX 4090, 24564 MiB`.
  struct Device: Equatable, Sendable {
    var model: String
    /// Total memory in MiB, when the line gives it.
    var memoryMiB: Int64?
  }

  var devices: [Device]

  static let none = GPUInventory(devices: [])

  /// Label naming the GPUs' model (the models, comma-separated, when they differ).
  static let modelLabel = "orchion.io/gpu-model"
  /// Label giving the smallest GPU's memory in MiB: what a task may count on from any of them.
  static let memoryLabel = "orchion.io/gpu-memory-mib"

  /// Parses the query's output; lines that are not `name, memory` are skipped.
  init(csv: String) {
    devices = csv.split(whereSeparator: \.isNewline).compactMap { line in
      let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: " \t")
      }
      guard fields.count >= 2, !fields[0].isEmpty else { return nil }
      let memory = fields[1].split(separator: " ").first.flatMap { Int64($0) }
      return Device(model: fields[0], memoryMiB: memory)
    }
  }

  init(devices: [Device]) {
    self.devices = devices
  }

  /// The labels these GPUs give a node (none without GPUs); values fit label limits.
  var labels: [String: String] {
    guard !devices.isEmpty else { return [:] }
    var models: [String] = []
    for device in devices where !models.contains(device.model) { models.append(device.model) }
    // Label values are bounded in bytes: a long multibyte name is cut at a character.
    var labels = [Self.modelLabel: Self.utf8Prefix(models.joined(separator: ","), bytes: 256)]
    if let smallest = devices.compactMap(\.memoryMiB).min() {
      labels[Self.memoryLabel] = "\(smallest)"
    }
    return labels.filter { TextRules.firstControlCharacter(in: $0.value) == nil }
  }

  static func utf8Prefix(_ text: String, bytes: Int) -> String {
    var kept = ""
    var count = 0
    for character in text {
      count += character.utf8.count
      guard count <= bytes else { break }
      kept.append(character)
    }
    return kept
  }

  /// Asks `nvidia-smi` (on `searchPath`), which hangs on a wedged driver: bounded by `timeout`.
  /// - Returns: ``none`` when it is not installed, fails or does not answer.
  static func query(
    searchPath: [String],
    environment: [String: String],
    timeout: Duration,
    clock: any WallClock
  ) async -> GPUInventory {
    guard
      let path = ExecutablePath.resolve(
        "nvidia-smi",
        path: searchPath.joined(separator: ":")
      )
    else { return .none }
    guard
      let result = await ProbeCommand.run(
        path,
        arguments: ["--query-gpu=name,memory.total", "--format=csv,noheader"],
        environment: environment,
        timeout: timeout,
        clock: clock
      ), result.succeeded
    else { return .none }
    return GPUInventory(csv: result.standardOutput)
  }
}

extension Substring {
  fileprivate func trimmingCharacters(in set: String) -> String {
    let start = firstIndex { !set.contains($0) } ?? endIndex
    let end = self[start...].lastIndex { !set.contains($0) }.map { index(after: $0) } ?? start
    return String(self[start..<end])
  }
}
