import AWSCore
import CloudInventory
import Foundation

/// HTTPS in front of the local AWS world: `Tests/Support/tls_front.py` terminates TLS on
/// loopback and forwards to moto. The certificates are made here with the `openssl` CLI, in
/// a temporary directory, once per test process:
///   - `ca.pem`: the test CA, the one to name in `AWS_CA_BUNDLE`;
///   - `good`: for localhost and 127.0.0.1, signed by the test CA;
///   - `selfSigned`: for localhost, signed by itself;
///   - `unknownCA`: for localhost, signed by a CA nobody trusts;
///   - `wrongHost`: signed by the test CA, but for another host name.
struct TLSFront: Sendable {
    let caBundle: String
    let good: Int
    let selfSigned: Int
    let unknownCA: Int
    let wrongHost: Int

    func url(_ port: Int) -> String { "https://localhost:\(port)" }

    static func shared() async throws -> TLSFront {
        try await process.value()
    }

    private static let process = ProcessWideServer<TLSFront> {
        let world = try await World.shared()
        let dir = Harness.temporaryDirectory()
        try TLSFront.makeCertificates(in: dir)
        let backend = try URLParts(world.motoURL)
        let pairs = ["good", "self", "unknown", "wrong"].flatMap { ["--cert", dir.path + "/\($0).pem:" + dir.path + "/\($0).key"] }
        let server = try await PythonServer.start("tls_front.py", ["--backend", "\(backend.host):\(backend.port ?? 80)"] + pairs)
        guard let ports = try server.document()["ports"] as? [Int], ports.count == 4 else {
            throw HarnessError("the TLS front did not start (Tests/Support/tls_front.py): \(server.announcement)")
        }
        let front = TLSFront(caBundle: dir.path + "/ca.pem", good: ports[0], selfSigned: ports[1], unknownCA: ports[2], wrongHost: ports[3])
        return (server, front)
    }

    /// A test CA, and the four server certificates above. EC keys: quick to make.
    static func makeCertificates(in dir: URL) throws {
        let d = dir.path
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        func openssl(_ args: [String]) throws {
            let r = try runProcess("/usr/bin/openssl", args, environment: Harness.baseEnvironment(), timeout: 60)
            guard r.status == 0 else { throw HarnessError("openssl \(args.first ?? ""): \(r.stderr)") }
        }
        func ca(_ name: String) throws {
            try openssl(["req", "-x509"] + key + ["-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).pem", "-days", "2",
                         "-subj", "/CN=inventory-poller \(name)", "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        func server(_ name: String, signer: String, names: String) throws {
            try Data("subjectAltName=\(names)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".utf8)
                .write(to: dir.appendingPathComponent("\(name).ext"))
            try openssl(["req", "-new"] + key + ["-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr", "-subj", "/CN=\(name)"])
            try openssl(["x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/\(signer).pem", "-CAkey", "\(d)/\(signer).key",
                         "-CAcreateserial", "-out", "\(d)/\(name).pem", "-days", "2", "-extfile", "\(d)/\(name).ext"])
        }
        try ca("ca")
        try ca("otherca")
        try server("good", signer: "ca", names: "DNS:localhost,IP:127.0.0.1")
        try server("unknown", signer: "otherca", names: "DNS:localhost,IP:127.0.0.1")
        try server("wrong", signer: "ca", names: "DNS:wrong-host.invalid")
        try openssl(["req", "-x509"] + key + ["-keyout", "\(d)/self.key", "-out", "\(d)/self.pem", "-days", "2",
                     "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    }
}
