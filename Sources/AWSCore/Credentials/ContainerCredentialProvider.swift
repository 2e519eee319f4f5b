#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Container credentials, as botocore's `ContainerProvider` and `ContainerMetadataFetcher`:
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS: `http://169.254.170.2` + the path) or else
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (EKS Pod Identity, and other agents), with the
/// `Authorization` header from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at each fetch,
/// as the agent rotates it) or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
///
/// A full URI over plain http must name a loopback address or one of the documented hosts
/// (169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost): credentials, and the token,
/// must not travel to anything else in the clear. Anything else is a configuration error
/// (exit 2). Three attempts, two seconds each, one second apart, as botocore.
final class ContainerCredentialProvider: CredentialProvider {
    static let ecsHost = "169.254.170.2"
    static let allowedHosts: Set<String> = [ecsHost, "169.254.170.23", "fd00:ec2::23", "localhost"]
    static let attempts = 3

    private let environment: Environment
    private let http: HTTPClient
    private let cancellation: CancellationFlag
    private let cache = SourceCache()

    init(settings: CredentialSettings) {
        self.environment = settings.environment
        self.http = settings.http
        self.cancellation = settings.run.cancellation
    }

    func credentials() throws -> Credentials? {
        try cache.credentials { () throws -> (any CredentialProvider)? in
            let url: String
            if let relative = environment.values["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
                url = "http://\(Self.ecsHost)\(relative)"
            } else if let full = environment.values["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
                url = full
            } else {
                return nil
            }
            try Self.checkAllowed(url)
            return Fetcher(url: url, environment: environment, http: http, cancellation: cancellation)
        }
    }

    /// https anywhere; http only to loopback or the documented hosts.
    static func checkAllowed(_ url: String) throws(CredentialError) {
        let parts: URLParts
        do {
            parts = try URLParts(url)
        } catch {
            throw .invalidConfiguration("container credentials: \(error)")
        }
        if parts.scheme == "https" { return }
        var host = parts.host.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard isLoopback(host) || allowedHosts.contains(host) else {
            throw .invalidConfiguration("container credentials: unsupported host \"\(host.prefix(100))\": over http only a loopback "
                + "address or one of \(allowedHosts.sorted().joined(separator: ", ")) may serve credentials")
        }
    }

    /// 127.0.0.0/8 or ::1, written as an address (not a name).
    static func isLoopback(_ host: String) -> Bool {
        var v4 = in_addr()
        if unsafe inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if unsafe inet_pton(AF_INET6, host, &v6) == 1 {
            return unsafe withUnsafeBytes(of: &v6) { bytes in unsafe bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    private struct Fetcher: CredentialProvider {
        let url: String
        let environment: Environment
        let http: HTTPClient
        let cancellation: CancellationFlag

        func credentials() throws -> Credentials? {
            var headers = [("Accept", "application/json")]
            if let token = try authorization() { headers.append(("Authorization", token)) }
            var failure = "no attempt made"
            for attempt in 1...ContainerCredentialProvider.attempts {
                if cancellation.isCancelled { throw CredentialError.cancelled("container credentials: interrupted, the run is stopping") }
                do {
                    let response = try http.execute(HTTPRequest(method: "GET", url: url, headers: headers, timeout: .seconds(2),
                                                                bypassProxy: true, maxResponseBytes: 1 << 20))
                    if response.status == 200 {
                        return try Self.decode(response.body)
                    }
                    failure = "HTTP \(response.status)"
                } catch let error as HTTPError {
                    if error.isCancelled { throw CredentialError.cancelled("container credentials: interrupted, the run is stopping") }
                    failure = error.description
                }
                if attempt < ContainerCredentialProvider.attempts, !cancellation.sleep(for: .seconds(1)) {
                    throw CredentialError.cancelled("container credentials: interrupted, the run is stopping")
                }
            }
            throw CredentialError.unavailable("container credentials from \(HTTPClient.host(of: url)) unavailable: \(failure)")
        }

        /// The token file first, then the variable; a line break in it is refused.
        private func authorization() throws(CredentialError) -> String? {
            var token: String?
            if let path = environment.values["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
                token = try TokenFile.read(path, limit: 16 << 10, what: "container authorization token file")
            } else if let value = environment.values["AWS_CONTAINER_AUTHORIZATION_TOKEN"] {
                token = value
            }
            if let token, token.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) {
                throw .invalidConfiguration("container authorization token is not a legal header value (it holds a line break)")
            }
            return token
        }

        static func decode(_ body: [UInt8]) throws(CredentialError) -> Credentials {
            guard let object = try? JSONValue.parse(body), let key = object["AccessKeyId"]?.stringValue,
                  let secret = object["SecretAccessKey"]?.stringValue, let token = object["Token"]?.stringValue,
                  let expires = object["Expiration"]?.stringValue, let expiration = UTCTime.parse(expires) else {
                throw .unavailable("container credentials: the endpoint's answer lacks AccessKeyId, SecretAccessKey, Token or Expiration")
            }
            return Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: token, expiration: expiration, source: "container")
        }
    }
}
