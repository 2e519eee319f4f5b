/// An IAM role ARN, `arn:<partition>:iam::<12 digits>:role/[<path>/]<name>`, read once.
///
/// The one parser for `--assume-role` values: the command checks them with it before any
/// network call (exit 2), and `AssumeRoleCredentialProvider` takes the account from it. The
/// resource is split off after the fifth `:` only, since an IAM path may itself hold `:`.
public struct RoleARN: Sendable, Hashable, CustomStringConvertible {
    /// The one-line complaint about a value that does not parse (long values are cut).
    public static func notARole(_ text: String) -> String {
        let shown = text.count > 80 ? String(text.prefix(80)) + "…" : text
        return "\"\(shown)\" is not an IAM role ARN (arn:<partition>:iam::<12-digit account>:role/[<path>/]<name>)"
    }

    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    public let partition: String
    /// The 12-digit account the role lives in.
    public let account: String
    /// The ARN exactly as given.
    public let description: String

    /// Nil for anything that is not a well-formed IAM role ARN.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", Self.isPartition(parts[1]), parts[2] == "iam", parts[3].isEmpty,
              parts[4].utf8.count == 12, parts[4].utf8.allSatisfy({ (48...57).contains($0) }),
              Self.isRoleResource(parts[5]) else { return nil }
        self.partition = String(parts[1])
        self.account = String(parts[4])
        self.description = text
    }

    /// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, ...: `aws` then dash-separated lower-case parts.
    private static func isPartition(_ s: Substring) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.first == "aws" && parts.dropFirst().allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (97...122).contains($0) } }
    }

    /// `role/name` or `role/path/.../name`: IAM's limits (name 1-64 of `A-Za-z0-9+=,.@_-`,
    /// path up to 512 printable ASCII characters).
    private static func isRoleResource(_ s: Substring) -> Bool {
        guard s.hasPrefix("role/") else { return false }
        let rest = s.dropFirst(5)
        let name = rest.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        let path = rest.dropLast(name.count)
        return (1...64).contains(name.utf8.count) && name.utf8.allSatisfy(nameCharacters.contains)
            && path.utf8.count <= 512 && path.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    private static let nameCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-".utf8)
}
