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
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
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

/// AWS region names: lower-case letters and digits in dash-separated parts (`us-east-1`,
/// `us-gov-west-1`, `eu-central-2`). Checked so a typo is a usage error, not a DNS failure.
public enum RegionName {
    public static func isValid(_ name: String) -> Bool {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, let last = parts.last, last.allSatisfy(\.isASCII), Int(last) != nil else { return false }
        return parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isLowercase } }
    }

    /// `aws`, `aws-cn` or `aws-us-gov`. Credentials never cross partitions, so a region list
    /// is kept to the home region's partition.
    public static func partition(_ name: String) -> String {
        if name.hasPrefix("cn-") { return "aws-cn" }
        if name.hasPrefix("us-gov-") { return "aws-us-gov" }
        return "aws"
    }
}
