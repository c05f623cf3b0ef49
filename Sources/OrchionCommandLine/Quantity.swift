/// Human-readable quantities: CPU in cores or millicores, memory in binary units.
public enum Quantity {
  /// `2`, `1.5`, `500m`.
  public static func cpu(_ millis: Int64) -> String {
    if millis % 1000 == 0 { return "\(millis / 1000)" }
    if millis > 1000 { return "\(Double(millis) / 1000)" }
    return "\(millis)m"
  }

  /// `512Mi`, `7.8Gi`.
  public static func bytes(_ bytes: Int64) -> String {
    let units = ["", "Ki", "Mi", "Gi", "Ti", "Pi"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    if unit == 0 { return "\(bytes)" }
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded()
      ? "\(Int(rounded))\(units[unit])" : "\(rounded)\(units[unit])"
  }
}
