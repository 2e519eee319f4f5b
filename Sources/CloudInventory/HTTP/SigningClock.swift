#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The time requests are signed with: the host clock plus a correction learned from AWS.
///
/// AWS refuses a signature dated more than five minutes from its own clock. A host whose
/// clock drifted (a dead RTC, NTP blocked) would fail every poll, so, as the AWS SDKs for
/// Java, JavaScript v3 and Swift do (botocore does not), a clock-skew error is answered by
/// measuring the offset from the response's `Date` header and signing again with it. The
/// offset is run-wide: every client of the run shares one `SigningClock` through `RunContext`.
public final class SigningClock: Sendable {
    /// Offsets up to this are left alone: AWS accepts them, so an error at that skew has
    /// another cause and retrying with a new date would not help.
    public static let tolerance: TimeInterval = 300
    /// A new measurement replaces the offset only when it moves it by more than this, so
    /// slices that fail at the same moment agree instead of nudging it back and forth.
    static let changeTolerance: TimeInterval = 60

    private let host: @Sendable () -> Date
    private let state = Mutex<TimeInterval>(0)

    public init(host: @escaping @Sendable () -> Date = { Date() }) {
        self.host = host
    }

    /// Seconds to add to the host clock (positive: AWS is ahead).
    public var offset: TimeInterval { state.withLock { $0 } }

    /// The date to sign with, and the offset it includes (to hand back to `correct`).
    func now() -> (date: Date, offset: TimeInterval) {
        let offset = self.offset
        return (host().addingTimeInterval(offset), offset)
    }

    /// After a clock-skew error on a request signed at `signedAt` with `offsetUsed`, learns
    /// the offset from the server's time. `retry` is true when the next signature will carry
    /// a date different enough to be worth sending again; `changed` is the new offset when
    /// this call changed it (the caller warns once with it).
    func correct(serverDate: Date, signedAt: Date, offsetUsed: TimeInterval) -> (retry: Bool, changed: TimeInterval?) {
        let measured = serverDate.timeIntervalSince(signedAt.addingTimeInterval(-offsetUsed)).rounded()
        let candidate = abs(measured) > Self.tolerance ? measured : 0
        return state.withLock { current in
            var changed: TimeInterval?
            if abs(candidate - current) > Self.changeTolerance {
                current = candidate
                changed = candidate
            }
            return (abs(current - offsetUsed) > Self.changeTolerance, changed)
        }
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
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(hour)
        t.tm_min = Int32(minute)
        t.tm_sec = Int32(second)
        return Date(timeIntervalSince1970: TimeInterval(timegm(&t)))
    }
}
