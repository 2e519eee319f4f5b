import Foundation

/// WHEN in the history subcommands: an ISO 8601 time (`2026-11-25T12:00:00Z`, with an offset,
/// or a bare date `2026-11-25` meaning its midnight UTC), or a duration back from `now`: a
/// positive whole number followed by `s`, `m`, `h`, `d` or `w` (`90m`, `24h`, `7d`).
///
/// A time that names no instant of the calendar (`2026-02-30`, `24:00`, second 60) is refused,
/// never normalised: a window that silently moved would show the wrong events.
public enum TimeSpec {
    /// WHEN as written: an instant, or seconds back from a `now` given later, so that two
    /// durations of one command (`--since 1h --until 1h`) count back from the same instant.
    public enum Value: Sendable, Equatable {
        case at(Date)
        case ago(seconds: Int)

        public func date(now: Date) -> Date {
            switch self {
            case let .at(date): return date
            case let .ago(seconds): return now.addingTimeInterval(-Double(seconds))
            }
        }
    }

    /// A WHEN that is none of the accepted forms; the description says which forms those are.
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public let description: String

        init(_ reason: String) {
            description = reason + "; WHEN is an ISO 8601 time (2026-11-25T12:00:00Z, 2026-11-25T14:00:00+02:00) or date "
                + "(2026-11-25, midnight UTC), or a duration back from now: a whole number and s, m, h, d or w (90m, 24h, 7d, 2w)"
        }
    }

    /// The largest duration taken: 100 years, so no arithmetic overflows.
    static let maximumSeconds = 100 * 366 * 86_400

    public static func parse(_ text: String, now: Date) -> Date? {
        (try? value(text))?.date(now: now)
    }

    /// `text` as a WHEN, or an error that names what is accepted.
    public static func value(_ text: String) throws(Error) -> Value {
        if text.hasPrefix("-") {
            throw Error("\"\(shown(text))\" has a sign: durations count back from now, so write \(shown(String(text.dropFirst())))")
        }
        if let (n, unit) = durationParts(text) {
            guard let scale = scales[unit] else { throw Error("\"\(shown(text))\" has an unknown unit") }
            guard n > 0 else { throw Error("\"\(shown(text))\" is no duration") }
            guard n <= maximumSeconds / scale else { throw Error("\"\(shown(text))\" is more than 100 years") }
            return .ago(seconds: n * scale)
        }
        let full = text.utf8.count == 10 ? text + "T00:00:00Z" : text
        guard looksLikeTime(full) else { throw Error("\"\(shown(text))\" is not a time") }
        guard let date = UTCTime.parse(full), isCalendarTime(full) else {
            throw Error("\"\(shown(text))\" is no such date or time")
        }
        return .at(date)
    }

    private static func shown(_ text: String) -> String {
        ControlCharacters.escape(String(text.prefix(40)))
    }

    static let scales: [Character: Int] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 7 * 86_400]

    /// Seconds in `90m`, `24h`, `7d`; nil for anything else.
    static func duration(_ text: String) -> Int? {
        guard let value = try? value(text), case let .ago(seconds) = value else { return nil }
        return seconds
    }

    /// `90m` as (90, "m"): ASCII digits and one ASCII letter, any letter, so that a wrong
    /// unit is told from a wrong shape. At most 12 characters, so the number fits.
    private static func durationParts(_ text: String) -> (Int, Character)? {
        guard text.count >= 2, text.count <= 12, let unit = text.last, unit.isASCII, unit.isLetter else { return nil }
        let digits = text.dropLast()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        return (n, unit)
    }

    /// `YYYY-MM-DD` followed by `T` or a space: meant as a time, so a refusal says it is no
    /// such time rather than no time at all.
    private static func looksLikeTime(_ text: String) -> Bool {
        let b = Array(text.utf8.prefix(11))
        guard b.count == 11, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return false }
        return [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy { (48...57).contains(b[$0]) }
    }

    /// The written fields name a real calendar time: the day exists in its month (leap years
    /// counted), the hour is below 24, minute and second below 60, an offset below 24:00.
    /// `UTCTime.parse` has checked the shape; it lets second 60 and day 31 of any month pass
    /// (AWS's own timestamps are trusted to be real).
    static func isCalendarTime(_ text: String) -> Bool {
        let b = Array(text.utf8)
        func num(_ start: Int) -> Int { Int(b[start] - 48) * 10 + Int(b[start + 1] - 48) }
        let year = num(0) * 100 + num(2)
        let month = num(5), day = num(8), hour = num(11), minute = num(14), second = num(17)
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return false }
        // An offset: `+HH:MM` or `+HHMM` at the end.
        if let sign = b.lastIndex(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }), sign > 18 {
            let digits = b[(sign + 1)...].filter { $0 != UInt8(ascii: ":") }
            guard digits.count == 4 else { return false }
            let oh = Int(digits[digits.startIndex] - 48) * 10 + Int(digits[digits.startIndex + 1] - 48)
            let om = Int(digits[digits.startIndex + 2] - 48) * 10 + Int(digits[digits.startIndex + 3] - 48)
            guard oh < 24, om < 60 else { return false }
        }
        return true
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
