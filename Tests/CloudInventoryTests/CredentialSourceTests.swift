@testable import AWSCore
@testable import CloudInventory
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Testing

/// The sources that are not keys in a file: web identity, SSO, credential_process,
/// container credentials; their failures, their caching, and stopping a slow process.
@Suite struct CredentialSourceTests {
    typealias T = CredentialChainTests

    // MARK: web identity

    @Test func webIdentityFromTheEnvironmentAndFromAProfile() async throws {
        // moto's STS without signature checks: the request is unsigned by design.
        let sts = try await PythonServer.start("sts_web_identity.py")
        defer { sts.stop() }
        let motoURL = "http://127.0.0.1:\(try sts.port)"
        let roleArn = "arn:aws:iam::123456789012:role/web"
        let http = T.http()
        defer { http.close() }
        let files = try AWSFiles(config: "[profile web]\nrole_arn = \(roleArn)\nweb_identity_token_file = TOKEN\nrole_session_name = from-profile\n")
        let tokenFile = files.directory.appendingPathComponent("token").path
        try "eyJhbGciOi.test.token".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let profileFiles = try AWSFiles(config: "[profile web]\nrole_arn = \(roleArn)\nweb_identity_token_file = \(tokenFile)\n")
        let env = ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": roleArn, "AWS_ROLE_SESSION_NAME": "pod-1"]
        let fromEnv = try CredentialChain.standard(files.settings(environment: env, http: http, endpoint: motoURL)).credentials()
        #expect(fromEnv?.source == "web identity (environment)")
        #expect(fromEnv?.sessionToken != nil && fromEnv?.expiration != nil)
        let fromProfile = try CredentialChain.standard(profileFiles.settings(profile: "web", http: http, endpoint: motoURL)).credentials()
        #expect(fromProfile?.source == "web identity (profile web)")
        // A token file and no role: botocore's configuration error.
        let noRole = ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile]
        #expect(T.failure { try CredentialChain.standard(files.settings(environment: noRole, http: http)).credentials() }?.isInvalidConfiguration == true)
        // A token file that is not there fails the source (no fall-through).
        let missing = ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile + ".gone", "AWS_ROLE_ARN": roleArn]
        #expect(T.failure { try CredentialChain.standard(files.settings(environment: missing, http: http, endpoint: motoURL)).credentials() }?.isUnavailable == true)
    }

    // MARK: SSO

    @Test func ssoSessionAndLegacyProfilesUseTheCachedToken() async throws {
        let portal = try await SSOPortal.start()
        let http = T.http()
        defer { http.close() }
        let files = try AWSFiles(config: """
            [profile prod]
            sso_session = corp
            sso_account_id = 111122223333
            sso_role_name = ReadOnly
            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = eu-west-1
            [profile legacy]
            sso_start_url = https://old.awsapps.com/start
            sso_region = eu-west-1
            sso_account_id = 111122223333
            sso_role_name = ReadOnly
            [profile lapsed]
            sso_start_url = https://lapsed.awsapps.com/start
            sso_region = eu-west-1
            sso_account_id = 111122223333
            sso_role_name = ReadOnly
            [profile revoked]
            sso_start_url = https://revoked.awsapps.com/start
            sso_region = eu-west-1
            sso_account_id = 111122223333
            sso_role_name = ReadOnly
            [profile broken]
            sso_account_id = 111122223333
            sso_role_name = ReadOnly
            sso_session = nowhere
            [profile unassigned]
            sso_session = corp
            sso_account_id = 111122223333
            sso_role_name = deniedRole
            """)
        try files.cacheSSOToken(for: "corp", token: "tok-corp", expiresIn: 3600)
        try files.cacheSSOToken(for: "https://old.awsapps.com/start", token: "tok-old", expiresIn: 3600)
        try files.cacheSSOToken(for: "https://lapsed.awsapps.com/start", token: "tok-lapsed", expiresIn: -60)
        try files.cacheSSOToken(for: "https://revoked.awsapps.com/start", token: "revoked-1", expiresIn: 3600)
        let env = ["AWS_ENDPOINT_URL_SSO": portal.url]
        let prod = try CredentialChain.standard(files.settings(profile: "prod", environment: env, http: http)).credentials()
        #expect(prod?.source == "sso (profile prod, session corp)")
        #expect(prod?.accessKeyId == (try SSOPortal.expectedKeyId(account: "111122223333", role: "ReadOnly", token: "tok-corp")))
        let legacy = try CredentialChain.standard(files.settings(profile: "legacy", environment: env, http: http)).credentials()
        #expect(legacy?.accessKeyId == (try SSOPortal.expectedKeyId(account: "111122223333", role: "ReadOnly", token: "tok-old")))
        for profile in ["lapsed", "revoked"] {
            let error = T.failure { try CredentialChain.standard(files.settings(profile: profile, environment: env, http: http)).credentials() }
            #expect(error?.isUnavailable == true)
            #expect(error?.description.contains("run `aws sso login --profile \(profile)`") == true, "\(String(describing: error))")
        }
        // The portal's 403: this user has no such role there. A new login cannot fix that.
        let unassigned = T.failure { try CredentialChain.standard(files.settings(profile: "unassigned", environment: env, http: http)).credentials() }
        #expect(unassigned?.description.contains("no role deniedRole in account 111122223333 (HTTP 403 ForbiddenException") == true,
                "\(String(describing: unassigned))")
        #expect(unassigned?.description.contains("aws sso login") == false)
        let noToken = try AWSFiles(config: "[profile p]\nsso_session = s\nsso_account_id = 111122223333\nsso_role_name = R\n"
            + "[sso-session s]\nsso_start_url = https://x\nsso_region = eu-west-1\n")
        let missing = T.failure { try CredentialChain.standard(noToken.settings(profile: "p", environment: env, http: http)).credentials() }
        #expect(missing?.description.contains("no cached SSO token for sso-session s") == true)
        #expect(T.failure { try CredentialChain.standard(files.settings(profile: "broken", environment: env, http: http)).credentials() }?
            .isInvalidConfiguration == true)
    }

    // MARK: credential_process

    @Test func credentialProcessOutputFailuresAndSecrets() throws {
        let http = T.http()
        defer { http.close() }
        let files = try AWSFiles()
        let good = try files.script("good.sh", #"echo '{"Version": 1, "AccessKeyId": "AKIAPROCESS00000PRC1", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "2099-01-01T00:00:00Z"}'"#)
        let failing = try files.script("fail.sh", "echo 'token=SUPERSECRET' >&2; exit 7")
        let garbage = try files.script("garbage.sh", "echo not json")
        let version2 = try files.script("v2.sh", #"echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "s"}'"#)
        let config = """
            [profile good]
            credential_process = /bin/sh "\(good.dropFirst(8))" --flag 'two words'
            [profile fail]
            credential_process = \(failing)
            [profile garbage]
            credential_process = \(garbage)
            [profile v2]
            credential_process = \(version2)
            [profile unclosed]
            credential_process = "\(good)
            [profile absent]
            credential_process = /nonexistent/helper
            """
        try config.write(toFile: files.configPath, atomically: true, encoding: .utf8)
        let c = try CredentialChain.standard(files.settings(profile: "good", http: http)).credentials()
        #expect(c?.source == "process (profile good)")
        #expect(c?.accessKeyId == "AKIAPROCESS00000PRC1")
        #expect(c.map { UTCTime.iso8601($0.expiration!) } == "2099-01-01T00:00:00Z")
        for (profile, words) in [("fail", "exited with status 7"), ("garbage", "not a JSON object"), ("v2", "unsupported Version"),
                                 ("absent", "cannot start")] {
            let error = T.failure { try CredentialChain.standard(files.settings(profile: profile, http: http)).credentials() }
            #expect(error?.isUnavailable == true, "\(profile)")
            #expect(error?.description.contains(words) == true, "\(profile): \(String(describing: error))")
            #expect(error?.description.contains("SUPERSECRET") == false)
        }
        #expect(T.failure { try CredentialChain.standard(files.settings(profile: "unclosed", http: http)).credentials() }?.isInvalidConfiguration == true)
    }

    @Test func aStopEndsAHangingCredentialProcess() throws {
        let http = T.http()
        defer { http.close() }
        let files = try AWSFiles()
        let pidFile = files.directory.appendingPathComponent("pid").path
        let hang = try files.script("hang.sh", "echo $$ > \(pidFile); exec sleep 600")
        try "[default]\ncredential_process = \(hang)\n".write(toFile: files.configPath, atomically: true, encoding: .utf8)
        let run = RunContext()
        let chain = try CredentialChain.standard(files.settings(http: http, run: run))
        let stopper = Thread {
            // Stop once the helper has started (bounded wait, not a timed assertion).
            for _ in 0..<500 where !FileManager.default.fileExists(atPath: pidFile) { usleep(10_000) }
            run.cancellation.cancel()
        }
        stopper.start()
        let error = T.failure { try chain.credentials() }
        #expect(error?.isCancelled == true)
        let pid = pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(kill(pid, 0) != 0)  // reaped: no such process
    }

    @Test func processCredentialsAreFetchedOnceForConcurrentWorkers() throws {
        let http = T.http()
        defer { http.close() }
        let files = try AWSFiles()
        let log = files.directory.appendingPathComponent("runs").path
        let slow = try files.script("slow.sh", "echo run >> \(log); sleep 0.3; "
            + #"echo '{"Version": 1, "AccessKeyId": "AKIASLOW", "SecretAccessKey": "s", "Expiration": "2099-01-01T00:00:00Z"}'"#)
        try "[default]\ncredential_process = \(slow)\n".write(toFile: files.configPath, atomically: true, encoding: .utf8)
        let chain = try CredentialChain.standard(files.settings(http: http))
        let keys = CredentialCacheTests.Collector<String?>()
        CredentialCacheTests.concurrently(8) { keys.add((try? chain.credentials())??.accessKeyId) }
        #expect(keys.all == Array(repeating: "AKIASLOW", count: 8))
        #expect(try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count == 1)
    }

    /// The command gets its three streams and nothing else: a descriptor the poller holds
    /// without close-on-exec (a library's socket, say) does not reach it.
    @Test func theCredentialProcessInheritsNoDescriptor() throws {
        let http = T.http()
        defer { http.close() }
        let files = try AWSFiles()
        let marker = files.directory.appendingPathComponent("held-open-marker").path
        let held = unsafe open(marker, O_WRONLY | O_CREAT, 0o600)  // no O_CLOEXEC, on purpose
        try #require(held >= 0)
        defer { close(held) }
        let seen = files.directory.appendingPathComponent("fds").path
        let lister = try files.script("fds.sh", "ls -l /proc/$$/fd/ > \(seen); "
            + #"echo '{"Version": 1, "AccessKeyId": "AKIAFDS", "SecretAccessKey": "s"}'"#)
        try "[default]\ncredential_process = \(lister)\n".write(toFile: files.configPath, atomically: true, encoding: .utf8)
        #expect(try CredentialChain.standard(files.settings(http: http)).credentials()?.accessKeyId == "AKIAFDS")
        let listing = try String(contentsOfFile: seen, encoding: .utf8)
        #expect(listing.contains("pipe:"), "stdout and stderr are the poller's pipes: \(listing)")
        #expect(!listing.contains("held-open-marker"), "\(listing)")
    }

    // MARK: container

    @Test func containerFullURIWithAuthorizationToken() async throws {
        let endpoint = try await ContainerEndpoint.start()
        let http = T.http()
        defer { http.close() }
        let files = try AWSFiles()
        let tokenFile = files.directory.appendingPathComponent("eks-token").path
        try "tok-eks".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let env = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url + "/auth/tok-eks/pod",
                   "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored"]
        let chain = try CredentialChain.standard(files.settings(environment: env, http: http))
        let keys = CredentialCacheTests.Collector<String?>()
        CredentialCacheTests.concurrently(8) { keys.add((try? chain.credentials())??.accessKeyId) }
        #expect(keys.all == Array(repeating: try ContainerEndpoint.expectedKeyId(name: "pod"), count: 8))
        let requests = try JSONSerialization.jsonObject(with: Data(http.execute(HTTPRequest(method: "GET", url: endpoint.url + "/_requests")).body)) as? [[Any]]
        // One fetch for eight workers: one request, or up to its three attempts when a loaded
        // machine lets the 2 s timeout pass (unshared, it would be eight or more).
        #expect((1...ContainerCredentialProvider.attempts).contains(requests?.count ?? 0), "\(String(describing: requests))")
        #expect(try chain.credentials()?.source == "container")
        // A wrong token: the endpoint refuses, and the source fails (no fall-through).
        let refused = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url + "/auth/other/pod", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "tok-eks"]
        #expect(T.failure { try CredentialChain.standard(files.settings(environment: refused, http: http)).credentials() }?.isUnavailable == true)
    }

    @Test func containerFullURIHostRestrictions() throws {
        for allowed in ["http://127.0.0.1:80/x", "http://127.9.8.7/x", "http://[::1]:8080/x", "http://localhost/x", "http://169.254.170.2/v2",
                        "http://169.254.170.23/v1", "http://[fd00:ec2::23]/v1", "https://creds.example.com/x"] {
            #expect(throws: Never.self, "\(allowed)") { try ContainerCredentialProvider.checkAllowed(allowed) }
        }
        for refused in ["http://creds.example.com/x", "http://10.0.0.1/x", "http://169.254.169.254/x", "http://[::2]/x", "http://0x7f000001/x"] {
            let error = try? #require(throws: CredentialError.self, "\(refused)") { try ContainerCredentialProvider.checkAllowed(refused) }
            #expect(error?.isInvalidConfiguration == true)
        }
    }
}
