import Backoff
import Hashing
import SystemPackage

/// How ``MultipartUploader`` cuts and sends a file.
public struct MultipartUploadSettings: Sendable {
    /// S3's limits: every part but the last at least 5 MiB, any part at most 5 GiB, 10000 parts.
    public static let minimumPartSize: Int64 = 5 << 20
    public static let maximumPartSize: Int64 = 5 << 30
    public static let maximumPartCount = 10_000

    /// The part size asked for (clamped to S3's limits; grown when the file would need more than
    /// 10000 parts, see ``PartLayout``).
    public var partSize: Int64
    /// Parts in flight at once, each on a client (a connection) of its own.
    public var parallelParts: Int
    /// Further attempts of a part after a retryable failure (0: one attempt).
    public var retriesPerPart: Int
    /// The pause before retry `n` (1, 2, ...).
    public var backoff: @Sendable (_ retry: Int) -> Duration

    public init(
        partSize: Int64 = 5 << 20, parallelParts: Int = 4, retriesPerPart: Int = 3,
        backoff: @escaping @Sendable (_ retry: Int) -> Duration = MultipartUploadSettings.defaultBackoff
    ) {
        self.partSize = partSize
        self.parallelParts = max(1, parallelParts)
        self.retriesPerPart = max(0, retriesPerPart)
        self.backoff = backoff
    }

    /// 0.5 s, 1 s, 2 s, ... (at most 8 s), each ±25 % at random so that workers that failed
    /// together do not retry together.
    public static let defaultBackoff: @Sendable (Int) -> Duration = { retry in
        Backoff(base: 0.5, maximum: 8, jitter: 0.25).duration(afterAttempts: retry)
    }
}

/// How a file is cut into parts: all of ``partSize`` except the last, which holds the rest (R2
/// refuses uploads whose middle parts differ in size).
public struct PartLayout: Sendable, Equatable {
    public let fileSize: Int64
    public let partSize: Int64
    public let count: Int
    /// The part size is larger than asked, because the file would otherwise need more than 10000
    /// parts (or what was asked is outside S3's limits).
    public let grown: Bool

    /// The layout for a new upload: `preferredPartSize` clamped to 5 MiB...5 GiB, grown to a whole
    /// number of MiB when the file would need more than 10000 parts. A file of more than
    /// 10000 × 5 GiB throws ``S3Error/Kind/configuration``.
    public static func forNewUpload(fileSize: Int64, preferredPartSize: Int64) throws(S3Error) -> PartLayout {
        let s = MultipartUploadSettings.self
        var partSize = min(max(preferredPartSize, s.minimumPartSize), s.maximumPartSize)
        let needed = (fileSize + Int64(s.maximumPartCount) - 1) / Int64(s.maximumPartCount)
        if needed > partSize { partSize = ((needed + (1 << 20) - 1) >> 20) << 20 }
        guard partSize <= s.maximumPartSize else {
            throw S3Error(
                kind: .configuration,
                message: "a file of \(fileSize) bytes is larger than S3's largest object "
                    + "(10000 parts of 5 GiB)")
        }
        return PartLayout(fileSize: fileSize, partSize: partSize, grown: partSize != preferredPartSize)
    }

    /// The layout of a journaled upload, which keeps its part size; nil when that size cannot cut
    /// this file within S3's limits.
    public init?(fileSize: Int64, journaledPartSize partSize: Int64) {
        let s = MultipartUploadSettings.self
        guard (s.minimumPartSize...s.maximumPartSize).contains(partSize),
            (fileSize + partSize - 1) / partSize <= Int64(s.maximumPartCount)
        else { return nil }
        self.init(fileSize: fileSize, partSize: partSize, grown: false)
    }

    private init(fileSize: Int64, partSize: Int64, grown: Bool) {
        self.fileSize = fileSize
        self.partSize = partSize
        // An empty file is one empty part (small files go through PutObject anyway).
        count = max(1, Int((fileSize + partSize - 1) / partSize))
        self.grown = grown
    }

    /// Bytes `offset ..< offset + length` of the file are part `number` (1...count).
    public func range(ofPart number: Int) -> (offset: Int64, length: Int64) {
        let offset = Int64(number - 1) * partSize
        return (offset, min(partSize, fileSize - offset))
    }
}

/// The SHA-256 of every part of a file for one part size, computed ahead of the upload (beside the
/// whole file's hash, on another core) so that the parts go out without being hashed again. The
/// server checks each against the bytes it receives: a file that changed meanwhile fails the part.
public struct PartDigests: Sendable, Equatable {
    public let partSize: Int64
    public let digests: [SHA256Digest]

    public init(partSize: Int64, digests: [SHA256Digest]) {
        self.partSize = partSize
        self.digests = digests
    }

    /// Reads the file once, part by part.
    public static func compute(file path: FilePath, layout: PartLayout) throws(S3Error) -> PartDigests {
        let file = try OpenedFile(path)
        defer { file.close() }
        guard file.size == layout.fileSize else {
            throw S3Error(kind: .localFile, message: "\(path) has \(file.size) bytes, not \(layout.fileSize)")
        }
        var digests: [SHA256Digest] = []
        digests.reserveCapacity(layout.count)
        for number in 1...layout.count {
            let range = layout.range(ofPart: number)
            digests.append(try file.sha256(offset: range.offset, length: range.length))
        }
        return PartDigests(partSize: layout.partSize, digests: digests)
    }

    /// Part `number`'s digest, if these digests were computed for `layout`.
    func digest(ofPart number: Int, in layout: PartLayout) -> SHA256Digest? {
        partSize == layout.partSize && digests.count == layout.count ? digests[number - 1] : nil
    }
}
