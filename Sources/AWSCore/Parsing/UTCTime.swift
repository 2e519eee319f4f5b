import Foundation

/// UTC timestamps in the handful of shapes AWS and our output use. Written on integer
/// calendar arithmetic (`CivilDate`) rather than `DateFormatter`, which is slow to build, locale-sensitive and
/// not safe to share across threads on every platform.
public enum UTCTime {
    struct Fields {
        var year, month, day, hour, minute, second: Int
        var microsecond: Int
    }

    static func fields(_ date: Date) -> Fields {
        let interval = date.timeIntervalSince1970
        var seconds = Int(interval.rounded(.down))
        var micros = Int(((interval - Double(seconds)) * 1_000_000).rounded())
        if micros >= 1_000_000 { seconds += 1; micros -= 1_000_000 }
        let (days, inDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (day, time) = inDay < 0 ? (days - 1, inDay + 86_400) : (days, inDay)
        let civil = CivilDate(daysSince1970: day)
        return Fields(year: civil.year, month: civil.month, day: civil.day,
                      hour: time / 3600, minute: time / 60 % 60, second: time % 60, microsecond: micros)
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `20150830T123600Z`, the SigV4 `X-Amz-Date`.
    package static func amzDate(_ date: Date) -> String {
        let f = fields(date)
        return pad(f.year, 4) + pad(f.month, 2) + pad(f.day, 2) + "T" + pad(f.hour, 2) + pad(f.minute, 2) + pad(f.second, 2) + "Z"
    }

    /// `2026-11-25T11:45:21Z`: the poll timestamp people and machines read (whole seconds).
    public static func iso8601(_ date: Date) -> String {
        let f = fields(date)
        return "\(pad(f.year, 4))-\(pad(f.month, 2))-\(pad(f.day, 2))T\(pad(f.hour, 2)):\(pad(f.minute, 2)):\(pad(f.second, 2))Z"
    }

    /// The AWS CLI's rendering of a parsed timestamp (Python's `isoformat()` on a UTC
    /// datetime): `2024-05-01T10:00:00+00:00`, with `.ffffff` only when there are microseconds.
    /// Instance documents use it so they match `aws ec2 describe-instances` byte for byte.
    package static func cliTimestamp(_ date: Date) -> String {
        let f = fields(date)
        var s = "\(pad(f.year, 4))-\(pad(f.month, 2))-\(pad(f.day, 2))T\(pad(f.hour, 2)):\(pad(f.minute, 2)):\(pad(f.second, 2))"
        if f.microsecond != 0 { s += "." + pad(f.microsecond, 6) }
        return s + "+00:00"
    }

    /// The same rendering straight from text, for the form EC2 always uses
    /// (`2024-05-01T10:00:00.000Z`): no date arithmetic, just the digits rearranged.
    /// Returns nil for anything else (offsets, odd precision), which takes the full path.
    package static func cliTimestamp(utcText text: String) -> String? {
        var out: [UInt8] = []
        guard cliTimestamp(utc: text.utf8.span, to: &out) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// `cliTimestamp(utcText:)` from bytes to bytes; false, with nothing written, for any
    /// other form.
    @inlinable @_spi(Bytes) public static func cliTimestamp<Out: ByteOutput>(utc b: Span<UInt8>, to out: inout Out) -> Bool {
        func digit(_ i: Int) -> Bool { b[i] &- 48 < 10 }
        guard b.count >= 20, b.count <= 27, b[b.count - 1] == UInt8(ascii: "Z"), b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              digit(0), digit(1), digit(2), digit(3), digit(5), digit(6), digit(8), digit(9),
              digit(11), digit(12), digit(14), digit(15), digit(17), digit(18) else { return false }
        let fraction = b.count > 20 ? 20..<(b.count - 1) : 20..<20
        if b.count > 20 {
            guard b[19] == UInt8(ascii: "."), fraction.allSatisfy(digit) else { return false }
        }
        out.append(b.extracting(0..<19))
        if fraction.contains(where: { b[$0] != UInt8(ascii: "0") }) {
            out.append(UInt8(ascii: "."))
            out.append(b.extracting(fraction))
            for _ in fraction.count..<6 { out.append(UInt8(ascii: "0")) }
        }
        out.append(ByteLiteral.utcOffset)
        return true
    }

    /// Parses ISO 8601 as AWS sends it: `2024-05-01T10:00:00Z`, `...00.123Z`, `...+02:00`.
    /// Returns nil for anything else rather than guessing.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func num(_ start: Int, _ len: Int) -> Int? {
            guard start + len <= b.count else { return nil }
            var v = 0
            for i in start..<(start + len) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard b.count >= 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = num(0, 4), let month = num(5, 2), let day = num(8, 2),
              let hour = num(11, 2), let minute = num(14, 2), let second = num(17, 2)
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        if i < b.count {
            switch b[i] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                i += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign = b[i] == UInt8(ascii: "+") ? 1 : -1
                guard let oh = num(i + 1, 2) else { return nil }
                var j = i + 3
                if j < b.count, b[j] == UInt8(ascii: ":") { j += 1 }
                guard let om = num(j, 2) else { return nil }
                offset = sign * (oh * 3600 + om * 60)
                i = j + 2
            default:
                return nil
            }
        }
        guard i == b.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let seconds = epochSeconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        return Date(timeIntervalSince1970: Double(seconds - offset) + fraction)
    }

    /// An HTTP `Date` header (RFC 9110 IMF-fixdate, what AWS sends): `Wed, 25 Nov 2026 17:25:23 GMT`.
    /// Nil for anything else.
    static func parseHTTPDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
              let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]),
              parts[1].count <= 2, parts[3].count == 4 else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
              let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
              (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        let seconds = epochSeconds(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second)
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Seconds since 1970 of a UTC calendar time (`month` 1-12): the one place both parsers
    /// turn fields into an instant. A day past the month's end or a leap second runs on into
    /// the next, as `timegm` has it.
    private static func epochSeconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int {
        CivilDate.daysSince1970(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }
}

/// The proleptic Gregorian calendar in days since 1970-01-01, in integer arithmetic (Howard
/// Hinnant's `days_from_civil` and `civil_from_days`), so no C time call is needed: the same
/// answers as `timegm` and `gmtime_r` in UTC, for any year.
struct CivilDate: Equatable {
    var year, month, day: Int

    /// The days of a date counted from March, in 400-year eras of 146,097 days.
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    init(year: Int, month: Int, day: Int) {
        (self.year, self.month, self.day) = (year, month, day)
    }

    init(daysSince1970 days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let fromMarch = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * fromMarch + 2) / 5 + 1
        month = fromMarch < 10 ? fromMarch + 3 : fromMarch - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }
}
