import CCurl
import Foundation

/// One request on a libcurl easy handle: options set, callbacks collecting the response,
/// the outcome mapped to `HTTPResponse` or a typed `HTTPError`.
struct HTTPTransfer {
    let request: HTTPRequest
    let host: String
    let configuration: HTTPClient.Configuration
    let cancellation: CancellationFlag?

    /// Collects what libcurl hands to the callbacks. Lives for one `perform` call only.
    private final class Accumulator {
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        let limit: Int
        /// Set when the body (announced or received) passed `limit`: the transfer was aborted.
        var tooLarge = false
        let cancellation: CancellationFlag?
        init(limit: Int, cancellation: CancellationFlag?) {
            self.limit = max(0, limit)
            self.cancellation = cancellation
        }
    }

    func perform(handle h: UnsafeMutableRawPointer) -> Result<HTTPResponse, HTTPError> {
        unsafe curl_easy_reset(h)  // keeps live connections, clears per-request options
        if cancellation?.isCancelled == true {
            return .failure(HTTPError(.cancelled, host: host, detail: "cancelled before sending"))
        }
        let accumulator = Accumulator(limit: request.maxResponseBytes, cancellation: cancellation)
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let headerList = unsafe makeHeaderList()
        defer { unsafe curl_slist_free_all(headerList) }

        // The error buffer, the body and the accumulator (passed unretained) outlive the
        // transfer: libcurl uses them only inside `curl_easy_perform`, which returns in here.
        let code: CURLcode = unsafe errorBuffer.withUnsafeMutableBufferPointer { errorPtr in
            unsafe request.body.withUnsafeBufferPointer { bodyPtr in
                unsafe setOptions(h, errorBuffer: errorPtr.baseAddress, headers: headerList)
                unsafe setCallbacks(h, context: Unmanaged.passUnretained(accumulator).toOpaque())
                unsafe setMethod(h, body: bodyPtr)
                return unsafe curl_easy_perform(h)
            }
        }
        if accumulator.tooLarge || code == CURLE_FILESIZE_EXCEEDED {
            return .failure(HTTPError(.bodyTooLarge, host: host,
                                      detail: "response body larger than \(HTTPError.size(request.maxResponseBytes))"))
        }
        guard code == CURLE_OK else {
            let buffered = unsafe errorBuffer.withUnsafeBufferPointer { unsafe String(validatingCString: $0.baseAddress!) } ?? ""
            let detail = unsafe buffered.isEmpty ? (String(validatingCString: curl_easy_strerror(code)) ?? "curl error \(code.rawValue)") : buffered
            // A timeout before any connection is a host that cannot be reached (not on EC2, a
            // dropped route), not a slow answer (a container's IMDS hop limit): say which.
            var connected: curl_off_t = 0
            if code == CURLE_OPERATION_TIMEDOUT, unsafe ccurl_getinfo_off(h, CURLINFO_CONNECT_TIME_T, &connected) == CURLE_OK, connected == 0 {
                return .failure(HTTPError(.connectionFailed, host: host, detail: "no connection before the timeout (\(detail))"))
            }
            return .failure(error(code, detail: detail))
        }
        var status = 0
        unsafe ccurl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: accumulator.headers, body: accumulator.body))
    }

    private func makeHeaderList() -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers {
            unsafe list = unsafe curl_slist_append(list, "\(name): \(value)")
        }
        // curl adds these on its own; an empty value removes them.
        unsafe list = unsafe curl_slist_append(list, "Expect:")
        unsafe list = unsafe curl_slist_append(list, "Accept:")
        if !request.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            unsafe list = unsafe curl_slist_append(list, "Content-Type:")
        }
        return unsafe list
    }

    private func setOptions(_ h: UnsafeMutableRawPointer, errorBuffer: UnsafeMutablePointer<CChar>?,
                            headers: UnsafeMutablePointer<curl_slist>?) {
        let timeoutMs = max(1, Int((request.timeout / .milliseconds(1)).rounded()))
        unsafe ccurl_setopt_string(h, CURLOPT_URL, request.url)
        unsafe ccurl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        unsafe ccurl_setopt_long(h, CURLOPT_TIMEOUT_MS, timeoutMs)
        unsafe ccurl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, timeoutMs)
        // Verification is always on. A CA bundle replaces the system store, as in the SDKs.
        unsafe ccurl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
        unsafe ccurl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
        if let caBundle = configuration.caBundle {
            unsafe ccurl_setopt_string(h, CURLOPT_CAINFO, caBundle)
            unsafe ccurl_setopt_null(h, CURLOPT_CAPATH)
        }
        unsafe ccurl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
        unsafe ccurl_setopt_long(h, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
        // Refuses a body whose Content-Length is over the cap before any of it is read.
        unsafe ccurl_setopt_off(h, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(max(0, request.maxResponseBytes)))
        unsafe ccurl_setopt_string(h, CURLOPT_USERAGENT, "inventory-poller/\(InventoryVersion.current)")
        unsafe ccurl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer)
        if request.bypassProxy { unsafe ccurl_setopt_string(h, CURLOPT_NOPROXY, "*") }
        unsafe ccurl_setopt_slist(h, CURLOPT_HTTPHEADER, headers)
    }

    private func setCallbacks(_ h: UnsafeMutableRawPointer, context: UnsafeMutableRawPointer) {
        unsafe ccurl_setopt_pointer(h, CURLOPT_WRITEDATA, context)
        unsafe ccurl_setopt_write_function(h) { ptr, size, count, userdata in
            let n = size * count
            guard let ptr = unsafe ptr, let userdata = unsafe userdata else { return n }
            // `userdata` is the accumulator `perform` keeps alive; `ptr` holds `n` bytes for this call.
            let acc = unsafe Unmanaged<Accumulator>.fromOpaque(userdata).takeUnretainedValue()
            // A chunked or lying body is cut off here, while it streams: returning a short
            // count makes libcurl abort the transfer.
            guard acc.body.count + n <= acc.limit else {
                acc.tooLarge = true
                return 0
            }
            unsafe acc.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: n))
            return n
        }
        unsafe ccurl_setopt_pointer(h, CURLOPT_HEADERDATA, context)
        unsafe ccurl_setopt_header_function(h) { ptr, size, count, userdata in
            let n = size * count
            guard let ptr = unsafe ptr, let userdata = unsafe userdata else { return n }
            // As in the write callback: a live accumulator, `n` bytes at `ptr` for this call.
            let acc = unsafe Unmanaged<Accumulator>.fromOpaque(userdata).takeUnretainedValue()
            let line = unsafe String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self)
            if line.hasPrefix("HTTP/") {
                acc.headers.removeAll()  // a new response (after a 100 or a redirect)
            } else if let colon = line.firstIndex(of: ":") {
                let name = String(line[..<colon])
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                acc.headers.append((name, value))
                if name.lowercased() == "content-length", let length = Int(value), length >= 0 {
                    guard length <= acc.limit else {
                        acc.tooLarge = true
                        return 0
                    }
                    // Size the body once: a 4 MB page must not grow by doubling to 8. A
                    // large one reuses an earlier page's storage (`ByteBufferPool`).
                    if acc.body.isEmpty, acc.body.capacity < length {
                        acc.body = ByteBufferPool.shared.take(minimumCapacity: length)
                    } else {
                        acc.body.reserveCapacity(length)
                    }
                }
            }
            return n
        }
        if cancellation != nil {
            // Polled several times a second during a transfer: a stop request aborts it.
            unsafe ccurl_setopt_long(h, CURLOPT_NOPROGRESS, 0)
            unsafe ccurl_setopt_pointer(h, CURLOPT_XFERINFODATA, context)
            unsafe ccurl_setopt_xferinfo_function(h) { userdata, _, _, _, _ in
                guard let userdata = unsafe userdata else { return 0 }
                let acc = unsafe Unmanaged<Accumulator>.fromOpaque(userdata).takeUnretainedValue()
                return acc.cancellation?.isCancelled == true ? 1 : 0
            }
        }
    }

    private func setMethod(_ h: UnsafeMutableRawPointer, body bodyPtr: UnsafeBufferPointer<UInt8>) {
        switch request.method {
        case "GET":
            unsafe ccurl_setopt_long(h, CURLOPT_HTTPGET, 1)
        case "POST":
            unsafe ccurl_setopt_long(h, CURLOPT_POST, 1)
        default:
            unsafe ccurl_setopt_long(h, CURLOPT_POST, 1)
            unsafe ccurl_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method)
        }
        if request.method != "GET" {
            unsafe ccurl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bodyPtr.count))
            if let base = bodyPtr.baseAddress, bodyPtr.count > 0 {
                // Not copied: the body stays borrowed until `curl_easy_perform` returns; libcurl only reads it.
                unsafe ccurl_setopt_pointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: base))
            } else {
                unsafe ccurl_setopt_string(h, CURLOPT_COPYPOSTFIELDS, "")
            }
        }
    }

    private func error(_ code: CURLcode, detail: String) -> HTTPError {
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPError(.timeout, host: host, detail: detail)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return HTTPError(.connectionFailed, host: host, detail: detail)
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE:
            return HTTPError(.connectionReset, host: host, detail: detail)
        case CURLE_SSL_CACERT_BADFILE:
            return HTTPError(.configuration, host: host,
                             detail: "AWS_CA_BUNDLE \(configuration.caBundle ?? "(system store)") cannot be used: \(detail)")
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM:
            return HTTPError(.tls, host: host, detail: detail)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return HTTPError(.invalidURL, host: host, detail: detail)
        case CURLE_ABORTED_BY_CALLBACK:
            return HTTPError(.cancelled, host: host, detail: detail)
        default:
            return HTTPError(.other, host: host, detail: detail)
        }
    }
}
