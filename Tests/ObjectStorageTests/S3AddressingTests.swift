import CurlHTTP
import ObjectStorage
import Testing

@Suite("S3 addressing presets")
struct S3AddressingTests {
    private func url(
        _ provider: S3Provider, bucket: String = "media", key: String? = "2025/01/01/DJI 0001.MP4",
        region: String? = nil, endpoint: String? = nil
    ) throws -> S3Address {
        try S3Addressing.address(provider: provider, bucket: bucket, key: key, region: region, endpoint: endpoint)
    }

    @Test("AWS: virtual-hosted on the regional host")
    func aws() throws {
        let address = try url(.aws, region: "eu-central-1")
        #expect(address.url() == "https://media.s3.eu-central-1.amazonaws.com/2025/01/01/DJI%200001.MP4")
        #expect(address.authority == "media.s3.eu-central-1.amazonaws.com")
        #expect(address.path == "/2025/01/01/DJI 0001.MP4")
        #expect(address.signingRegion == "eu-central-1")
        #expect(!address.pathStyle)
        #expect(try url(.aws, key: nil, region: "us-east-1").url() == "https://media.s3.us-east-1.amazonaws.com/")
        // A dotted bucket would not match *.s3.<region>.amazonaws.com: path-style.
        let dotted = try url(.aws, bucket: "my.media", key: "a", region: "us-west-2")
        #expect(dotted.url() == "https://s3.us-west-2.amazonaws.com/my.media/a")
        #expect(throws: S3ConfigurationError.self) { try url(.aws) }
    }

    @Test("AWS China: the cn- regions live under amazonaws.com.cn")
    func awsChina() throws {
        for region in ["cn-north-1", "cn-northwest-1"] {
            let address = try url(.aws, key: "a.jpg", region: region)
            #expect(address.url() == "https://media.s3.\(region).amazonaws.com.cn/a.jpg")
            #expect(address.signingRegion == region)
            let dotted = try url(.aws, bucket: "my.media", key: "a", region: region)
            #expect(dotted.url() == "https://s3.\(region).amazonaws.com.cn/my.media/a")
        }
        // Only the China partition: other regions that merely start with "c" keep amazonaws.com.
        #expect(try url(.aws, key: "a", region: "ca-central-1").url() == "https://media.s3.ca-central-1.amazonaws.com/a")
    }

    @Test("MinIO: path-style on the given endpoint, us-east-1 by default")
    func minio() throws {
        let address = try url(.minio, endpoint: "http://127.0.0.1:9000")
        #expect(address.url() == "http://127.0.0.1:9000/media/2025/01/01/DJI%200001.MP4")
        #expect(address.authority == "127.0.0.1:9000")
        #expect(address.path == "/media/2025/01/01/DJI 0001.MP4")
        #expect(address.signingRegion == "us-east-1")
        #expect(try url(.minio, key: nil, endpoint: "http://minio.lan:9000/").url() == "http://minio.lan:9000/media")
        #expect(throws: S3ConfigurationError.self) { try url(.minio) }
    }

    @Test("Aliyun OSS: bucket.s3.oss-<region>.aliyuncs.com")
    func aliyun() throws {
        let address = try url(.aliyunOSS, key: "a.jpg", region: "cn-hangzhou")
        #expect(address.url() == "https://media.s3.oss-cn-hangzhou.aliyuncs.com/a.jpg")
        #expect(address.signingRegion == "cn-hangzhou")
        #expect(try url(.aliyunOSS, key: "a.jpg", region: "oss-cn-hangzhou").url() == address.url())
        #expect(throws: S3ConfigurationError.self) { try url(.aliyunOSS, bucket: "my.media", region: "cn-hangzhou") }
    }

    @Test("Volcengine TOS: bucket.tos-s3-<region>.volces.com")
    func volcengine() throws {
        let address = try url(.volcengineTOS, key: "a.jpg", region: "cn-beijing")
        #expect(address.url() == "https://media.tos-s3-cn-beijing.volces.com/a.jpg")
        #expect(address.signingRegion == "cn-beijing")
        #expect(throws: S3ConfigurationError.self) { try url(.volcengineTOS) }
    }

    @Test("Cloudflare R2: <account>.r2.cloudflarestorage.com, path-style, region auto")
    func r2() throws {
        let address = try url(.cloudflareR2(accountID: "0123abcd"), key: "a.jpg")
        #expect(address.url() == "https://0123abcd.r2.cloudflarestorage.com/media/a.jpg")
        #expect(address.signingRegion == "auto")
        #expect(address.pathStyle)
        #expect(try url(.cloudflareR2(accountID: "0123abcd"), key: "a.jpg", region: "auto").url() == address.url())
        #expect(throws: S3ConfigurationError.self) { try url(.cloudflareR2(accountID: "0123abcd"), region: "us-east-1") }
        let jurisdiction = try url(.cloudflareR2(accountID: "x"), key: "a", endpoint: "https://x.eu.r2.cloudflarestorage.com")
        #expect(jurisdiction.url() == "https://x.eu.r2.cloudflarestorage.com/media/a")
    }

    @Test("generic: path-style switch, default ports dropped, IPv6")
    func generic() throws {
        #expect(
            try url(.generic(pathStyle: true), key: "k", endpoint: "https://s3.example.net:443").url()
                == "https://s3.example.net/media/k")
        #expect(
            try url(.generic(pathStyle: false), key: "k", endpoint: "https://s3.example.net:8443").url()
                == "https://media.s3.example.net:8443/k")
        #expect(try url(.generic(pathStyle: true), key: "k", endpoint: "http://[::1]:9000").url() == "http://[::1]:9000/media/k")
        #expect(try url(.generic(pathStyle: true), key: "k", endpoint: "s3.lan").url() == "https://s3.lan/media/k")
        #expect(throws: S3ConfigurationError.self) { try url(.generic(pathStyle: true)) }
        for bad in ["ftp://h", "http://h/path", "http://user@h", "http://h:0", "http://h:99999", "http://"] {
            #expect(throws: S3ConfigurationError.self, "\(bad)") { try url(.generic(pathStyle: true), endpoint: bad) }
        }
    }

    @Test("keys are encoded once per segment and never normalised")
    func keys() throws {
        let address = try url(.minio, key: "a//b/./../c d/ü+$%?#", endpoint: "http://h:1")
        #expect(address.path == "/media/a//b/./../c d/ü+$%?#")
        #expect(address.url() == "http://h:1/media/a//b/./../c%20d/%C3%BC%2B%24%25%3F%23")
        #expect(address.url(query: "x=1") == "http://h:1/media/a//b/./../c%20d/%C3%BC%2B%24%25%3F%23?x=1")
        #expect(throws: S3ConfigurationError.self) { try url(.minio, bucket: "a/b", endpoint: "http://h:1") }
        #expect(throws: S3ConfigurationError.self) { try url(.minio, bucket: "", endpoint: "http://h:1") }
    }

    @Test("redacted URLs drop the query and user info")
    func redaction() {
        #expect(HTTPRequest.redact("https://h/k?X-Amz-Signature=abc") == "https://h/k")
        #expect(HTTPRequest.redact("http://u:p@h:1/k?x#f") == "http://h:1/k")
        #expect(HTTPRequest.redact("https://h/k") == "https://h/k")
    }
}
