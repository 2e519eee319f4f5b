import AWSCore
import CloudInventory
import Foundation
import Testing

/// Deterministic pseudo-random numbers (SplitMix64), so a failing case can be reproduced.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// botocore as the oracle: the same generated requests signed by both must produce the same
/// canonical request, Authorization header and form body.
@Suite struct SigV4BotocoreTests {
    static let valueAlphabet: [String] = Array("abcXYZ019-_.~").map(String.init) + ["+", "/", "=", "&", "%", " ", "é", "東", "🚀", "?", "#", "'", "\"", "<"]
    static let headerAlphabet: [String] = Array("abcXYZ019-_.~+/=&%?#;:,'\"()<>").map(String.init) + [" ", "  "]

    static func word(_ alphabet: [String], _ rng: inout SeededGenerator, max: Int = 12, min: Int = 0) -> String {
        (0..<Int.random(in: min...max, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
    }

    struct Case {
        var json: [String: Any]
        var request: SignableRequest
        var signer: SigV4Signer
        var date: Date
        var url: String
    }

    static func makeCase(_ rng: inout SeededGenerator) -> Case {
        let method = Bool.random(using: &rng) ? "POST" : "GET"
        let host = ["ec2.us-east-1.amazonaws.com", "sts.eu-west-1.amazonaws.com", "127.0.0.1:5000"].randomElement(using: &rng)!
        let path = ["/", "/", "/a/b", "/with space/é", "/x/./y/../z"].randomElement(using: &rng)!
        var query: [(String, String)] = []
        var usedKeys = Set<String>()
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            let key = word(valueAlphabet, &rng, max: 8, min: 1)
            if usedKeys.insert(key).inserted { query.append((key, word(valueAlphabet, &rng))) }
        }
        var form: [(String, String)] = []
        if method == "POST" {
            form = [("Action", "DescribeInstances"), ("Version", "2016-11-15")]
            for i in 0..<Int.random(in: 0...6, using: &rng) {
                form.append(("Filter.\(i + 1).Value", word(valueAlphabet, &rng, max: 20)))
            }
        }
        var headers: [(String, String)] = [("Host", host)]
        if method == "POST" { headers.append(("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")) }
        var usedNames: Set<String> = ["host", "content-type"]
        for _ in 0..<Int.random(in: 0...5, using: &rng) {
            let name = "X-Test-" + word(Array("abcdefghij0123456789-").map(String.init), &rng, max: 8, min: 1)
            if usedNames.insert(name.lowercased()).inserted {
                headers.append((name, " " + word(headerAlphabet, &rng, max: 16) + "  "))
            }
        }
        let token: String? = Bool.random(using: &rng) ? "FQoG" + word(Array("ABCdef012+/=").map(String.init), &rng, max: 60, min: 20) : nil
        let secret = word(Array("ABCDEFabcdef0123456789+/").map(String.init), &rng, max: 40, min: 40)
        let region = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"].randomElement(using: &rng)!
        let service = ["ec2", "sts", "service"].randomElement(using: &rng)!
        let date = Date(timeIntervalSince1970: Double(Int.random(in: 1_400_000_000...1_900_000_000, using: &rng)))
        let body = Array(form.map { "\(PercentEncodingForTests.encode($0.0))=\(PercentEncodingForTests.encode($0.1))" }.joined(separator: "&").utf8)
        let request = SignableRequest(method: method, path: path, query: query, headers: headers, body: body)
        let signer = SigV4Signer(credentials: Credentials(accessKeyId: "AKIATEST", secretAccessKey: secret, sessionToken: token),
                                 region: region, service: service)
        var json: [String: Any] = [
            "method": method,
            "url": "http://\(host)\(path)",
            "headers": headers.map { [$0.0, $0.1] },
            "query": query.map { [$0.0, $0.1] },
            "form": form.map { [$0.0, $0.1] },
            "access_key": "AKIATEST",
            "secret_key": secret,
            "region": region,
            "service": service,
            "timestamp": UTCTimeForTests.amzDate(date),
        ]
        if let token { json["token"] = token }
        return Case(json: json, request: request, signer: signer, date: date, url: "http://\(host)\(path)")
    }

    @Test func agreesWithBotocoreOnGeneratedRequests() throws {
        var rng = SeededGenerator(state: 20261125)
        var cases = (0..<300).map { _ in Self.makeCase(&rng) }
        let input = try JSONSerialization.data(withJSONObject: cases.map(\.json))
        let result = try runPython("oracle.py", ["sign"], stdin: input)
        try #require(result.status == 0, "oracle failed: \(result.stderr)")
        let expected = try parseJSON(result.stdout) as! [[String: String]]
        try #require(expected.count == cases.count)
        for i in cases.indices {
            let signature = cases[i].signer.sign(&cases[i].request, date: cases[i].date)
            #expect(String(decoding: cases[i].request.body, as: UTF8.self) == expected[i]["body"], "case \(i): form body")
            #expect(signature.canonicalRequest == expected[i]["canonical_request"], "case \(i): \(cases[i].json)")
            #expect(signature.authorization == expected[i]["authorization"], "case \(i)")
            if let token = cases[i].json["token"] as? String {
                #expect(cases[i].request.header("X-Amz-Security-Token") == token)
            }
        }
    }
}

/// Test-side mirrors of two internal helpers, written independently of the library code.
enum PercentEncodingForTests {
    static func encode(_ s: String) -> String {
        var allowed = CharacterSet()
        allowed.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        allowed.insert(" ")
        return s.addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: " ", with: "+")
    }
}

enum UTCTimeForTests {
    static func amzDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}
