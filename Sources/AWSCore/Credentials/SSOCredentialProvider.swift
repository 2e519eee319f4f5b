import Crypto
import Foundation
import Synchronization

/// IAM Identity Center (SSO) role credentials, as botocore's `SSOProvider`: a profile with
/// `sso_account_id` / `sso_role_name`, and either `sso_session` (an `[sso-session NAME]`
/// section with `sso_start_url`, `sso_region`) or the legacy `sso_start_url` / `sso_region`.
///
/// The access token is the one `aws sso login` cached in `~/.aws/sso/cache/<sha1>.json`
/// (sha1 of the session name, or of the start URL for legacy profiles). It is used as it is:
/// no refresh through SSO-OIDC is attempted (botocore does one only for `sso_session`
/// tokens with a registered client and refresh token; here an expired token means
/// `aws sso login` again). Then `GET /federation/credentials` on the portal
/// (`portal.sso.<region>.amazonaws.com`) with the token in `x-amz-sso_bearer_token`.
final class SSOCredentialProvider: CredentialProvider {
    static let maxResponseBytes = 1 << 20

    struct Settings: Sendable, Equatable {
        var startURL: String
        var region: String
        var accountId: String
        var roleName: String
        var session: String?
    }

    private let settings: CredentialSettings
    private let profile: String
    private let cache = SourceCache()

    init(settings: CredentialSettings, profile: String) {
        self.settings = settings
        self.profile = profile
    }

    func credentials() throws -> Credentials? {
        try cache.credentials { () throws -> (any CredentialProvider)? in
            guard let section = settings.profileSection(profile), let sso = try Self.settings(section, profile: profile,
                                                                                                sessions: settings.configuration.ssoSessions) else {
                return nil
            }
            return Fetcher(settings: settings, sso: sso, profile: profile)
        }
    }

    /// The profile's SSO settings merged with its session's; nil when the profile has neither
    /// `sso_account_id` nor `sso_role_name`.
    static func settings(_ profile: ConfigSection, profile name: String, sessions: [String: ConfigSection]) throws(CredentialError) -> Settings? {
        guard profile.has("sso_role_name") || profile.has("sso_account_id") else { return nil }
        var merged = profile.settings
        let sessionName = profile["sso_session"]
        if let sessionName {
            guard let session = sessions[sessionName] else {
                throw .invalidConfiguration("profile \(name): the sso-session \"\(sessionName)\" does not exist")
            }
            for (key, value) in session.settings {
                if let mine = merged[key], mine != value {
                    throw .invalidConfiguration("profile \(name): \(key) differs between the profile and sso-session \(sessionName)")
                }
                merged[key] = value
            }
        }
        let required = ["sso_role_name", "sso_account_id", "sso_start_url", "sso_region"]
        let missing = required.filter { merged[$0] == nil }
        guard missing.isEmpty else {
            throw .invalidConfiguration("profile \(name) is configured for SSO but lacks " + missing.joined(separator: ", "))
        }
        return Settings(startURL: merged["sso_start_url"]!, region: merged["sso_region"]!, accountId: merged["sso_account_id"]!,
                        roleName: merged["sso_role_name"]!, session: sessionName)
    }

    /// `~/.aws/sso/cache/<hex sha1>.json`.
    static func cacheFile(_ sso: Settings, directory: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((sso.session ?? sso.startURL).utf8))
        return directory + "/" + digest.map { String(format: "%02x", $0) }.joined() + ".json"
    }

    private struct Fetcher: CredentialProvider {
        let settings: CredentialSettings
        let sso: Settings
        let profile: String

        private var loginHint: String { "run `aws sso login --profile \(profile)`" }
        private var source: String {
            sso.session.map { "sso (profile \(profile), session \($0))" } ?? "sso (profile \(profile), legacy start url)"
        }

        func credentials() throws -> Credentials? {
            let token = try cachedToken()
            let endpoint = try settings.endpoint("sso", sso.region)
            let query = "role_name=" + PercentEncoding.encode(sso.roleName) + "&account_id=" + PercentEncoding.encode(sso.accountId)
            let response: HTTPResponse
            do {
                response = try settings.http.execute(HTTPRequest(
                    method: "GET", url: endpoint.url + "/federation/credentials?" + query,
                    headers: [("x-amz-sso_bearer_token", token), ("Accept", "application/json")],
                    timeout: .seconds(30), maxResponseBytes: SSOCredentialProvider.maxResponseBytes))
            } catch where error.isCancelled {
                throw CredentialError.cancelled("sso: interrupted, the run is stopping")
            } catch {
                throw CredentialError.unavailable("sso (profile \(profile)): GetRoleCredentials failed: \(error)")
            }
            switch response.status {
            case 200: break
            case 401:
                throw CredentialError.unavailable("sso (profile \(profile)): the portal refused the cached token (\(Self.portalError(response))); \(loginHint)")
            case 403:
                // A new login cannot help: the user is not assigned this role in this account.
                throw CredentialError.unavailable("sso (profile \(profile)): the portal gives this user no role \(sso.roleName) in account "
                    + "\(sso.accountId) (\(Self.portalError(response))); check sso_role_name, sso_account_id and the assignment")
            default:
                throw CredentialError.unavailable("sso (profile \(profile)): GetRoleCredentials failed (\(Self.portalError(response)))")
            }
            return try decode(response.body)
        }

        /// `HTTP 403 ForbiddenException: No access`: the status, the portal's error type and
        /// its message, escaped and cut short (it is the portal's text, not ours).
        static func portalError(_ response: HTTPResponse) -> String {
            var text = "HTTP \(response.status)"
            if let type = response.header("x-amzn-ErrorType")?.split(separator: ":").first { text += " \(type)" }
            if let body = try? JSONValue.parse(response.body), let message = (body["message"] ?? body["Message"])?.stringValue {
                text += ": " + ControlCharacters.escape(String(message.prefix(200)))
            }
            return ControlCharacters.escape(String(text.prefix(300)))
        }

        /// The cached access token, when present and not expired.
        private func cachedToken() throws(CredentialError) -> String {
            let path = SSOCredentialProvider.cacheFile(sso, directory: settings.ssoCacheDirectory)
            let name = sso.session.map { "sso-session \($0)" } ?? "start URL \(sso.startURL)"
            let text: String?
            do {
                text = try TokenFile.readIfPresent(path, limit: 1 << 20, what: "SSO token cache")
            } catch {
                throw .unavailable("sso (profile \(profile)): \(error.message); \(loginHint)")
            }
            guard let text, let object = try? JSONValue.parse(Array(text.utf8)) else {
                throw .unavailable("sso (profile \(profile)): no cached SSO token for \(name); \(loginHint)")
            }
            guard let token = object["accessToken"]?.stringValue, let expires = object["expiresAt"]?.stringValue else {
                throw .unavailable("sso (profile \(profile)): the cached SSO token for \(name) is invalid; \(loginHint)")
            }
            // The AWS CLI writes `...Z`; older versions wrote `...UTC`.
            let iso = expires.hasSuffix("UTC") ? expires.dropLast(3) + "Z" : expires
            // An `expiresAt` that is no time says so: "expired" would send the operator to log
            // in again, which may not write a readable one either.
            guard let expiry = UTCTime.parse(String(iso)) else {
                throw .unavailable("sso (profile \(profile)): the cached SSO token for \(name) has an unreadable expiresAt; \(loginHint)")
            }
            guard expiry > Date() else {
                throw .unavailable("sso (profile \(profile)): the cached SSO token for \(name) has expired; \(loginHint)")
            }
            return token
        }

        /// `{"roleCredentials": {accessKeyId, secretAccessKey, sessionToken, expiration (ms)}}`.
        private func decode(_ body: [UInt8]) throws(CredentialError) -> Credentials {
            guard let object = try? JSONValue.parse(body), let role = object["roleCredentials"],
                  let key = role["accessKeyId"]?.stringValue, let secret = role["secretAccessKey"]?.stringValue,
                  let milliseconds = role["expiration"]?.doubleValue, milliseconds.isFinite, abs(milliseconds) < 1e15 else {
                throw .unavailable("sso (profile \(profile)): GetRoleCredentials returned an unreadable answer")
            }
            return Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: role["sessionToken"]?.stringValue,
                               expiration: Date(timeIntervalSince1970: milliseconds / 1000), source: source)
        }
    }
}
