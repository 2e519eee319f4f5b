@_spi(Bytes) import AWSCore
import Foundation
import Logging

/// `--instance-ids` over several regions is a lookup: an id EC2 does not know in one region
/// is "not there", not a failed slice. EC2 refuses the whole DescribeInstances when any
/// listed id is unknown (`InvalidInstanceID.NotFound`, naming them), so the slice is asked
/// again without those; when the message cannot be read, each id is asked alone.
/// `InvalidInstanceID.Malformed` stays a failure: that is the operator's mistake.
public enum InstanceLookup {
    public static let notFound = "InvalidInstanceID.NotFound"

    /// The ids a NotFound message names: `The instance ID 'i-1' does not exist` or
    /// `The instance IDs 'i-1, i-2' do not exist`. Total: nil unless the first quoted text is
    /// a comma-separated list of instance ids (`i-` and 8 or 17 hex digits).
    public static func unknownIds(inNotFound message: String) -> [String]? {
        let parts = message.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let ids = parts[1].split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !ids.isEmpty, ids.allSatisfy(isInstanceId) else { return nil }
        return ids
    }

    /// `i-` and 8 or 17 lowercase hex digits.
    public static func isInstanceId(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 10 || utf8.count == 19, text.hasPrefix("i-") else { return false }
        return utf8.dropFirst(2).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

extension Poller {
    /// Every page of the slice into `shared`. With `--instance-ids`, ids EC2 does not know
    /// in this region are left out and the call repeated; returns them. Each repeat drops
    /// at least one id, so the loop ends.
    func describe(_ slice: SliceID, ec2: EC2Client, count: inout Int, into shared: any PageDelivery) throws -> [String] {
        var selection = configuration.selection
        var unknown: [String] = []
        while true {
            do {
                try describePages(slice, ec2: ec2, selection: selection, count: &count, into: shared)
                return unknown
            } catch let error as AWSError where error.errorCode == InstanceLookup.notFound && !selection.instanceIds.isEmpty {
                let ids = selection.instanceIds
                guard let named = InstanceLookup.unknownIds(inNotFound: error.message ?? ""), named.allSatisfy(ids.contains) else {
                    logger.debug("InvalidInstanceID.NotFound names no id asked for; asking each id alone", metadata: ["slice": "\(slice)"])
                    return try unknown + describeEach(slice, ec2: ec2, selection: selection, count: &count, into: shared)
                }
                unknown += named
                selection.instanceIds = ids.filter { !named.contains($0) }
                if selection.instanceIds.isEmpty { return unknown }
            }
        }
    }

    /// The fallback: one call per id; the ids EC2 does not know come back.
    private func describeEach(_ slice: SliceID, ec2: EC2Client, selection: PollSelection, count: inout Int,
                              into shared: any PageDelivery) throws -> [String] {
        var unknown: [String] = []
        for id in selection.instanceIds {
            var one = selection
            one.instanceIds = [id]
            do {
                try describePages(slice, ec2: ec2, selection: one, count: &count, into: shared)
            } catch let error as AWSError where error.errorCode == InstanceLookup.notFound {
                unknown.append(id)
            }
        }
        return unknown
    }

    /// The ids of `--instance-ids` that no complete slice found: each was unknown in every
    /// region polled to the end. Empty without ids, or when no slice completed (the failed
    /// slices are reported instead).
    public func instanceIdsFoundNowhere(_ outcomes: [SliceOutcome]) -> [String] {
        let complete = outcomes.filter { $0.status == .complete }
        guard !configuration.selection.instanceIds.isEmpty, !complete.isEmpty else { return [] }
        let unknown = run.statistics.snapshot.unknownInstanceIds
        return configuration.selection.instanceIds.filter { id in complete.allSatisfy { unknown[$0.slice]?.contains(id) == true } }
    }
}
