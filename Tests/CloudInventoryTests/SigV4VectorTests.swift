@_spi(Bytes) import AWSCore
import CloudInventory
import Foundation
import Testing

/// The official SigV4 vectors, read from `../shared/testdata/sigv4/` (never copied into the repo).
/// Skipped when that folder is absent.
@Suite struct SigV4VectorTests {
    static let root = Harness.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/testdata/sigv4")
    static let available = FileManager.default.fileExists(atPath: root.path)
    static let date = UTCTime.parse("2015-08-30T12:36:00Z")!
    static let exampleCredentials = (key: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    /// Every folder under `dir` that holds a file ending in `marker`.
    static func cases(in dir: String, marker: String) -> [URL] {
        let base = root.appendingPathComponent(dir)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        var found = Set<URL>()
        for case let url as URL in walker where url.lastPathComponent.hasSuffix(marker) {
            found.insert(url.deletingLastPathComponent())
        }
        return found.sorted { $0.path < $1.path }
    }

    static func read(_ url: URL) -> String {
        String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self).replacingOccurrences(of: "\r", with: "")
    }

    /// Parses a raw vector request: request line, `Name:value` headers with folded
    /// continuation lines, blank line, body.
    static func parseRequest(_ text: String) -> SignableRequest {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        var target = String(requestLine.dropFirst(method.count + 1))
        if let r = target.range(of: " HTTP/", options: .backwards) { target = String(target[..<r.lowerBound]) }
        let pathPart = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [(String, String)] = []
        if pathPart.count > 1, !pathPart[1].isEmpty {
            for pair in pathPart[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append((String(kv[0]).removingPercentEncoding ?? String(kv[0]),
                              kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""))
            }
        }
        var headers: [(String, String)] = []
        var index = 0
        while index < lines.count, !lines[index].isEmpty {
            let line = lines[index]
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].1 += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
            index += 1
        }
        let body = lines.count > index + 1 ? lines[(index + 1)...].joined(separator: "\n") : ""
        return SignableRequest(method: method, path: String(pathPart[0]), query: query, headers: headers, body: Array(body.utf8))
    }

    @Test(.enabled(if: available, "../shared/testdata/sigv4 is absent"), arguments: cases(in: "aws-c-auth-v4", marker: "context.json"))
    func crtVector(_ dir: URL) throws {
        let context = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("context.json"))) as! [String: Any]
        let creds = context["credentials"] as! [String: String]
        var configuration = SigV4Signer.Configuration()
        configuration.normalizePath = context["normalize"] as? Bool ?? true
        configuration.signPayloadHeader = context["sign_body"] as? Bool ?? false
        configuration.omitSessionTokenFromSignature = context["omit_session_token"] as? Bool ?? false
        let signer = SigV4Signer(
            credentials: Credentials(accessKeyId: creds["access_key_id"]!, secretAccessKey: creds["secret_access_key"]!, sessionToken: creds["token"]),
            region: context["region"] as! String, service: context["service"] as! String, configuration: configuration)
        var request = Self.parseRequest(Self.read(dir.appendingPathComponent("request.txt")))
        let signature = signer.sign(&request, date: UTCTime.parse(context["timestamp"] as! String)!)
        #expect(signature.canonicalRequest == Self.read(dir.appendingPathComponent("header-canonical-request.txt")), "\(dir.lastPathComponent)")
        #expect(signature.stringToSign == Self.read(dir.appendingPathComponent("header-string-to-sign.txt")), "\(dir.lastPathComponent)")
        #expect(signature.signature == Self.read(dir.appendingPathComponent("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
        // The whole signed request, headers compared as a set.
        let expected = Self.parseRequest(Self.read(dir.appendingPathComponent("header-signed-request.txt")))
        let mine = Set(request.headers.map { "\($0.0.lowercased()):\($0.1)" })
        let theirs = Set(expected.headers.map { "\($0.0.lowercased()):\($0.1)" })
        #expect(mine == theirs, "\(dir.lastPathComponent)")
    }

    /// All 34 cases, including the four botocore skips (a space in the request line, repeated
    /// query keys): the signer handles them, so nothing is left out.
    @Test(.enabled(if: available, "../shared/testdata/sigv4 is absent"),
          arguments: cases(in: "aws4_testsuite", marker: ".req"))
    func officialSuite(_ dir: URL) throws {
        let name = dir.lastPathComponent
        let file = { (ext: String) in dir.appendingPathComponent("\(name).\(ext)") }
        let creq = Self.read(file("creq"))
        // The suite's `.req` files omit the token; it sits in `.creq` (signed) or `readme.txt` (unsigned).
        var token = creq.components(separatedBy: "\n").first { $0.hasPrefix("x-amz-security-token:") }.map { String($0.dropFirst("x-amz-security-token:".count)) }
        var configuration = SigV4Signer.Configuration()
        if name == "post-sts-header-after" {
            let sreq = Self.read(file("sreq"))
            token = sreq.components(separatedBy: "\n").first { $0.lowercased().hasPrefix("x-amz-security-token:") }.map { String($0.split(separator: ":", maxSplits: 1)[1]) }
            configuration.omitSessionTokenFromSignature = true
        }
        let signer = SigV4Signer(
            credentials: Credentials(accessKeyId: Self.exampleCredentials.key, secretAccessKey: Self.exampleCredentials.secret, sessionToken: token),
            region: "us-east-1", service: "service", configuration: configuration)
        var request = Self.parseRequest(Self.read(file("req")))
        let signature = signer.sign(&request, date: Self.date)
        #expect(signature.canonicalRequest == creq, "\(name)")
        #expect(signature.stringToSign == Self.read(file("sts")), "\(name)")
        #expect(signature.authorization == Self.read(file("authz")), "\(name)")
    }
}
