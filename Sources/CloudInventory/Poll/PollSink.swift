import AWSCore

/// Receives a poll as it happens, page by page, so nothing needs the whole fleet in memory.
/// Calls arrive in order, one at a time: `begin`, any number of `rendered` pages (pages of
/// different slices interleave), then `end`.
public protocol PollSink {
    mutating func begin(_ header: PollHeader) throws
    /// Asked on the worker's turn just before a slice's first request: storage fixes the
    /// slice's order there (`InventoryStore.beginSlice`) and, with `--once-per`, claims it.
    mutating func admit(_ slice: SliceID) throws -> SliceAdmission
    /// Told when a slice is over, whatever its outcome (a claim is then done or released).
    mutating func sliceEnded(_ outcome: SliceOutcome) throws
    /// A page of instances, rendered from the XML as the run asked (`RenderedPage.Contents`):
    /// the one way a page is delivered. A sink that needs values takes `page.values()`.
    mutating func rendered(_ page: RenderedPage, slice: SliceID) throws
    mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws
}

/// Whether a slice is to be polled by this run.
public enum SliceAdmission: Sendable, Equatable {
    case poll
    /// Another poll holds the slice in this window (`--once-per`): its poll id.
    case skip(heldBy: String)
}

extension PollSink {
    public mutating func admit(_ slice: SliceID) throws -> SliceAdmission { .poll }
    public mutating func sliceEnded(_ outcome: SliceOutcome) throws {}
}

/// Hands every event to two sinks in turn: stdout formatting and storage, say.
public struct TeeSink<A: PollSink, B: PollSink>: PollSink {
    public var first: A
    public var second: B

    public init(_ first: A, _ second: B) {
        self.first = first
        self.second = second
    }

    public mutating func begin(_ header: PollHeader) throws {
        try first.begin(header)
        try second.begin(header)
    }

    /// Both are asked; a skip from either skips the slice.
    public mutating func admit(_ slice: SliceID) throws -> SliceAdmission {
        let a = try first.admit(slice)
        let b = try second.admit(slice)
        return a == .poll ? b : a
    }

    public mutating func sliceEnded(_ outcome: SliceOutcome) throws {
        try first.sliceEnded(outcome)
        try second.sliceEnded(outcome)
    }

    public mutating func rendered(_ page: RenderedPage, slice: SliceID) throws {
        try first.rendered(page, slice: slice)
        try second.rendered(page, slice: slice)
    }

    public mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws {
        try first.end(header, outcomes: outcomes)
        try second.end(header, outcomes: outcomes)
    }
}

/// A sink that may be absent: storage, when no database is configured.
extension Optional: PollSink where Wrapped: PollSink {
    public mutating func begin(_ header: PollHeader) throws { try self?.begin(header) }
    public mutating func admit(_ slice: SliceID) throws -> SliceAdmission { try self?.admit(slice) ?? .poll }
    public mutating func sliceEnded(_ outcome: SliceOutcome) throws { try self?.sliceEnded(outcome) }
    public mutating func rendered(_ page: RenderedPage, slice: SliceID) throws { try self?.rendered(page, slice: slice) }
    public mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws { try self?.end(header, outcomes: outcomes) }
}
