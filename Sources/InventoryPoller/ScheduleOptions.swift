import ArgumentParser
import CloudInventory
import Foundation

/// `--once-per` and `--once-per-lease`: several hosts, one schedule, through the database.
/// Checked before any network call; without a database the flag is a usage error (exit 2),
/// raised where the database settings are read.
struct ScheduleOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Poll each (account, region) at most once per window of this length, whichever host gets there first: each slice is claimed in the database before it is polled, and one another poll holds or has done in this window is skipped (Status \"skipped\"). Needs CM_DB_URI/CM_DB_NAME. 30m, 1h, 24h …",
        valueName: "duration"))
    var oncePer: ClaimDuration?

    @Option(name: .long, help: ArgumentHelp(
        "With --once-per: how long a claim stays held without renewal; a holder that died is taken over after it (default 5m, at most half the window).",
        valueName: "duration"))
    var oncePerLease: ClaimDuration?

    mutating func validate() throws {
        if oncePerLease != nil, oncePer == nil { throw ValidationError("--once-per-lease needs --once-per") }
        if let oncePer, let oncePerLease, oncePerLease.seconds >= oncePer.seconds {
            throw ValidationError("--once-per-lease must be shorter than the --once-per window")
        }
    }

    /// For `PollRecorder.claimWindow`.
    var configuration: SliceClaims.Configuration? {
        oncePer.map { SliceClaims.Configuration(window: $0.seconds, lease: oncePerLease?.seconds ?? min(300, $0.seconds / 2)) }
    }
}

/// A duration as the schedule options take it: a whole number and a unit (`s`, `m`, `h`,
/// `d`), from 10 seconds to 7 days. Anything else is refused with the form expected.
struct ClaimDuration: ExpressibleByArgument, Sendable, Equatable {
    let seconds: TimeInterval

    static let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]

    init?(argument: String) {
        guard let unit = argument.last, let scale = Self.units[unit], argument.count <= 8,
              let count = Int(argument.dropLast()), count > 0 else { return nil }
        let seconds = TimeInterval(count) * scale
        guard (10...(7 * 86_400)).contains(seconds) else { return nil }
        self.seconds = seconds
    }

    static var defaultCompletionKind: CompletionKind { .list(["15m", "30m", "1h", "24h"]) }
}
