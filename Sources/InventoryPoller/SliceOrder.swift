import AWSCore
import CloudInventory

/// Puts the poll's pages on stdout in the plan's order (accounts in plan order, each with its
/// regions in the order given on the command line), not in the order slices finish.
///
/// The slice that is due streams straight through, page by page. Pages of a later slice are
/// held until every slice before it has finished (its last page is the one without a
/// `NextToken`); then they go out, and the next unfinished slice becomes the one that streams.
/// A slice that fails (or is planned as failed) sends no last page, so the slices after it are
/// held until the poll ends.
///
/// Memory bound: what is held is at most `maximumHeldBytes` (256 MiB) of rendered pages. Past
/// that, everything held is written at once in plan order and later pages go out as they come
/// (`ordered` turns false), so one slow or failed region early in a large poll costs order,
/// never unbounded memory.
struct SliceOrder {
    static let maximumHeldBytes = 256 << 20
    /// The rows of a text or csv page, counted at this much each.
    static let bytesPerRow = 256

    private var position: [SliceID: Int] = [:]
    private var order: [SliceID] = []
    private var due = 0
    private var held: [SliceID: [RenderedPage]] = [:]
    private var finished: Set<SliceID> = []
    private(set) var heldBytes = 0
    private(set) var ordered = true

    mutating func begin(_ slices: [SliceID]) {
        order = slices
        for (i, slice) in slices.enumerated() where position[slice] == nil { position[slice] = i }
    }

    /// The pages to write now, in order: none while `page` must wait for an earlier slice.
    mutating func add(_ page: RenderedPage, slice: SliceID) -> [(RenderedPage, SliceID)] {
        guard ordered, let at = position[slice], at > due || (at == due && !finished.contains(slice)) else {
            return [(page, slice)]
        }
        let last = page.nextToken == nil
        if at == due {
            guard last else { return [(page, slice)] }
            finished.insert(slice)
            return [(page, slice)] + advance()
        }
        held[slice, default: []].append(page)
        heldBytes += Self.size(page)
        if last { finished.insert(slice) }
        guard heldBytes > Self.maximumHeldBytes else { return [] }
        ordered = false
        return drain()
    }

    /// Everything still held, in plan order (at the end of the poll).
    mutating func drain() -> [(RenderedPage, SliceID)] {
        let out = order.flatMap { slice in (held.removeValue(forKey: slice) ?? []).map { ($0, slice) } }
        heldBytes = 0
        due = order.count
        return out
    }

    /// The due slice has finished: release the held pages of the next ones, up to the first
    /// that is still running (whose later pages then stream).
    private mutating func advance() -> [(RenderedPage, SliceID)] {
        var out: [(RenderedPage, SliceID)] = []
        due += 1
        while due < order.count {
            let slice = order[due]
            for page in held.removeValue(forKey: slice) ?? [] {
                heldBytes -= Self.size(page)
                out.append((page, slice))
            }
            guard finished.contains(slice) else { break }
            due += 1
        }
        return out
    }

    static func size(_ page: RenderedPage) -> Int {
        page.json.count + page.rows.count * bytesPerRow
    }
}
