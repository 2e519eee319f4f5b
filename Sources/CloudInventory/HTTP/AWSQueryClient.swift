import Foundation
import Logging

/// The run-wide shared state every AWS call takes part in.
public struct RunContext: Sendable {
    public var statistics: RunStatistics
    public var quota: RetryQuota
    public var budgets: RequestBudgets
    public var cancellation: CancellationFlag

    public init(statistics: RunStatistics = RunStatistics(), quota: RetryQuota = RetryQuota(),
                budgets: RequestBudgets = RequestBudgets(), cancellation: CancellationFlag = CancellationFlag()) {
        self.statistics = statistics
        self.quota = quota
        self.budgets = budgets
        self.cancellation = cancellation
    }
}

/// Calls one AWS Query-protocol service (EC2, STS) in one region: form-encoded POST,
/// SigV4-signed, XML back, errors turned into `AWSError`, retries per `RetryPolicy`.
public final class AWSQueryClient: Sendable {
    public struct Configuration: Sendable {
        public var apiVersion: String
        public var retry: RetryPolicy = RetryPolicy()
        public var timeout: Duration = .seconds(30)

        public init(apiVersion: String, retry: RetryPolicy = RetryPolicy(), timeout: Duration = .seconds(30)) {
            self.apiVersion = apiVersion
            self.retry = retry
            self.timeout = timeout
        }
    }

    public let endpoint: ServiceEndpoint
    public let configuration: Configuration
    private let credentials: any CredentialProvider
    private let http: HTTPClient
    private let logger: Logger
    private let run: RunContext
    /// `account/region`: the key of the request budget and of throttle counts.
    private let slice: String
    private let clock: @Sendable () -> Date

    public init(endpoint: ServiceEndpoint, configuration: Configuration, credentials: any CredentialProvider,
                http: HTTPClient, logger: Logger, run: RunContext = RunContext(), account: String = "",
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.credentials = credentials
        self.http = http
        self.logger = logger
        self.run = run
        self.slice = "\(account)/\(endpoint.region)"
        self.clock = clock
    }

    /// Performs `action` and returns the raw XML body of a successful response.
    public func call(_ action: String, _ parameters: [(String, String)] = []) throws(AWSError) -> [UInt8] {
        let operation = "\(endpoint.service):\(action)"
        let bucket = run.budgets.bucket(slice)
        var attempt = 1
        var quotaSpent: Int?
        while true {
            if run.cancellation.isCancelled { throw AWSError.cancelled(operation) }
            bucket.acquire(cancellation: run.cancellation)
            do {
                let body = try attemptCall(action, parameters, operation: operation)
                run.quota.release(quotaSpent)
                return body
            } catch {
                if error.isThrottling { run.statistics.throttle(slice: slice) }
                guard error.isRetryable, attempt < configuration.retry.maxAttempts, !run.cancellation.isCancelled else { throw error }
                guard let cost = run.quota.acquire(timeout: error.isTimeout) else {
                    logger.warning("retry quota exhausted", metadata: ["operation": "\(operation)", "slice": "\(slice)"])
                    throw error
                }
                quotaSpent = (quotaSpent ?? 0) + cost
                run.statistics.retry()
                let delay = configuration.retry.delay(beforeRetry: attempt)
                logger.notice("retrying", metadata: ["operation": "\(operation)", "slice": "\(slice)", "attempt": "\(attempt + 1)", "error": "\(error.errorCode ?? "transport")"])
                var remaining = delay / .seconds(1)
                while remaining > 0, !run.cancellation.isCancelled {
                    Thread.sleep(forTimeInterval: min(remaining, 0.1))
                    remaining -= 0.1
                }
                attempt += 1
            }
        }
    }

    private func attemptCall(_ action: String, _ parameters: [(String, String)], operation: String) throws(AWSError) -> [UInt8] {
        let creds: Credentials
        do {
            guard let c = try credentials.credentials() else {
                throw AWSError.credentials(operation, "no credentials available")
            }
            creds = c
        } catch let error as AWSError {
            throw error
        } catch {
            throw AWSError.credentials(operation, "\(error)")
        }
        let form = [("Action", action), ("Version", configuration.apiVersion)] + parameters
        var request = SignableRequest(
            method: "POST",
            path: endpoint.path,
            headers: [
                ("Host", endpoint.host),
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ],
            body: Array(PercentEncoding.formBody(form).utf8)
        )
        SigV4Signer(credentials: creds, region: endpoint.region, service: endpoint.service).sign(&request, date: clock())
        let response: HTTPResponse
        do {
            response = try http.execute(HTTPRequest(method: "POST", url: endpoint.url + (endpoint.path == "/" ? "/" : ""),
                                                    headers: request.headers, body: request.body, timeout: configuration.timeout))
        } catch {
            throw AWSError.transport(operation, error)
        }
        run.statistics.request(bytes: response.body.count)
        guard (200..<300).contains(response.status) else {
            throw Self.error(from: response, operation: operation)
        }
        return response.body
    }

    /// EC2 errors are `Response/Errors/Error/{Code,Message}` + `RequestID`; STS and the other
    /// Query services use `ErrorResponse/Error/{Code,Message}` + `RequestId`.
    static func error(from response: HTTPResponse, operation: String) -> AWSError {
        let requestIdHeader = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
        guard let root = try? XMLNode.parse(response.body) else {
            return .service(operation, code: "HTTP\(response.status)", message: "HTTP \(response.status) with an unreadable body",
                            requestId: requestIdHeader, status: response.status)
        }
        let error = root["Errors", "Error"] ?? root["Error"]
        let code = error?["Code"]?.text ?? "HTTP\(response.status)"
        let message = error?["Message"]?.text ?? "HTTP \(response.status)"
        let requestId = root["RequestID"]?.text ?? root["RequestId"]?.text ?? requestIdHeader
        return .service(operation, code: code, message: message, requestId: requestId, status: response.status)
    }
}
