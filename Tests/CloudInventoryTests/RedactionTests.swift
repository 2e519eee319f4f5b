@_spi(Bytes) @testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging
import Synchronization
import Testing

/// No form of a MongoDB password ever reaches output: generated passwords with reserved,
/// percent and unicode characters, through every path that prints.
@Suite struct RedactionTests {
    /// Collects every log line, for the libmongoc log path.
    final class Capture: LogHandler, @unchecked Sendable {
        let lines = Mutex<[String]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lines.withLock { $0.append("\(event.message) \(event.metadata ?? [:])") }
        }
    }

    /// A password of random reserved, percent-escaped, unicode and plain pieces around a
    /// random 6-letter core, so that none of its forms occurs in a message by chance.
    static func randomPassword(using rng: inout some RandomNumberGenerator) -> String {
        let pieces = ["@", ":", "/", "?", "#", "[", "]", "%", "%40", "%2F", "%3f", "%25", "%zz", "&", "=", ",", ";", "+", " ",
                      "é", "日本", "🔑", "e\u{301}", "\u{301}", "ß", "a", "Z", "9", "-", "_", "~", "."]
        let letters = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ")
        let core = String((0..<6).map { _ in letters.randomElement(using: &rng)! })
        var parts = (0..<Int.random(in: 2...10, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }
        parts.insert(core, at: Int.random(in: 0...parts.count, using: &rng))
        return parts.joined()
    }

    /// Every form a password may take in text: raw, decoded, encoded (either hex case).
    static func forms(_ password: String) -> [String] {
        let decoded = PercentEncoding.decode(password)
        return Array(Set([password, decoded, PercentEncoding.encode(decoded), PercentEncoding.encode(decoded, lowercaseHex: true),
                          PercentEncoding.encode(password)]))
    }

    /// The URI shapes operators write, around one password.
    static func uris(_ password: String, port: String = "1") -> [String] {
        let encoded = PercentEncoding.encode(password)
        let fast = "serverSelectionTimeoutMS=50&connectTimeoutMS=50"
        return [
            "mongodb://poller:\(password)@127.0.0.1:\(port)/?\(fast)",
            "mongodb://poller:\(encoded)@127.0.0.1:\(port)/inventory?\(fast)",
            "mongodb://poller:\(password)@127.0.0.1:\(port),127.0.0.1:2/?replicaSet=rs0&\(fast)",
            "mongodb://127.0.0.1:\(port)/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:\(encoded)&\(fast)",
            "mongodb://127.0.0.1:\(port)/?tlsCertificateKeyFilePassword=\(password)&\(fast)",
            "mongodb://poller:\(password)@[::1",
            "mongodb://poller:\(password)@127.0.0.1:notaport/",
            "mongodb//poller:\(password)@127.0.0.1/",
            "mongodb+srv://poller:\(password)@cluster0.example.invalid/?\(fast)",
        ]
    }

    static func leaks(_ text: String, _ password: String) -> [String] {
        forms(password).filter { text.contains($0) }
    }

    @Test func theRedactorHandlesFixedCases() {
        let cases: [(String, String)] = [
            ("mongodb://u:p?w/d@h:1/db?x=1", "mongodb://u:****@h:1/db?x=1"),
            ("mongodb://u:@h/", "mongodb://u:****@h/"),
            ("mongodb://u@h/", "mongodb://u@h/"),
            ("mongodb://h1,h2/?replicaSet=r", "mongodb://h1,h2/?replicaSet=r"),
            ("mongodb+srv://u:a%40b@c.example.com/", "mongodb+srv://u:****@c.example.com/"),
            ("mongodb://h/?authMechanismProperties=AWS_SESSION_TOKEN:tok&w=1", "mongodb://h/?authMechanismProperties=****&w=1"),
            ("mongodb://h/?tlsCertificateKeyFilePassword=pw", "mongodb://h/?tlsCertificateKeyFilePassword=****"),
            ("u:pw@h", "u:****@h"),
            ("mongodb//u://pw@h/", "mongodb//u:****@h/"),
            ("", ""),
            ("mongodb://", "mongodb://"),
        ]
        for (uri, expected) in cases {
            #expect(MongoURI.redact(uri) == expected, "\(uri)")
        }
        #expect(MongoURI("mongodb://u:p/w@h1:1,h2/db").hosts == "h1:1,h2")
        let redactor = MongoURI("mongodb://u:a%2Fsecret-part@h/").redactor
        #expect(redactor.redact("x a%2Fsecret-part a/secret-part a%2fsecret-part y secret-part") == "x **** **** **** y ****")
        #expect(redactor.redact("message cut at a/secr") == "message cut at ****")
    }

    /// 300 generated passwords through the redacted URI, libmongoc's URI parser, client
    /// creation and a failing command, and libmongoc's own log.
    @Test func generatedPasswordsNeverLeakInProcess() throws {
        var rng = SystemRandomNumberGenerator()
        let capture = Capture()
        let logger = Logger(label: "redaction") { _ in capture }
        for _ in 0..<300 {
            let password = Self.randomPassword(using: &rng)
            for uri in Self.uris(password) {
                let parsed = MongoURI(uri)
                var printed = [parsed.redacted, parsed.hosts]
                if !uri.hasPrefix("mongodb+srv") {  // no DNS lookups in tests
                    do {
                        let client = try MongoClient(uri: parsed, logger: logger)
                        defer { client.close() }
                        do {
                            try client.command("admin", ["ping": 1])
                        } catch {
                            printed.append(error.description)
                        }
                    } catch {
                        printed.append(error.description)
                    }
                }
                printed += capture.lines.withLock { lines in defer { lines = [] }; return lines }
                for text in printed {
                    #expect(Self.leaks(text, password).isEmpty, "\(Self.leaks(text, password)) in \(text)")
                }
            }
        }
    }

    /// 20 generated passwords through the binary: the exit-5 line with trace logs (database
    /// down), the exit-2 line (malformed URI), and `--check`.
    @Test func generatedPasswordsNeverLeakFromTheBinary() async throws {
        let world = try await World.shared()
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let password = Self.randomPassword(using: &rng)
            let spool = Harness.temporaryDirectory()
            var env = world.pollerEnvironment()
            env["CM_DB_NAME"] = "inventory"
            env["CM_SPOOL_DIR"] = spool.path
            let shapes = Self.uris(password)
            let runs: [(String, [String])] = [
                (shapes[round % 5], ["--region", "eu-west-1", "--log-level", "trace"]),
                (shapes[5 + round % 3], ["--region", "eu-west-1"]),
                (shapes[round % 3], ["--check", "--region", "eu-west-1", "--log-level", "trace"]),
            ]
            for (uri, arguments) in runs {
                env["CM_DB_URI"] = uri
                let result = try world.poll(arguments, environment: env)
                #expect([2, 4, 5].contains(result.status), "\(result.status) \(result.stderr)")
                let everything = result.stdout + result.stderr
                #expect(Self.leaks(everything, password).isEmpty, "\(Self.leaks(everything, password)) for \(arguments) in \(everything)")
                #expect(everything.contains("inventory-poller:") || arguments.contains("--check"))
            }
            for file in (try? FileManager.default.contentsOfDirectory(atPath: spool.path)) ?? [] {
                let text = (try? String(contentsOf: spool.appendingPathComponent(file), encoding: .utf8)) ?? ""
                #expect(Self.leaks(text, password).isEmpty)
            }
        }
    }
}
