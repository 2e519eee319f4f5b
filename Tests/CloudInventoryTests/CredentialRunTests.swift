import AWSCore
import CloudInventory
import Foundation
import Logging
import Testing

/// The chain inside the program: what `--check` and `--log-level info` say about the
/// credentials, and a failing configured source ending the run with exit 3 and no instance.
@Suite struct CredentialRunTests {
    @Test func checkNamesTheSourceTheKeysLastFourAndTheExpiry() async throws {
        let world = try await World.shared()
        let files = try AWSFiles(config: "[profile ops]\nrole_arn = \(world.roleB)\nsource_profile = base\n",
                                 credentials: "[base]\n" + CredentialChainTests.admin(world))
        var env = world.pollerEnvironment()
        env.merge(files.environment(["AWS_PROFILE": "ops"])) { $1 }
        let result = try world.poll(["--check", "--region", "us-east-1"], environment: env)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let line = result.stdout.split(separator: "\n").first { $0.contains("credentials") }.map(String.init) ?? ""
        #expect(line.hasPrefix("[ok]   credentials  assume-role (profile ops, source profile base), key …"), "\(line)")
        #expect(line.contains(", expires 20"))
        #expect(result.stdout.contains("[ok]   identity"))
        #expect(!result.stdout.contains(world.adminCredentials["AccessKeyId"]!))
    }

    @Test func infoLogsTheCredentialsOnceAndNeverTheKey() async throws {
        let world = try await World.shared()
        let files = try AWSFiles()
        let key = world.adminCredentials["AccessKeyId"]!
        let helper = try files.script("helper.sh", #"echo '{"Version": 1, "AccessKeyId": "\#(key)", "SecretAccessKey": "\#(world.adminCredentials["SecretAccessKey"]!)"}'"#)
        try "[default]\ncredential_process = \(helper)\n".write(toFile: files.configPath, atomically: true, encoding: .utf8)
        var env = world.pollerEnvironment()
        env.merge(files.environment()) { $1 }
        let result = try world.poll(["--region", "eu-west-1", "--log-level", "info"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        // One info line at the start says what was resolved, the credentials with the rest.
        let lines = result.stderr.split(separator: "\n").filter { $0.contains("credentials=process (profile default), key …\(key.suffix(4)), no expiry") }
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(!result.stderr.contains(key))
        #expect(!result.stdout.isEmpty)
    }

    @Test func aFailingConfiguredSourceIsExit3NotTheInstanceRole() async throws {
        let world = try await World.shared()
        let files = try AWSFiles()
        let helper = try files.script("broken.sh", "echo 'aws_secret=SHOULD-NOT-LEAK' >&2; exit 1")
        try "[profile broken]\ncredential_process = \(helper)\n".write(toFile: files.configPath, atomically: true, encoding: .utf8)
        var env = world.pollerEnvironment()  // IMDS would hand out the role: it must not be used
        env.merge(files.environment(["AWS_PROFILE": "broken"])) { $1 }
        let result = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("credential_process of profile broken exited with status 1"))
        #expect(!result.stderr.contains("SHOULD-NOT-LEAK"))
    }

    /// What a source hands out is checked before it signs anything: a CR/LF that would split
    /// a header, or credentials already expired (botocore: "refreshed, but still expired"),
    /// end the run with exit 3, one line, no instance, and no request carrying them.
    @Test(arguments: [
        (#""Token": "tok\r\nX-Injected: 1""#, "not printable ASCII"),
        (#""Expiration": "2020-01-01T00:00:00Z""#, "expired at 2020-01-01T00:00:00Z"),
    ])
    func credentialsThatCannotSignAreExit3(extra: String, says: String) async throws {
        let world = try await World.shared()
        let files = try AWSFiles()
        let key = world.adminCredentials["AccessKeyId"]!
        let json = #"{"Version": 1, "AccessKeyId": "\#(key)", "SecretAccessKey": "\#(world.adminCredentials["SecretAccessKey"]!)", \#(extra)}"#
            .replacingOccurrences(of: "\"Token\"", with: "\"SessionToken\"")
        let helper = try files.script("helper.sh", "printf '%s' '\(json)'")
        try "[default]\ncredential_process = \(helper)\n".write(toFile: files.configPath, atomically: true, encoding: .utf8)
        var env = world.pollerEnvironment()
        env.merge(files.environment()) { $1 }
        let result = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        let failures = result.stderr.split(separator: "\n").filter { $0.contains("inventory-poller:") }
        #expect(failures.count == 1 && failures[0].contains(says), "\(result.stderr)")
    }

    @Test func noHeaderWithAControlCharacterIsSent() throws {
        let http = HTTPClient(configuration: .init(environment: Environment([:])), logger: Logger(label: "test"))
        defer { http.close() }
        let error = #expect(throws: HTTPError.self) {
            try http.execute(HTTPRequest(method: "GET", url: "http://127.0.0.1:9/", headers: [("X-Amz-Security-Token", "a\r\nX-Evil: 1")]))
        }
        #expect(error?.description.contains("control character") == true, "\(String(describing: error))")
    }
}
