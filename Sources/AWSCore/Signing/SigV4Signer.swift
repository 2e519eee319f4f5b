import Crypto
import Foundation

/// An HTTP request in the form SigV4 needs: the path and query are unencoded, the
/// signer does the canonical encoding itself, so the same value can be signed and sent.
public struct SignableRequest: Sendable {
    public var method: String
    /// The unencoded path, e.g. `/` or `/example space/`.
    public var path: String
    /// Unencoded query parameters; order does not matter, duplicates are allowed.
    public var query: [(String, String)]
    /// Header names as they will be sent; values raw. `Host` must be present.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String, path: String = "/", query: [(String, String)] = [],
                headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The encoded query string (`a=b&c=d`) to put on the wire, in the order given.
    public var encodedQuery: String {
        query.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.0.lowercased() == name.lowercased() }
        headers.append((name, value))
    }
}

/// AWS Signature Version 4 (header signing), on swift-crypto.
///
/// It follows the published algorithm, the official vectors and botocore: every header
/// given is signed; `X-Amz-Date` and the session token header are added (and signed)
/// before signing, `Authorization` after.
public struct SigV4Signer: Sendable {
    public struct Configuration: Sendable {
        /// Remove `.`/`..` segments and duplicate slashes from the path (every service but S3).
        public var normalizePath: Bool = true
        /// Add and sign `x-amz-content-sha256`. An S3 convention; EC2 and STS don't use it.
        public var signPayloadHeader: Bool = false
        /// Add the session token after signing (unsigned). Some services want that; ours don't.
        public var omitSessionTokenFromSignature: Bool = false
        public init() {}
    }

    public var credentials: Credentials
    public var region: String
    public var service: String
    public var configuration: Configuration

    public init(credentials: Credentials, region: String, service: String, configuration: Configuration = .init()) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.configuration = configuration
    }

    /// The intermediate values, exposed for the vector tests and for debugging a mismatch.
    public struct Signature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var authorization: String
    }

    /// Signs `request` in place: adds `X-Amz-Date`, the token header and `Authorization`.
    @discardableResult
    public func sign(_ request: inout SignableRequest, date: Date) -> Signature {
        let amzDate = UTCTime.amzDate(date)
        request.setHeader("X-Amz-Date", amzDate)
        let payloadHash = Hex.encode(SHA256.hash(data: request.body))
        if configuration.signPayloadHeader {
            request.setHeader("X-Amz-Content-Sha256", payloadHash)
        }
        if let token = credentials.sessionToken, !configuration.omitSessionTokenFromSignature {
            request.setHeader("X-Amz-Security-Token", token)
        }
        let result = signature(for: request, amzDate: amzDate, payloadHash: payloadHash)
        if let token = credentials.sessionToken, configuration.omitSessionTokenFromSignature {
            request.setHeader("X-Amz-Security-Token", token)
        }
        request.setHeader("Authorization", result.authorization)
        return result
    }

    func signature(for request: SignableRequest, amzDate: String, payloadHash: String) -> Signature {
        let scopeDate = String(amzDate.prefix(8))
        let scope = "\(scopeDate)/\(region)/\(service)/aws4_request"
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers)
        let canonicalRequest = [
            request.method.uppercased(),
            canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let stringToSign = [
            "AWS4-HMAC-SHA256",
            amzDate,
            scope,
            Hex.encode(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let key = signingKey(scopeDate: scopeDate)
        let signature = Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign,
                         signature: signature, authorization: authorization)
    }

    private func signingKey(scopeDate: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ data: String) -> SymmetricKey {
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(data.utf8), using: key))
        }
        let kSecret = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        return hmac(hmac(hmac(hmac(kSecret, scopeDate), region), service), "aws4_request")
    }

    func canonicalURI(_ path: String) -> String {
        let p = path.isEmpty ? "/" : path
        return PercentEncoding.encode(configuration.normalizePath ? Self.normalize(p) : p, keepSlash: true)
    }

    /// RFC 3986 dot-segment removal plus collapsing of empty segments, keeping a trailing slash.
    static func normalize(_ path: String) -> String {
        var out: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !out.isEmpty { out.removeLast() }
            default: out.append(segment)
            }
        }
        var result = "/" + out.joined(separator: "/")
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last
        if path.hasSuffix("/") || last == "." || last == "..", result != "/" { result += "/" }
        return result
    }

    static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (PercentEncoding.encode($0.0), PercentEncoding.encode($0.1)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-cased names, sorted; values trimmed with inner whitespace runs folded to one
    /// space; repeated names joined with commas in the order they were given.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (canonical: String, signed: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let folded = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                .joined(separator: " ")
            merged[name.lowercased(), default: []].append(folded)
        }
        let names = merged.keys.sorted()
        let canonical = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }
}
