/// A failed AWS call. Service errors carry AWS's own code, message and request id, which is
/// what an operator needs to search the docs or open a support case.
public struct AWSError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case service(code: String, message: String, requestId: String?, status: Int)
        case transport(HTTPError)
        case malformedResponse(String)
        case credentials(String)
        case cancelled
    }

    private let code: Code
    /// The operation, e.g. `ec2:DescribeInstances`.
    public let operation: String

    public static func service(_ operation: String, code: String, message: String, requestId: String?, status: Int) -> AWSError {
        AWSError(code: .service(code: code, message: message, requestId: requestId, status: status), operation: operation)
    }

    public static func transport(_ operation: String, _ error: HTTPError) -> AWSError {
        AWSError(code: .transport(error), operation: operation)
    }

    public static func malformed(_ operation: String, _ reason: String) -> AWSError {
        AWSError(code: .malformedResponse(reason), operation: operation)
    }

    public static func credentials(_ operation: String, _ reason: String) -> AWSError {
        AWSError(code: .credentials(reason), operation: operation)
    }

    public static func cancelled(_ operation: String) -> AWSError {
        AWSError(code: .cancelled, operation: operation)
    }

    public var isCancelled: Bool {
        if case .cancelled = code { return true }
        if case let .transport(e) = code { return e.kind == .cancelled }
        return false
    }

    var isTimeout: Bool {
        if case let .transport(e) = code { return e.kind == .timeout }
        return false
    }

    /// AWS's error code (`UnauthorizedOperation`), or nil for transport and parse failures.
    public var errorCode: String? {
        if case let .service(code, _, _, _) = code { return code }
        return nil
    }

    public var message: String? {
        if case let .service(_, message, _, _) = code { return message }
        return nil
    }

    public var requestId: String? {
        if case let .service(_, _, requestId, _) = code { return requestId }
        return nil
    }

    public var httpStatus: Int? {
        if case let .service(_, _, _, status) = code { return status }
        return nil
    }

    public var isCredentialFailure: Bool {
        if case .credentials = code { return true }
        return false
    }

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]
    static let transientCodes: Set<String> = ["RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable"]

    /// Codes that say the request's date was out of AWS's window, and codes that may mean it
    /// (a signature dated too far off does not verify). The same two lists as the AWS SDKs'
    /// clock-skew providers. Which of these really is skew is decided by the response's
    /// `Date` header: see `SigningClock.correct`.
    static let clockSkewCodes: Set<String> = [
        "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture",
        "InvalidSignatureException", "AuthFailure", "SignatureDoesNotMatch",
    ]

    /// True when the error may come from the host clock being off AWS's.
    var mayBeClockSkew: Bool {
        guard let errorCode else { return false }
        return Self.clockSkewCodes.contains(errorCode)
    }

    public var isThrottling: Bool {
        guard let errorCode else { return false }
        return Self.throttlingCodes.contains(errorCode)
    }

    /// What the SDKs' "standard" retry mode retries: throttling, transient codes, 500/502/503/504,
    /// and connection failures. Authentication and validation errors are final.
    public var isRetryable: Bool {
        switch code {
        case let .service(code, _, _, status):
            return Self.throttlingCodes.contains(code) || Self.transientCodes.contains(code) || [500, 502, 503, 504].contains(status)
        case let .transport(error):
            return error.isRetryable
        case .malformedResponse, .credentials, .cancelled:
            return false
        }
    }

    public var description: String {
        switch code {
        case let .service(code, message, requestId, status):
            var s = "\(operation) failed: \(code): \(message) (HTTP \(status)"
            if let requestId { s += ", request id \(requestId)" }
            return s + ")"
        case let .transport(error):
            return "\(operation) failed: \(error)"
        case let .malformedResponse(reason):
            return "\(operation) returned an unreadable response: \(reason)"
        case let .credentials(reason):
            return "\(operation): \(reason)"
        case .cancelled:
            return "\(operation): interrupted"
        }
    }
}
