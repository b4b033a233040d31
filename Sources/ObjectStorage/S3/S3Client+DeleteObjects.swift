import CurlHTTP
import Foundation
import Hashing

/// A key that DeleteObjects did not delete, with the server's reason.
public struct S3DeleteFailure: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    /// S3's code (`AccessDenied`, `InternalError`, …), or `Request` when the whole batch failed
    /// (the message then holds the ``S3Error``).
    public var code: String
    public var message: String
    public init(key: String, code: String, message: String) {
        self.key = key
        self.code = code
        self.message = message
    }
    public var description: String { "\(key): \(code): \(message)" }
}

/// What a batched delete did.
public struct S3BatchDeleteResult: Sendable {
    /// Keys the server reported deleted (S3 also counts keys that did not exist).
    public var deleted = 0
    public var failed: [S3DeleteFailure] = []
    /// DeleteObjects requests sent (each of at most ``S3Client/maximumKeysPerDelete`` keys).
    public var requests = 0
    public init() {}
}

extension S3Client {
    /// S3's limit on the keys of one DeleteObjects request.
    public static let maximumKeysPerDelete = 1000

    /// Deletes up to 1000 keys in one DeleteObjects request (quiet mode: the server answers only
    /// with the keys it could not delete); returns those.
    ///
    /// The body carries a `Content-MD5` (S3 requires an integrity header on DeleteObjects; MD5 is
    /// the one every provider accepts), and its SHA-256 is signed. More than 1000 keys, or a key
    /// XML cannot carry (``isXMLText(_:)``: delete it with ``deleteObject(key:)``), are refused
    /// before anything is sent (``S3Error/Kind/configuration``); an empty list sends nothing.
    public func deleteObjects(keys: [String]) async throws(S3Error) -> [S3DeleteFailure] {
        guard !keys.isEmpty else { return [] }
        guard keys.count <= Self.maximumKeysPerDelete else {
            throw S3Error(
                kind: .configuration,
                message: "DeleteObjects takes at most \(Self.maximumKeysPerDelete) keys, not \(keys.count) (bucket \(configuration.bucket))")
        }
        if let key = keys.first(where: { !Self.isXMLText($0) }) {
            throw S3Error(
                kind: .configuration,
                message: "DeleteObjects cannot name key \(key.debugDescription): XML 1.0 cannot carry its control characters (bucket \(configuration.bucket))")
        }
        let body = Self.deleteObjectsBody(keys: keys)
        let response = try await perform(
            Call(
                method: .post, key: nil, query: [("delete", "")],
                headers: [
                    ("content-md5", Data(MD5Hasher.hash(body)).base64EncodedString()),
                    ("content-type", "application/xml")
                ],
                body: .bytes(body), payloadHash: SHA256Hasher.hash(body).hex))
        guard let root = S3XMLNode.parse(response.body), root.name == "DeleteResult" else {
            // A 200 whose body is an <Error> (or garbage) deleted nothing we can account for.
            let message = S3XMLNode.parse(response.body)?.string("Message") ?? "an answer other than a DeleteResult"
            throw S3Error(
                kind: .invalidResponse, message: "DeleteObjects of \(keys.count) keys in bucket \(configuration.bucket): \(message)",
                httpStatus: response.status, requestID: response.requestID, method: "POST", url: bucketAddress.url())
        }
        return root.children("Error").map { error in
            S3DeleteFailure(
                key: error.string("Key") ?? "", code: error.string("Code") ?? "Unknown",
                message: (error.string("Message") ?? "") + (response.requestID.map { " (request id \($0))" } ?? ""))
        }
    }

    /// `<Delete><Quiet>true</Quiet><Object><Key>…</Key></Object>…</Delete>`, keys XML-escaped.
    static func deleteObjectsBody(keys: [String]) -> [UInt8] {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
        for key in keys { xml += "<Object><Key>\(xmlTextEscaped(key))</Key></Object>" }
        xml += "</Delete>"
        return Array(xml.utf8)
    }

    /// Escapes markup characters, and the whitespace controls an XML parser would normalise
    /// (`\t \n \r` as character references, so a key keeps its exact bytes).
    static func xmlTextEscaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += "&#x\(String(scalar.value, radix: 16));"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether XML 1.0 can carry `text` (its `Char` production). Not U+0001…U+001F other than tab,
    /// newline and return, even as a character reference: a DeleteObjects naming such a key is
    /// answered `MalformedXML` (SeaweedFS, AWS), which fails every key of the batch.
    public static func isXMLText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
            default: false
            }
        }
    }

    /// Deletes any number of keys: batches of at most 1000, run by `clients.count` workers at once
    /// (one client each: a client runs one request at a time). A key XML cannot carry
    /// (``isXMLText(_:)``) is deleted on its own with a DELETE, so it cannot fail a batch. A request
    /// that fails counts every key of it as failed (code `Request`, or the S3 code of a DELETE);
    /// nothing is thrown.
    ///
    /// - Parameter batchSize: keys per request (1...1000; tests use smaller batches).
    public static func deleteObjects(
        _ keys: [String], clients: [S3Client],
        batchSize: Int = maximumKeysPerDelete
    ) async -> S3BatchDeleteResult {
        precondition(!clients.isEmpty, "deleteObjects needs at least one client")
        precondition((1...maximumKeysPerDelete).contains(batchSize), "a DeleteObjects batch holds 1...1000 keys")
        enum Work: Sendable {
            case batch([String])
            case single(String)
        }
        let batchable = keys.filter(isXMLText)
        let work =
            stride(from: 0, to: batchable.count, by: batchSize).map { Work.batch(Array(batchable[$0..<min($0 + batchSize, batchable.count)])) }
            + keys.filter { !isXMLText($0) }.map(Work.single)
        let next = WorkQueue(work)
        return await withTaskGroup(of: S3BatchDeleteResult.self) { group in
            for client in clients.prefix(max(1, work.count)) {
                group.addTask {
                    var result = S3BatchDeleteResult()
                    while !Task.isCancelled, let item = next.next() {
                        result.requests += 1
                        switch item {
                        case .batch(let batch):
                            do throws(S3Error) {
                                let failures = try await client.deleteObjects(keys: batch)
                                result.deleted += batch.count - failures.count
                                result.failed += failures
                            } catch {
                                result.failed += batch.map { S3DeleteFailure(key: $0, code: "Request", message: error.description) }
                            }
                        case .single(let key):
                            do throws(S3Error) {
                                try await client.deleteObject(key: key)
                                result.deleted += 1
                            } catch  where error.kind == .notFound {
                                result.deleted += 1 // gone either way (S3 counts a missing key as deleted too)
                            } catch {
                                result.failed.append(S3DeleteFailure(key: key, code: error.code ?? "Request", message: error.description))
                            }
                        }
                    }
                    return result
                }
            }
            var total = S3BatchDeleteResult()
            for await part in group {
                total.deleted += part.deleted
                total.failed += part.failed
                total.requests += part.requests
            }
            return total
        }
    }
}
