import Foundation
import Synchronization

/// Caches what another provider hands out, for every worker of the run.
///
/// Credentials with an `expiration` are refreshed `refreshMargin` before it, so a long run
/// never signs with a dead key; credentials without one are kept for the run. Concurrent
/// callers share one refresh in flight: ten workers hitting an expired cache make one IMDS
/// or STS call, not ten, and while credentials due for renewal still work, only the caller
/// renewing them waits (the others sign with the old ones meanwhile). Each cache has its own
/// lock, so one account's renewal never holds another account's workers. When a refresh fails while the cached credentials still work, they
/// are used until they expire (as the SDKs do), and the next call tries again.
public final class CachingCredentialProvider: CredentialProvider, @unchecked Sendable {
    public static let defaultRefreshMargin: TimeInterval = 300

    public let source: any CredentialProvider
    /// Refresh when this close to expiry. Five minutes leaves room for one slow page.
    public let refreshMargin: TimeInterval
    private let clock: @Sendable () -> Date

    /// Guards everything below; `@unchecked Sendable` rests on it.
    private let condition = NSCondition()
    private var cached: Credentials?
    private var refreshing = false
    /// Bumped when a refresh ends, so callers that waited for it take its outcome.
    private var generation = 0
    private var lastOutcome: Result<Credentials?, any Error> = .success(nil)

    public init(_ source: any CredentialProvider, refreshMargin: TimeInterval = CachingCredentialProvider.defaultRefreshMargin,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.source = source
        self.refreshMargin = refreshMargin
        self.clock = clock
    }

    public func credentials() throws -> Credentials? {
        condition.lock()
        if let usable = usableCached() {
            condition.unlock()
            return usable
        }
        if refreshing {
            // Someone else is renewing credentials that still work: use them meanwhile, so
            // a renewal makes one caller wait, not every worker of the account.
            if let valid = stillValidCached() {
                condition.unlock()
                return valid
            }
            // Nothing usable: wait for that fetch and share its outcome.
            let awaited = generation
            while generation == awaited { condition.wait() }
            let outcome = lastOutcome
            let stillValid = stillValidCached()
            condition.unlock()
            return try stillValid ?? outcome.get()
        }
        refreshing = true
        condition.unlock()

        let outcome: Result<Credentials?, any Error> = Result { try source.credentials() }
        condition.lock()
        refreshing = false
        generation &+= 1
        lastOutcome = outcome
        if case let .success(fresh?) = outcome { cached = fresh }
        let fallback = stillValidCached()
        condition.broadcast()
        condition.unlock()
        switch outcome {
        case .success: return try outcome.get()
        case .failure: return try fallback ?? outcome.get()
        }
    }

    /// The cached credentials when no refresh is due. Call with the lock held.
    private func usableCached() -> Credentials? {
        guard let cached else { return nil }
        guard let expiration = cached.expiration else { return cached }
        return expiration.timeIntervalSince(clock()) > refreshMargin ? cached : nil
    }

    /// The cached credentials while they have not yet expired. Call with the lock held.
    private func stillValidCached() -> Credentials? {
        guard let cached else { return nil }
        guard let expiration = cached.expiration else { return cached }
        return expiration > clock() ? cached : nil
    }
}

/// The caching provider of one configured source, made on its first use from what the
/// configuration says and then shared by every caller, so concurrent workers wait on one
/// refresh. Each source that expires (process, SSO, web identity, container) keeps one.
final class SourceCache: Sendable {
    private let cache = Mutex<CachingCredentialProvider?>(nil)

    /// The cached credentials; on first use `makeSource` reads the configuration and gives
    /// the fetcher, or nil when the source is not configured (the chain goes on).
    func credentials(_ makeSource: () throws -> (any CredentialProvider)?) throws -> Credentials? {
        if let cached = cache.withLock({ $0 }) { return try cached.credentials() }
        guard let source = try makeSource() else { return nil }
        let fresh = CachingCredentialProvider(source)
        let shared = cache.withLock { existing in
            if let existing { return existing }
            existing = fresh
            return fresh
        }
        return try shared.credentials()
    }
}
