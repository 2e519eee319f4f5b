@testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging
import Testing

/// botocore's chain, source by source and in order, against real peers: moto (STS with
/// signature and IAM checks), the strict IMDS server, the SSO portal and container endpoint.
@Suite struct CredentialChainTests {
    static func http() -> HTTPClient { HTTPClient(logger: Logger(label: "test")) }

    static func staticKeys(_ key: String, _ secret: String = "s") -> String {
        "aws_access_key_id = \(key)\naws_secret_access_key = \(secret)\n"
    }

    static func admin(_ world: World) -> String {
        staticKeys(world.adminCredentials["AccessKeyId"]!, world.adminCredentials["SecretAccessKey"]!)
    }

    static func failure(_ body: () throws -> Credentials?) -> CredentialError? {
        do {
            _ = try body()
            return nil
        } catch let error as CredentialError {
            return error
        } catch {
            Issue.record("not a CredentialError: \(error)")
            return nil
        }
    }

    // MARK: precedence

    @Test func environmentBeatsProfilesAndCredentialsFileBeatsConfigFile() throws {
        let http = Self.http()
        defer { http.close() }
        let files = try AWSFiles(config: "[default]\n" + Self.staticKeys("AKIACONFIG000000CFG1"),
                                 credentials: "[default]\n" + Self.staticKeys("AKIACREDS0000000CRD1"))
        let env = ["AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT0ENV1", "AWS_SECRET_ACCESS_KEY": "e"]
        #expect(try CredentialChain.standard(files.settings(environment: env, http: http)).credentials()?.accessKeyId == "AKIAENVIRONMENT0ENV1")
        // An explicit profile (--profile) skips the environment's keys, as botocore.
        let explicit = try CredentialChain.standard(files.settings(environment: env, http: http, explicit: true)).credentials()
        #expect(explicit?.accessKeyId == "AKIACREDS0000000CRD1")
        #expect(explicit?.source == "shared credentials file (profile default)")
        let onlyConfig = try AWSFiles(config: "[default]\n" + Self.staticKeys("AKIACONFIG000000CFG1"))
        let c = try CredentialChain.standard(onlyConfig.settings(http: http)).credentials()
        #expect(c?.source == "config file (profile default)")
        #expect(c?.summary == "config file (profile default), key …CFG1, no expiry")
    }

    @Test func aProfileWithOnlyARegionFallsThrough() throws {
        let http = Self.http()
        defer { http.close() }
        let files = try AWSFiles(config: "[profile plain]\nregion = eu-west-1\n")
        // Nothing else configured: the chain ends with botocore's "no credentials".
        let error = Self.failure { try CredentialChain.standard(files.settings(profile: "plain", http: http)).credentials() }
        #expect(error?.isUnavailable == true)
        #expect(error?.description.contains("no credentials found") == true)
    }

    @Test func halfKeysAreAConfigurationError() throws {
        let http = Self.http()
        defer { http.close() }
        let files = try AWSFiles(credentials: "[default]\naws_access_key_id = AKIAHALF\n")
        let error = Self.failure { try CredentialChain.standard(files.settings(http: http)).credentials() }
        #expect(error?.isInvalidConfiguration == true)
        #expect(!(error?.description.contains("AKIAHALF") ?? true))
        // A secret without a key id is not configured at all (botocore reads the key id first).
        let secretOnly = try AWSFiles()
        let env = ["AWS_SECRET_ACCESS_KEY": "x"]
        #expect(Self.failure { try CredentialChain.standard(secretOnly.settings(environment: env, http: http)).credentials() }?.isUnavailable == true)
    }

    // MARK: assume-role

    @Test func assumeRoleChainsThroughSourceProfiles() async throws {
        let world = try await World.shared()
        let http = Self.http()
        defer { http.close() }
        let files = try AWSFiles(config: """
            [profile top]
            role_arn = \(world.roleB)
            source_profile = middle
            role_session_name = chained
            duration_seconds = 1800
            [profile middle]
            role_arn = \(world.roleArn)
            source_profile = base
            external_id = ext-1
            """, credentials: "[base]\n" + Self.admin(world))
        let c = try CredentialChain.standard(files.settings(profile: "top", http: http, endpoint: world.motoURL)).credentials()
        #expect(c?.source == "assume-role (profile top, source profile middle)")
        #expect(c?.sessionToken != nil)
        #expect(c?.expiration != nil)
        // The assumed keys really work: moto checks the signature and the role's policy.
        let sts = STSClient(query: AWSQueryClient(endpoint: ServiceEndpoint(service: "sts", region: "us-east-1", url: world.motoURL),
                                                  configuration: .init(apiVersion: STSClient.apiVersion),
                                                  credentials: CredentialChain([StaticProvider(c!)]), http: http, logger: Logger(label: "test")))
        #expect(try sts.getCallerIdentity().arn.contains("assumed-role/inventory-poller/chained"))
    }

    @Test func sourceProfileCyclesAreRefusedButASelfReferenceWithKeysIsNot() async throws {
        let world = try await World.shared()
        let http = Self.http()
        defer { http.close() }
        let files = try AWSFiles(config: """
            [profile a]
            role_arn = \(world.roleArn)
            source_profile = b
            [profile b]
            role_arn = \(world.roleArn)
            source_profile = a
            [profile self]
            role_arn = \(world.roleArn)
            source_profile = self
            """, credentials: "[self]\n" + Self.admin(world))
        let cycle = Self.failure { try CredentialChain.standard(files.settings(profile: "a", http: http, endpoint: world.motoURL)).credentials() }
        #expect(cycle?.isUnavailable == true)
        #expect(cycle?.description.contains("cycle: a -> b -> a") == true)
        let selfRef = try CredentialChain.standard(files.settings(profile: "self", http: http, endpoint: world.motoURL)).credentials()
        #expect(selfRef?.source == "assume-role (profile self, source profile self)")
    }

    @Test func assumeRoleSettingsBotocoreRefuses() throws {
        let http = Self.http()
        defer { http.close() }
        let arn = "arn:aws:iam::123456789012:role/r"
        let files = try AWSFiles(config: """
            [profile both]
            role_arn = \(arn)
            source_profile = x
            credential_source = Environment
            [profile neither]
            role_arn = \(arn)
            [profile unknown]
            role_arn = \(arn)
            credential_source = Ec2Config
            [profile missing]
            role_arn = \(arn)
            source_profile = nowhere
            [profile empty-source]
            role_arn = \(arn)
            source_profile = plain
            [profile plain]
            region = eu-west-1
            """)
        for (profile, configuration, words) in [("both", true, "both source_profile and credential_source"), ("neither", true, "neither"),
                                                ("unknown", true, "Ec2Config"), ("missing", false, "does not exist"),
                                                ("empty-source", false, "must have credentials")] {
            let error = Self.failure { try CredentialChain.standard(files.settings(profile: profile, http: http)).credentials() }
            #expect(error?.isInvalidConfiguration == configuration, "\(profile)")
            #expect(error?.description.contains(words) == true, "\(profile): \(String(describing: error))")
        }
    }

    @Test func credentialSourcesEnvironmentAndInstanceMetadata() async throws {
        let world = try await World.shared()
        let http = Self.http()
        defer { http.close() }
        let files = try AWSFiles(config: """
            [profile from-env]
            role_arn = \(world.roleArn)
            credential_source = Environment
            [profile from-imds]
            role_arn = \(world.roleB)
            credential_source = Ec2InstanceMetadata
            """)
        let env = ["AWS_ACCESS_KEY_ID": world.adminCredentials["AccessKeyId"]!, "AWS_SECRET_ACCESS_KEY": world.adminCredentials["SecretAccessKey"]!]
        // An explicit profile, so the environment's keys are only the role's source.
        let viaEnv = try CredentialChain.standard(files.settings(profile: "from-env", environment: env, http: http,
                                                                 endpoint: world.motoURL, explicit: true)).credentials()
        #expect(viaEnv?.source == "assume-role via environment (profile from-env)")
        var configuration = IMDSClient.Configuration()
        configuration.endpoint = world.imdsURL
        let imds = IMDSClient(configuration: configuration, http: http, logger: Logger(label: "test"))
        let viaIMDS = try CredentialChain.standard(files.settings(profile: "from-imds", http: http, imds: imds, endpoint: world.motoURL)).credentials()
        #expect(viaIMDS?.source == "assume-role via instance metadata (profile from-imds)")
        #expect(viaIMDS?.accessKeyId != world.roleCredentials["AccessKeyId"])
        // No keys in the environment: the configured source fails, no fall-through.
        let none = Self.failure { try CredentialChain.standard(files.settings(profile: "from-env", http: http, imds: imds, endpoint: world.motoURL)).credentials() }
        #expect(none?.description.contains("no credentials found in credential_source Environment") == true)
    }

    @Test func aRoleThatCannotBeAssumedFailsTheProfile() async throws {
        let world = try await World.shared()
        let http = Self.http()
        defer { http.close() }
        let limited = Self.staticKeys(world.limitedCredentials["AccessKeyId"]!, world.limitedCredentials["SecretAccessKey"]!)
        let files = try AWSFiles(config: "[profile denied]\nrole_arn = \(world.roleArn)\nsource_profile = weak\n",
                                 credentials: "[weak]\n" + limited)
        var configuration = IMDSClient.Configuration()
        configuration.endpoint = world.imdsURL
        let imds = IMDSClient(configuration: configuration, http: http, logger: Logger(label: "test"))
        // IMDS would work, but the profile's own source is what counts.
        let error = Self.failure { try CredentialChain.standard(files.settings(profile: "denied", http: http, imds: imds, endpoint: world.motoURL)).credentials() }
        #expect(error?.isUnavailable == true)
        #expect(error?.description.contains("cannot assume role") == true)
    }
}

/// Hands out fixed credentials.
struct StaticProvider: CredentialProvider {
    let value: Credentials
    init(_ value: Credentials) { self.value = value }
    func credentials() throws -> Credentials? { value }
}
