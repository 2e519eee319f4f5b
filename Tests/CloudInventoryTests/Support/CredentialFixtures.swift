@testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging

/// A temporary `~/.aws`: config and credentials files, an SSO token cache, and the
/// `CredentialSettings` a chain over them gets, pointed at the test's peers.
struct AWSFiles {
    let directory: URL
    var configPath: String { directory.appendingPathComponent("config").path }
    var credentialsPath: String { directory.appendingPathComponent("credentials").path }
    var ssoCache: String { directory.appendingPathComponent("sso/cache").path }

    init(config: String = "", credentials: String = "") throws {
        directory = Harness.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.appendingPathComponent("sso/cache").path, withIntermediateDirectories: true)
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try credentials.write(toFile: credentialsPath, atomically: true, encoding: .utf8)
    }

    /// Writes the shell script `name` into the directory and returns the command that runs
    /// it, `/bin/sh PATH`: executing a file just written races with any child another test
    /// forks meanwhile that inherited its descriptor (ETXTBSY); reading it does not.
    func script(_ name: String, _ body: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try (body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return "/bin/sh " + path
    }

    /// The token `aws sso login` would have cached for `key` (a session name or start URL).
    func cacheSSOToken(for key: String, token: String, expiresIn seconds: TimeInterval) throws {
        let expires = UTCTime.iso8601(Date().addingTimeInterval(seconds))
        let sso = SSOCredentialProvider.Settings(startURL: key, region: "", accountId: "", roleName: "", session: nil)
        try #"{"accessToken": "\#(token)", "expiresAt": "\#(expires)", "region": "eu-west-1"}"#
            .write(toFile: SSOCredentialProvider.cacheFile(sso, directory: ssoCache), atomically: true, encoding: .utf8)
    }

    /// The poller's environment for these files (and nothing of the host's `~/.aws`).
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ["AWS_CONFIG_FILE": configPath, "AWS_SHARED_CREDENTIALS_FILE": credentialsPath, "HOME": directory.path]
        env.merge(extra) { $1 }
        return env
    }

    func settings(profile: String = "default", environment extra: [String: String] = [:], http: HTTPClient,
                  imds: IMDSClient? = nil, endpoint: String? = nil, explicit: Bool = false,
                  run: RunContext = RunContext()) throws -> CredentialSettings {
        var values = environment(extra)
        if let endpoint { values["AWS_ENDPOINT_URL"] = endpoint }
        let env = Environment(values)
        let shared = try SharedConfiguration.load(environment: env).0
        var settings = CredentialSettings(environment: env, configuration: shared, profile: profile, profileIsExplicit: explicit,
                                          region: "us-east-1", imds: imds, http: http, logger: Logger(label: "test"), run: run)
        settings.ssoCacheDirectory = ssoCache
        return settings
    }
}
