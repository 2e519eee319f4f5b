import Foundation
import Logging
import Synchronization

/// The EC2 instance metadata service, IMDSv2 only.
///
/// Every read first gets a session token with `PUT /latest/api/token` and sends it as
/// `X-aws-ec2-metadata-token`. There is no IMDSv1 fallback: an instance that requires tokens
/// would reject it, and one that does not should not be trusted to. Short timeouts and few
/// retries keep an unreachable IMDS from stalling a run: the whole failure takes under 5 s.
public final class IMDSClient: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: String = "http://169.254.169.254"
        public var tokenTTLSeconds: Int = 21600
        public var timeout: Duration = .seconds(1)
        public var maxAttempts: Int = 3

        public init() {}

        /// The SDKs' switch: `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
        public init(environment: Environment) {
            if let endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] {
                var e = endpoint
                while e.hasSuffix("/") { e.removeLast() }
                self.endpoint = e
            }
        }
    }

    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            case unreachable, timedOut, forbidden, notFound, badResponse
        }
        public let kind: Kind
        public let description: String
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

    /// Reads `/latest/<path>` as text. A 401 (token expired or revoked) fetches a new token
    /// and tries again; 5xx and timeouts are retried a few times.
    public func get(_ path: String) throws(Error) -> String {
        var lastError: Error?
        for attempt in 1...configuration.maxAttempts {
            let tokenValue = try currentToken()
            let response: HTTPResponse
            do {
                response = try http.execute(HTTPRequest(
                    method: "GET", url: configuration.endpoint + "/latest/" + path,
                    headers: [("X-aws-ec2-metadata-token", tokenValue)],
                    timeout: configuration.timeout, bypassProxy: true))
            } catch {
                lastError = Error(kind: error.kind == .timeout ? .timedOut : .unreachable,
                                  description: "IMDS GET /latest/\(path) failed: \(error)")
                logger.debug("imds retry", metadata: ["path": "\(path)", "attempt": "\(attempt)"])
                continue
            }
            switch response.status {
            case 200:
                return String(decoding: response.body, as: UTF8.self)
            case 401:
                logger.debug("imds token rejected, fetching a new one")
                token.withLock { $0 = nil }
                lastError = Error(kind: .forbidden, description: "IMDS rejected the session token for /latest/\(path) (401)")
            case 404:
                throw Error(kind: .notFound, description: "IMDS has no /latest/\(path) (404)")
            case 403:
                throw Error(kind: .forbidden, description: "IMDS refused /latest/\(path) (403)")
            default:
                lastError = Error(kind: .badResponse, description: "IMDS GET /latest/\(path) returned HTTP \(response.status)")
            }
            if attempt < configuration.maxAttempts { Thread.sleep(forTimeInterval: 0.05 * Double(attempt)) }
        }
        throw lastError!
    }

    private func currentToken() throws(Error) -> String {
        if let cached = unreachable.withLock({ $0 }) { throw cached }
        if let t = token.withLock({ $0 }), t.expires > Date() { return t.value }
        do {
            let fresh = try fetchToken()
            token.withLock { $0 = fresh }
            return fresh.value
        } catch {
            if error.kind == .unreachable || error.kind == .timedOut {
                unreachable.withLock { $0 = error }
            }
            throw error
        }
    }

    private func fetchToken() throws(Error) -> Token {
        var lastError: Error?
        for attempt in 1...configuration.maxAttempts {
            let requested = Date()
            let response: HTTPResponse
            do {
                response = try http.execute(HTTPRequest(
                    method: "PUT", url: configuration.endpoint + "/latest/api/token",
                    headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(configuration.tokenTTLSeconds))],
                    timeout: configuration.timeout, bypassProxy: true))
            } catch {
                if error.kind == .timeout {
                    lastError = Error(kind: .timedOut, description:
                        "IMDS token request to \(configuration.endpoint) timed out; if this runs in a container, "
                        + "raise the instance's metadata hop limit to 2 (aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2)")
                } else {
                    lastError = Error(kind: .unreachable, description:
                        "IMDS at \(configuration.endpoint) is unreachable (\(error.detail)); not on EC2? Use environment credentials or set AWS_EC2_METADATA_SERVICE_ENDPOINT")
                    // A refused connection will not get better in 100 ms.
                    if error.kind == .connectionFailed { break }
                }
                continue
            }
            switch response.status {
            case 200:
                let value = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                let ttl = Double(response.header("X-aws-ec2-metadata-token-ttl-seconds") ?? "") ?? Double(configuration.tokenTTLSeconds)
                // Refresh a minute early so a token never expires between check and use.
                return Token(value: value, expires: requested.addingTimeInterval(max(1, ttl - 60)))
            case 403:
                throw Error(kind: .forbidden, description: "IMDS refused the token request (403): the metadata service is disabled on this instance or the request was proxied")
            case 404, 405:
                throw Error(kind: .badResponse, description: "IMDS at \(configuration.endpoint) does not support IMDSv2 tokens (HTTP \(response.status))")
            default:
                lastError = Error(kind: .badResponse, description: "IMDS token request returned HTTP \(response.status)")
            }
            if attempt < configuration.maxAttempts { Thread.sleep(forTimeInterval: 0.05 * Double(attempt)) }
        }
        throw lastError!
    }
}
