import ArgumentParser

/// The documented exit codes. `--help` and the README list the same table.
enum ExitStatus: Int32, CaseIterable {
    case success = 0
    case usage = 2
    case credentials = 3
    case aws = 4
    case database = 5
    case locked = 75
    case interrupted = 130
    case terminated = 143

    var meaning: String {
        switch self {
        case .success: return "success"
        case .usage: return "usage or configuration error"
        case .credentials: return "credentials unavailable"
        case .aws: return "an AWS call failed after retries; other slices still printed and stored"
        case .database: return "the database could not be written; the poll was spooled for the next run"
        case .locked: return "another run holds the lock (EX_TEMPFAIL)"
        case .interrupted: return "interrupted by SIGINT; what was complete was stored or spooled"
        case .terminated: return "stopped by SIGTERM; what was complete was stored or spooled"
        }
    }

    static var table: String {
        allCases.map { "  \(String($0.rawValue).padding(toLength: 3, withPad: " ", startingAt: 0)) \($0.meaning)" }.joined(separator: "\n")
    }
}
