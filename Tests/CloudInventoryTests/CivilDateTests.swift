import Foundation
import Glibc
import Testing
@testable import AWSCore
@testable import CloudInventory

/// `CivilDate` replaced `timegm` and `gmtime_r` in `UTCTime`: held here to the C library
/// itself, day by day across eight centuries around 1970 and at random instants.
@Suite struct CivilDateTests {
    /// `gmtime_r`'s fields of `seconds`: year, month (1-12), day, hour, minute, second.
    /// (`tm` holds a C pointer, so every touch of it is marked.)
    static func gmtime(_ seconds: Int) -> [Int] {
        var seconds = seconds
        var t = unsafe tm()
        _ = unsafe gmtime_r(&seconds, &t)
        return unsafe [Int(t.tm_year) + 1900, Int(t.tm_mon) + 1, Int(t.tm_mday), Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec)]
    }

    /// `timegm` of the fields, as `gmtime` gives them.
    static func timegm(_ f: [Int]) -> Int {
        var t = unsafe tm()
        unsafe (t.tm_year, t.tm_mon, t.tm_mday) = (Int32(f[0] - 1900), Int32(f[1] - 1), Int32(f[2]))
        unsafe (t.tm_hour, t.tm_min, t.tm_sec) = (Int32(f[3]), Int32(f[4]), Int32(f[5]))
        return unsafe Glibc.timegm(&t)
    }

    @Test func everyDayAgreesWithTheCLibrary() {
        for days in stride(from: -146_097 * 2, through: 146_097 * 2, by: 1) {
            let date = CivilDate(daysSince1970: days)
            let c = Self.gmtime(days * 86_400)
            guard [date.year, date.month, date.day] == Array(c[0..<3]) else {
                Issue.record("day \(days): \(date) against gmtime_r's \(c)")
                return
            }
            guard CivilDate.daysSince1970(year: date.year, month: date.month, day: date.day) == days else {
                Issue.record("day \(days) does not come back from \(date)")
                return
            }
        }
    }

    @Test func parsedFieldsAgreeWithTimegmIncludingOverflow() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            var f = [Int.random(in: 1600...2400, using: &generator), Int.random(in: 1...12, using: &generator), Int.random(in: 1...31, using: &generator)]
            f += [Int.random(in: 0...23, using: &generator), Int.random(in: 0...59, using: &generator), Int.random(in: 0...60, using: &generator)]
            let text = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", f[0], f[1], f[2], f[3], f[4], f[5])
            #expect(UTCTime.parse(text)?.timeIntervalSince1970 == Double(Self.timegm(f)), "\(text)")
        }
    }

    @Test func fieldsOfAnInstantAgreeWithGmtime() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let seconds = Int.random(in: -20_000_000_000...20_000_000_000, using: &generator)
            let f = UTCTime.fields(Date(timeIntervalSince1970: Double(seconds)))
            #expect([f.year, f.month, f.day, f.hour, f.minute, f.second] == Self.gmtime(seconds), "\(seconds)")
        }
    }
}
