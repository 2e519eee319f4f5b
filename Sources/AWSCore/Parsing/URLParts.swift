/// The parts of an `http` or `https` URL this program needs: scheme, host, port and path.
///
/// One small total parser, so the signed `Host` header, the log lines and the request path
/// all come from the same reading of an endpoint. It throws on anything it cannot read
/// instead of guessing. (MongoDB URIs are not URLs: several hosts, raw reserved characters in
/// passwords. They have their own parser in `Storage`.)
public struct URLParts: Sendable, Equatable {
    /// Lower-cased, without `://`.
    public var scheme: String
    /// As written, IPv6 literals keep their brackets (`[::1]`), so `host:port` stays readable.
    public var host: String
    /// Given explicitly in the URL, or nil.
    public var port: Int?
    /// From the first `/` after the authority, query and fragment left out; `/` when empty.
    public var path: String

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let url: String
        public let reason: String
        public var description: String { "not a usable URL (\(reason)): \(url)" }
    }

    public init(_ url: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(url: url, reason: reason) }
        guard let separator = url.range(of: "://") else { throw fail("no scheme") }
        let scheme = url[..<separator.lowerBound].lowercased()
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }) else {
            throw fail("bad scheme")
        }
        var rest = url[separator.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw fail("unclosed IPv6 bracket") }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("text after IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard host.count > (host.hasPrefix("[") ? 2 : 0) else { throw fail("no host") }
        guard !host.contains(where: { $0.isWhitespace || $0.isNewline }) else { throw fail("space in host") }
        var port: Int?
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int(portText), value <= 65535 else { throw fail("bad port") }
            port = value
        }
        let pathEnd = rest.firstIndex { $0 == "?" || $0 == "#" } ?? rest.endIndex
        let path = rest[..<pathEnd]
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.path = path.isEmpty ? "/" : String(path)
    }

    /// The port a client connects to: the explicit one, else the scheme's default.
    public var effectivePort: Int? {
        port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : nil)
    }

    /// `host[:port]` as it goes in the `Host` header: the port only when it is not the
    /// scheme's default, as libcurl and botocore both write it.
    public var hostHeader: String {
        guard let port, !(scheme == "https" && port == 443), !(scheme == "http" && port == 80) else { return host }
        return "\(host):\(port)"
    }
}
