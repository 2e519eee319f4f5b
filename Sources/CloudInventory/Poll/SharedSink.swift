import AWSCore
import Foundation

/// Serializes sink access across worker threads. The first sink error is kept and stops
/// delivery; the poll then ends with it.
final class SharedSink<Sink: PollSink>: @unchecked Sendable {
    private let lock = NSLock()
    private var sink: Sink
    private(set) var error: Error?

    init(_ sink: Sink) {
        self.sink = sink
    }

    func deliver(_ body: (inout Sink) throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        if let error { throw error }
        do {
            try body(&sink)
        } catch {
            self.error = error
            throw error
        }
    }

    func take() -> Sink {
        lock.lock()
        defer { lock.unlock() }
        return sink
    }
}

/// What a worker thread sees of the sink: pages go in, one at a time. Not generic, so the
/// worker closures capture no sink type (a generic one would not be `Sendable`).
protocol PageDelivery: Sendable {
    func admit(_ slice: SliceID) throws -> SliceAdmission
    func sliceEnded(_ outcome: SliceOutcome) throws
    func deliver(rendered page: RenderedPage, slice: SliceID) throws
}

extension SharedSink: PageDelivery {
    func admit(_ slice: SliceID) throws -> SliceAdmission {
        var admission = SliceAdmission.poll
        try deliver { admission = try $0.admit(slice) }
        return admission
    }

    func sliceEnded(_ outcome: SliceOutcome) throws {
        try deliver { try $0.sliceEnded(outcome) }
    }

    func deliver(rendered page: RenderedPage, slice: SliceID) throws {
        try deliver { try $0.rendered(page, slice: slice) }
    }
}
