import Foundation
import Glibc
import Hashing
import LocalFS
import MediaSync
import Synchronization
import SystemPackage
import TestSupport
import Testing

/// Writes into a file once its upload has sent `at` bytes, on the sending thread, so the rest of
/// the body is read from the changed file: same size, other bytes near the end, a new mtime.
final class ChangeWhileSending: CycleObserver {
    let path: FilePath
    let at: Int64
    let offset: Int64
    private let sent = Mutex<Int64>(0)
    private let done = Mutex(false)

    init(path: FilePath, at: Int64, offset: Int64) {
        self.path = path
        self.at = at
        self.offset = offset
    }

    var changed: Bool { done.withLock { $0 } }

    func fileStarted(_ item: TransferItem) {}
    func heartbeat() {}
    var stopRequested: Bool { false }

    func bytesMoved(_ count: Int) {
        let total = sent.withLock { total in
            total += Int64(count)
            return total
        }
        guard total >= at else { return }
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        let fd = open(path.string, O_WRONLY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = [UInt8](repeating: 0x5a, count: 4096)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
    }
}

@Suite struct S3ChangedSourceTests {
    /// A file written to while it uploads, in one PUT or in parts, is not recorded and leaves no
    /// object under its name: changed mid-body, the server refuses the body (its SHA-256 is not the
    /// one announced); changed after its last byte went out, the object is deleted once the change
    /// is seen. The next cycle uploads what the file holds then.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func aFileChangedWhileItUploadsIsNotRecordedAndLeavesNoObject(multipart: Bool, afterLastByte: Bool) async throws {
        var f = try await S3Fixture("changed-\(multipart ? "parts" : "put")-\(afterLastByte ? "late" : "mid")")
        defer { f.cleanUp() }
        var s3 = f.s3
        s3.multipartThresholdMiB = 5
        f.s3 = s3
        let size = multipart ? 12 << 20 : 3 << 20
        let path = try f.add("DJI_20250101120000_0001_V.MP4", size: size, seed: 7)
        let observer = ChangeWhileSending(path: path, at: afterLastByte ? Int64(size) : 1 << 20, offset: afterLastByte ? 0 : Int64(size - 8192))
        let first = try await f.cycle(observer: observer)
        #expect(observer.changed)
        // A file still being written is no failure of the upload: nothing charged to it, no retry wait.
        #expect(first.filesCopied == 0 && first.failed == 0, "\(first.messages)")
        #expect(try f.store().failures().isEmpty)
        #expect(try await f.objects().isEmpty, "an object of a file that changed while it uploaded")
        #expect(try f.store().ledgerEntries().isEmpty)
        #expect(try f.store().counts().queuePending == 0)

        let second = try await f.cycle()
        #expect(second.filesCopied == 1, "\(second.messages)")
        let head = try await f.client().headObject(key: f.prefix + "2025/01/01/DJI_20250101120000_0001_V.MP4")
        #expect(head.userMetadata["dms-sha256"] == SHA256Hasher.hash(try FileIO.readWholeFile(path, limit: 1 << 30)).hex)
    }
}
