import Foundation

/// The fields of a time as written on the command line, before any calendar check: the shape
/// alone (`YYYY-MM-DD`, then optionally `T` or a space, `HH:MM`, optionally `:SS` and a
/// fraction, then optionally `Z` or `±HH:MM` / `±HHMM`). Total: any other text is nil.
struct WrittenTime {
    var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0
    var fraction = 0.0
    /// Seconds east of UTC, nil when no zone was written (local time).
    var offset: Int?
    var offsetHours = 0, offsetMinutes = 0

    init?(_ text: String) {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in i..<(i + n) {
                guard (48...57).contains(b[k]) else { return nil }
                v = v * 10 + Int(b[k] - 48)
            }
            i += n
            return v
        }
        func take(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), take("-"), let mo = digits(2), take("-"), let d = digits(2) else { return nil }
        (year, month, day) = (y, mo, d)
        if i == b.count { return }
        guard take("T") || take("t") || take(" "), let h = digits(2), take(":"), let mi = digits(2) else { return nil }
        (hour, minute) = (h, mi)
        if take(":") {
            guard let s = digits(2) else { return nil }
            second = s
            if take(".") || take(",") {
                var scale = 0.1, any = false
                while i < b.count, (48...57).contains(b[i]) {
                    fraction += Double(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                    any = true
                }
                guard any else { return nil }
            }
        }
        if i == b.count { return }
        if take("Z") || take("z") {
            offset = 0
        } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "+") ? 1 : -1
            i += 1
            guard let oh = digits(2) else { return nil }
            _ = take(":")
            guard let om = digits(2) else { return nil }
            (offsetHours, offsetMinutes) = (oh, om)
            offset = sign * (oh * 3_600 + om * 60)
        }
        guard i == b.count else { return nil }
    }

    /// The written fields name a real calendar time: the day exists in its month (leap years
    /// counted), the hour is below 24, minute and second below 60, an offset below 24:00.
    var isCalendarTime: Bool {
        (1...12).contains(month) && day >= 1 && day <= TimeSpec.daysIn(month: month, year: year)
            && hour < 24 && minute < 60 && second < 60 && offsetHours < 24 && offsetMinutes < 60 && year >= 1
    }

    /// The instant: with a zone, exact; without one, the local time in `zone` (in a
    /// daylight-saving gap, the calendar's next valid time).
    func date(in zone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = offset.flatMap { TimeZone(secondsFromGMT: $0) } ?? zone
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        return calendar.date(from: components)?.addingTimeInterval(fraction)
    }
}
