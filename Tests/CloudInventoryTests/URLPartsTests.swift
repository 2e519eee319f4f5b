@testable import AWSCore
@testable import CloudInventory
import Testing

/// The one URL parser: what goes in the signed `Host` header, the request path and log lines.
@Suite struct URLPartsTests {
    @Test(arguments: [
        ("https://ec2.us-east-1.amazonaws.com", "https", "ec2.us-east-1.amazonaws.com", nil, "/", "ec2.us-east-1.amazonaws.com"),
        ("http://127.0.0.1:5000", "http", "127.0.0.1", 5000, "/", "127.0.0.1:5000"),
        ("https://localhost:443/", "https", "localhost", 443, "/", "localhost"),
        ("HTTP://host:80/a/b?x=1#f", "http", "host", 80, "/a/b", "host"),
        ("http://[::1]:8080/p", "http", "[::1]", 8080, "/p", "[::1]:8080"),
        ("https://[fe80::1%25eth0]", "https", "[fe80::1%25eth0]", nil, "/", "[fe80::1%25eth0]"),
        ("http://user:pa:ss@proxy.example:3128", "http", "proxy.example", 3128, "/", "proxy.example:3128"),
        ("https://vpce.example?x=/y", "https", "vpce.example", nil, "/", "vpce.example"),
    ] as [(String, String, String, Int?, String, String)])
    func parses(_ url: String, _ scheme: String, _ host: String, _ port: Int?, _ path: String, _ hostHeader: String) throws {
        let parts = try URLParts(url)
        #expect(parts.scheme == scheme && parts.host == host && parts.port == port && parts.path == path)
        #expect(parts.hostHeader == hostHeader)
        #expect(HTTPClient.host(of: url) == hostHeader)
    }

    @Test(arguments: ["", "localhost:8080", "://x", "http://", "http://:80", "http://[::1", "http://[::1]x", "http://h:",
                      "http://h:99999", "http://h:-1", "http://h:8o", "ht tp://h", "http://a b", "http://[]:1"])
    func refuses(_ url: String) {
        #expect(throws: URLParts.ParseError.self) { try URLParts(url) }
    }

    @Test func endpointsUseIt() {
        let e = ServiceEndpoint.resolve(service: "ec2", region: "eu-west-1", environment: Environment(["AWS_ENDPOINT_URL": "http://[::1]:4566/prefix/"]))
        #expect(e.url == "http://[::1]:4566/prefix" && e.host == "[::1]:4566" && e.path == "/prefix")
        let d = ServiceEndpoint.resolve(service: "sts", region: "cn-north-1", environment: Environment([:]))
        #expect(d.host == "sts.cn-north-1.amazonaws.com.cn" && d.path == "/")
    }
}
