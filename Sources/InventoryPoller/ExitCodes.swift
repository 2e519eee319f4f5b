import ArgumentParser

/// The documented exit codes. `--help` and the README list the same table.
enum ExitStatus: Int32, CaseIterable {
    case success = 0
    case usage = 2
    case credentials = 3
    case aws = 4
    case database = 5

    var meaning: String {
        switch self {
        case .success: return "success"
        case .usage: return "usage or configuration error"
        case .credentials: return "credentials unavailable"
        case .aws: return "an AWS call failed after retries (other regions are still printed)"
        case .database: return "the database could not be written; the poll was spooled for the next run"
        }
    }

    static var table: String {
        allCases.map { "  \($0.rawValue)  \($0.meaning)" }.joined(separator: "\n")
    }
}

/// Ends the run with a status after the one-line message has been written.
struct ExitWith: Error {
    let status: ExitStatus
}
