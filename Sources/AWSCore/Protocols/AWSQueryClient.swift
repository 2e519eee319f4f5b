import Foundation
import Logging

/// Calls one AWS Query-protocol service (EC2, STS) in one region: form-encoded POST,
/// SigV4-signed, XML back, errors turned into `AWSError`, retries per `RetryPolicy`.
/// A body is returned only once `QueryResponse.verify` has seen that it answers the action
/// asked, so no caller ever reads an error page as an empty result.
public final class AWSQueryClient: Sendable {
    public struct Configuration: Sendable {
        public var apiVersion: String
        /// The XML namespace of the service's model. Nil: the one `modelNamespace` knows for
        /// the service, if any.
        public var xmlNamespace: String?
        public var retry: RetryPolicy = RetryPolicy()
        public var timeout: Duration = .seconds(30)
        /// The largest response body taken; a larger one fails the call ("body too large").
        public var maxResponseBytes: Int = HTTPRequest.defaultMaxResponseBytes

        public init(apiVersion: String, xmlNamespace: String? = nil, retry: RetryPolicy = RetryPolicy(), timeout: Duration = .seconds(30),
                    maxResponseBytes: Int = HTTPRequest.defaultMaxResponseBytes) {
            self.apiVersion = apiVersion
            self.xmlNamespace = xmlNamespace
            self.retry = retry
            self.timeout = timeout
            self.maxResponseBytes = maxResponseBytes
        }
    }

    /// The namespace each service's model declares (botocore's `metadata.xmlNamespace`;
    /// the wire form ends in `/`). Responses must carry it or none.
    public static func modelNamespace(service: String, apiVersion: String) -> String? {
        switch service {
        case "ec2": return "http://ec2.amazonaws.com/doc/\(apiVersion)/"
        case "sts": return "https://sts.amazonaws.com/doc/\(apiVersion)/"
        default: return nil
        }
    }

    public let endpoint: ServiceEndpoint
    public let configuration: Configuration
    private let credentials: any CredentialProvider
    private let http: HTTPClient
    package let logger: Logger
    private let run: RunContext
    /// `account/region`: the key of the request budget and of throttle counts.
    private let slice: String
    private let namespace: String?

    public init(endpoint: ServiceEndpoint, configuration: Configuration, credentials: any CredentialProvider,
                http: HTTPClient, logger: Logger, run: RunContext = RunContext(), account: String = "") {
        self.endpoint = endpoint
        self.configuration = configuration
        self.credentials = credentials
        self.http = http
        self.logger = logger
        self.run = run
        self.slice = "\(account)/\(endpoint.region)"
        self.namespace = configuration.xmlNamespace ?? Self.modelNamespace(service: endpoint.service, apiVersion: configuration.apiVersion)
    }

    /// Performs `action` and returns the raw XML body of a verified, successful response.
    public func call(_ action: String, _ parameters: [(String, String)] = []) throws(AWSError) -> [UInt8] {
        let operation = "\(endpoint.service):\(action)"
        let loop = AWSCallLoop(retry: configuration.retry, run: run, logger: logger, slice: slice)
        return try loop.perform(operation) { () throws(AWSError) -> AWSCallLoop.Attempt in
            try attemptCall(action, parameters, operation: operation, loop: loop)
        }
    }

    private func attemptCall(_ action: String, _ parameters: [(String, String)], operation: String,
                             loop: AWSCallLoop) throws(AWSError) -> AWSCallLoop.Attempt {
        let form = [("Action", action), ("Version", configuration.apiVersion)] + parameters
        return try loop.post(to: endpoint, headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                             body: Array(PercentEncoding.formBody(form).utf8), credentials: credentials, http: http,
                             timeout: configuration.timeout, maxResponseBytes: configuration.maxResponseBytes, operation: operation,
                             failure: { QueryResponse.error(from: $0, operation: operation) },
                             verify: { (response) throws(AWSError) in
                                 try QueryResponse.verify(response, action: action, namespace: namespace, operation: operation)
                             })
    }
}
