/// Parses resource quantities as Kubernetes writes them.
enum QuantityParser {
  /// CPU: `2` or `1.5` cores, or `500m` millicores.
  static func cpuMillis(_ text: String) -> Int64? {
    if text.hasSuffix("m") { return Int64(text.dropLast()).flatMap { $0 >= 0 ? $0 : nil } }
    guard let cores = Double(text), cores >= 0, cores < 1e12 else { return nil }
    return Int64((cores * 1000).rounded())
  }

  /// Memory: bytes, or with a suffix `Ki Mi Gi Ti` (powers of 1024) or `k M G T` (of 1000).
  static func bytes(_ text: String) -> Int64? {
    let units: [(String, Double)] = [
      ("Ki", 1024), ("Mi", 1024 * 1024), ("Gi", 1024 * 1024 * 1024),
      ("Ti", 1024 * 1024 * 1024 * 1024),
      ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12),
    ]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
      guard let value = Double(text.dropLast(suffix.count)), value >= 0, value * scale < 9e18 else {
        return nil
      }
      return Int64((value * scale).rounded())
    }
    return Int64(text).flatMap { $0 >= 0 ? $0 : nil }
  }
}
