#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// `credential_process`, as botocore's `ProcessProvider`: the command is split shell-style
/// (Python's `shlex.split`, no shell is involved) and run with the run's environment; its
/// stdout is the documented JSON (`Version` 1, `AccessKeyId`, `SecretAccessKey`, optional
/// `SessionToken` and `Expiration`). With an `Expiration` the credentials are refreshed by
/// running it again; without one they are kept for the run.
///
/// A process that exits non-zero, prints something else, or more than 1 MiB, fails the
/// profile (exit 3). Its stderr is NOT shown or logged: credential helpers print debug
/// output that may hold tokens, and our stderr goes to cron mail and journals. The error
/// says how many bytes it wrote, so the operator runs the command by hand to read them.
/// There is no timeout (an MFA prompt may take a while); a stop request (SIGTERM, SIGINT)
/// sends the child SIGTERM and ends the wait at once.
final class ProcessCredentialProvider: CredentialProvider {
    static let maxOutputBytes = 1 << 20

    private let settings: CredentialSettings
    private let profile: String
    private let cache = SourceCache()

    init(settings: CredentialSettings, profile: String) {
        self.settings = settings
        self.profile = profile
    }

    func credentials() throws -> Credentials? {
        try cache.credentials { () throws -> (any CredentialProvider)? in
            guard let command = settings.profileSection(profile)?["credential_process"] else { return nil }
            guard let arguments = ShellWords.split(command), !arguments.isEmpty else {
                throw CredentialError.invalidConfiguration("profile \(profile): credential_process cannot be split into a command (empty, or an unclosed quote)")
            }
            return Fetcher(arguments: arguments, environment: settings.environment,
                           cancellation: settings.run.cancellation, profile: profile)
        }
    }

    private struct Fetcher: CredentialProvider {
        let arguments: [String]
        let environment: Environment
        let cancellation: CancellationFlag
        let profile: String

        func credentials() throws -> Credentials? {
            let what = "credential_process of profile \(profile)"
            let result = try ChildProcess.run(arguments, environment: environment.values, cancellation: cancellation,
                                              maxOutput: ProcessCredentialProvider.maxOutputBytes, what: what)
            guard result.status == 0 else {
                throw CredentialError.unavailable("\(what) \(result.statusText) (its stderr, \(result.stderrBytes) bytes, is not shown: "
                    + "it may hold secrets; run the command by hand to read it)")
            }
            return try Self.decode(result.stdout, what: what, profile: profile)
        }

        /// The documented JSON, read with the project's total parser.
        static func decode(_ stdout: [UInt8], what: String, profile: String) throws(CredentialError) -> Credentials {
            guard let object = try? JSONValue.parse(stdout), object.objectValue != nil else {
                throw .unavailable("\(what) printed something that is not a JSON object")
            }
            let version = object["Version"]
            guard version?.intValue == 1 || version?.doubleValue == 1 || version?.boolValue == true else {
                throw .unavailable("\(what) printed an unsupported Version (supported: 1)")
            }
            guard let key = object["AccessKeyId"]?.stringValue, let secret = object["SecretAccessKey"]?.stringValue else {
                throw .unavailable("\(what) printed no AccessKeyId or SecretAccessKey")
            }
            var expiration: Date?
            if let value = object["Expiration"], value != .null {
                guard let text = value.stringValue, let date = UTCTime.parse(text) else {
                    throw .unavailable("\(what) printed an Expiration that is not an ISO 8601 time")
                }
                expiration = date
            }
            let token = object["SessionToken"]?.stringValue
            return Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: token?.isEmpty == true ? nil : token,
                               expiration: expiration, source: "process (profile \(profile))")
        }
    }
}
