@_spi(Bytes) import AWSCore
import Crypto
import Foundation

/// A MongoDB connection string as the operator wrote it: its redacted form, its host list,
/// and the secrets that must never reach a log.
///
/// The split is total and deliberately pessimistic, because libmongoc accepts URIs we would
/// not write (a raw `?` or `/` in the password) and the URIs it rejects are printed too:
/// - the value of an option that carries a credential (`authMechanismProperties`,
///   `tlsCertificateKeyFilePassword`, ...) is secret up to the next `&` or `;` that starts a
///   *known* option, so a raw `&` or `@` inside it stays inside it;
/// - everything between `://` and the *last* `@` outside those values is userinfo, whatever
///   it holds; its part after the first `:` is the password;
/// - a string without `://` is treated the same way from its first byte.
/// Every secret byte range becomes `****`. Each secret is also kept raw, percent-decoded and
/// percent-encoded, so `Redactor` can scrub any form of it from libmongoc's messages.
/// Never traps, for any input.
public struct MongoURI: Sendable {
    /// The URI with the password and every credential option replaced by `****`.
    public let redacted: String
    /// Just `host[:port],...`: for output that must not carry the URI at all.
    public let hosts: String
    /// Scrubs every form of this URI's secrets from a text.
    public let redactor: Redactor
    let raw: String

    /// Options whose value is a credential, lowercased.
    static let secretOptions: Set<String> = [
        "authmechanismproperties", "tlscertificatekeyfilepassword", "sslclientcertificatekeypassword",
        "sslcertificatekeyfilepassword", "password",
    ]

    /// libmongoc's option names (1.23), lowercased: where a secret option's value ends.
    static let knownOptions: Set<String> = [
        "appname", "authmechanism", "authmechanismproperties", "authsource", "canonicalizehostname", "compressors",
        "connecttimeoutms", "directconnection", "gssapiservicename", "heartbeatfrequencyms", "journal", "loadbalanced",
        "localthresholdms", "maxidletimems", "maxpoolsize", "maxstalenessseconds", "minpoolsize", "readconcernlevel",
        "readpreference", "readpreferencetags", "replicaset", "retryreads", "retrywrites", "safe", "serverselectiontimeoutms",
        "serverselectiontryonce", "slaveok", "sockettimeoutms", "srvservicename", "srvmaxhosts", "ssl",
        "sslallowinvalidcertificates", "sslallowinvalidhostnames", "sslcertificateauthorityfile", "sslclientcertificatekeyfile",
        "sslclientcertificatekeypassword", "sslcertificatekeyfilepassword", "tls", "tlsallowinvalidcertificates",
        "tlsallowinvalidhostnames", "tlscafile", "tlscertificatekeyfile", "tlscertificatekeyfilepassword",
        "tlsdisablecertificaterevocationcheck", "tlsdisableocspendpointcheck", "tlsinsecure", "w", "waitqueuemultiple",
        "waitqueuetimeoutms", "wtimeoutms", "zlibcompressionlevel", "maxconnecting", "timeoutms", "password",
    ]

    public init(_ uri: String) {
        raw = uri
        let bytes = Array(uri.utf8)
        let start = Self.schemeEnd(bytes)
        var secret = [Bool](repeating: false, count: bytes.count)
        var secrets: [String] = []
        for range in Self.secretOptionValues(bytes, from: start) {
            for i in range { secret[i] = true }
            let value = String(decoding: bytes[range], as: UTF8.self)
            secrets.append(value)
            // AWS_SESSION_TOKEN:abc,OTHER:def: each value is a secret on its own too.
            for pair in PercentEncoding.decode(value).split(separator: ",") {
                if let colon = pair.firstIndex(of: ":") { secrets.append(String(pair[pair.index(after: colon)...])) }
            }
        }
        /// Marks what lies between the userinfo's first `:` and `at` as the password.
        func markPassword(before at: Int) -> Bool {
            guard let colon = bytes[start..<at].firstIndex(of: UInt8(ascii: ":")) else { return false }
            for i in (colon + 1)..<at { secret[i] = true }
            secrets.append(String(decoding: bytes[(colon + 1)..<at], as: UTF8.self))
            return colon + 1 == at
        }
        var hostStart = start
        var emptyPasswordAt: Int?
        let at = bytes.indices[start...].last { bytes[$0] == UInt8(ascii: "@") && !secret[$0] }
        if let at {
            if markPassword(before: at) { emptyPasswordAt = at }
            hostStart = at + 1
        }
        // A password may itself hold something shaped like a secret option
        // ("&authMechanismProperties=…"), hiding the real `@` inside that option's value.
        // Both readings are redacted: the password up to the last `@` of all is secret too.
        if let lastAt = bytes.indices[start...].last(where: { bytes[$0] == UInt8(ascii: "@") }), lastAt != at {
            _ = markPassword(before: lastAt)
        }
        let hostEnd = bytes[hostStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? bytes.endIndex
        hosts = String(decoding: bytes[hostStart..<hostEnd], as: UTF8.self)
        redacted = Self.masked(bytes, secret, emptyPasswordAt: emptyPasswordAt)
        redactor = Redactor(secrets: secrets)
    }

    /// The redacted form of any string: the pure entry point for the fuzzer.
    public static func redact(_ uri: String) -> String {
        MongoURI(uri).redacted
    }

    /// A stable name for (hosts, database) that holds no secret: it tells a spool file which
    /// database it was meant for. Host order and case do not matter, nor the default port
    /// written out (`h` and `h:27017` are one server). Other spellings of one server
    /// (`localhost` and `127.0.0.1`) stay apart: which names meet is not this program's to know.
    public func databaseIdentity(_ database: String) -> String {
        let srv = raw.hasPrefix("mongodb+srv://")
        let normalised = hosts.lowercased().split(separator: ",").map { host in
            !srv && host.hasSuffix(":27017") ? String(host.dropLast(6)) : String(host)
        }
        return Self.identity(srv: srv, hosts: normalised, database: database)
    }

    /// The identities a spool file for this database may carry: `databaseIdentity`, and
    /// those earlier versions wrote (hosts as written, or with the default port written out).
    public func databaseIdentities(_ database: String) -> Set<String> {
        let srv = raw.hasPrefix("mongodb+srv://")
        let written = hosts.lowercased().split(separator: ",").map(String.init)
        let ported = written.map { host in
            srv || (host.split(separator: "]").last ?? "").contains(":") ? host : host + ":27017"
        }
        return [databaseIdentity(database), Self.identity(srv: srv, hosts: written, database: database),
                Self.identity(srv: srv, hosts: ported, database: database)]
    }

    static func identity(srv: Bool, hosts: [String], database: String) -> String {
        let hostList = hosts.sorted().joined(separator: ",")
        return Hex.encode(SHA256.hash(data: Array("\(srv ? "srv" : "std")|\(hostList)|\(database)".utf8)).prefix(8))
    }

    /// Where the authority starts: after `scheme://` when the string begins with a scheme
    /// (letters, digits, `+ - .`), else at 0, so a `://` inside a password is not a scheme.
    static func schemeEnd(_ bytes: [UInt8]) -> Int {
        guard let separator = find(Array("://".utf8), in: bytes), separator > 0,
              bytes[..<separator].allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { return 0 }
        return separator + 3
    }

    /// Byte ranges of the values of credential options: after `[?&;]name=`, up to the next
    /// `[&;]` that starts a known option, or the end.
    static func secretOptionValues(_ bytes: [UInt8], from start: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var i = start
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "?") || bytes[i] == UInt8(ascii: "&") || bytes[i] == UInt8(ascii: ";"),
                  let (name, valueStart) = optionName(bytes, at: i + 1), secretOptions.contains(name) else {
                i += 1
                continue
            }
            var end = valueStart
            while end < bytes.count {
                if bytes[end] == UInt8(ascii: "&") || bytes[end] == UInt8(ascii: ";"),
                   let (next, _) = optionName(bytes, at: end + 1), knownOptions.contains(next) { break }
                end += 1
            }
            ranges.append(valueStart..<end)
            i = max(end, i + 1)
        }
        return ranges
    }

    /// `name=` at `index` (ASCII letters and digits, lowercased), and where its value starts.
    static func optionName(_ bytes: [UInt8], at index: Int) -> (String, Int)? {
        var end = index
        while end < bytes.count, end - index < 64, isAlphanumeric(bytes[end]) { end += 1 }
        guard end > index, end < bytes.count, bytes[end] == UInt8(ascii: "=") else { return nil }
        return (String(decoding: bytes[index..<end], as: UTF8.self).lowercased(), end + 1)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    /// `bytes` with each run of secret bytes as `****`. An empty password shows as `****`
    /// too: whether there is one is not told.
    static func masked(_ bytes: [UInt8], _ secret: [Bool], emptyPasswordAt: Int?) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        var i = 0
        while i < bytes.count {
            if secret[i] {
                out += Array("****".utf8)
                while i < bytes.count, secret[i] { i += 1 }
                continue
            }
            if i == emptyPasswordAt { out += Array("****".utf8) }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }
}

extension MongoURI {
    /// Removes every form of a URI's secrets from text that may quote them: libmongoc 1.23
    /// has no redaction of its own, so each of its messages and errors goes through this.
    public struct Redactor: Sendable {
        /// Longest first, so a secret that contains another is scrubbed whole.
        let secrets: [String]
        /// Fragments of a secret shorter than this are left in messages: scrubbing every
        /// one- or two-letter piece would make them unreadable, and reveals little.
        static let minimumFragment = 4

        init(secrets raw: [String]) {
            var all = Set<String>()
            for secret in raw where !secret.isEmpty {
                let decoded = PercentEncoding.decode(secret)
                for form in [secret, decoded, PercentEncoding.encode(decoded), PercentEncoding.encode(decoded, lowercaseHex: true),
                             secret.removingPercentEncoding ?? secret] {
                    all.insert(form)
                }
                // libmongoc splits a URI at `/ ? @ , : & =`; the pieces of a password it quotes.
                let separators = Set("/?@,:&=;#[]".utf8)
                for form in [secret, decoded] {
                    for fragment in Array(form.utf8).split(whereSeparator: separators.contains) where fragment.count >= Self.minimumFragment {
                        all.insert(String(decoding: fragment, as: UTF8.self))
                    }
                }
            }
            secrets = all.filter { !$0.isEmpty }.sorted { $0.utf8.count > $1.utf8.count }
        }

        /// The union of several redactors: for the process-wide libmongoc log.
        init(merging redactors: [Redactor]) {
            secrets = Set(redactors.flatMap(\.secrets)).sorted { $0.utf8.count > $1.utf8.count }
        }

        /// Byte for byte, not by `Character`: a secret that begins with a combining mark must
        /// match inside any text. ASCII letters match in either case: libmongoc lowercases
        /// what it takes for a host name, and a piece of a password can end up there.
        public func redact(_ text: String) -> String {
            guard !secrets.isEmpty else { return text }
            var out = Array(text.utf8)
            let mask = Array("****".utf8)
            for secret in secrets {
                out = Self.replace(Array(secret.utf8), with: mask, in: out)
            }
            // A message cut short (bson_error_t holds 504 bytes) can end inside a secret.
            for secret in secrets.map({ Array($0.utf8) }) where secret.count > Self.minimumFragment {
                for length in stride(from: secret.count - 1, through: Self.minimumFragment, by: -1)
                where out.count >= length && Self.equal(out[(out.count - length)...], secret[..<length]) {
                    out = Array(out[..<(out.count - length)]) + mask
                    break
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        /// ASCII letters folded; every other byte as it is.
        static func fold(_ byte: UInt8) -> UInt8 {
            byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
        }

        static func equal(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { fold($0) == fold($1) }
        }

        static func replace(_ needle: [UInt8], with mask: [UInt8], in haystack: [UInt8]) -> [UInt8] {
            guard !needle.isEmpty, haystack.count >= needle.count else { return haystack }
            var out: [UInt8] = []
            out.reserveCapacity(haystack.count)
            let first = fold(needle[0])
            var i = 0
            while i < haystack.count {
                if fold(haystack[i]) == first, i + needle.count <= haystack.count, equal(haystack[i..<(i + needle.count)], needle[...]) {
                    out += mask
                    i += needle.count
                } else {
                    out.append(haystack[i])
                    i += 1
                }
            }
            return out
        }
    }
}
