/// One HTTP request. The body is bytes so a signed form body is sent exactly as signed.
public struct HTTPRequest: Sendable {
    /// The default cap on a response body: 64 MiB. A full DescribeInstances page of 1,000
    /// instances is under 10 MiB, so this leaves room for any real page while a hostile or
    /// broken peer can never make the run hold more than this per request.
    public static let defaultMaxResponseBytes = 64 << 20

    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The whole request, connect included. Per request, because IMDS wants ~1 s and a large
    /// DescribeInstances page may want 30.
    public var timeout: Duration
    /// Ignore `http_proxy` and friends. IMDS is link-local and must never go through a proxy.
    public var bypassProxy: Bool
    /// The largest body accepted. A larger one is refused from its `Content-Length`, or
    /// abandoned while it streams, with `HTTPError.isBodyTooLarge`.
    public var maxResponseBytes: Int

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [],
                timeout: Duration = .seconds(30), bypassProxy: Bool = false,
                maxResponseBytes: Int = HTTPRequest.defaultMaxResponseBytes) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.bypassProxy = bypassProxy
        self.maxResponseBytes = maxResponseBytes
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    package init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A transport failure: no usable HTTP response came back. The description names the host
/// and the kind of failure, never headers or bodies, so it is safe to log.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an open set: compare with `==` against the static members, or use
    /// the `is...` queries on the error. New kinds can be added without breaking callers.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Code: Sendable, Hashable {
            case timeout, connectionFailed, connectionReset, tls, invalidURL, cancelled, bodyTooLarge, configuration, other
        }
        private let code: Code

        public static let timeout = Kind(code: .timeout)
        public static let connectionFailed = Kind(code: .connectionFailed)
        /// The peer closed or reset the connection mid-exchange.
        public static let connectionReset = Kind(code: .connectionReset)
        /// The TLS handshake failed or the peer's certificate was not trusted.
        public static let tls = Kind(code: .tls)
        public static let invalidURL = Kind(code: .invalidURL)
        /// The run was asked to stop and the transfer was abandoned.
        public static let cancelled = Kind(code: .cancelled)
        /// The body was larger than the request's `maxResponseBytes`.
        public static let bodyTooLarge = Kind(code: .bodyTooLarge)
        /// The client's own configuration is unusable (e.g. an unreadable `AWS_CA_BUNDLE`).
        public static let configuration = Kind(code: .configuration)
        public static let other = Kind(code: .other)

        public var description: String { "\(code)" }
    }

    public let kind: Kind
    public let host: String
    public let detail: String

    public init(_ kind: Kind, host: String, detail: String) {
        self.kind = kind
        self.host = host
        self.detail = detail
    }

    public var description: String {
        let text = kind == .tls ? "TLS failure: \(detail)" : detail
        return host.isEmpty ? text : "\(text) (\(host))"
    }

    public var isTimeout: Bool { kind == .timeout }
    public var isCancelled: Bool { kind == .cancelled }
    public var isTLS: Bool { kind == .tls }
    public var isBodyTooLarge: Bool { kind == .bodyTooLarge }
    public var isConfiguration: Bool { kind == .configuration }
    public var isConnectionFailed: Bool { kind == .connectionFailed }

    /// Transient failures that a retry may cure. A body that is too large, a certificate
    /// that is not trusted and a bad configuration will be the same on the next try.
    public var isRetryable: Bool { kind == .timeout || kind == .connectionFailed || kind == .connectionReset }

    /// "N MiB" for whole mebibytes, else "N bytes": the limit as an operator sets it.
    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
