import Foundation

/// Every regular file under `directory`, recursively: for tests that search a data directory
/// for what must not be in it.
public func regularFiles(under directory: String) -> [String] {
  guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
  return enumerator.compactMap { $0 as? String }.map { directory + "/" + $0 }.filter {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory)
      && !isDirectory.boolValue
  }
}
