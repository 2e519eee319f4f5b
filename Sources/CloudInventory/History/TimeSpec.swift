import Foundation

/// WHEN in the history subcommands: an ISO 8601 time (`2026-11-25T12:00:00Z`, with an offset,
/// or a bare date `2026-11-25` meaning its midnight UTC), or a duration back from `now`: a
/// positive whole number followed by `s`, `m`, `h`, `d` or `w` (`90m`, `24h`, `7d`).
public enum TimeSpec {
    /// The largest duration taken: 100 years, so no arithmetic overflows.
    static let maximumSeconds = 100 * 366 * 86_400

    public static func parse(_ text: String, now: Date) -> Date? {
        if let date = UTCTime.parse(text) { return date }
        if text.utf8.count == 10, let date = UTCTime.parse(text + "T00:00:00Z") { return date }
        return duration(text).map { now.addingTimeInterval(-Double($0)) }
    }

    /// Seconds in `90m`, `24h`, `7d`; nil for anything else.
    static func duration(_ text: String) -> Int? {
        guard let unit = text.last, text.count >= 2, text.count <= 12 else { return nil }
        let digits = text.dropLast()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits), n > 0 else { return nil }
        let scale: Int
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3_600
        case "d": scale = 86_400
        case "w": scale = 7 * 86_400
        default: return nil
        }
        guard n <= maximumSeconds / scale else { return nil }
        return n * scale
    }
}
