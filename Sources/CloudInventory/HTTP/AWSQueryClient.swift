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
    let logger: Logger
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

    /// What one attempt came to, short of an error.
    private enum Attempt {
        case success([UInt8])
        /// AWS refused the request's date and the signing clock was corrected: sign again.
        case clockCorrected(AWSError)
    }

    /// Performs `action` and returns the raw XML body of a verified, successful response.
    public func call(_ action: String, _ parameters: [(String, String)] = []) throws(AWSError) -> [UInt8] {
        let operation = "\(endpoint.service):\(action)"
        let bucket = run.budgets.bucket(slice)
        var attempt = 1
        var quotaSpent: Int?
        var clockCorrected = false
        while true {
            if run.cancellation.isCancelled { throw AWSError.cancelled(operation) }
            bucket.acquire(cancellation: run.cancellation)
            if configuration.retry.rateLimiter?.acquire(cancellation: run.cancellation) == true {
                logger.debug("client-side rate limit: waited for a send token", metadata: ["operation": "\(operation)", "slice": "\(slice)"])
            }
            let error: AWSError
            do {
                switch try attemptCall(action, parameters, operation: operation) {
                case let .success(body):
                    configuration.retry.rateLimiter?.record(throttled: false)
                    run.quota.release(quotaSpent)
                    return body
                case let .clockCorrected(skew):
                    // One free, immediate re-signing per call, as the SDKs do; a second
                    // skew error takes the ordinary retry path.
                    if !clockCorrected {
                        clockCorrected = true
                        continue
                    }
                    error = skew
                }
            } catch let failure {
                error = failure
            }
            try backOff(after: error, attempt: attempt, quotaSpent: &quotaSpent, operation: operation)
            attempt += 1
        }
    }

    /// Throws `error` unless the retry policy, the quota and the stop flag allow another
    /// attempt; otherwise sleeps the backoff (waking for a stop).
    private func backOff(after error: AWSError, attempt: Int, quotaSpent: inout Int?, operation: String) throws(AWSError) {
        if error.isThrottling { run.statistics.throttle(slice: slice) }
        configuration.retry.rateLimiter?.record(throttled: error.isThrottling)
        guard error.isRetryable, attempt < configuration.retry.maxAttempts, !run.cancellation.isCancelled else { throw error }
        guard let cost = run.quota.acquire(timeout: error.isTimeout) else {
            logger.warning("retry quota exhausted", metadata: ["operation": "\(operation)", "slice": "\(slice)"])
            throw error
        }
        quotaSpent = (quotaSpent ?? 0) + cost
        run.statistics.retry()
        let delay = configuration.retry.delay(beforeRetry: attempt)
        logger.notice("retrying", metadata: ["operation": "\(operation)", "slice": "\(slice)", "attempt": "\(attempt + 1)", "error": "\(error.errorCode ?? "transport")"])
        // A stop cuts the wait short; the next turn of `call` then throws `cancelled`.
        run.cancellation.sleep(for: delay)
    }

    private func attemptCall(_ action: String, _ parameters: [(String, String)], operation: String) throws(AWSError) -> Attempt {
        let creds = try currentCredentials(operation)
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
        let signing = run.clock.now()
        SigV4Signer(credentials: creds, region: endpoint.signingRegion, service: endpoint.signingName).sign(&request, date: signing.date)
        let response: HTTPResponse
        do {
            response = try http.execute(HTTPRequest(method: "POST", url: endpoint.url + (endpoint.path == "/" ? "/" : ""),
                                                    headers: request.headers, body: request.body, timeout: configuration.timeout,
                                                    maxResponseBytes: configuration.maxResponseBytes))
        } catch {
            throw AWSError.transport(operation, error)
        }
        guard (200..<300).contains(response.status) else {
            let error = QueryResponse.error(from: response, operation: operation)
            if error.mayBeClockSkew, correctClock(response, signing: signing, operation: operation) {
                return .clockCorrected(error)
            }
            throw error
        }
        try QueryResponse.verify(response, action: action, namespace: namespace, operation: operation)
        return .success(response.body)
    }

    private func currentCredentials(_ operation: String) throws(AWSError) -> Credentials {
        do {
            guard let c = try credentials.credentials() else {
                throw AWSError.credentials(operation, "no credentials available")
            }
            return c
        } catch let error as AWSError {
            throw error
        } catch {
            throw AWSError.credentials(operation, "\(error)")
        }
    }

    /// Learns the clock offset from the response's `Date`; true when a new signature would
    /// carry a different date. Warns when the run's offset changes (once, in practice).
    private func correctClock(_ response: HTTPResponse, signing: (date: Date, offset: TimeInterval), operation: String) -> Bool {
        guard let header = response.header("Date"), let serverDate = UTCTime.parseHTTPDate(header) else { return false }
        let (retry, changed) = run.clock.correct(serverDate: serverDate, signedAt: signing.date, offsetUsed: signing.offset)
        if let changed {
            logger.warning("the host clock is off AWS's time; signing with AWS's time from now on",
                           metadata: ["skew": "\(changed >= 0 ? "+" : "")\(Int(changed)) s", "operation": "\(operation)",
                                      "hint": "skew is AWS's time minus the host's; fix the host's time sync (NTP)"])
        }
        return retry
    }
}
