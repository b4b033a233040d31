import Foundation
import MediaSync
import ObjectStorage
import SystemPackage

/// `doctor` for one object-storage destination: credentials, the bucket (the same ListObjectsV2
/// a cycle starts with), the multipart listing the cleanup needs and, with `writeTest`, a tiny
/// PUT, HEAD and DELETE under the prefix (then a HEAD that must find nothing).
extension S3Settings {
    public static let doctorCheckNames = ["s3.credentials", "s3.bucket", "s3.multipart_list", "s3.write_test"]

    public func doctorChecks(writeTest: Bool) async -> [DoctorCheck] {
        let subject = config.name
        let names = Self.doctorCheckNames
        let credentials: AWSCredentials
        do { credentials = try self.credentials() } catch {
            return [
                .fail(
                    "s3.credentials", subject, "\(error)",
                    fix: config.credentialsFile.map { "check \($0) (mode 0600, profile [\(config.credentialsProfile)] with aws_access_key_id and aws_secret_access_key)" }
                        ?? "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the service (an EnvironmentFile= drop-in, docs/object-storage.md), or set credentials_file")
            ]
                + DoctorCheck.skipped(Array(names.dropFirst()), subject, because: "s3.credentials")
        }
        let source = config.credentialsFile.map { "from \($0) [\(config.credentialsProfile)]" } ?? "from the environment"
        var checks: [DoctorCheck] = [.ok("s3.credentials", subject, "access key \(Self.maskedKeyID(credentials.accessKeyID)) \(source)")]
        let client: S3Client
        do { client = try makeClient(credentials: credentials) } catch {
            return checks + [.fail("s3.bucket", subject, "\(error)", fix: "correct provider, endpoint, region or bucket (docs/object-storage.md)")]
                + DoctorCheck.skipped(Array(names.dropFirst(2)), subject, because: "s3.bucket")
        }
        do {
            _ = try await client.listObjectsV2(prefix: config.prefix, maxKeys: 1)
            checks.append(.ok("s3.bucket", subject, "\(displayName): listing works"))
        } catch {
            return checks + [.fail("s3.bucket", subject, Self.describe(error), fix: bucketFix(error))]
                + DoctorCheck.skipped(Array(names.dropFirst(2)), subject, because: "s3.bucket")
        }
        do {
            let uploads = try await client.listMultipartUploads(prefix: config.prefix.isEmpty ? nil : config.prefix)
            checks.append(.ok("s3.multipart_list", subject, "\(uploads.count) incomplete multipart upload(s) under the prefix"))
        } catch {
            checks.append(
                .warn(
                    "s3.multipart_list", subject, Self.describe(error),
                    fix: "the cleanup of stale multipart uploads needs s3:ListBucketMultipartUploads on the bucket (docs/nas-setup.md, \"S3 policy\")"))
        }
        guard writeTest else {
            checks.append(DoctorCheck("s3.write_test", subject: subject, .skip, "not run: pass --write-test to PUT, HEAD and DELETE a tiny object"))
            return checks
        }
        checks.append(await self.writeTest(client))
        return checks
    }

    /// PUT `<prefix>.dms-doctor-<random>`, HEAD it, DELETE it, HEAD again (must be gone).
    func writeTest(_ client: S3Client) async -> DoctorCheck {
        let subject = config.name
        let key = config.prefix + ".dms-doctor-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let body = Array("dji-media-sync doctor write test\n".utf8)
        let file = FilePath(NSTemporaryDirectory()).appending("dms-doctor-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: file.string, contents: Data(body)) else {
            return .fail("s3.write_test", subject, "cannot create a local temp file \(file.string)", fix: "check TMPDIR")
        }
        defer { try? FileManager.default.removeItem(atPath: file.string) }
        var step = "PUT"
        do throws(S3Error) {
            _ = try await client.putObject(key: key, file: file, contentType: "text/plain")
            step = "HEAD"
            let stored = try await client.headObject(key: key)
            guard stored.size == Int64(body.count) else {
                try? await client.deleteObject(key: key)
                return .fail(
                    "s3.write_test", subject, "HEAD \(key) reports \(stored.size) bytes, \(body.count) were written",
                    fix: "the server does not store what it acknowledges: check the provider and any proxy in between")
            }
            step = "DELETE"
            try await client.deleteObject(key: key)
            step = "HEAD after DELETE"
            do throws(S3Error) {
                _ = try await client.headObject(key: key)
                return .fail(
                    "s3.write_test", subject, "\(key) still exists after DELETE",
                    fix: "allow s3:DeleteObject under the prefix (retention and the orphan cleanup need it); remove \(key) by hand")
            } catch  where error.kind == .notFound {}
        } catch {
            if step != "PUT" { try? await client.deleteObject(key: key) }
            let action = [
                "PUT": "s3:PutObject", "HEAD": "s3:GetObject (HEAD)", "DELETE": "s3:DeleteObject",
                "HEAD after DELETE": "s3:GetObject (HEAD)"
            ][step]!
            return .fail(
                "s3.write_test", subject, "\(step) \(key): \(Self.describe(error))",
                fix: error.kind == .authentication
                    ? "allow \(action) on arn:aws:s3:::\(config.bucket)/\(config.prefix)* for these credentials (docs/nas-setup.md, \"S3 policy\")"
                    : "see the error; `dji-media-sync bucket list` checks the account")
        }
        return .ok("s3.write_test", subject, "PUT, HEAD and DELETE of \(key) worked; nothing left behind")
    }

    /// The first 4 and last 2 characters of an access key id: enough to tell keys apart in a log.
    static func maskedKeyID(_ id: String) -> String {
        id.count <= 8 ? String(repeating: "*", count: id.count) : "\(id.prefix(4))…\(id.suffix(2))"
    }

    static func describe(_ error: S3Error) -> String {
        switch error.kind {
        case .authentication: "authentication refused: \(error)"
        case .notFound: "not found: \(error)"
        case .transport: "unreachable: \(error)"
        default: "\(error)"
        }
    }

    func bucketFix(_ error: S3Error) -> String {
        switch error.kind {
        case .authentication:
            switch error.code {
            case "InvalidAccessKeyId"?: "the server does not know this access key id: correct the credentials"
            case "SignatureDoesNotMatch"?: "the secret key is wrong (or a proxy changed the request): correct the credentials"
            case "RequestTimeTooSkewed"?: "this machine's clock is off: enable NTP (`timedatectl set-ntp true`)"
            default: "the credentials may not list \(config.bucket): allow s3:ListBucket (docs/nas-setup.md, \"S3 policy\"); check region"
            }
        case .notFound: "create the bucket (`dji-media-sync bucket create`) or correct bucket / region / endpoint"
        case .transport:
            error.transport?.kind == .tls
                ? "TLS failed: set ca_file for a private CA, or fix the endpoint's certificate"
                : "check endpoint, DNS, proxy (the proxy key; `none` ignores HTTPS_PROXY) and firewalls"
        default: "see the error (docs/object-storage.md, \"When it goes wrong\")"
        }
    }
}
