import ObjectStorage
import Testing

/// Object URLs read back into keys (`object delete URL`), against the URLs the addressing makes.
@Suite struct S3ObjectURLTests {
    static let minio = S3Configuration(provider: .minio, bucket: "media", endpoint: "http://127.0.0.1:8333")
    static let aws = S3Configuration(provider: .aws, bucket: "media", region: "eu-west-1")

    static let oddKeys = [
        "a b.jpg", "a+b.jpg", "100%.jpg", "50%25.jpg", "ü/日本 写真.MP4", "a/../b", "../x/./y/..", "a//b",
        "?#&=;.jpg", "e\u{301}.jpg", "~tilde/(1)!*'.jpg", "trailing/"
    ]

    @Test func everyOddKeyComesBackFromItsURLAndItsPresignedQueryIsIgnored() throws {
        for config in [Self.minio, Self.aws, S3Configuration(provider: .aws, bucket: "media", region: "cn-north-1")] {
            for key in Self.oddKeys {
                let url = try config.address(key: key).url()
                #expect(try config.key(ofURL: url) == key, "\(url)")
                #expect(try config.key(ofURL: url + "?X-Amz-Signature=abc%2F&X-Amz-Expires=60#frag") == key, "\(url)")
            }
        }
    }

    @Test func pathsAreDecodedOnceWithPlusLiteralAndDotSegmentsKept() throws {
        let c = Self.minio
        #expect(try c.key(ofURL: "http://127.0.0.1:8333/media/a+b%20c%25d") == "a+b c%d")
        #expect(try c.key(ofURL: "http://127.0.0.1:8333/media/%c3%bc%2F%2e%2e") == "ü/..")
        #expect(try c.key(ofURL: "http://127.0.0.1:8333/media/a/../../b") == "a/../../b")
        #expect(try c.key(ofURL: "HTTP://127.0.0.1:8333/media/x") == "x")
        for bad in ["http://127.0.0.1:8333/media/%zz", "http://127.0.0.1:8333/media/a%2", "http://127.0.0.1:8333/media/%C3"] {
            #expect(throws: S3ConfigurationError.self, "\(bad)") { try c.key(ofURL: bad) }
        }
        #expect(URIEncoding.decode("a+b") == "a+b" && URIEncoding.decode("a+b", plusAsSpace: true) == "a b")
    }

    @Test func anotherHostPortSchemeOrBucketIsRefused() throws {
        let c = Self.minio
        for other in [
            "http://127.0.0.1:8334/media/a", "http://localhost:8333/media/a", "https://127.0.0.1:8333/media/a",
            "http://127.0.0.1:8333/other/a", "http://127.0.0.1:8333/mediax/a", "http://media.127.0.0.1:8333/a",
            "http://127.0.0.1:8333/media", "http://127.0.0.1:8333/media/", "http://127.0.0.1:8333/",
            "http://user@127.0.0.1:8333/media/a", "ftp://127.0.0.1:8333/media/a"
        ] {
            #expect(throws: S3ConfigurationError.self, "\(other)") { try c.key(ofURL: other) }
        }
    }

    @Test func awsTakesVirtualHostedAndPathStyleOnTheRegionalHostOnly() throws {
        let c = Self.aws
        #expect(try c.key(ofURL: "https://media.s3.eu-west-1.amazonaws.com/2025/a%20b.JPG") == "2025/a b.JPG")
        #expect(try c.key(ofURL: "https://MEDIA.s3.eu-west-1.amazonaws.com:443/x") == "x")
        #expect(try c.key(ofURL: "https://s3.eu-west-1.amazonaws.com/media/x") == "x")
        for other in [
            "https://other.s3.eu-west-1.amazonaws.com/x", "https://s3.eu-west-1.amazonaws.com/other/x",
            "https://media.s3.us-east-1.amazonaws.com/x", "http://media.s3.eu-west-1.amazonaws.com/x",
            "https://s3.eu-west-1.amazonaws.com/x"
        ] {
            #expect(throws: S3ConfigurationError.self, "\(other)") { try c.key(ofURL: other) }
        }
        let china = S3Configuration(provider: .aws, bucket: "media", region: "cn-north-1")
        #expect(try china.key(ofURL: "https://media.s3.cn-north-1.amazonaws.com.cn/a") == "a")
        #expect(throws: S3ConfigurationError.self) { try china.key(ofURL: "https://media.s3.cn-north-1.amazonaws.com/a") }
        // A dotted bucket is addressed path-style on the regional host.
        let dotted = S3Configuration(provider: .aws, bucket: "my.media", region: "eu-west-1")
        #expect(try dotted.key(ofURL: "https://s3.eu-west-1.amazonaws.com/my.media/a%20b") == "a b")
        #expect(throws: S3ConfigurationError.self) { try dotted.key(ofURL: "https://my.media.s3.eu-west-1.amazonaws.com/a") }
        // A generic endpoint, virtual-hosted.
        let generic = S3Configuration(provider: .generic(pathStyle: false), bucket: "media", endpoint: "https://s3.example.net:9000")
        #expect(try generic.key(ofURL: "https://media.s3.example.net:9000/k") == "k")
        #expect(try generic.key(ofURL: "https://s3.example.net:9000/media/k") == "k")
        #expect(throws: S3ConfigurationError.self) { try generic.key(ofURL: "https://media.s3.example.net/k") }
    }

    @Test func aRefusalNamesTheURLWithoutItsSignature() throws {
        do {
            _ = try Self.minio.key(ofURL: "http://127.0.0.1:8333/other/a?X-Amz-Signature=0123456789abcdef")
            Issue.record("another bucket was accepted")
        } catch {
            #expect("\(error)".contains("http://127.0.0.1:8333/other/a"))
            #expect(!"\(error)".contains("0123456789abcdef"))
        }
    }

    @Test func onlyHTTPAndHTTPSPrefixesAreURLs() {
        #expect(S3Configuration.isURL("http://x/y") && S3Configuration.isURL("HTTPS://x/y"))
        #expect(!S3Configuration.isURL("https:/x") && !S3Configuration.isURL("2025/http://x") && !S3Configuration.isURL("http"))
    }
}
