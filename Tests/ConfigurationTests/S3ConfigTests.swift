import Configuration
import Foundation
import Testing

let s3ErrorCases: [ErrorCase] = [
    .init(
        "s3 without provider", Doc.make(nas: [#""type": "s3", "bucket": "dji-media""#]), .missingKey,
        "destinations[0].provider", [#""aws", "minio""#]),
    .init(
        "s3 without bucket", Doc.make(nas: [#""type": "s3", "provider": "aws", "region": "eu-central-1""#]), .missingKey,
        "destinations[0].bucket", ["bucket name"]),
    .init(
        "unknown provider", Doc.s3(#""provider": "b2", "bucket": "dji-media""#), .invalidValue,
        "destinations[0].provider", [#"found "b2""#, #""cloudflare_r2""#]),
    .init(
        "upper-case bucket", Doc.s3(#""provider": "aws", "region": "us-east-1", "bucket": "DJI""#), .invalidValue,
        "destinations[0].bucket", ["lower-case"]),
    .init(
        "minio without endpoint", Doc.s3(#""provider": "minio", "bucket": "dji-media""#), .missingKey,
        "destinations[0].endpoint", [#"for "provider": "minio""#]),
    .init(
        "aws without region", Doc.s3(#""provider": "aws", "bucket": "dji-media""#), .missingKey,
        "destinations[0].region", [#"for "provider": "aws""#]),
    .init(
        "r2 without account", Doc.s3(#""provider": "cloudflare_r2", "bucket": "dji-media""#), .missingKey,
        "destinations[0].account_id", ["account id"]),
    .init(
        "account id on aws", Doc.s3(#""provider": "aws", "region": "us-east-1", "bucket": "dji-media", "account_id": "abc""#),
        .invalidValue, "destinations[0].account_id", ["cloudflare_r2"]),
    .init(
        "path style on oss", Doc.s3(#""provider": "aliyun_oss", "region": "cn-hangzhou", "bucket": "dji-media", "path_style": true"#),
        .invalidValue, "destinations[0].path_style", [#""generic""#]),
    .init(
        "endpoint with a path", Doc.s3(#""provider": "generic", "bucket": "dji-media", "endpoint": "https://s3.local/base""#),
        .invalidValue, "destinations[0].endpoint", ["without a path"]),
    .init(
        "endpoint without scheme", Doc.s3(#""provider": "generic", "bucket": "dji-media", "endpoint": "s3.local""#),
        .invalidValue, "destinations[0].endpoint", ["https://host"]),
    .init("prefix without slash", Doc.s3(#""prefix": "dock-7""#), .invalidValue, "destinations[0].prefix", [#"ending with "/""#]),
    .init("prefix from root", Doc.s3(#""prefix": "/dock-7/""#), .invalidValue, "destinations[0].prefix", [#"not starting with "/""#]),
    .init("part too small", Doc.s3(#""part_size_mib": 4"#), .outOfRange, "destinations[0].part_size_mib", ["from 5 to 5120"]),
    .init("no parallel parts", Doc.s3(#""parallel_parts": 0"#), .outOfRange, "destinations[0].parallel_parts", ["from 1 to 32"]),
    .init(
        "stale hours zero", Doc.s3(#""abort_stale_uploads_after_hours": 0"#), .outOfRange,
        "destinations[0].abort_stale_uploads_after_hours", ["greater than 0"]),
    .init(
        "relative credentials", Doc.s3(#""credentials_file": "aws/credentials""#), .invalidValue,
        "destinations[0].credentials_file", ["absolute file path"]),
    .init("proxy without scheme", Doc.s3(#""proxy": "proxy.local:3128""#), .invalidValue, "destinations[0].proxy", [#""none""#]),
    .init(
        "nas key in s3", Doc.s3(#""host": "nas.local""#), .unknownKey, "destinations[0].host",
        [#"is a key of "type": "nas" destinations"#]),
    .init(
        "s3 key in nas", Doc.nas(#""bucket": "dji-media""#), .unknownKey, "destinations[0].bucket",
        [#"is a key of "type": "s3" destinations"#]),
    .init(
        "duplicate default names", Doc.make(nas: [Doc.s3, Doc.s3]), .invalidValue, "destinations[1].name",
        ["a name no other destination has"])
]

@Suite struct S3ConfigTests {
    @Test(arguments: s3ErrorCases)
    func rejected(_ c: ErrorCase) {
        let error = parseError(c.json)
        #expect(error?.kind == c.kind, "\(String(describing: error))")
        #expect(error?.keyPath == c.path, "\(String(describing: error))")
        for phrase in c.phrases {
            #expect(error?.description.contains(phrase) == true, "\(phrase) not in \(String(describing: error))")
        }
    }

    @Test func nasAndS3Together() throws {
        let config = try parse(Doc.make(nas: [Doc.nas, Doc.s3 + #", "prefix": "dock-7/", "part_size_mib": 8"#]))
        #expect(config.destinations.map(\.name) == ["nas", "s3"])
        guard case .s3(let s3) = config.destinations[1] else {
            Issue.record("not s3")
            return
        }
        #expect(s3.provider == "minio" && s3.bucket == "dji-media" && s3.endpoint == "http://127.0.0.1:9000")
        #expect(s3.prefix == "dock-7/" && s3.partSizeMiB == 8 && s3.parallelParts == 4 && s3.partRetries == 3)
    }

    /// docs/media_sync_config.s3-example.json loads and spells out every key of an s3 destination.
    @Test func exampleWithS3HasEveryKey() throws {
        let url = repositoryRoot().appendingPathComponent("docs/media_sync_config.s3-example.json")
        let config = try ConfigLoader.load(path: url.path)
        #expect(config.destinations.count == 2)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let destinations = try #require(root["destinations"] as? [[String: Any]])
        let s3 = try #require(destinations.first { $0["type"] as? String == "s3" })
        #expect(Set(s3.keys) == Set(ConfigLoader.s3Destination.keys))
    }
}
