import CCurl
import Foundation
import Logging
import Synchronization

/// A small blocking HTTP client over one libcurl easy handle.
///
/// The handle is reused for every request, so libcurl keeps the connection (and the TLS
/// session) alive between DescribeInstances pages. Requests on one client are serialized by
/// a lock; give each concurrent worker its own client. TLS peer and host verification are
/// always on; there is deliberately no switch to turn them off. `close()` frees the handle
/// and must be called: deinit still cleans up, but asserts in debug builds.
public final class HTTPClient: Sendable {
    /// What the operator may set for every request of a client.
    public struct Configuration: Sendable {
        /// A PEM file of the certificate authorities to trust, instead of the system's store,
        /// as the AWS SDKs do with `AWS_CA_BUNDLE` (a corporate proxy, an inspected VPC
        /// endpoint). It adds trust; it never turns verification off.
        public var caBundle: String?
        /// Where `caBundle` was set (`AWS_CA_BUNDLE`, `profile prod ca_bundle`), for errors.
        public var caBundleSource: String?

        public init(caBundle: String? = nil, caBundleSource: String? = nil) {
            self.caBundle = caBundle
            self.caBundleSource = caBundleSource
        }

        /// The SDKs' variable alone: `AWS_CA_BUNDLE` (the run uses `AWSConfiguration`, which
        /// also reads the profile's `ca_bundle`).
        public init(environment: Environment) {
            self.caBundle = environment["AWS_CA_BUNDLE"]
            self.caBundleSource = "AWS_CA_BUNDLE"
        }

        /// Checks what can be checked before the first request, so a typo in
        /// `AWS_CA_BUNDLE` is one clear line instead of a TLS failure per request.
        public func validate() throws(HTTPError) {
            guard let caBundle else { return }
            var isDirectory: ObjCBool = false
            guard unsafe FileManager.default.fileExists(atPath: caBundle, isDirectory: &isDirectory), !isDirectory.boolValue,
                  FileManager.default.isReadableFile(atPath: caBundle) else {
                throw HTTPError(.configuration, host: "",
                                detail: "\(caBundleSource ?? "AWS_CA_BUNDLE") names \(caBundle), which is not a readable file")
            }
        }
    }

    /// `@safe`: the easy handle is created and cleaned up only by this client, under its mutex.
    @safe private struct State: ~Copyable {
        var handle: UnsafeMutableRawPointer?
    }

    public let configuration: Configuration
    /// Checked before every request, by libcurl's progress callback during a transfer, and
    /// by callers that retry or back off (IMDS), so a stop request ends waits too.
    public let cancellation: CancellationFlag?
    /// Where every request is counted, with its bytes and the TCP connections it opened
    /// (which stays at 1 across requests to one host when keep-alive works): the run's
    /// statistics for a client of the run, the summary's one source.
    public let statistics: RunStatistics
    private let state: Mutex<State>
    private let logger: Logger

    /// `curl_global_init` must run once before any thread uses libcurl. Touching this from
    /// `main` before starting tasks satisfies that; the lazy `static let` covers library users.
    public static let globalInitialization: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    /// A client with `configuration` (by default: system CAs, nothing read from the environment).
    public init(configuration: Configuration = Configuration(), logger: Logger, cancellation: CancellationFlag? = nil,
                statistics: RunStatistics = RunStatistics()) {
        _ = Self.globalInitialization
        self.configuration = configuration
        self.logger = logger
        self.cancellation = cancellation
        self.statistics = statistics
        self.state = unsafe Mutex(State(handle: curl_easy_init()))
    }

    /// A client of `run`: it stops with the run and counts into the run's statistics.
    public convenience init(configuration: Configuration = Configuration(), logger: Logger, run: RunContext) {
        self.init(configuration: configuration, logger: logger, cancellation: run.cancellation, statistics: run.statistics)
    }

    deinit {
        assert(state.withLock { unsafe $0.handle == nil }, "HTTPClient released without close()")
        close()
    }

    /// Frees the libcurl handle and its connections. Safe to call twice.
    public func close() {
        state.withLock { state in
            if let h = unsafe state.handle {
                unsafe curl_easy_cleanup(h)
                unsafe state.handle = nil
            }
        }
    }

    public func execute(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let host = Self.host(of: request.url)
        // A CR or LF in a header would split it into two on the wire (a token from a hostile
        // credentials endpoint, say); no header with a control character is ever sent.
        if let bad = request.headers.first(where: { Self.hasControlCharacter($0.0) || Self.hasControlCharacter($0.1) }) {
            throw HTTPError(.other, host: host, detail: "header \(ControlCharacters.escape(bad.0)) holds a control character; not sent")
        }
        let (result, connects): (Result<HTTPResponse, HTTPError>, Int) = state.withLock { state in
            guard let h = unsafe state.handle else {
                return (.failure(HTTPError(.other, host: host, detail: "HTTP client used after close()")), 0)
            }
            let transfer = HTTPTransfer(request: request, host: host, configuration: configuration, cancellation: cancellation)
            let result = unsafe transfer.perform(handle: h)
            var connects = 0
            unsafe ccurl_getinfo_long(h, CURLINFO_NUM_CONNECTS, &connects)
            return (result, connects)
        }
        statistics.transfer(bytes: (try? result.get())?.body.count ?? 0, connections: connects)
        switch result {
        case let .success(response):
            logger.trace("http", metadata: ["method": "\(request.method)", "host": "\(host)", "status": "\(response.status)", "bytes": "\(response.body.count)"])
            return response
        case let .failure(error):
            logger.debug("http failed", metadata: ["method": "\(request.method)", "host": "\(host)", "error": "\(error)"])
            throw error
        }
    }

    static func hasControlCharacter(_ s: String) -> Bool {
        s.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }

    /// `host[:port]` of a URL, as it goes in log lines and error messages. A URL that does
    /// not parse is returned whole.
    public static func host(of url: String) -> String {
        (try? URLParts(url))?.hostHeader ?? url
    }
}
