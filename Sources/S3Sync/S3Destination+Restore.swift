import LocalFS
import MediaSync
import ObjectStorage
import Synchronization
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
    /// `restore`: an object smaller than two parts comes in one streamed GET, `parallel_files`
    /// of them at a time; a larger one in part-sized ranged GETs, `parallel_parts` at a time,
    /// written at their offsets (the sink hashes it once complete). Never held in memory.
    func fetch(_ copies: [RemoteCopy], into sink: any RestoreSink) async throws(DestinationError) {
        let part = Int64(config.partSizeMiB) << 20
        let small = copies.indices.filter { copies[$0].size < 2 * part }
        let results = await forEach(small) { (client, index) async -> Result<Void, DestinationError> in
            let key = copies[index].remotePath.string
            do throws(S3Error) {
                _ = try await client.getObject(key: key) { sink.receive(index, $0) }
                return await Self.finished(sink, index, nil)
            } catch {
                return await Self.finished(sink, index, S3Destination.destinationError(error, key: key, context: "cannot read \(key)"), error)
            }
        }
        for case let .failure(error) in results { throw error }
        for index in copies.indices where copies[index].size >= 2 * part {
            try await fetchInRanges(copies[index], index: index, part: part, into: sink)
        }
    }

    private func fetchInRanges(_ copy: RemoteCopy, index: Int, part: Int64, into sink: any RestoreSink) async throws(DestinationError) {
        let key = copy.remotePath.string
        let ranges = stride(from: Int64(0), to: copy.size, by: Int(part)).map { $0...min($0 + part, copy.size) - 1 }
        let results = await forEach(ranges, workers: config.parallelParts) { (client, range) async -> Result<(DestinationError, S3Error)?, DestinationError> in
            let at = Atomic<Int64>(range.lowerBound)
            do throws(S3Error) {
                _ = try await client.getObject(key: key, range: range) { bytes in
                    sink.receive(index, at: at.add(Int64(bytes.count), ordering: .relaxed).oldValue, bytes)
                }
                return .success(nil)
            } catch {
                let context = "cannot read bytes \(range.lowerBound)-\(range.upperBound) of \(key)"
                return .success((S3Destination.destinationError(error, key: key, context: context), error))
            }
        }
        let failure = results.lazy.compactMap { try? $0.get() }.compactMap { $0 }.first
        if case let .failure(error) = await Self.finished(sink, index, failure?.0, failure?.1) { throw error }
    }

    /// Tells the sink copy `index` is done. A failure of the file alone (or a missing object)
    /// is the file's; any other ends the restore.
    private static func finished(_ sink: any RestoreSink, _ index: Int, _ error: DestinationError?, _ cause: S3Error? = nil) async
        -> Result<Void, DestinationError>
    {
        _ = try? await runBlocking { sink.finished(index, error: error) }
        guard let error, !error.kind.isPerFile, cause?.kind != .notFound else { return .success(()) }
        return .failure(error)
    }
}
