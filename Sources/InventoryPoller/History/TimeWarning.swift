import AWSCore
import CloudInventory
import Foundation
import Logging

/// A WHEN that starts an answer where the history cannot answer: before the first poll (the
/// history begins there; an `--as-of` earlier is an empty fleet, not an error) or after now.
/// One warning each, naming when the history begins or that the time is in the future; the
/// answer itself is unchanged.
enum TimeWarning {
    static func check(_ times: [(String, Date)], reader: HistoryReader, now: Date, logger: Logger) throws {
        guard !times.isEmpty else { return }
        var first: Date??
        for (flag, date) in times {
            let shown = UTCTime.iso8601(date)
            if date > now {
                logger.warning("\(flag) \(shown) is in the future (now is \(UTCTime.iso8601(now))): nothing is recorded after now")
                continue
            }
            if first == nil { first = .some(try reader.firstPollStart()) }
            if let begins = first ?? nil, date < begins {
                logger.warning("\(flag) \(shown) is before the history begins: the first poll started at \(UTCTime.iso8601(begins))")
            }
        }
    }
}
