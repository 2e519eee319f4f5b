import Foundation
import Testing

/// HTTPS with a private CA named by the profile's `ca_bundle` and by `AWS_CA_BUNDLE` (issue 10),
/// against the TLS front before moto (`TLSFront`): the environment wins over the profile, as
/// in the SDKs, and a bundle that is not a readable file is one line and exit 2.
@Suite struct ConfigCABundleTests {
    /// A config file whose default profile names `bundle`, and the poller's environment using it.
    static func environment(world: World, front: TLSFront, profileBundle: String?, envBundle: String?) throws -> [String: String] {
        let home = Harness.temporaryDirectory()
        var config = "[default]\n"
        if let profileBundle { config += "ca_bundle = \(profileBundle)\n" }
        try Data(config.utf8).write(to: home.appendingPathComponent("config"))
        var env = world.pollerEnvironment(endpoint: front.url(front.good))
        env["HOME"] = home.path
        env["AWS_CONFIG_FILE"] = home.appendingPathComponent("config").path
        env["AWS_ACCESS_KEY_ID"] = world.adminCredentials["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = world.adminCredentials["SecretAccessKey"]
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env["AWS_REGION"] = "ap-southeast-2"
        env["AWS_CA_BUNDLE"] = envBundle
        return env
    }

    /// The CA nobody trusts: made beside the test CA by `TLSFront.makeCertificates`.
    static func otherCA(_ front: TLSFront) -> String {
        URL(fileURLWithPath: front.caBundle).deletingLastPathComponent().appendingPathComponent("otherca.pem").path
    }

    @Test func theProfilesCABundleIsTrusted() async throws {
        let world = try await World.shared()
        let front = try await TLSFront.shared()
        let env = try Self.environment(world: world, front: front, profileBundle: front.caBundle, envBundle: nil)
        let result = try world.poll(["--format", "ndjson"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == world.counts["ap-southeast-2"]!)
    }

    @Test func theEnvironmentWinsOverTheProfile() async throws {
        let world = try await World.shared()
        let front = try await TLSFront.shared()
        let good = try Self.environment(world: world, front: front, profileBundle: Self.otherCA(front), envBundle: front.caBundle)
        let ok = try world.poll(["--format", "ndjson"], environment: good)
        #expect(ok.status == 0, "\(ok.stderr)")
        let bad = try Self.environment(world: world, front: front, profileBundle: front.caBundle, envBundle: Self.otherCA(front))
        let refused = try world.poll(["--format", "ndjson"], environment: bad)
        #expect(refused.status == 4, "\(refused.stderr)")
        #expect(refused.lines.isEmpty)
        #expect(refused.stderr.split(separator: "\n").filter { $0.contains("TLS failure") }.count == 1, "\(refused.stderr)")
    }

    @Test func aMissingProfileBundleIsOneLineAndExit2() async throws {
        let world = try await World.shared()
        let front = try await TLSFront.shared()
        let missing = Harness.temporaryDirectory().appendingPathComponent("no-such-ca.pem").path
        let env = try Self.environment(world: world, front: front, profileBundle: missing, envBundle: nil)
        let result = try world.poll(["--format", "ndjson"], environment: env)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.lines.isEmpty)
        #expect(result.stderr.split(separator: "\n").filter { $0.contains(missing) }.count == 1, "\(result.stderr)")
    }
}
