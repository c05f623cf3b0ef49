import COrchionSpawn
import Foundation
import OrchionCore
import Synchronization

/// Finds the coding-agent CLIs installed on this machine: each ``AgentCatalog`` entry's
/// executable, first on the search path, whose version command answers in time.
///
/// A version is asked only when the executable is new or changed (another inode, size or
/// modification time): an upgrade is seen at the next look, and an unchanged CLI costs a
/// `stat`, not a process. A CLI whose version command fails or hangs is left out — it would
/// fail its tasks too — and asked again at the next look.
struct AgentDetector: Sendable {
  /// What to look for.
  var catalog: AgentCatalog
  /// Directories searched in order (`--agent-path` first, then the agent's PATH).
  var searchPath: [String]
  /// The whole environment version commands get.
  var environment: [String: String]
  /// How long a version command may take.
  var timeout: Duration
  var clock: any WallClock
  private let known = KnownVersions()

  init(
    catalog: AgentCatalog = .standard,
    searchPath: [String],
    environment: [String: String],
    timeout: Duration = .seconds(5),
    clock: any WallClock
  ) {
    self.catalog = catalog
    self.searchPath = searchPath
    self.environment = environment
    self.timeout = timeout
    self.clock = clock
  }

  /// The CLIs found now, in catalogue order.
  func detect() async -> [AgentCLI] {
    let found = catalog.entries.compactMap { entry -> (AgentCatalog.Entry, String)? in
      locate(entry.executable).map { (entry, $0) }
    }
    let agents = await withTaskGroup(of: (String, AgentCLI?).self) { group in
      for (entry, path) in found {
        group.addTask { (entry.name, await self.agent(entry, at: path)) }
      }
      var agents: [String: AgentCLI] = [:]
      for await (name, agent) in group { agents[name] = agent }
      return agents
    }
    return catalog.entries.compactMap { agents[$0.name] }
  }

  /// The entry for the executable at `path`: remembered while the file is unchanged.
  private func agent(_ entry: AgentCatalog.Entry, at path: String) async -> AgentCLI? {
    guard let file = FileIdentity(path: path) else { return nil }
    if let remembered = known.entries.withLock({ $0[entry.name] }), remembered.file == file,
      remembered.agent.path == path
    {
      return remembered.agent
    }
    guard
      let result = await ProbeCommand.run(
        path,
        arguments: entry.versionArguments,
        environment: environment,
        timeout: timeout,
        clock: clock
      ), result.succeeded,
      let version = VersionText.parse(result.standardOutput)
        ?? VersionText.parse(result.standardError)
    else {
      known.entries.withLock { _ = $0.removeValue(forKey: entry.name) }
      return nil
    }
    let agent = AgentCLI(name: entry.name, version: version, path: path)
    do throws(OrchionError) {
      try agent.validate(field: entry.name)
    } catch {
      return nil
    }
    known.entries.withLock { $0[entry.name] = (file, agent) }
    return agent
  }

  /// The first executable file called `executable` in the search path.
  private func locate(_ executable: String) -> String? {
    for directory in searchPath where directory.hasPrefix("/") {
      let candidate = directory.hasSuffix("/") ? directory + executable : "\(directory)/\(executable)"
      if orchion_is_executable_file(candidate) != 0 { return candidate }
    }
    return nil
  }
}

/// Which file a path names, and which version of it: equal while nobody replaced or changed it.
struct FileIdentity: Hashable, Sendable {
  var device: UInt64
  var inode: UInt64
  var size: UInt64
  var modified: Date

  /// The file at `path` (symbolic links followed); `nil` when there is none.
  init?(path: String) {
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved),
      let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value,
      let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value,
      let size = (attributes[.size] as? NSNumber)?.uint64Value,
      let modified = attributes[.modificationDate] as? Date
    else { return nil }
    self.device = device
    self.inode = inode
    self.size = size
    self.modified = modified
  }
}

/// What the detector learnt, by CLI name.
private final class KnownVersions: Sendable {
  let entries = Mutex<[String: (file: FileIdentity, agent: AgentCLI)]>([:])
}
