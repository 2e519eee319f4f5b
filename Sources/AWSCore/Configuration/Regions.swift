import Foundation

/// AWS region names, checked so a typo is a usage error, not a DNS failure or a request to a
/// host nobody meant. The shape is the SDKs' (`us-east-1`, `us-gov-west-1`, `eu-central-2`):
/// dash-separated parts of lower-case ASCII letters, the last one ASCII digits only, and the
/// whole name a valid DNS label (at most 63 characters), since it becomes part of a host name.
public enum RegionName {
    public static let maximumLength = 63

    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maximumLength else { return false }
        let parts = name.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count >= 3, let last = parts.last, !last.isEmpty,
              last.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return false }
        return parts.dropLast().allSatisfy { part in
            !part.isEmpty && part.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
        }
    }

    /// The partition (`aws`, `aws-cn`, `aws-us-gov`, `aws-iso*`, `aws-eusc`), by botocore's
    /// rules (`EndpointTable.partition`). Credentials never cross partitions, so a region
    /// list is kept to the home region's partition.
    public static func partition(_ name: String) -> String {
        EndpointTable.partition(for: name)
    }
}

/// Picks the regions to poll, in the SDKs' order: explicit list, `AWS_REGION`,
/// `AWS_DEFAULT_REGION`, then the instance's own region from IMDS.
public enum RegionResolver {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public let description: String
        /// True when the region was simply not given anywhere, false when it was given but is
        /// not a region name.
        public let missing: Bool
    }

    /// The explicit list (`--region a,b --region c`), checked without touching the network.
    /// An empty entry (`--region ""`, `a,,b`) is an error, not "no region given".
    public static func explicit(_ values: [String]) throws(Error) -> [String] {
        let regions = values.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
        if regions.contains(where: \.isEmpty) {
            throw Error(description: "--region must not be empty (e.g. --region us-east-1)", missing: false)
        }
        return try checked(regions)
    }

    public static func resolve(explicit values: [String], environment: Environment, imds: IMDSClient?) throws(Error) -> [String] {
        let configured = environment["AWS_REGION"].map { Setting($0, .environment("AWS_REGION")) }
            ?? environment["AWS_DEFAULT_REGION"].map { Setting($0, .environment("AWS_DEFAULT_REGION")) }
        return try resolve(explicit: values, configured: configured, environment: environment, imds: imds).regions
    }

    /// The regions and where the first came from: `--region`, else the configuration's
    /// region (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`), else IMDS.
    public static func resolve(explicit values: [String], configuration: AWSConfiguration,
                               imds: IMDSClient?) throws(Error) -> (regions: [String], source: ConfigSource) {
        try resolve(explicit: values, configured: configuration.region, environment: configuration.environment, imds: imds)
    }

    static func resolve(explicit values: [String], configured: Setting<String>?, environment: Environment,
                        imds: IMDSClient?) throws(Error) -> (regions: [String], source: ConfigSource) {
        var regions = try explicit(values)
        var source = ConfigSource.flag("--region")
        if regions.isEmpty, let configured {
            regions = [configured.value]
            source = configured.source
        }
        var imdsProblem = "IMDS is disabled"
        if regions.isEmpty, let imds, !environment.isTrue("AWS_EC2_METADATA_DISABLED") {
            do {
                let r = try imds.get("meta-data/placement/region").trimmingCharacters(in: .whitespacesAndNewlines)
                if !r.isEmpty {
                    regions = [r]
                    source = .imds
                }
            } catch {
                imdsProblem = error.description
            }
        }
        guard !regions.isEmpty else {
            throw Error(description: "no region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION, or the profile's region (\(imdsProblem))", missing: true)
        }
        return (try checked(regions, source: source), source)
    }

    /// Duplicates dropped, order kept; every name must be a region name.
    private static func checked(_ regions: [String], source: ConfigSource = .flag("--region")) throws(Error) -> [String] {
        var seen = Set<String>()
        let unique = regions.filter { seen.insert($0).inserted }
        if let bad = unique.first(where: { !RegionName.isValid($0) }) {
            let shown = bad.count > 40 ? String(bad.prefix(40)) + "… (\(bad.utf8.count) bytes)" : bad
            let from = source.isFlag ? "" : " (from \(source))"
            throw Error(description: "\"\(shown)\"\(from) is not an AWS region name (e.g. us-east-1)", missing: false)
        }
        return unique
    }
}
