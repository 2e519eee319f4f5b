import CloudInventory
import Foundation
import Testing

/// WHEN, the test's own arithmetic: ISO 8601 (with an offset, or a bare date), or a duration
/// back from now; anything else, and any time the calendar does not have, is refused.
@Suite struct WhenTests {
    @Test func durationsAndTimes() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(TimeSpec.parse("90m", now: now) == now.addingTimeInterval(-5_400))
        #expect(TimeSpec.parse("24h", now: now) == now.addingTimeInterval(-86_400))
        #expect(TimeSpec.parse("7d", now: now) == now.addingTimeInterval(-604_800))
        #expect(TimeSpec.parse("2w", now: now) == now.addingTimeInterval(-1_209_600))
        #expect(TimeSpec.parse("30s", now: now) == now.addingTimeInterval(-30))
        #expect(TimeSpec.parse("2026-11-25T12:00:00Z", now: now) == Date(timeIntervalSince1970: 1_795_608_000))
        #expect(TimeSpec.parse("2026-11-25T14:00:00+02:00", now: now) == Date(timeIntervalSince1970: 1_795_608_000))
        #expect(TimeSpec.parse("2026-11-25", now: now, timeZone: TimeZone(identifier: "UTC")!) == Date(timeIntervalSince1970: 1_795_564_800))
        for bad in ["", "m", "0m", "-5m", "5", "5y", "1.5h", "99999999999d", "２h", "yesterday", "2026-13-01", "2026-11-25T25:00:00Z"] {
            #expect(TimeSpec.parse(bad, now: now) == nil, "\(bad)")
        }
    }

    /// Days a month does not have, second 60, hour 24, an offset of 24 hours: refused, never
    /// rolled over into the next minute or month. Leap days where the calendar has them.
    @Test func impossibleDatesAndTimesAreRefused() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        for bad in ["2026-02-30", "2026-02-29", "2100-02-29", "2026-04-31", "2026-11-31", "2026-00-10", "2026-11-00",
                    "2026-11-26T00:41:60Z", "2026-11-26T24:00:00Z", "2026-11-26T00:60:00Z", "2026-02-29T12:00:00Z",
                    "2026-11-26T00:00:00+24:00", "2026-11-26T00:00:00+02:60"] {
            #expect(TimeSpec.parse(bad, now: now) == nil, "\(bad)")
        }
        // 2024 and 2000 are leap years; 2024-02-29 is 1709164800 s after the epoch.
        #expect(TimeSpec.parse("2024-02-29", now: now, timeZone: TimeZone(identifier: "UTC")!) == Date(timeIntervalSince1970: 1_709_164_800))
        #expect(TimeSpec.parse("2000-02-29T00:00:00Z", now: now) == Date(timeIntervalSince1970: 951_782_400))
        #expect(TimeSpec.parse("2026-12-31T23:59:59Z", now: now) == Date(timeIntervalSince1970: 1_798_761_599))
    }

    /// Every refusal says what is accepted, and the sign of `-5m` is named.
    @Test func refusalsNameTheAcceptedForms() {
        for bad in ["1y", "yesterday", "2026-02-30", "0h", "-5m"] {
            #expect(throws: TimeSpec.Error.self) { try TimeSpec.value(bad) }
            let message = error(bad)
            for form in ["ISO 8601", "2026-11-25", "90m", "24h", "7d", "2w"] {
                #expect(message.contains(form), "\(bad): \(message)")
            }
        }
        #expect(error("-5m").contains("write 5m"))
        #expect(error("1y").contains("unknown unit"))
    }

    /// A duration stays a duration until one `now` resolves every WHEN of the command.
    @Test func durationsCountBackFromOneInstant() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try TimeSpec.value("1h") == .ago(seconds: 3_600))
        #expect(try TimeSpec.value("1h").date(now: now) == now.addingTimeInterval(-3_600))
        #expect(try TimeSpec.value("2026-11-25", timeZone: TimeZone(identifier: "UTC")!) == .at(Date(timeIntervalSince1970: 1_795_564_800)))
    }

    /// Without a zone, a time is local time in the zone given (TZ in the program); a bare date
    /// is local midnight. Minutes without seconds, and a space for `T`, are taken.
    @Test func timesWithoutAZoneAreLocal() throws {
        let tokyo = try #require(TimeZone(identifier: "Asia/Tokyo"))
        let utc = try #require(TimeZone(identifier: "UTC"))
        let noon = Date(timeIntervalSince1970: 1_795_608_000)  // 2026-11-25T12:00:00Z
        #expect(try TimeSpec.value("2026-11-25T21:00", timeZone: tokyo) == .at(noon))
        #expect(try TimeSpec.value("2026-11-25 21:00", timeZone: tokyo) == .at(noon))
        #expect(try TimeSpec.value("2026-11-25 21:00:00", timeZone: tokyo) == .at(noon))
        #expect(try TimeSpec.value("2026-11-25T12:00", timeZone: utc) == .at(noon))
        #expect(try TimeSpec.value("2026-11-25T12:00Z", timeZone: tokyo) == .at(noon), "a written zone wins")
        #expect(try TimeSpec.value("2026-11-25T14:00+02:00", timeZone: tokyo) == .at(noon))
        #expect(try TimeSpec.value("2026-11-26", timeZone: tokyo) == .at(Date(timeIntervalSince1970: 1_795_564_800 + 86_400 - 9 * 3_600)))
        #expect(try TimeSpec.value("2026-11-25T12:00:00.5Z", timeZone: utc) == .at(noon.addingTimeInterval(0.5)))
    }

    /// A text in no accepted shape says so; a well-shaped one the calendar lacks says that.
    @Test func aWrongFormatIsToldFromAWrongDate() {
        for bad in ["2026-11-25T12", "2026-11-25T1200", "2026/11/25", "25.11.2026", "2026-11-25T12:00:00ZZ", "2026-11-25 12:00 UTC"] {
            #expect(error(bad).contains("is not in an accepted format"), "\(bad): \(error(bad))")
        }
        for bad in ["2026-02-30", "2026-11-25T24:00", "2026-11-25 12:61"] {
            #expect(error(bad).contains("is no such date or time"), "\(bad): \(error(bad))")
        }
    }

    /// TZ in the child's environment decides: 12:00 in Tokyo is 03:00Z, before a 12:00Z
    /// --until; 12:00 in New York is 17:00Z, after it (exit 2 before the database is asked).
    @Test func theProgramReadsTimesInItsTZ() throws {
        func run(_ tz: String) throws -> ProcessResult {
            var env = Harness.baseEnvironment()
            env["TZ"] = tz
            env["CM_DB_URI"] = "mongodb://127.0.0.1:1/"
            env["CM_DB_NAME"] = "inventory"
            return try runProcess(Harness.pollerBinary, ["changes", "--since", "2026-11-25 12:00", "--until", "2026-11-25T12:00:00Z"],
                                  environment: env, timeout: 120)
        }
        #expect(try run("Asia/Tokyo").status == 5, "a window: the database is asked")
        let newYork = try run("America/New_York")
        #expect(newYork.status == 2 && newYork.stderr.contains("--until must be later than --since"), "\(newYork.stderr)")
        #expect(try run("UTC").status == 2, "an empty window")
    }

    private func error(_ text: String) -> String {
        do {
            _ = try TimeSpec.value(text)
            return ""
        } catch {
            return error.description
        }
    }
}
