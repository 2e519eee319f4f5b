import ArgumentParser
import CloudInventory

/// `--org-role` and `--skip-account`: poll every active account of the organization. Checked
/// before any network call; the accounts themselves come from ListAccounts at plan time.
struct OrganizationOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Poll every ACTIVE account of the organization (Organizations ListAccounts) through this role in each; the caller's own account with its own credentials.",
        valueName: "name"))
    var orgRole: String?

    @Option(name: .long, help: ArgumentHelp("With --org-role: an account not to poll; repeat or comma-separate.", valueName: "id"))
    var skipAccount: [String] = []

    /// The 12-digit ids, comma-separated values split.
    var skippedAccounts: [String] { skipAccount.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } }

    mutating func validate() throws {
        if let orgRole, let problem = OrganizationPolling.problem(withRoleName: orgRole) {
            throw ValidationError("--org-role \(problem)")
        }
        if let bad = skippedAccounts.first(where: { !OrganizationsClient.isAccountId($0) }) {
            throw ValidationError("--skip-account \"\(bad.prefix(40))\" is not a 12-digit account id")
        }
        if orgRole == nil, !skipAccount.isEmpty { throw ValidationError("--skip-account needs --org-role") }
    }

    /// The checks that involve the command's other role flags: `--org-role` replaces
    /// `--assume-role` (one way to choose accounts), and `--external-id` needs one of them.
    func validate(assumeRole: [String], externalId: String?) throws {
        if orgRole != nil, !assumeRole.isEmpty {
            throw ValidationError("--org-role and --assume-role both choose the accounts to poll; give one of them")
        }
        if externalId != nil, assumeRole.isEmpty, orgRole == nil { throw ValidationError("--external-id needs --assume-role or --org-role") }
    }

    /// For `Poller.Configuration.organization`.
    var configuration: OrganizationPolling? {
        orgRole.map { OrganizationPolling(roleName: $0, skipAccounts: Set(skippedAccounts)) }
    }
}
