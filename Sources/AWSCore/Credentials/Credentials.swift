import Foundation

/// AWS credentials for one signing identity. `description` never shows the secret or the
/// session token, so a `Credentials` value can be logged or interpolated safely by mistake.
public struct Credentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-lived keys.
    public var expiration: Date?
    /// Where they came from, in words (`environment`, `sso (profile prod, session corp)`,
    /// `assume-role (profile prod, source profile base)`), for `--check` and logs.
    public var source: String

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil,
                expiration: Date? = nil, source: String = "static") {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    /// The key id's last four characters (`…WXYZ`): enough to tell two keys apart in a
    /// log, too little to be a key id.
    public var keyIdHint: String { "…" + String(accessKeyId.suffix(4)) }

    /// For `--check` and the run's first info line: source, key id hint, expiry. No secret.
    public var summary: String {
        "\(source), key \(keyIdHint)" + (expiration.map { ", expires \(UTCTime.iso8601($0))" } ?? ", no expiry")
    }

    /// These credentials, if they can sign a request: key id and secret present, every part
    /// printable ASCII without spaces (they go into headers: a CR or LF from a hostile
    /// endpoint must not become a header of its own), and not expired by the host's clock.
    /// botocore refuses expired credentials the same way ("refreshed, but still expired").
    public func validated(now: Date = Date()) throws(CredentialError) -> Credentials {
        for (name, value) in [("access key id", accessKeyId), ("secret access key", secretAccessKey), ("session token", sessionToken ?? "x")] {
            guard !value.isEmpty, value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw .unavailable("\(source): the \(name) is empty or holds a character that is not printable ASCII")
            }
        }
        if let expiration, expiration <= now {
            throw .unavailable("\(source): the credentials expired at \(UTCTime.iso8601(expiration)), and a refresh gave no newer ones")
        }
        return self
    }

    public var description: String {
        var s = "Credentials(source: \(source), accessKeyId: \(keyIdHint), secretAccessKey: <redacted>"
        if sessionToken != nil { s += ", sessionToken: <redacted>" }
        if let expiration { s += ", expiration: \(UTCTime.iso8601(expiration))" }
        return s + ")"
    }
}

/// Anything that can hand out credentials: the environment, IMDS, a chain of them.
public protocol CredentialProvider: Sendable {
    /// Returns credentials, or nil when this source is simply not configured (so a chain
    /// moves on). Throws when the source is configured but broken, which a chain reports.
    func credentials() throws -> Credentials?
}

/// Why no credentials could be had. The code tells the command which exit status it is:
/// `isInvalidConfiguration` is the operator's input (usage), `isCancelled` a stop request,
/// anything else "credentials unavailable".
public struct CredentialError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable, Equatable { case unavailable, invalidConfiguration, cancelled }
    private let code: Code
    public let message: String

    private init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// Same as `.unavailable(message)`.
    public init(_ message: String) { self.init(code: .unavailable, message: message) }

    /// The source is configured but could not deliver (IMDS down, no role, STS refused).
    public static func unavailable(_ message: String) -> CredentialError { CredentialError(code: .unavailable, message: message) }
    /// What the operator gave cannot work (half-set keys, a malformed role ARN).
    public static func invalidConfiguration(_ message: String) -> CredentialError {
        CredentialError(code: .invalidConfiguration, message: message)
    }
    /// The run was asked to stop while credentials were being fetched.
    public static func cancelled(_ message: String) -> CredentialError { CredentialError(code: .cancelled, message: message) }

    public var isUnavailable: Bool { code == .unavailable }
    public var isInvalidConfiguration: Bool { code == .invalidConfiguration }
    public var isCancelled: Bool { code == .cancelled }

    public var description: String { message }
}
