#if canImport(Glibc)
@testable import AWSCore
import Glibc
#endif
@testable import CloudInventory
import Foundation
import Testing

/// Credential files someone else controls: a FIFO (or any file that is not a regular one) at
/// the web identity token file, the SSO token cache or the container authorization token file
/// ends the run at once with a clear credential error (exit 3), never a run stuck in `open(2)`
/// (`SafeFile`); and an SSO cache whose `expiresAt` is no time says "unreadable".
@Suite struct CredentialFileTests {
    /// The poller, bounded: a run that would hang on the FIFO is stopped by the harness and
    /// its status is not 3.
    func poll(_ env: [String: String], _ arguments: [String] = []) throws -> ProcessResult {
        var full = Harness.baseEnvironment()
        full.merge(env) { $1 }
        full["AWS_EC2_METADATA_DISABLED"] = "true"
        full["AWS_REGION"] = "us-east-1"
        return try runProcess(Harness.pollerBinary, World.withLock(arguments + ["--region", "us-east-1"]), environment: full, timeout: 60)
    }

    func fifo(in files: AWSFiles, _ name: String) throws -> String {
        let path = files.directory.appendingPathComponent(name).path
        #expect(unsafe mkfifo(path, 0o600) == 0, "mkfifo \(path): \(errno)")
        return path
    }

    @Test func aFIFOAtTheWebIdentityTokenFileIsACredentialError() throws {
        let files = try AWSFiles()
        let path = try fifo(in: files, "token")
        let r = try poll(files.environment(["AWS_WEB_IDENTITY_TOKEN_FILE": path, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/web"]))
        #expect(r.status == 3, "\(r.status) \(r.stderr)")
        #expect(r.failureLines.contains { $0.contains("web identity token file \(path) is not a regular file (a FIFO)") }, "\(r.stderr)")
    }

    @Test func aFIFOAtTheContainerAuthorizationTokenFileIsACredentialError() throws {
        let files = try AWSFiles()
        let path = try fifo(in: files, "container-token")
        let r = try poll(files.environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds",
                                            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": path]))
        #expect(r.status == 3, "\(r.status) \(r.stderr)")
        #expect(r.failureLines.contains { $0.contains("container authorization token file \(path) is not a regular file (a FIFO)") },
                "\(r.stderr)")
    }

    /// SIGTERM during such a run ends it: with its own status (143) when it came first, with
    /// the credential error (3) when the run got there first; never a run stuck in `open(2)`
    /// until the harness's bounded wait ends in SIGKILL (reported as 9).
    @Test func sigtermEndsARunWithAFIFOAtTheTokenFile() throws {
        let files = try AWSFiles()
        let path = try fifo(in: files, "token")
        var env = Harness.baseEnvironment()
        env.merge(files.environment(["AWS_WEB_IDENTITY_TOKEN_FILE": path, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/web",
                                     "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1"])) { $1 }
        let running = try RunningProcess(Harness.pollerBinary, World.withLock(["--region", "us-east-1"]), environment: env)
        running.signal(SIGTERM)
        let r = running.finish(timeout: 60)
        // 15: the signal came before the run had set up its handlers (default action).
        #expect([3, 143, SIGTERM].contains(r.status), "\(r.status) \(r.stderr)")
    }

    static let ssoConfig = """
        [profile p]
        sso_session = corp
        sso_account_id = 111122223333
        sso_role_name = ReadOnly
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = eu-west-1
        """

    /// `~/.aws/sso/cache/<sha1 of the session>.json` under the test's HOME.
    func ssoCacheFile(_ files: AWSFiles) throws -> String {
        let directory = files.directory.appendingPathComponent(".aws/sso/cache").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let sso = SSOCredentialProvider.Settings(startURL: "corp", region: "", accountId: "", roleName: "", session: nil)
        return SSOCredentialProvider.cacheFile(sso, directory: directory)
    }

    @Test func aFIFOAtTheSSOTokenCacheIsACredentialError() throws {
        let files = try AWSFiles(config: Self.ssoConfig)
        let path = try ssoCacheFile(files)
        #expect(unsafe mkfifo(path, 0o600) == 0)
        let r = try poll(files.environment(), ["--profile", "p"])
        #expect(r.status == 3, "\(r.status) \(r.stderr)")
        #expect(r.failureLines.contains { $0.contains("SSO token cache \(path) is not a regular file (a FIFO)") }, "\(r.stderr)")
    }

    @Test func anSSOCacheWithAnUnreadableExpiryIsUnreadableNotExpired() throws {
        let files = try AWSFiles(config: Self.ssoConfig)
        try #"{"accessToken": "tok", "expiresAt": "next tuesday", "region": "eu-west-1"}"#
            .write(toFile: try ssoCacheFile(files), atomically: true, encoding: .utf8)
        let r = try poll(files.environment(), ["--profile", "p"])
        #expect(r.status == 3, "\(r.status) \(r.stderr)")
        #expect(r.failureLines.contains { $0.contains("has an unreadable expiresAt") }, "\(r.stderr)")
        #expect(!r.stderr.contains("expired"), "\(r.stderr)")
    }

    /// A directory and a device at the token path: refused the same way; a file over the cap
    /// too, without reading it all.
    @Test func otherFilesThatAreNotRegularAreRefused() throws {
        #expect(throws: SafeFile.Error.self) { try SafeFile.read("/dev/zero", maximumBytes: 16) }
        #expect(throws: SafeFile.Error.self) { try SafeFile.read("/tmp", maximumBytes: 16) }
        let files = try AWSFiles()
        let big = files.directory.appendingPathComponent("big").path
        try String(repeating: "x", count: 100).write(toFile: big, atomically: true, encoding: .utf8)
        #expect(throws: SafeFile.Error.self) { try SafeFile.read(big, maximumBytes: 99) }
        #expect(try SafeFile.read(big, maximumBytes: 100).count == 100)
        do {
            _ = try SafeFile.read("/dev/zero", maximumBytes: 16)
        } catch {
            #expect(error.description.contains("not a regular file (a character device)"))
        }
    }
}
