@_spi(Bytes) import AWSCore

/// The rules a connection string must follow before libmongoc sees it.
///
/// libmongoc 1.23 splits a URI its own way (the user information at the *first* `@`, the
/// authority at the first `/`) and quotes what it split in its messages, so an ambiguous URI
/// could put a piece of the password where a host belongs, and from there into a log line.
/// The MongoDB connection string specification says the user name and password percent-encode
/// `: / ? # [ ] @` and `%`; a URI that does not is refused here, before any parse, with one
/// line that names the rule and quotes nothing of the URI but its redacted form.
extension MongoURI {
    /// Authentication mechanisms libmongoc 1.23 knows. Any other fails only when the first
    /// command authenticates, which would read as an outage (exit 5), not a bad setting.
    static let mechanisms = ["SCRAM-SHA-1", "SCRAM-SHA-256", "MONGODB-X509", "MONGODB-AWS", "GSSAPI", "PLAIN", "MONGODB-CR"]

    /// Why this URI is malformed, or nil. Never quotes the password (nor any of the URI
    /// but its host list, checked after the user information is known to be unambiguous).
    public var problem: String? {
        let bytes = Array(raw.utf8)
        guard raw.hasPrefix("mongodb://") || raw.hasPrefix("mongodb+srv://") else {
            return "not mongodb:// or mongodb+srv://"
        }
        let start = Self.schemeEnd(bytes)
        if let bad = Self.badEscape(bytes) {
            return "a '%' at byte \(bad) is not followed by two hex digits: percent-encode % in the password (and anywhere else) as %25"
        }
        var secret = [Bool](repeating: false, count: bytes.count)
        for range in Self.secretOptionValues(bytes, from: start) { for i in range { secret[i] = true } }
        let ats = bytes.indices[start...].filter { bytes[$0] == UInt8(ascii: "@") && !secret[$0] }
        if ats.count > 1 {
            return "more than one '@': percent-encode @ in the password (and anywhere else) as %40"
        }
        var hostStart = start
        if let at = ats.first {
            let userinfo = bytes[start..<at]
            if userinfo.contains(where: { "/?#[]".utf8.contains($0) }) || userinfo.filter({ $0 == UInt8(ascii: ":") }).count > 1 {
                return "the user name or password (all before the '@') holds a raw : / ? # [ or ]: "
                    + "percent-encode them (: as %3A, / as %2F, ? as %3F, # as %23, [ as %5B, ] as %5D; @ as %40)"
            }
            hostStart = at + 1
        }
        // Without the '/', libmongoc looks for the user information in the options too, and
        // takes an '@' in a password option's value for its end.
        if let question = bytes[start...].firstIndex(of: UInt8(ascii: "?")), !bytes[start..<question].contains(UInt8(ascii: "/")) {
            return "the options must follow a '/': write mongodb://hosts/?options"
        }
        let hostEnd = bytes[hostStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? bytes.endIndex
        if let bad = Self.hostListProblem(bytes[hostStart..<hostEnd], srv: raw.hasPrefix("mongodb+srv://")) { return bad }
        if let mechanism = Self.optionValue("authmechanism", in: bytes, from: hostEnd),
           !Self.mechanisms.contains(where: { $0.caseInsensitiveCompare(mechanism) == .orderedSame }) {
            return "authMechanism \"\(mechanism.prefix(40))\" is not one of \(Self.mechanisms.joined(separator: ", "))"
        }
        return nil
    }

    /// The offset of a `%` that does not start `%XX`.
    static func badEscape(_ bytes: [UInt8]) -> Int? {
        func isHex(_ i: Int) -> Bool {
            i < bytes.count && (bytes[i] >= 48 && bytes[i] <= 57 || bytes[i] | 0x20 >= 97 && bytes[i] | 0x20 <= 102)
        }
        return bytes.indices.first { bytes[$0] == UInt8(ascii: "%") && !(isHex($0 + 1) && isHex($0 + 2)) }
    }

    /// `host[:port]` or `[ipv6][:port]`, comma separated; one host and no port for `+srv`.
    static func hostListProblem(_ list: ArraySlice<UInt8>, srv: Bool) -> String? {
        let hosts = list.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard !list.isEmpty, !hosts.contains(where: \.isEmpty) else { return "the host list is empty or has an empty entry" }
        if srv, hosts.count != 1 || list.contains(UInt8(ascii: ":")) { return "mongodb+srv:// takes one host name and no port" }
        for (n, host) in hosts.enumerated() {
            var port: ArraySlice<UInt8>?
            if host.first == UInt8(ascii: "[") {
                guard let close = host.firstIndex(of: UInt8(ascii: "]")), close > host.startIndex + 1 else {
                    return "host \(n + 1) opens an IPv6 address with '[' but never closes it with ']'"
                }
                let rest = host[(close + 1)...]
                if !rest.isEmpty {
                    guard rest.first == UInt8(ascii: ":") else { return "host \(n + 1) has text after its IPv6 address" }
                    port = rest.dropFirst()
                }
            } else {
                if host.contains(where: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") }) { return "host \(n + 1) holds a stray '[' or ']'" }
                let parts = host.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
                guard parts.count <= 2, !parts[0].isEmpty else { return "host \(n + 1) is not host[:port] (an IPv6 address goes in [ ])" }
                if parts.count == 2 { port = parts[1] }
            }
            if let port {
                guard (1...5).contains(port.count), port.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                      let value = Int(String(decoding: port, as: UTF8.self)), (1...65535).contains(value) else {
                    return "the port of host \(n + 1) is not a number from 1 to 65535"
                }
            }
        }
        return nil
    }

    /// The percent-decoded value of option `name` (lowercased) after `[?&;]`, from `start`.
    static func optionValue(_ name: String, in bytes: [UInt8], from start: Int) -> String? {
        var i = start
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "?") || bytes[i] == UInt8(ascii: "&") || bytes[i] == UInt8(ascii: ";"),
               let (found, valueStart) = optionName(bytes, at: i + 1), found == name {
                let end = bytes[valueStart...].firstIndex { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: ";") } ?? bytes.endIndex
                return PercentEncoding.decode(String(decoding: bytes[valueStart..<end], as: UTF8.self))
            }
            i += 1
        }
        return nil
    }
}
