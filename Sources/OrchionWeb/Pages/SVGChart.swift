/// Charts drawn by the server as inline SVG: no JavaScript, no library, readable as they are.
enum SVGChart {
  /// Bars of `series` side by side per slot (e.g. submitted and finished per minute), with
  /// the largest value as the scale and `labels` under the first and last slot.
  static func bars(
    _ series: [(name: String, cssClass: String, values: [Int])],
    firstLabel: String,
    lastLabel: String,
    title: String
  ) -> String {
    let slots = series.map(\.values.count).max() ?? 0
    let largest = max(1, series.flatMap(\.values).max() ?? 0)
    let width = 600.0
    let height = 140.0
    let plotHeight = 110.0
    let slotWidth = slots == 0 ? width : width / Double(slots)
    let barWidth = max(1, slotWidth / Double(max(1, series.count)) - 2)
    var svg =
      "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\"><title>\(HTML.escape(title))</title>"
    svg += "<line x1=\"0\" y1=\"\(plotHeight)\" x2=\"\(width)\" y2=\"\(plotHeight)\" class=\"axis\"/>"
    for (seriesIndex, entry) in series.enumerated() {
      for (slot, value) in entry.values.enumerated() where value > 0 {
        let barHeight = max(1, plotHeight * Double(value) / Double(largest))
        let x = Double(slot) * slotWidth + Double(seriesIndex) * (barWidth + 1) + 1
        svg +=
          "<rect class=\"\(entry.cssClass)\" x=\"\(format(x))\" y=\"\(format(plotHeight - barHeight))\" width=\"\(format(barWidth))\" height=\"\(format(barHeight))\"><title>\(HTML.escape(entry.name)): \(value)</title></rect>"
      }
    }
    svg += "<text x=\"0\" y=\"\(Int(height) - 8)\" class=\"label\">\(HTML.escape(firstLabel))</text>"
    svg +=
      "<text x=\"\(Int(width))\" y=\"\(Int(height) - 8)\" class=\"label\" text-anchor=\"end\">\(HTML.escape(lastLabel))</text>"
    svg += "<text x=\"4\" y=\"12\" class=\"label\">max \(largest)</text>"
    svg += "</svg>"
    return svg
  }

  /// One horizontal bar split by share, e.g. tasks by state.
  static func shares(_ parts: [(name: String, cssClass: String, value: Int)], title: String) -> String {
    let total = parts.reduce(0) { $0 + max(0, $1.value) }
    var svg =
      "<svg class=\"shares\" viewBox=\"0 0 600 24\" role=\"img\" aria-label=\"\(HTML.escape(title))\"><title>\(HTML.escape(title))</title>"
    guard total > 0 else {
      return svg + "<rect class=\"empty\" x=\"0\" y=\"0\" width=\"600\" height=\"24\"/></svg>"
    }
    var x = 0.0
    for part in parts where part.value > 0 {
      let width = 600.0 * Double(part.value) / Double(total)
      svg +=
        "<rect class=\"\(part.cssClass)\" x=\"\(format(x))\" y=\"0\" width=\"\(format(width))\" height=\"24\"><title>\(HTML.escape(part.name)): \(part.value)</title></rect>"
      x += width
    }
    return svg + "</svg>"
  }

  private static func format(_ value: Double) -> String {
    let tenths = (value * 10).rounded()
    return tenths.truncatingRemainder(dividingBy: 10) == 0
      ? "\(Int(tenths / 10))" : "\(tenths / 10)"
  }
}
