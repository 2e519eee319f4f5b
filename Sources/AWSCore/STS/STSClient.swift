import Foundation

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

extension STSClient {
    /// What botocore sends as AssumeRole's or AssumeRoleWithWebIdentity's optional arguments.
    public struct RoleRequest: Sendable, Equatable {
        public var roleArn: String
        public var sessionName: String
        public var externalId: String?
        public var durationSeconds: Int?

        public init(roleArn: String, sessionName: String, externalId: String? = nil, durationSeconds: Int? = nil) {
            self.roleArn = roleArn
            self.sessionName = sessionName
            self.externalId = externalId
            self.durationSeconds = durationSeconds
        }

        var parameters: [(String, String)] {
            var p = [("RoleArn", roleArn), ("RoleSessionName", sessionName)]
            if let durationSeconds { p.append(("DurationSeconds", String(durationSeconds))) }
            if let externalId { p.append(("ExternalId", externalId)) }
            return p
        }
    }

    /// botocore's default session name when none is configured: `botocore-session-<unix seconds>`.
    public static func defaultSessionName(now: Date = Date()) -> String {
        "botocore-session-\(Int(now.timeIntervalSince1970))"
    }

    /// AssumeRole, signed with this client's credentials.
    public func assumeRole(_ request: RoleRequest, source: String) throws(AWSError) -> Credentials {
        try Self.readCredentials(query.call("AssumeRole", request.parameters), action: "AssumeRole", source: source)
    }

    /// AssumeRoleWithWebIdentity, which is not signed (the token is the proof, as in botocore).
    /// One POST through `http`; a transport failure or 5xx is tried again up to twice.
    public static func assumeRoleWithWebIdentity(_ request: RoleRequest, token: String, endpoint: ServiceEndpoint, http: HTTPClient,
                                                 source: String) throws(AWSError) -> Credentials {
        let operation = "sts:AssumeRoleWithWebIdentity"
        let form = [("Action", "AssumeRoleWithWebIdentity"), ("Version", apiVersion)] + request.parameters + [("WebIdentityToken", token)]
        let body = Array(PercentEncoding.formBody(form).utf8)
        var attempt = 1
        while true {
            do {
                let response = try http.execute(HTTPRequest(
                    method: "POST", url: endpoint.url + (endpoint.path == "/" ? "/" : ""),
                    headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: body,
                    timeout: .seconds(30), maxResponseBytes: 1 << 20))
                guard (200..<300).contains(response.status) else {
                    let error = QueryResponse.error(from: response, operation: operation)
                    if response.status >= 500, attempt < 3 { attempt += 1; continue }
                    throw error
                }
                try QueryResponse.verify(response, action: "AssumeRoleWithWebIdentity",
                                         namespace: AWSQueryClient.modelNamespace(service: "sts", apiVersion: apiVersion), operation: operation)
                return try readCredentials(response.body, action: "AssumeRoleWithWebIdentity", source: source)
            } catch let error as HTTPError {
                if error.isRetryable, attempt < 3, http.cancellation?.isCancelled != true { attempt += 1; continue }
                throw AWSError.transport(operation, error)
            } catch let error as AWSError {
                throw error
            } catch {
                throw AWSError.malformed(operation, "\(error)")
            }
        }
    }

    /// Key, secret, token, expiry of an AssumeRole-family answer, read in one streaming pass;
    /// the assumed identity's ARN is read too, so markup there makes the answer malformed.
    static func readCredentials(_ body: [UInt8], action: String, source: String) throws(AWSError) -> Credentials {
        let result = action + "Result"
        let paths = ["AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"].map { [result, "Credentials", $0] }
            + [[result, "AssumedRoleUser", "Arn"]]
        let values: [String?]
        do {
            values = try QueryResponse.fields(body, paths).values
        } catch {
            throw AWSError.malformed("sts:\(action)", error.description)
        }
        guard let key = values[0], let secret = values[1] else {
            throw AWSError.malformed("sts:\(action)", "no \(result)/Credentials")
        }
        return Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: values[2],
                           expiration: values[3].flatMap(UTCTime.parse), source: source)
    }
}
