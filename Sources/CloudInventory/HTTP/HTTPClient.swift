import CCurl
import Foundation
import Logging
import Synchronization

/// One HTTP request. The body is bytes so a signed form body is sent exactly as signed.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The whole request, connect included. Per request, because IMDS wants ~1 s and a large
    /// DescribeInstances page may want 30.
    public var timeout: Duration
    /// Ignore `http_proxy` and friends. IMDS is link-local and must never go through a proxy.
    public var bypassProxy: Bool

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [],
                timeout: Duration = .seconds(30), bypassProxy: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.bypassProxy = bypassProxy
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A transport failure: no HTTP status came back. The description names the host and the
/// kind of failure, never headers or bodies, so it is safe to log.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case timeout
        case connectionFailed
        /// The peer closed or reset the connection mid-exchange.
        case connectionReset
        case tls
        case invalidURL
        /// The run was asked to stop and the transfer was abandoned.
        case cancelled
        case other
    }

    public let kind: Kind
    public let host: String
    public let detail: String

    public var description: String { "\(detail) (\(host))" }

    /// Transient failures that a retry may cure.
    public var isRetryable: Bool { kind == .timeout || kind == .connectionFailed || kind == .connectionReset }
}

/// Byte and request counts for the run summary.
public struct HTTPStatistics: Sendable {
    public var requests = 0
    public var bytesReceived = 0
    public var bytesSent = 0
    /// New TCP connections opened. Stays at 1 across requests to one host when keep-alive works.
    public var connectionsOpened = 0
}

/// A small blocking HTTP client over one libcurl easy handle.
///
/// The handle is reused for every request, so libcurl keeps the connection (and the TLS
/// session) alive between DescribeInstances pages. Requests on one client are serialized by
/// a lock; give each concurrent worker its own client. TLS peer and host verification are
/// always on; there is deliberately no switch to turn them off. `close()` frees the handle.
public final class HTTPClient: Sendable {
    private struct State: ~Copyable {
        var handle: UnsafeMutableRawPointer?
        var statistics = HTTPStatistics()
    }

    private let state: Mutex<State>
    private let logger: Logger
    private let cancellation: CancellationFlag?

    /// `curl_global_init` must run once before any thread uses libcurl. Touching this from
    /// `main` before starting tasks satisfies that; the lazy `static let` covers library users.
    public static let globalInitialization: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    public init(logger: Logger, cancellation: CancellationFlag? = nil) {
        _ = Self.globalInitialization
        self.logger = logger
        self.cancellation = cancellation
        self.state = Mutex(State(handle: curl_easy_init()))
    }

    deinit {
        close()
    }

    /// Frees the libcurl handle and its connections. Safe to call twice.
    public func close() {
        state.withLock { state in
            if let h = state.handle {
                curl_easy_cleanup(h)
                state.handle = nil
            }
        }
    }

    public var statistics: HTTPStatistics {
        state.withLock { $0.statistics }
    }

    public func execute(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let host = Self.host(of: request.url)
        let result: Result<HTTPResponse, HTTPError> = state.withLock { state in
            guard let h = state.handle else {
                return .failure(HTTPError(kind: .other, host: host, detail: "HTTP client used after close()"))
            }
            let result = Self.perform(request, handle: h, host: host, cancellation: cancellation)
            state.statistics.requests += 1
            state.statistics.bytesSent += request.body.count
            var connects = 0
            ccurl_getinfo_long(h, CURLINFO_NUM_CONNECTS, &connects)
            state.statistics.connectionsOpened += connects
            if case let .success(response) = result { state.statistics.bytesReceived += response.body.count }
            return result
        }
        switch result {
        case let .success(response):
            logger.trace("http", metadata: ["method": "\(request.method)", "host": "\(host)", "status": "\(response.status)", "bytes": "\(response.body.count)"])
            return response
        case let .failure(error):
            logger.debug("http failed", metadata: ["method": "\(request.method)", "host": "\(host)", "error": "\(error)"])
            throw error
        }
    }

    /// Collects what libcurl hands to the callbacks. Lives for one `perform` call only.
    private final class Accumulator {
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        let cancellation: CancellationFlag?
        init(cancellation: CancellationFlag?) { self.cancellation = cancellation }
    }

    private static func perform(_ request: HTTPRequest, handle h: UnsafeMutableRawPointer, host: String,
                                cancellation: CancellationFlag?) -> Result<HTTPResponse, HTTPError> {
        curl_easy_reset(h)  // keeps live connections, clears per-request options
        if cancellation?.isCancelled == true {
            return .failure(HTTPError(kind: .cancelled, host: host, detail: "cancelled before sending"))
        }
        let accumulator = Accumulator(cancellation: cancellation)
        let context = Unmanaged.passUnretained(accumulator).toOpaque()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }

        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // curl adds these on its own; an empty value removes them.
        headerList = curl_slist_append(headerList, "Expect:")
        headerList = curl_slist_append(headerList, "Accept:")
        if !request.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            headerList = curl_slist_append(headerList, "Content-Type:")
        }

        let timeoutMs = max(1, Int((request.timeout / .milliseconds(1)).rounded()))
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPtr in
            request.body.withUnsafeBufferPointer { bodyPtr in
                ccurl_setopt_string(h, CURLOPT_URL, request.url)
                ccurl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
                ccurl_setopt_long(h, CURLOPT_TIMEOUT_MS, timeoutMs)
                ccurl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, timeoutMs)
                ccurl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
                ccurl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
                ccurl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
                ccurl_setopt_long(h, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
                ccurl_setopt_string(h, CURLOPT_USERAGENT, "inventory-poller/\(InventoryVersion.current)")
                ccurl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorPtr.baseAddress)
                if request.bypassProxy { ccurl_setopt_string(h, CURLOPT_NOPROXY, "*") }
                ccurl_setopt_slist(h, CURLOPT_HTTPHEADER, headerList)
                ccurl_setopt_pointer(h, CURLOPT_WRITEDATA, context)
                ccurl_setopt_write_function(h) { ptr, size, count, userdata in
                    let n = size * count
                    guard let ptr, let userdata else { return n }
                    let acc = Unmanaged<Accumulator>.fromOpaque(userdata).takeUnretainedValue()
                    acc.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: n))
                    return n
                }
                ccurl_setopt_pointer(h, CURLOPT_HEADERDATA, context)
                ccurl_setopt_header_function(h) { ptr, size, count, userdata in
                    let n = size * count
                    guard let ptr, let userdata else { return n }
                    let acc = Unmanaged<Accumulator>.fromOpaque(userdata).takeUnretainedValue()
                    let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self)
                    if line.hasPrefix("HTTP/") {
                        acc.headers.removeAll()  // a new response (after a 100 or a redirect)
                    } else if let colon = line.firstIndex(of: ":") {
                        let name = String(line[..<colon])
                        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                        acc.headers.append((name, value))
                        // Size the body once: a 4 MB page must not grow by doubling to 8.
                        if name.lowercased() == "content-length", let length = Int(value), length < 1 << 30 {
                            acc.body.reserveCapacity(length)
                        }
                    }
                    return n
                }
                if cancellation != nil {
                    // Polled several times a second during a transfer: a stop request aborts it.
                    ccurl_setopt_long(h, CURLOPT_NOPROGRESS, 0)
                    ccurl_setopt_pointer(h, CURLOPT_XFERINFODATA, context)
                    ccurl_setopt_xferinfo_function(h) { userdata, _, _, _, _ in
                        guard let userdata else { return 0 }
                        let acc = Unmanaged<Accumulator>.fromOpaque(userdata).takeUnretainedValue()
                        return acc.cancellation?.isCancelled == true ? 1 : 0
                    }
                }
                switch request.method {
                case "GET":
                    ccurl_setopt_long(h, CURLOPT_HTTPGET, 1)
                case "POST":
                    ccurl_setopt_long(h, CURLOPT_POST, 1)
                default:
                    ccurl_setopt_long(h, CURLOPT_POST, 1)
                    ccurl_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method)
                }
                if request.method != "GET" {
                    ccurl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bodyPtr.count))
                    if let base = bodyPtr.baseAddress, bodyPtr.count > 0 {
                        ccurl_setopt_pointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: base))
                    } else {
                        ccurl_setopt_string(h, CURLOPT_COPYPOSTFIELDS, "")
                    }
                }
                return curl_easy_perform(h)
            }
        }

        guard code == CURLE_OK else {
            let buffered = errorBuffer.withUnsafeBufferPointer { String(validatingCString: $0.baseAddress!) } ?? ""
            let detail = buffered.isEmpty ? (String(validatingCString: curl_easy_strerror(code)) ?? "curl error \(code.rawValue)") : buffered
            return .failure(HTTPError(kind: kind(of: code), host: host, detail: detail))
        }
        var status = 0
        ccurl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: accumulator.headers, body: accumulator.body))
    }

    private static func kind(of code: CURLcode) -> HTTPError.Kind {
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .connectionFailed
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE: return .connectionReset
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE: return .tls
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: return .invalidURL
        case CURLE_ABORTED_BY_CALLBACK: return .cancelled
        default: return .other
        }
    }

    /// `host[:port]` of a URL, as it goes in the `Host` header and in log lines.
    public static func host(of url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        return String(rest)
    }
}
