/// Where a service lives for a region, and how requests to it are signed.
public struct ServiceEndpoint: Sendable, Equatable {
    /// The client name (`ec2`, `sts`, `organizations`, `sso`, `sso-oidc`).
    public var service: String
    /// The client's region (the slice's region).
    public var region: String
    /// Base URL without a trailing slash.
    public var url: String
    /// The credential scope: botocore's `authSchemes` answer where the ruleset gives one
    /// (`sts.amazonaws.com` and Organizations sign for `us-east-1`), else the region.
    public var signingRegion: String
    public var signingName: String
    /// Where the URL came from: an override's variable or key, or `endpoint rules`.
    public var source: String

    public init(service: String, region: String, url: String, signingRegion: String? = nil, signingName: String? = nil,
                source: String = "given") {
        self.service = service
        self.region = region
        self.url = url
        self.signingRegion = signingRegion ?? region
        self.signingName = signingName ?? EndpointTable.services[service]?.signingName ?? service
        self.source = source
    }

    /// The environment's overrides only (`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`),
    /// then botocore's rules with FIPS and dual-stack off. Runs resolve through
    /// `AWSConfiguration.endpoint(service:region:)`, which adds the profile's settings.
    public static func resolve(service: String, region: String, environment: Environment) -> ServiceEndpoint {
        if let (url, name) = EndpointOverrides.environment(service: service, environment: environment) {
            return ServiceEndpoint(service: service, region: region, url: EndpointOverrides.trimmed(url), source: name)
        }
        return (try? EndpointTable.resolve(service: service, region: region, fips: false, dualStack: false, stsLegacy: false))
            ?? ServiceEndpoint(service: service, region: region, url: "https://\(service).\(region).amazonaws.com")
    }

    /// `host[:port]`, exactly as it must appear in the signed `Host` header. A URL that does
    /// not parse is returned whole: the request then fails in libcurl as an invalid URL.
    public var host: String { (try? URLParts(url))?.hostHeader ?? url }

    /// The path part of the URL (a custom endpoint may carry one), `/` when there is none.
    public var path: String { (try? URLParts(url))?.path ?? "/" }
}

extension AWSConfiguration {
    /// The endpoint botocore would use for `service` in `region`: a configured endpoint URL
    /// (unless `ignore_configured_endpoint_urls`), else the generated ruleset table with this
    /// run's FIPS, dual-stack and STS settings. A configured URL turns FIPS and dual-stack off,
    /// as botocore does. Throws for a malformed URL or a missing `[services]` section.
    public func endpoint(service: String, region: String) throws(ConfigurationError) -> ServiceEndpoint {
        try EndpointTable.checkVariant(service: service, region: region, fips: useFIPSEndpoint.value, dualStack: useDualStackEndpoint.value)
        if !ignoreConfiguredEndpointURLs.value, let (url, source) = try configuredEndpointURL(service: service) {
            guard let parts = try? URLParts(url), parts.scheme == "http" || parts.scheme == "https", !parts.host.isEmpty else {
                throw .setting(source, url, expected: "an http(s) URL")
            }
            return ServiceEndpoint(service: service, region: region, url: EndpointOverrides.trimmed(url), source: "\(source)")
        }
        return try EndpointTable.resolve(service: service, region: region, fips: useFIPSEndpoint.value, dualStack: useDualStackEndpoint.value,
                                         stsLegacy: stsRegionalEndpoints.value == .legacy)
    }

    /// botocore's `ConfiguredEndpointProvider` order: `AWS_ENDPOINT_URL_<SERVICE>`,
    /// `AWS_ENDPOINT_URL`, the profile's `services` section's `<service> = endpoint_url`, the
    /// profile's `endpoint_url`.
    func configuredEndpointURL(service: String) throws(ConfigurationError) -> (String, ConfigSource)? {
        if let (url, name) = EndpointOverrides.environment(service: service, environment: environment) {
            return (url, .environment(name))
        }
        if let sectionName = profile["services"] {
            guard let section = shared.services[sectionName] else {
                throw .invalid("profile \(profileName.value) names services section \"\(sectionName)\", which \(shared.configPath) does not define")
            }
            let key = EndpointOverrides.snakeCase(service)
            if let url = section.subsections[key]?["endpoint_url"], !url.isEmpty {
                return (url, .services(sectionName, key: "\(key).endpoint_url"))
            }
        }
        if let url = profile["endpoint_url"], !url.isEmpty {
            return (url, .profile(profileName.value, key: "endpoint_url"))
        }
        return nil
    }
}

/// The SDKs' endpoint-override names for a client name.
enum EndpointOverrides {
    /// `sso-oidc` → `sso_oidc` (botocore's hyphenated service id, snake-cased).
    static func snakeCase(_ service: String) -> String { service.replacingOccurrences(of: "-", with: "_") }

    static func environment(service: String, environment: Environment) -> (String, String)? {
        let specific = "AWS_ENDPOINT_URL_" + snakeCase(service).uppercased()
        if let url = environment[specific] { return (url, specific) }
        if let url = environment["AWS_ENDPOINT_URL"] { return (url, "AWS_ENDPOINT_URL") }
        return nil
    }

    static func trimmed(_ url: String) -> String {
        var u = url
        while u.hasSuffix("/") { u.removeLast() }
        return u
    }
}
