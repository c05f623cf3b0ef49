/// A plain-text table with left-aligned columns, as `kubectl get` prints.
struct TextTable {
  let columns: [String]
  private var rows: [[String]] = []

  init(columns: [String]) {
    self.columns = columns
  }

  mutating func append(_ row: [String]) {
    rows.append(row)
  }

  /// The table, one line per row, columns separated by at least three spaces.
  func render() -> String {
    let all = [columns] + rows
    let widths = columns.indices.map { index in
      all.map { index < $0.count ? $0[index].count : 0 }.max() ?? 0
    }
    return all.map { row in
      row.enumerated().map { index, cell in
        index == row.count - 1 ? cell : cell.padding(to: widths[index] + 3)
      }.joined()
    }.joined(separator: "\n") + "\n"
  }
}

extension String {
  fileprivate func padding(to width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}
