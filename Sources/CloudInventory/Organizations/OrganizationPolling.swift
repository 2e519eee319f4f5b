import AWSCore

/// `--org-role NAME` and `--skip-account ID`: poll every ACTIVE account of the caller's
/// organization through the role NAME in each; the caller's own account with its own credentials.
public struct OrganizationPolling: Sendable, Equatable {
    /// The role's name, with its IAM path if it has one (`inventory-reader`, `ops/inventory-reader`).
    public var roleName: String
    /// Accounts not to poll.
    public var skipAccounts: Set<String> = []

    public init(roleName: String, skipAccounts: Set<String> = []) {
        self.roleName = roleName
        self.skipAccounts = skipAccounts
    }

    /// Why `name` cannot be a role name (with its path), or nil when it can: what makes
    /// `arn:<partition>:iam::<account>:role/<name>` a role ARN to the one `RoleARN` parser,
    /// with no empty path segment (a leading, trailing or doubled `/`).
    public static func problem(withRoleName name: String) -> String? {
        // IAM allows `:` in a path, but a whole ARN here is the operator's mistake: it would
        // become `role/arn:aws:iam::…` in every account and fail each one.
        if name.hasPrefix("arn:") {
            return "\"\(name.prefix(80))\" is an ARN: give the role's name (and path), e.g. inventory-reader; the account is each member's"
        }
        let segments = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.contains(where: \.isEmpty), RoleARN(roleArn(partition: "aws", account: "000000000000", name: name)) != nil else {
            return "\"\(name.prefix(80))\" is not an IAM role name ([<path>/]<name>; the name 1 to 64 of A-Z a-z 0-9 + = , . @ _ -)"
        }
        return nil
    }

    public static func roleArn(partition: String, account: String, name: String) -> String {
        "arn:\(partition):iam::\(account):role/\(name)"
    }

    /// The partition of an ARN (`arn:aws-cn:sts::…` → `aws-cn`), nil when it is not an ARN.
    public static func partition(ofArn arn: String) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "arn", parts[1].hasPrefix("aws") else { return nil }
        return String(parts[1])
    }
}

/// What ListAccounts gave and what becomes of each account: polled, skipped by the operator,
/// or not active. Accounts to poll are sorted by id, so runs list them in one order.
public struct OrganizationListing: Sendable, Equatable {
    public var listed: [OrganizationsClient.Account]
    public var polled: [String]
    /// Listed and named by `--skip-account`.
    public var skipped: [String]
    /// Listed and not ACTIVE (suspended, closing, closed, pending), whatever `--skip-account` says.
    public var inactive: [OrganizationsClient.Account]
    /// `--skip-account` ids the organization does not list.
    public var unknownSkips: [String]

    public init(listed: [OrganizationsClient.Account], skip: Set<String>) {
        self.listed = listed
        inactive = listed.filter { !$0.isActive }.sorted { $0.id < $1.id }
        let active = listed.filter(\.isActive).map(\.id)
        skipped = active.filter(skip.contains).sorted()
        polled = active.filter { !skip.contains($0) }.sorted()
        let known = Set(listed.map(\.id))
        unknownSkips = skip.filter { !known.contains($0) }.sorted()
    }

    /// One line for logs and `--check`.
    public var summary: String {
        var s = "\(listed.count) accounts listed, \(polled.count) to poll"
        if !skipped.isEmpty { s += "; skipped (--skip-account): " + skipped.joined(separator: ", ") }
        if !inactive.isEmpty { s += "; not active: " + inactive.map { "\($0.id) (\($0.lifecycle.prefix(20)))" }.joined(separator: ", ") }
        if !unknownSkips.isEmpty { s += "; --skip-account not in the organization: " + unknownSkips.joined(separator: ", ") }
        return s
    }
}

/// `--org-role` found nothing to poll: ListAccounts failed, or every account was skipped or
/// inactive. Either ends the run (exit 4) with one line.
public struct OrganizationError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case listing(AWSError, caller: String)
        case nothingToPoll(String)
    }

    private let code: Code

    public static func listing(_ error: AWSError, caller account: String) -> OrganizationError {
        OrganizationError(code: .listing(error, caller: account))
    }

    public static func nothingToPoll(_ listing: OrganizationListing) -> OrganizationError {
        OrganizationError(code: .nothingToPoll(listing.summary))
    }

    /// The AWS error behind a failed listing.
    public var underlying: AWSError? {
        if case let .listing(error, _) = code { return error }
        return nil
    }

    public var description: String {
        switch code {
        case let .listing(error, caller):
            let hint: String
            if error.errorCode == "AWSOrganizationsNotInUseException" {
                hint = "account \(caller) is not in an AWS organization"
            } else if ["AccessDeniedException", "AccessDenied"].contains(error.errorCode) || error.httpStatus == 403 {
                hint = "ListAccounts needs the organization's management account or a delegated administrator, with organizations:ListAccounts allowed"
            } else {
                hint = "the organization's accounts could not be listed"
            }
            return "--org-role: \(hint): \(error)"
        case let .nothingToPoll(summary):
            return "--org-role: no account left to poll (\(summary))"
        }
    }
}
