import AWSCore
import CloudInventory
import Foundation
import Logging

/// The small servers for credential sources no real peer exists for, each a `PythonServer`
/// from `Tests/Support` (see the docstring at the top of each script for the exact rules):
///   - `SSOPortal` (`sso_portal.py`): IAM Identity Center's GetRoleCredentials;
///   - `ContainerEndpoint` (`container_credentials.py`): the ECS / EKS Pod Identity endpoint;
///   - `RecordingProxy` (`recording_proxy.py`): an HTTPS proxy that answers for every AWS
///     endpoint a program resolves by itself and records each request's host, key id and
///     credential scope.
/// Keys they hand out are `derived_credentials.derived(...)`: the same inputs, the same keys.

/// `GET /federation/credentials?role_name=R&account_id=A` with `x-amz-sso_bearer_token: T`
/// answers 200 with keys derived from (A, R, T); a token starting with `revoked` is 401, a
/// role starting with `denied` is 403, `missing` is 404, a bad account id is 400.
struct SSOPortal: Sendable {
    let server: PythonServer
    let url: String

    static func start() async throws -> SSOPortal {
        let server = try await PythonServer.start("sso_portal.py")
        return SSOPortal(server: server, url: "http://127.0.0.1:\(try server.port)")
    }

    /// What the portal answers for a good request, from the same derivation (asked of Python,
    /// so the rule lives in one place).
    static func expectedKeyId(account: String, role: String, token: String) throws -> String {
        try derivedKeyId(["SSO", account, role, token])
    }
}

/// `GET /creds/NAME` answers keys for NAME; `/auth/TOKEN/NAME` only with `Authorization: TOKEN`
/// (else 401); `/fail/STATUS/NAME` answers STATUS; `/garbage/NAME` answers a non-JSON body.
struct ContainerEndpoint: Sendable {
    let server: PythonServer
    let url: String

    static func start() async throws -> ContainerEndpoint {
        let server = try await PythonServer.start("container_credentials.py")
        return ContainerEndpoint(server: server, url: "http://127.0.0.1:\(try server.port)")
    }

    static func expectedKeyId(name: String) throws -> String {
        try derivedKeyId(["CONT", name])
    }
}

/// The key id `derived_credentials.derived(kind, parts...)` gives.
func derivedKeyId(_ parts: [String]) throws -> String {
    let code = "import sys, json; sys.path.insert(0, sys.argv[1]); from derived_credentials import derived; "
        + "print(derived(*json.loads(sys.argv[2]))['AccessKeyId'])"
    let list = String(decoding: try JSONSerialization.data(withJSONObject: parts), as: UTF8.self)
    var env = Harness.baseEnvironment()
    env["PYTHONIOENCODING"] = "utf-8"
    let result = try runProcess(Harness.python, Harness.pythonArguments(["-c", code, Harness.support.path, list]), environment: env)
    guard result.status == 0 else { throw HarnessError("derived_credentials: \(result.stderr)") }
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A recording HTTPS proxy (`recording_proxy.py`). Give a program `environment(tag:)`: its
/// AWS requests then reach this proxy whatever endpoint it resolves, over TLS it trusts through
/// `AWS_CA_BUNDLE`, and `records(tag:)` lists what each one asked for. `forwardSTS` (moto's
/// URL) sends AssumeRole and AssumeRoleWithWebIdentity on to moto, signature untouched.
struct RecordingProxy: Sendable {
    let server: PythonServer
    let port: Int
    let caBundle: String

    struct Record: Sendable {
        var connect: String?
        var host: String?
        var action: String?
        var keyId: String?
        var region: String?
        var service: String?
        /// `valid`, `invalid`, `unknown-key` (no secret registered) or `unsigned`.
        var signature: String
        var status: Int
    }

    static func start(forwardSTS: String? = nil) async throws -> RecordingProxy {
        let server = try await PythonServer.start("recording_proxy.py", forwardSTS.map { ["--forward-sts", $0] } ?? [])
        let doc = try server.document()
        guard let port = doc["port"] as? Int, let ca = doc["ca_bundle"] as? String else {
            throw HarnessError("recording_proxy.py announced \(server.announcement)")
        }
        return RecordingProxy(server: server, port: port, caBundle: ca)
    }

    /// Proxy variables (the tag rides as the proxy user name), the CA bundle, and NO_PROXY for
    /// loopback peers (IMDS, the container endpoint) that a program reaches directly.
    func environment(tag: String) -> [String: String] {
        let url = "http://\(tag):x@127.0.0.1:\(port)"
        return ["HTTPS_PROXY": url, "https_proxy": url, "HTTP_PROXY": url, "http_proxy": url,
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "AWS_CA_BUNDLE": caBundle]
    }

    func records(tag: String) throws -> [Record] {
        let list = try control("GET", "/_log?tag=\(tag)") as? [[String: Any]] ?? []
        return list.map {
            Record(connect: $0["connect"] as? String, host: $0["host"] as? String, action: $0["action"] as? String,
                   keyId: $0["key_id"] as? String, region: $0["region"] as? String, service: $0["service"] as? String,
                   signature: $0["signature"] as? String ?? "?", status: $0["status"] as? Int ?? 0)
        }
    }

    /// Registers secrets, so the proxy can check signatures made with these keys.
    func register(secrets: [String: String]) throws {
        _ = try control("POST", "/_secrets", body: secrets)
    }

    func control(_ method: String, _ path: String, body: [String: String]? = nil) throws -> Any {
        let http = HTTPClient(logger: Logger(label: "test-recording-proxy"))
        defer { http.close() }
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let response = try http.execute(HTTPRequest(method: method, url: "http://127.0.0.1:\(port)\(path)",
                                                    headers: [("Content-Type", "application/json")], body: Array(data),
                                                    bypassProxy: true))
        guard response.status == 200 else { throw HarnessError("recording proxy \(method) \(path): HTTP \(response.status)") }
        return try JSONSerialization.jsonObject(with: Data(response.body))
    }
}
