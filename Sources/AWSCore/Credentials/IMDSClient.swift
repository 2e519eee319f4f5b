import Foundation
import Logging
import Synchronization

/// The EC2 instance metadata service, IMDSv2 only.
///
/// Every read first gets a session token with `PUT /latest/api/token` and sends it as
/// `X-aws-ec2-metadata-token`. There is no IMDSv1 fallback: an instance that requires tokens
/// would reject it, and one that does not should not be trusted to. Short timeouts and few
/// retries keep an unreachable IMDS from stalling a run: the whole failure takes under 5 s.
/// Attempts and backoff watch the HTTP client's cancellation flag, so a stop request ends
/// a slow IMDS read at once with `Error.isCancelled`.
public final class IMDSClient: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: String = Self.ipv4Endpoint
        /// The SDKs' two fixed endpoints (`ec2_metadata_service_endpoint_mode` ipv4 / ipv6).
        public static let ipv4Endpoint = "http://169.254.169.254"
        public static let ipv6Endpoint = "http://[fd00:ec2::254]"
        public var tokenTTLSeconds: Int = 21600
        public var timeout: Duration = .seconds(1)
        public var maxAttempts: Int = 3
        /// IMDS documents are a few hundred bytes; a larger answer is not IMDS.
        public var maxResponseBytes: Int = 1 << 20

        public init() {}

        /// The SDKs' switches: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, and
        /// `AWS_METADATA_SERVICE_TIMEOUT` (seconds, up to 60) and
        /// `AWS_METADATA_SERVICE_NUM_ATTEMPTS` (1 to 10). Values outside those ranges are ignored.
        public init(environment: Environment) {
            if let endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] {
                var e = endpoint
                while e.hasSuffix("/") { e.removeLast() }
                self.endpoint = e
            }
            if let text = environment["AWS_METADATA_SERVICE_TIMEOUT"], let seconds = Double(text), seconds > 0, seconds <= 60 {
                timeout = .milliseconds(Int((seconds * 1000).rounded()))
            }
            if let text = environment["AWS_METADATA_SERVICE_NUM_ATTEMPTS"], let attempts = Int(text), (1...10).contains(attempts) {
                maxAttempts = attempts
            }
        }
    }

    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        /// An open set: compare against the static members or use the `is...` queries.
        public struct Kind: Sendable, Hashable {
            private enum Code: Sendable, Hashable { case unreachable, timedOut, forbidden, notFound, badResponse, cancelled }
            private let code: Code
            public static let unreachable = Kind(code: .unreachable)
            public static let timedOut = Kind(code: .timedOut)
            public static let forbidden = Kind(code: .forbidden)
            public static let notFound = Kind(code: .notFound)
            public static let badResponse = Kind(code: .badResponse)
            /// The run was asked to stop while IMDS was being read.
            public static let cancelled = Kind(code: .cancelled)
        }
        public let kind: Kind
        public let description: String

        init(_ kind: Kind, _ description: String) {
            self.kind = kind
            self.description = description
        }

        public var isNotFound: Bool { kind == .notFound }
        public var isCancelled: Bool { kind == .cancelled }
        public var isTimedOut: Bool { kind == .timedOut }
        public var isUnreachable: Bool { kind == .unreachable }
    }

    private struct Token {
        var value: String
        var expires: Date
    }

    public let configuration: Configuration
    private let http: HTTPClient
    private let logger: Logger
    private let token = Mutex<Token?>(nil)
    /// Set once IMDS has proven unreachable, so later reads fail at once instead of each
    /// spending the full timeout again.
    private let unreachable = Mutex<Error?>(nil)

    public init(configuration: Configuration, http: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
    }

    private var cancelled: Error { Error(.cancelled, "IMDS read interrupted: the run is stopping") }

    /// Sends one IMDS request with this client's timeout, proxy bypass and size cap.
    private func send(_ method: String, _ path: String, headers: [(String, String)]) throws(HTTPError) -> HTTPResponse {
        try http.execute(HTTPRequest(method: method, url: configuration.endpoint + "/latest/" + path, headers: headers,
                                     timeout: configuration.timeout, bypassProxy: true,
                                     maxResponseBytes: configuration.maxResponseBytes))
    }

    /// Waits before attempt `attempt + 1`; throws when the run stops meanwhile.
    private func backoff(after attempt: Int) throws(Error) {
        guard attempt < configuration.maxAttempts else { return }
        // A client without a stop flag waits on one that is never set: one sleep either way.
        let cancellation = http.cancellation ?? CancellationFlag()
        if !cancellation.sleep(for: .milliseconds(50 * attempt)) { throw cancelled }
    }

    /// Reads `/latest/<path>` as text. A 401 (token expired or revoked) fetches a new token
    /// and tries again; 5xx and timeouts are retried a few times.
    public func get(_ path: String) throws(Error) -> String {
        var lastError = Error(.badResponse, "IMDS GET /latest/\(path): no attempt made")
        for attempt in 1...max(1, configuration.maxAttempts) {
            if http.cancellation?.isCancelled == true { throw cancelled }
            let tokenValue = try currentToken()
            let response: HTTPResponse
            do {
                response = try send("GET", path, headers: [("X-aws-ec2-metadata-token", tokenValue)])
            } catch {
                if error.isCancelled { throw cancelled }
                if error.isBodyTooLarge { throw Error(.badResponse, "IMDS GET /latest/\(path) failed: \(error)") }
                lastError = Error(error.isTimeout ? .timedOut : .unreachable, "IMDS GET /latest/\(path) failed: \(error)")
                logger.debug("imds retry", metadata: ["path": "\(path)", "attempt": "\(attempt)"])
                try backoff(after: attempt)
                continue
            }
            switch response.status {
            case 200:
                return String(decoding: response.body, as: UTF8.self)
            case 401:
                logger.debug("imds token rejected, fetching a new one")
                token.withLock { $0 = nil }
                lastError = Error(.forbidden, "IMDS rejected the session token for /latest/\(path) (401)")
            case 404:
                throw Error(.notFound, "IMDS has no /latest/\(path) (404)")
            case 403:
                throw Error(.forbidden, "IMDS refused /latest/\(path) (403)")
            default:
                lastError = Error(.badResponse, "IMDS GET /latest/\(path) returned HTTP \(response.status)")
            }
            try backoff(after: attempt)
        }
        throw lastError
    }

    private func currentToken() throws(Error) -> String {
        if let cached = unreachable.withLock({ $0 }) { throw cached }
        if let t = token.withLock({ $0 }), t.expires > Date() { return t.value }
        do {
            let fresh = try fetchToken()
            token.withLock { $0 = fresh }
            return fresh.value
        } catch {
            if error.isUnreachable || error.isTimedOut {
                unreachable.withLock { $0 = error }
            }
            throw error
        }
    }

    private func fetchToken() throws(Error) -> Token {
        var lastError = Error(.badResponse, "IMDS token request: no attempt made")
        for attempt in 1...max(1, configuration.maxAttempts) {
            if http.cancellation?.isCancelled == true { throw cancelled }
            let requested = Date()
            let response: HTTPResponse
            do {
                response = try send("PUT", "api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(configuration.tokenTTLSeconds))])
            } catch {
                if error.isCancelled { throw cancelled }
                lastError = tokenFailure(error)
                // A refused connection will not get better in 100 ms; a huge answer is not IMDS.
                if error.isConnectionFailed || error.isBodyTooLarge { break }
                try backoff(after: attempt)
                continue
            }
            switch response.status {
            case 200:
                let value = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                let ttl = Double(response.header("X-aws-ec2-metadata-token-ttl-seconds") ?? "") ?? Double(configuration.tokenTTLSeconds)
                // Refresh a minute early so a token never expires between check and use.
                return Token(value: value, expires: requested.addingTimeInterval(max(1, ttl - 60)))
            case 403:
                throw Error(.forbidden, "IMDS refused the token request (403): the metadata service is disabled on this instance or the request was proxied")
            case 404, 405:
                throw Error(.badResponse, "IMDS at \(configuration.endpoint) does not support IMDSv2 tokens (HTTP \(response.status))")
            default:
                lastError = Error(.badResponse, "IMDS token request returned HTTP \(response.status)")
            }
            try backoff(after: attempt)
        }
        throw lastError
    }

    private func tokenFailure(_ error: HTTPError) -> Error {
        if error.isTimeout {
            return Error(.timedOut, "IMDS token request to \(configuration.endpoint) timed out; if this runs in a container, "
                + "raise the instance's metadata hop limit to 2 (aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2)")
        }
        if error.isBodyTooLarge {
            return Error(.badResponse, "IMDS token request to \(configuration.endpoint) failed: \(error)")
        }
        return Error(.unreachable, "IMDS at \(configuration.endpoint) is unreachable (\(error.detail)); not on EC2? Use environment credentials or set AWS_EC2_METADATA_SERVICE_ENDPOINT")
    }
}
