@_spi(Bytes) import AWSCore

/// AWS Organizations over the JSON 1.1 protocol: only `ListAccounts`, every page.
public struct OrganizationsClient: Sendable {
    public static let targetPrefix = "AWSOrganizationsV20161128"
    /// ListAccounts `MaxResults`: the model's largest.
    public static let pageSize = 20
    /// A `NextToken` chain longer than this (200,000 accounts) fails the listing, as a
    /// cycle does: an organization holds at most a few thousand accounts.
    public static let maxPages = 10_000

    /// One entry of ListAccounts.
    public struct Account: Sendable, Equatable {
        public var id: String
        public var name: String?
        /// The deprecated field (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`), retired in 2026.
        public var status: String?
        /// Its successor (`PENDING_ACTIVATION`, `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`).
        public var state: String?

        public init(id: String, name: String? = nil, status: String? = nil, state: String? = nil) {
            self.id = id
            self.name = name
            self.status = status
            self.state = state
        }

        /// `State` when AWS sends it, else `Status`; an account with neither is not known to
        /// be active, and is not polled.
        public var lifecycle: String { state ?? status ?? "unknown" }
        public var isActive: Bool { lifecycle == "ACTIVE" }
    }

    public let json: AWSJSONClient

    public init(json: AWSJSONClient) {
        self.json = json
    }

    /// The region Organizations is asked in for a partition: it is a global service, one
    /// endpoint per partition, signed for that partition's home region (botocore's
    /// `partitionEndpoint`). The run resolves the endpoint for this region through its
    /// configuration (`Poller.endpoint`), so FIPS, dual-stack and endpoint overrides apply.
    public static func homeRegion(partition: String) -> String {
        switch partition {
        case "aws-cn": return "cn-northwest-1"
        case "aws-us-gov": return "us-gov-west-1"
        case "aws-iso": return "us-iso-east-1"
        case "aws-iso-b": return "us-isob-east-1"
        case "aws-iso-e": return "eu-isoe-west-1"
        case "aws-iso-f": return "us-isof-south-1"
        default: return "us-east-1"
        }
    }

    /// The endpoint for a partition from the environment's overrides and botocore's rules,
    /// for a program that has no `AWSConfiguration`.
    public static func endpoint(partition: String, environment: Environment) -> ServiceEndpoint {
        ServiceEndpoint.resolve(service: "organizations", region: homeRegion(partition: partition), environment: environment)
    }

    /// Every account of the organization, every page, each listed once, in AWS's order.
    public func listAccounts() throws(AWSError) -> [Account] {
        let operation = "organizations:ListAccounts"
        var accounts: [Account] = []
        var seenIds = Set<String>()
        var seenTokens = Set<String>()
        var token: String?
        for _ in 0..<Self.maxPages {
            var input: [JSONMember] = [JSONMember("MaxResults", .int(Int64(Self.pageSize)))]
            if let token { input.append(JSONMember("NextToken", .string(token))) }
            let page = try Self.page(json.call("ListAccounts", .object(input)), operation: operation)
            for account in page.accounts where seenIds.insert(account.id).inserted {
                accounts.append(account)
            }
            guard let next = page.nextToken else { return accounts }
            guard seenTokens.insert(next).inserted else {
                throw AWSError.malformed(operation, "NextToken repeats: the listing would never end")
            }
            token = next
        }
        throw AWSError.malformed(operation, "more than \(Self.maxPages) pages")
    }

    /// One page: `Accounts` must be a list of objects with a 12-digit `Id` (it becomes a role
    /// ARN and keys stored instances); `NextToken` a non-empty string, or absent or null.
    static func page(_ members: [JSONMember], operation: String) throws(AWSError) -> (accounts: [Account], nextToken: String?) {
        let answer = JSONValue.object(members)
        guard let list = answer["Accounts"]?.arrayValue else { throw AWSError.malformed(operation, "no Accounts list") }
        var accounts: [Account] = []
        for item in list {
            guard let id = item["Id"]?.stringValue else { throw AWSError.malformed(operation, "an account without an Id") }
            guard isAccountId(id) else {
                throw AWSError.malformed(operation, "Id \"\(id.prefix(40))\" is not a 12-digit account id")
            }
            accounts.append(Account(id: id, name: item["Name"]?.stringValue, status: item["Status"]?.stringValue,
                                    state: item["State"]?.stringValue))
        }
        switch answer["NextToken"] {
        case nil, .null?: return (accounts, nil)
        case let .string(token)? where !token.isEmpty: return (accounts, token)
        default: throw AWSError.malformed(operation, "NextToken is not a string")
        }
    }

    /// Exactly 12 ASCII digits.
    public static func isAccountId(_ text: String) -> Bool {
        text.utf8.count == 12 && text.utf8.allSatisfy { (48...57).contains($0) }
    }
}
