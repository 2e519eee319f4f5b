/// RFC 3986 percent-encoding as AWS defines it for SigV4 and the Query protocol:
/// only `A-Z a-z 0-9 - _ . ~` stay literal, everything else is `%XX` of its UTF-8
/// bytes, upper-case hex. Foundation's `addingPercentEncoding` keeps other
/// characters (`+`, `=`, `/` in some sets), so it cannot be used here.
package enum PercentEncoding {
    private static let hexDigits = Array("0123456789ABCDEF".utf8)
    private static let lowercaseHexDigits = Array("0123456789abcdef".utf8)

    package static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
             UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Encodes `string`; `keepSlash` is for URI paths, where `/` separates segments.
    /// `lowercaseHex` writes `%2f` instead of `%2F`: AWS wants upper case, but a MongoDB URI
    /// may carry either, and its redactor must recognise both.
    package static func encode(_ string: String, keepSlash: Bool = false, lowercaseHex: Bool = false) -> String {
        let hexDigits = lowercaseHex ? Self.lowercaseHexDigits : Self.hexDigits
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        for b in string.utf8 {
            if isUnreserved(b) || (keepSlash && b == UInt8(ascii: "/")) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes well-formed `%XX` escapes and keeps every other byte (`+` stays `+`, as in SigV4
    /// canonical form; a stray `%` stays, as libmongoc reads a URI).
    package static func decode(_ string: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(string.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
               let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// `application/x-www-form-urlencoded` body for the Query protocol, keys in the given order.
    /// Space becomes `+`, as in botocore's requests (Python's `urlencode`), so the bytes on the
    /// wire are the ones the SDKs send; everything but the unreserved set is `%XX`.
    package static func formBody(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
    }

    package static func formEncode(_ string: String) -> String {
        guard string.utf8.contains(UInt8(ascii: " ")) else { return encode(string) }
        return string.split(separator: " ", omittingEmptySubsequences: false).map { encode(String($0)) }.joined(separator: "+")
    }
}

@_spi(Bytes) public enum Hex {
    @usableFromInline static let digits = Array("0123456789abcdef".utf8)

    @inlinable @_spi(Bytes) public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        // A digest prefix does not know its length: room for 16 bytes, grown only past that.
        out.reserveCapacity(2 * max(bytes.underestimatedCount, 16))
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
