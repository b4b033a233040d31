import LocalFS
import MediaSync
import ObjectStorage
import SystemPackage

extension S3Destination {
    /// The key below the prefix with `S3Settings.keyName`'s escapes undone: the file name as it was.
    public func relativeRemotePath(_ remotePath: FilePath) -> [UInt8]? {
        let key = remotePath.string, prefix = settings.config.prefix
        guard key.hasPrefix(prefix), key.count > prefix.count else { return nil }
        return Self.unescapedKey(Array(key.utf8.dropFirst(prefix.utf8.count)))
    }

    /// The inverse of `keyName` (every `%` in a key is one of its escapes); nil for a malformed one.
    static func unescapedKey(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "%") else {
                out.append(bytes[i])
                i += 1
                continue
            }
            guard i + 2 < bytes.count, let byte = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
            i += 3
        }
        return out
    }
}

extension S3Session {
    /// `restore`: one GET per object, streamed into the sink (never held in memory), up to
    /// `parallel_files` objects at a time. (No ranged parallel GETs: one stream per object.)
    func fetch(_ copies: [RemoteCopy], into sink: any RestoreSink) async throws(DestinationError) {
        let results = await forEach(Array(copies.enumerated().map { $0.offset })) { (client, index) async -> Result<Void, DestinationError> in
            let key = copies[index].remotePath.string
            do throws(S3Error) {
                _ = try await client.getObject(key: key) { sink.receive(index, $0) }
                _ = try? await runBlocking { sink.finished(index, error: nil) }
                return .success(())
            } catch {
                let mapped = S3Destination.destinationError(error, key: key, context: "cannot read \(key)")
                _ = try? await runBlocking { sink.finished(index, error: mapped) }
                return mapped.kind.isPerFile || error.kind == .notFound ? .success(()) : .failure(mapped)
            }
        }
        for case let .failure(error) in results { throw error }
    }
}
