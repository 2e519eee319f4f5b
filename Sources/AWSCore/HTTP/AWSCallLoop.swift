import Foundation
import Logging

/// The attempt loop of one AWS call, whatever its protocol: the request budget (the slice's,
/// or STS's and Organizations' own), the stop flag,
/// retries per `RetryPolicy` within the run's quota, and one free re-signing after a clock
/// correction, and the adaptive mode's client-side rate limit. `AWSQueryClient` and
/// `AWSJSONClient` both run their attempts through it, so the two protocols retry, count,
/// throttle and stop alike.
struct AWSCallLoop: Sendable {
    /// What one attempt came to, short of an error.
    enum Attempt {
        case success([UInt8])
        /// AWS refused the request's date and the signing clock was corrected: sign again.
        case clockCorrected(AWSError)
    }

    let retry: RetryPolicy
    let run: RunContext
    let logger: Logger
    /// `account/region`: the key of the request budget and of throttle counts.
    let slice: String

    /// Runs `attempt` until it succeeds or the error is final; returns the verified body.
    func perform(_ operation: String, _ attempt: () throws(AWSError) -> Attempt) throws(AWSError) -> [UInt8] {
        let bucket = run.budgets.bucket(operation: operation, slice: slice)
        var number = 1
        var quotaSpent: Int?
        var clockCorrected = false
        while true {
            if run.cancellation.isCancelled { throw AWSError.cancelled(operation) }
            bucket.acquire(cancellation: run.cancellation)
            if retry.rateLimiter?.acquire(cancellation: run.cancellation) == true {
                logger.debug("client-side rate limit: waited for a send token", metadata: ["operation": "\(operation)", "slice": "\(slice)"])
            }
            let error: AWSError
            do {
                switch try attempt() {
                case let .success(body):
                    retry.rateLimiter?.record(throttled: false)
                    run.quota.release(quotaSpent)
                    return body
                case let .clockCorrected(skew):
                    // One free, immediate re-signing per call, as the SDKs do.
                    if !clockCorrected {
                        clockCorrected = true
                        continue
                    }
                    error = skew
                }
            } catch let failure {
                error = failure
            }
            try backOff(after: error, attempt: number, quotaSpent: &quotaSpent, operation: operation)
            number += 1
        }
    }

    /// Throws `error` unless the policy, the quota and the stop flag allow another attempt;
    /// otherwise sleeps the backoff (waking for a stop).
    private func backOff(after error: AWSError, attempt: Int, quotaSpent: inout Int?, operation: String) throws(AWSError) {
        if error.isThrottling { run.statistics.throttle(slice: slice) }
        retry.rateLimiter?.record(throttled: error.isThrottling)
        guard error.isRetryable, attempt < retry.maxAttempts, !run.cancellation.isCancelled else { throw error }
        guard let cost = run.quota.acquire(timeout: error.isTimeout) else {
            logger.warning("retry quota exhausted", metadata: ["operation": "\(operation)", "slice": "\(slice)"])
            throw error
        }
        quotaSpent = (quotaSpent ?? 0) + cost
        run.statistics.retry()
        logger.notice("retrying", metadata: ["operation": "\(operation)", "slice": "\(slice)", "attempt": "\(attempt + 1)",
                                             "error": "\(error.errorCode ?? "transport")"])
        run.cancellation.sleep(for: retry.delay(beforeRetry: attempt))
    }

    /// One attempt of a signed POST, whatever the protocol: the provider's credentials, a
    /// SigV4 signature for the endpoint's credential scope by the run's clock, the exchange.
    /// A 2xx response goes through `verify` (the protocol's check that it answers what was
    /// asked); any other becomes the protocol's `failure`, or a re-signing after a clock fix.
    func post(to endpoint: ServiceEndpoint, headers: [(String, String)], body: [UInt8], credentials provider: any CredentialProvider,
              http: HTTPClient, timeout: Duration, maxResponseBytes: Int, operation: String,
              failure: (HTTPResponse) -> AWSError, verify: (HTTPResponse) throws(AWSError) -> Void) throws(AWSError) -> Attempt {
        let credentials = try Self.credentials(provider, operation: operation)
        var request = SignableRequest(method: "POST", path: endpoint.path, headers: [("Host", endpoint.host)] + headers, body: body)
        let signing = run.clock.now()
        SigV4Signer(credentials: credentials, region: endpoint.signingRegion, service: endpoint.signingName).sign(&request, date: signing.date)
        let response: HTTPResponse
        do {
            response = try http.execute(HTTPRequest(method: "POST", url: endpoint.url + (endpoint.path == "/" ? "/" : ""),
                                                    headers: request.headers, body: request.body, timeout: timeout,
                                                    maxResponseBytes: maxResponseBytes))
        } catch {
            throw AWSError.transport(operation, error)
        }
        guard (200..<300).contains(response.status) else {
            let error = failure(response)
            if error.mayBeClockSkew, correctClock(response, signing: signing, operation: operation) {
                return .clockCorrected(error)
            }
            throw error
        }
        try verify(response)
        return .success(response.body)
    }

    /// The provider's credentials, or a credentials `AWSError` naming the operation.
    private static func credentials(_ provider: any CredentialProvider, operation: String) throws(AWSError) -> Credentials {
        do {
            guard let c = try provider.credentials() else { throw AWSError.credentials(operation, "no credentials available") }
            return try c.validated()
        } catch let error as AWSError {
            throw error
        } catch {
            throw AWSError.credentials(operation, "\(error)")
        }
    }

    /// Learns the clock offset from the response's `Date`; true when a new signature would
    /// carry a different date. Warns when the run's offset changes.
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
