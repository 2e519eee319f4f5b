/// Who the credentials belong to. `Account` keys every stored instance, `Arn` says which
/// role (and, on EC2, which instance) made the poll.
public struct CallerIdentity: Sendable, Equatable {
    public var account: String
    public var arn: String
    public var userId: String
}

/// STS over the Query protocol (`Version=2011-06-15`).
public struct STSClient: Sendable {
    public static let apiVersion = "2011-06-15"
    public let query: AWSQueryClient

    public init(query: AWSQueryClient) {
        self.query = query
    }

    public func getCallerIdentity() throws(AWSError) -> CallerIdentity {
        let body = try query.call("GetCallerIdentity")
        let values: [String?]
        do {
            values = try QueryResponse.fields(body, [["GetCallerIdentityResult", "Account"], ["GetCallerIdentityResult", "Arn"],
                                                     ["GetCallerIdentityResult", "UserId"]]).values
        } catch {
            throw AWSError.malformed("sts:GetCallerIdentity", error.description)
        }
        guard let account = values[0], let arn = values[1] else {
            throw AWSError.malformed("sts:GetCallerIdentity", "no GetCallerIdentityResult/Account and Arn")
        }
        // The account keys every stored instance: only a real account id may.
        guard account.utf8.count == 12, account.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw AWSError.malformed("sts:GetCallerIdentity", "Account \"\(account.prefix(40))\" is not a 12-digit account id")
        }
        return CallerIdentity(account: account, arn: arn, userId: values[2] ?? "")
    }
}
