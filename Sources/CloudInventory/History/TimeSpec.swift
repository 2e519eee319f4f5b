import AWSCore
import Foundation

/// WHEN in the history subcommands: an ISO 8601 time or date, or a duration back from `now`:
/// a positive whole number followed by `s`, `m`, `h`, `d` or `w` (`90m`, `24h`, `7d`).
///
/// Times: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS` (a space may stand for `T`,
/// seconds may carry a fraction), each but the bare date optionally ending in `Z` or an offset
/// (`+02:00`, `+0200`). Without a zone a time is local time in `TZ`, as `date` and `git log`
/// read it; a bare date is local midnight.
///
/// A time that names no instant of the calendar (`2026-02-30`, `24:00`, second 60) is refused,
/// never normalised: a window that silently moved would show the wrong events. A text in no
/// accepted shape is refused as such, so the refusal says which of the two is wrong.
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
            description = reason + "; " + TimeSpec.forms
        }
    }

    /// The accepted forms, for refusals and help.
    public static let forms = "WHEN is an ISO 8601 time (2026-11-25T12:00:00Z, 2026-11-25T14:00:00+02:00; without a zone, "
        + "local time in TZ: 2026-11-25T12:00, 2026-11-25 12:00:30) or date (2026-11-25, local midnight), "
        + "or a duration back from now: a whole number and s, m, h, d or w (90m, 24h, 7d, 2w)"

    /// The largest duration taken: 100 years, so no arithmetic overflows.
    static let maximumSeconds = 100 * 366 * 86_400

    public static func parse(_ text: String, now: Date, timeZone: TimeZone = TimeSpec.localZone) -> Date? {
        (try? value(text, timeZone: timeZone))?.date(now: now)
    }

    /// `text` as a WHEN, or an error that names what is accepted. A time without a zone is
    /// read in `timeZone` (the process's `TZ` by default).
    public static func value(_ text: String, timeZone: TimeZone = TimeSpec.localZone) throws(Error) -> Value {
        if text.hasPrefix("-") {
            throw Error("\"\(shown(text))\" has a sign: durations count back from now, so write \(shown(String(text.dropFirst())))")
        }
        if let (n, unit) = durationParts(text) {
            guard let scale = scales[unit] else { throw Error("\"\(shown(text))\" has an unknown unit") }
            guard n > 0 else { throw Error("\"\(shown(text))\" is no duration") }
            guard n <= maximumSeconds / scale else { throw Error("\"\(shown(text))\" is more than 100 years") }
            return .ago(seconds: n * scale)
        }
        guard let fields = WrittenTime(text) else {
            throw Error("\"\(shown(text))\" is not in an accepted format")
        }
        guard fields.isCalendarTime, let date = fields.date(in: timeZone) else {
            throw Error("\"\(shown(text))\" is no such date or time")
        }
        return .at(date)
    }

    /// The zone of a time written without one: `TZ` when it names a zone of the tz database
    /// (`Europe/Berlin`, `:Europe/Berlin`, `UTC`), else the system's own, as for `date`.
    public static var localZone: TimeZone {
        if var name = ProcessInfo.processInfo.environment["TZ"] {
            if name.hasPrefix(":") { name.removeFirst() }
            if name.isEmpty { return TimeZone(identifier: "UTC")! }
            if let zone = TimeZone(identifier: name) { return zone }
        }
        return TimeZone.current
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

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
