import AWSCore
import ArgumentParser
import CloudInventory

/// `--assume-role` values, checked before any network call by the library's one ARN parser:
/// each must be an IAM role ARN, and no two may name one account (one role per account; two
/// would poll the same slices twice).
extension RoleARN {
    static func validate(_ arns: [String]) throws(ValidationError) {
        var seen: [String: String] = [:]
        for arn in arns {
            guard let account = RoleARN(arn)?.account else {
                throw ValidationError("--assume-role \(notARole(arn))")
            }
            if let other = seen[account] {
                throw ValidationError("--assume-role: \(other) and \(arn) name the same account \(account); give one role per account")
            }
            seen[account] = arn
        }
    }
}
