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
        let root: XMLNode
        do {
            root = try XMLNode.parse(body)
        } catch {
            throw AWSError.malformed("sts:GetCallerIdentity", error.description)
        }
        guard let result = root["GetCallerIdentityResult"], let account = result["Account"]?.text, let arn = result["Arn"]?.text else {
            throw AWSError.malformed("sts:GetCallerIdentity", "no GetCallerIdentityResult/Account and Arn")
        }
        return CallerIdentity(account: account, arn: arn, userId: result["UserId"]?.text ?? "")
    }
}
