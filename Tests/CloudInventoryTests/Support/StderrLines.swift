import Foundation

/// Reading the poller's stderr, where every line is `<UTC time> <text>`.
extension ProcessResult {
    /// Each stderr line without its timestamp, in order.
    var stderrTexts: [Substring] {
        stderr.split(separator: "\n").map { line in
            guard let space = line.firstIndex(of: " "), line[..<space].hasSuffix("Z") else { return line }
            return line[line.index(after: space)...]
        }
    }

    /// The final `inventory-poller: ...` lines, timestamp removed.
    var failureLines: [Substring] { stderrTexts.filter { $0.hasPrefix("inventory-poller:") } }
}

/// True when `line` begins with an ISO 8601 UTC timestamp such as `2026-11-25T12:07:50Z `.
func startsWithUTCTimestamp(_ line: Substring) -> Bool {
    let bytes = Array(line.utf8.prefix(21))
    guard bytes.count == 21 else { return false }
    let pattern = Array("dddd-dd-ddTdd:dd:ddZ ".utf8)
    return zip(bytes, pattern).allSatisfy { b, p in p == UInt8(ascii: "d") ? (48...57).contains(b) : b == p }
}
