import Foundation
import Logging

/// Calls one AWS JSON 1.1 protocol service (Organizations): `POST /` with
/// `X-Amz-Target: {prefix}.{Operation}` and a JSON body, SigV4-signed, JSON back; errors are
/// JSON documents with `__type`. Same HTTP client, signer, retries, stop flag and body cap as
/// `AWSQueryClient`. Only a 2xx whose body is a JSON object without `__type` is a success, read
/// by the total `JSONValue.parse`: anything else fails the call, never reads as an empty answer.
public final class AWSJSONClient: Sendable {
    public struct Configuration: Sendable {
        /// The model's `targetPrefix`, e.g. `AWSOrganizationsV20161128`.
        public var targetPrefix: String
        public var retry: RetryPolicy = RetryPolicy()
        public var timeout: Duration = .seconds(30)
        /// The largest response body taken; a larger one fails the call ("body too large").
        public var maxResponseBytes: Int = HTTPRequest.defaultMaxResponseBytes

        public init(targetPrefix: String, retry: RetryPolicy = RetryPolicy(), timeout: Duration = .seconds(30),
                    maxResponseBytes: Int = HTTPRequest.defaultMaxResponseBytes) {
            self.targetPrefix = targetPrefix
            self.retry = retry
            self.timeout = timeout
            self.maxResponseBytes = maxResponseBytes
        }
    }

    public let endpoint: ServiceEndpoint
    public let configuration: Configuration
    private let credentials: any CredentialProvider
    private let http: HTTPClient
    private let loop: AWSCallLoop

    public init(endpoint: ServiceEndpoint, configuration: Configuration, credentials: any CredentialProvider,
                http: HTTPClient, logger: Logger, run: RunContext = RunContext(), account: String = "") {
        self.endpoint = endpoint
        self.configuration = configuration
        self.credentials = credentials
        self.http = http
        self.loop = AWSCallLoop(retry: configuration.retry, run: run, logger: logger, slice: "\(account)/\(endpoint.region)")
    }

    /// Performs `operation` with `input` (a JSON object) and returns the verified answer's members.
    public func call(_ operation: String, _ input: JSONValue = .object([])) throws(AWSError) -> [JSONMember] {
        let name = "\(endpoint.service):\(operation)"
        var members: [JSONMember] = []
        _ = try loop.perform(name) { () throws(AWSError) -> AWSCallLoop.Attempt in
            try attempt(operation, input, name: name, answer: &members)
        }
        return members
    }

    /// One signed request; on success `answer` holds the verified object's members.
    private func attempt(_ operation: String, _ input: JSONValue, name: String,
                         answer: inout [JSONMember]) throws(AWSError) -> AWSCallLoop.Attempt {
        try loop.post(to: endpoint, headers: [("Content-Type", "application/x-amz-json-1.1"),
                                              ("X-Amz-Target", "\(configuration.targetPrefix).\(operation)")],
                      body: Array(input.serialized().utf8), credentials: credentials, http: http,
                      timeout: configuration.timeout, maxResponseBytes: configuration.maxResponseBytes, operation: name,
                      failure: { Self.error(from: $0, operation: name) },
                      verify: { (response) throws(AWSError) in answer = try Self.verify(response, operation: name) })
    }

    /// A success is a JSON object that is not an error document.
    static func verify(_ response: HTTPResponse, operation: String) throws(AWSError) -> [JSONMember] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(response.body)
        } catch {
            throw AWSError.malformed(operation, "expected a JSON object: \(error)")
        }
        guard case let .object(members) = value else { throw AWSError.malformed(operation, "expected a JSON object") }
        if members.contains(where: { $0.key == "__type" }) { throw self.error(from: response, operation: operation) }
        return members
    }

    /// The error a failed response carries: botocore's reading of JSON errors. The code is
    /// `__type` (else `code`, else the `x-amzn-ErrorType` header) with any `namespace#` prefix
    /// and `:detail` suffix dropped; the message is `message` or `Message`. A body without a
    /// code becomes `HTTP<status>`.
    static func error(from response: HTTPResponse, operation: String) -> AWSError {
        let requestId = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
        let document = (try? JSONValue.parse(response.body))?.objectValue ?? []
        func string(_ key: String) -> String? { document.first { $0.key == key }?.value.stringValue }
        let rawCode = string("__type") ?? string("code") ?? response.header("x-amzn-ErrorType")
        guard let code = rawCode.map(errorCode), !code.isEmpty else {
            return .service(operation, code: "HTTP\(response.status)", message: "HTTP \(response.status) with an unreadable body",
                            requestId: requestId, status: response.status)
        }
        return .service(operation, code: code, message: string("message") ?? string("Message") ?? "HTTP \(response.status)",
                        requestId: requestId, status: response.status)
    }

    /// `aws.protocoltests#FooError:http://internal/` → `FooError`.
    static func errorCode(_ raw: String) -> String {
        let afterHash = raw.split(separator: "#", omittingEmptySubsequences: false).last ?? ""
        return String(afterHash.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }
}
