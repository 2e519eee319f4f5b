/// Where a service lives for a region, with the SDKs' endpoint overrides:
/// `AWS_ENDPOINT_URL_<SERVICE>` first, then `AWS_ENDPOINT_URL`, then the regional default.
public struct ServiceEndpoint: Sendable, Equatable {
    /// The service's signing name and its environment suffix (`ec2` → `AWS_ENDPOINT_URL_EC2`).
    public var service: String
    public var region: String
    /// Base URL without a trailing slash.
    public var url: String

    public static func resolve(service: String, region: String, environment: Environment) -> ServiceEndpoint {
        let specific = "AWS_ENDPOINT_URL_" + service.uppercased()
        if let url = environment[specific] ?? environment["AWS_ENDPOINT_URL"] {
            return ServiceEndpoint(service: service, region: region, url: trimmed(url))
        }
        let suffix = RegionName.partition(region) == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"
        return ServiceEndpoint(service: service, region: region, url: "https://\(service).\(region).\(suffix)")
    }

    private static func trimmed(_ url: String) -> String {
        var u = url
        while u.hasSuffix("/") { u.removeLast() }
        return u
    }

    /// `host[:port]`, exactly as it must appear in the signed `Host` header. A URL that does
    /// not parse is returned whole: the request then fails in libcurl as an invalid URL.
    public var host: String { (try? URLParts(url))?.hostHeader ?? url }

    /// The path part of the URL (a custom endpoint may carry one), `/` when there is none.
    public var path: String { (try? URLParts(url))?.path ?? "/" }
}
