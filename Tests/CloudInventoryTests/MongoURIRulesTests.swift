@testable import CloudInventory
import Foundation
import Testing

/// A malformed `CM_DB_URI` is refused before libmongoc parses it: exit 2, one line that names
/// the rule, no piece of the password in any case, on every path (poll, history, `--check`).
@Suite struct MongoURIRulesTests {
    /// (URI, a word of the line that names the rule, the password's pieces that must not show)
    static let malformed: [(String, String, [String])] = [
        ("mongodb://user:abc@LeakedPart@127.0.0.1:1/", "as %40", ["LeakedPart", "abc@"]),
        ("mongodb://u:Pw0rd@[::1", "IPv6", ["Pw0rd"]),
        ("mongodb://user:Pa%SsWordX@127.0.0.1:1/", "as %25", ["Pa%SsWordX", "SsWordX"]),
        ("mongodb://u:Secret9@127.0.0.1:1/?authMechanism=BOGUS", "authMechanism", ["Secret9"]),
        ("mongodb://u:pass/Word7@127.0.0.1:1/", "as %2F", ["pass/Word7", "Word7"]),
        ("mongodb://u:pa:ssWord8@127.0.0.1:1/", "as %3A", ["ssWord8"]),
        ("mongodb://u:Secret9@127.0.0.1:notaport/", "port", ["Secret9"]),
        ("mongodb://u:Secret9@127.0.0.1:1/?bogusOption=1", "bogusoption", ["Secret9"]),
        ("mongodb://u:Secret9@127.0.0.1:1/?serverSelectionTimeoutMS=abc", "serverselectiontimeoutms", ["Secret9"]),
        ("mongodb//u:Secret9@127.0.0.1:1/", "mongodb://", ["Secret9"]),
        ("mongodb://127.0.0.1:1?tlsCertificateKeyFilePassword=Se@cretPw", "follow a '/'", ["cretPw", "Se@"]),
    ]

    static func leaks(_ text: String, _ pieces: [String]) -> [String] {
        pieces.filter { text.lowercased().contains($0.lowercased()) }
    }

    @Test func theRulesAcceptWhatTheSpecificationAllows() {
        for uri in ["mongodb://127.0.0.1:27017/", "mongodb://u:p%40ss%2F%3A@h1:1,h2,[::1]:3/db?replicaSet=rs&w=majority",
                    "mongodb://u@h/?authMechanism=MONGODB-X509", "mongodb://h/?authMechanism=scram-sha-256",
                    "mongodb://%2Ftmp%2Fmongodb-27017.sock/", "mongodb+srv://u:p@cluster0.example.com/?tls=true",
                    "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:a@b"] {
            #expect(MongoURI(uri).problem == nil, "\(uri): \(MongoURI(uri).problem ?? "")")
        }
        for (uri, rule, pieces) in Self.malformed where !["bogusoption", "serverselectiontimeoutms"].contains(rule) {
            let problem = MongoURI(uri).problem ?? ""
            #expect(!problem.isEmpty, "\(uri)")
            #expect(Self.leaks(problem + MongoURI(uri).redacted, pieces).isEmpty, "\(problem)")
        }
    }

    /// The rules are total: any string gives a verdict, never a trap.
    @Test func theRulesTakeAnyString() {
        let pieces = ["mongodb://", "mongodb+srv://", "@", ":", "/", "?", "#", "[", "]", "%", "%4", "%40", "&", "=", ",", ";",
                      "authMechanism=", "authMechanismProperties=", "h", "1", "65536", "é", "\u{0}", ""]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let uri = (0..<Int.random(in: 0...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            _ = MongoURI(uri).problem
        }
    }

    /// libmongoc lowercases what it takes for a host: the redactor matches either case.
    @Test func aPieceOfThePasswordIsScrubbedInAnyCase() {
        let redactor = MongoURI("mongodb://user:abc@LeakedPart@127.0.0.1:1/").redactor
        let text = redactor.redact("[Failed to resolve 'leakedpart@127.0.0.1'] LEAKEDPART")
        #expect(Self.leaks(text, ["leakedpart"]).isEmpty, "\(text)")
    }

    @Test func aMalformedURIIsOneLineAndExitTwoOnEveryPath() async throws {
        let world = try await World.shared()
        for (uri, rule, pieces) in Self.malformed {
            var env = world.pollerEnvironment()
            env["CM_DB_URI"] = uri
            env["CM_DB_NAME"] = "inventory"
            env["CM_SPOOL_DIR"] = Harness.temporaryDirectory().path
            let history = try runProcess(Harness.pollerBinary, ["polls"], environment: env, timeout: 60)
            #expect(history.status == 2, "\(uri): \(history.stderr)")
            #expect(history.stdout.isEmpty)
            let lines = history.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("inventory-poller: bad database URI") && lines[0].contains(rule), "\(uri): \(history.stderr)")
            #expect(Self.leaks(history.stderr, pieces).isEmpty, "\(history.stderr)")

            let poll = try world.poll(["--region", "eu-west-1"], environment: env)
            #expect(poll.status == 2, "\(uri): \(poll.stderr)")
            #expect(Self.leaks(poll.stdout + poll.stderr, pieces).isEmpty, "\(poll.stderr)")
            #expect(!poll.stderr.contains(" mongoc="), "no libmongoc log line: \(poll.stderr)")

            let check = try world.poll(["--check", "--region", "eu-west-1"], environment: env)
            #expect(check.status == 2, "\(uri): \(check.stdout)")
            #expect(check.stdout.split(separator: "\n").contains { $0.contains("database") && $0.contains(rule) }, "\(check.stdout)")
            #expect(Self.leaks(check.stdout + check.stderr, pieces).isEmpty, "\(check.stdout)")
        }
    }
}
