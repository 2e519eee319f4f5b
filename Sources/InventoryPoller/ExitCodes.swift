@_spi(Bytes) import AWSCore
import ArgumentParser
import CloudInventory
import Glibc

/// The documented exit codes. `--help` and the README list the same table.
enum ExitStatus: Int32, CaseIterable {
    case success = 0
    case usage = 2
    case credentials = 3
    case aws = 4
    case database = 5
    case output = 74
    case locked = 75
    case hungUp = 129
    case interrupted = 130
    case terminated = 143

    var meaning: String {
        switch self {
        case .success: return "success"
        case .usage: return "usage or configuration error"
        case .credentials: return "credentials unavailable"
        case .aws: return "an AWS call failed after retries; other slices still printed and stored"
        case .database: return "the database could not be read or written (a poll was spooled for the next run), or a spooled poll cannot be read by this user"
        case .output: return "stdout could not be written (EX_IOERR: closed pipe, full disk); the poll was still stored or spooled"
        case .locked: return "another run holds the lock (EX_TEMPFAIL)"
        case .hungUp: return "stopped by SIGHUP (a closed terminal or SSH session); what was complete was stored or spooled"
        case .interrupted: return "interrupted by SIGINT; what was complete was stored or spooled"
        case .terminated: return "stopped by SIGTERM; what was complete was stored or spooled"
        }
    }

    static var table: String {
        allCases.map { "  \(String($0.rawValue).padding(toLength: 3, withPad: " ", startingAt: 0)) \($0.meaning)" }.joined(separator: "\n")
    }

    /// The one table from error to exit status, consulted wherever a failure ends the run
    /// (and by `--check` for each failed line).
    ///
    /// A run stopped by a signal exits 130 or 143 whatever error the stop caused: see
    /// `init(signal:)`, which the command checks first. So a `CredentialError` that
    /// `isCancelled` only reaches this table without a signal, and is then a credential
    /// failure (3), as is every other `CredentialError` but one that `isInvalidConfiguration`:
    /// the operator's own input (half-set keys, a malformed role ARN) is a usage error (2).
    init(for error: any Error) {
        switch error {
        case is RunLock.Busy: self = .locked
        case is RunLock.Failure, is RegionResolver.Error, is SlicePlanner.DuplicateAccount, is UsageError: self = .usage
        case let error as CredentialsUnavailable: self = error.isInvalidConfiguration ? .usage : .credentials
        case let error as CredentialError: self = error.isInvalidConfiguration ? .usage : .credentials
        case let error as AWSError: self = error.isCredentialFailure ? .credentials : .aws
        case let error as OrganizationError: self = error.underlying?.isCredentialFailure == true ? .credentials : .aws
        case let error as ConfigurationError: self = error.isProfileNotFound ? .credentials : .usage
        case is WriteFailure: self = .output
        case is MongoError: self = .database
        default: self = .aws
        }
    }

    /// 129 for SIGHUP, 130 for SIGINT, 143 for SIGTERM (128 + the signal number, as shells
    /// report it).
    init(signal: Int32) {
        switch signal {
        case SIGHUP: self = .hungUp
        case SIGINT: self = .interrupted
        default: self = .terminated
        }
    }

    /// The signal's name, for the final line.
    static func name(of signal: Int32) -> String {
        switch signal {
        case SIGHUP: return "SIGHUP"
        case SIGINT: return "SIGINT"
        default: return "SIGTERM"
        }
    }
}

/// A configuration problem found before any network call (exit 2).
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Whatever failed while the base credentials were fetched (IMDS, the environment). Its
/// status is the underlying error's: 3, or 2 for the operator's own configuration.
struct CredentialsUnavailable: Error, CustomStringConvertible {
    let underlying: any Error

    var isInvalidConfiguration: Bool { (underlying as? CredentialError)?.isInvalidConfiguration == true }

    var description: String {
        (isInvalidConfiguration ? "credentials misconfigured: " : "credentials unavailable: ") + "\(underlying)"
    }
}
