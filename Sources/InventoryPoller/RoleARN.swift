import ArgumentParser

/// `--assume-role` values, checked before any network call: each must be an IAM role ARN,
/// `arn:<partition>:iam::<12 digits>:role/[<path>/]<name>`, and no two may name one account
/// (one role per account; two would poll the same slices twice).
enum RoleARN {
    static func validate(_ arns: [String]) throws(ValidationError) {
        var seen: [String: String] = [:]
        for arn in arns {
            guard let account = account(of: arn) else {
                let shown = arn.count > 80 ? String(arn.prefix(80)) + "…" : arn
                throw ValidationError("--assume-role \"\(shown)\" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)")
            }
            if let other = seen[account] {
                throw ValidationError("--assume-role: \(other) and \(arn) name the same account \(account); give one role per account")
            }
            seen[account] = arn
        }
    }

    /// The account of a well-formed role ARN, nil for anything else.
    static func account(of arn: String) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", isPartition(parts[1]), parts[2] == "iam", parts[3].isEmpty,
              parts[4].utf8.count == 12, parts[4].utf8.allSatisfy({ (48...57).contains($0) }),
              isRoleResource(parts[5]) else { return nil }
        return String(parts[4])
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
        let nameChars = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-".utf8)
        return (1...64).contains(name.utf8.count) && name.utf8.allSatisfy(nameChars.contains)
            && path.utf8.count <= 512 && path.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
