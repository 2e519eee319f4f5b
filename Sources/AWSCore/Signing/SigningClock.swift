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
}
