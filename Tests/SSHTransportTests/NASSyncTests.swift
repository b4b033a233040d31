import Configuration
import Foundation
import Glibc
import Hashing
import LocalFS
import SSHTransport
import Synchronization
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// The sync cycle against a real OpenSSH sshd on loopback (scripts/test-sshd.sh).
@Suite struct NASSyncTests {
    @Test func aFullCycleLandsVerifiedFilesUnderTheirDatesAndASecondRunCopiesNothing() async throws {
        let f = try await NASFixture("full")
        defer { f.cleanUp() }
        let photo = try f.add("DCIM/DJI_20250101123456_0001_D.JPG", size: 300_000, seed: 1)
        let video = try f.add("DCIM/DJI_20250102090000_0002_V.MP4", size: 5_000_000, seed: 2)
        let plain = try f.add("DJI_0003.DNG", size: 0, seed: 3) // an empty file is still a file
        var f2 = f
        f2.config.deletePolicy.delayMinutes = 60
        let first = try await f2.cycle()
        #expect(first.status == .ok)
        #expect(first.filesCopied == 3)
        let remote = try f.remoteFiles()
        let day = RemoteLayout().dayFromTime(try LocalFS.status(plain).identity.mtimeNanoseconds).description
        #expect(
            Set(remote.keys.map { String(decoding: $0, as: UTF8.self) }) == [
                "2025/01/01/DJI_20250101123456_0001_D.JPG", "2025/01/02/DJI_20250102090000_0002_V.MP4", "\(day)/DJI_0003.DNG"
            ])
        #expect(remote[Array("2025/01/01/DJI_20250101123456_0001_D.JPG".utf8)].map(sha) == sha(try FileIO.readWholeFile(photo)))
        #expect(remote[Array("2025/01/02/DJI_20250102090000_0002_V.MP4".utf8)].map(sha) == sha(try FileIO.readWholeFile(video, limit: 1 << 30)))
        #expect(f.logs.messages(.fileSynced).count == 3)
        // The ledger knows them: a second run copies nothing and sends nothing.
        let second = try await f2.cycle()
        #expect(second.filesCopied == 0)
        #expect(second.filesAlreadyPresent == 0)
        #expect(second.bytesCopied == 0)
        #expect(second.failed == 0)
        #expect(try f.store().counts().queuePending == 3)
        #expect(try f.remoteFiles().count == 3)
    }

    @Test func hostileNamesArriveIntactAndInjectNothing() async throws {
        let f = try await NASFixture("hostile")
        defer { f.cleanUp() }
        let canary = "PWNED"
        let names: [[UInt8]] = [
            Array("it's a 'quote'.JPG".utf8),
            Array("$(touch \(canary)).JPG".utf8),
            Array("`touch \(canary)`.MP4".utf8),
            Array("x;touch \(canary);'\"$(touch \(canary))\".JPG".utf8),
            Array("new\nline.SRT".utf8),
            Array("-rf --leading-dash.JPG".utf8),
            Array("  spaces  and\ttab .MOV".utf8),
            Array("unicodé 航拍 📷.DNG".utf8),
            Array("latin1-".utf8) + [0xE9, 0xFF, 0xFE] + Array(".JPG".utf8),
            Array("back\\slash \"dq\" ;|&<>*?[].LRF".utf8),
            Array(String(repeating: "x", count: 251).utf8) + Array(".JPG".utf8) // 255 bytes
        ]
        #expect(names.last?.count == 255)
        for (i, name) in names.enumerated() { try f.add(rawName: name, bytes: TestFiles.pseudoRandomBytes(count: 1000 + i, seed: UInt64(i))) }
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages)")
        #expect(summary.filesCopied == names.count)
        let remote = try f.remoteFiles()
        let remoteNames = Set(remote.keys.map { Array($0.split(separator: UInt8(ascii: "/"), maxSplits: 3).last!) })
        #expect(remoteNames == Set(names))
        for (i, name) in names.enumerated() {
            let content = remote.first { $0.key.suffix(name.count).elementsEqual(name) && $0.key[$0.key.count - name.count - 1] == UInt8(ascii: "/") }?.value
            #expect(content.map(sha) == sha(TestFiles.pseudoRandomBytes(count: 1000 + i, seed: UInt64(i))), "\(FilePath.display(name))")
        }
        // Had a name been run as a command, PWNED would exist in the remote shell's folder
        // (base_path) or the NAS user's home.
        for folder in [f.remoteBase, "/var/lib/dms-nas", f.remoteBase + "/2025/01/01"] {
            #expect(!LocalFS.exists(FilePath(folder + "/" + canary)), "a file name was executed as a command in \(folder)")
        }
        // Delayed delete of hostile names works too (delay 0: next cycle).
        let second = try await f.cycle()
        #expect(second.deleted == names.count)
    }

    @Test func sameNameSameContentIsRecordedNotCopiedAndDifferentContentGetsASuffix() async throws {
        let f = try await NASFixture("conflict")
        defer { f.cleanUp() }
        let same = TestFiles.pseudoRandomBytes(count: 50_000, seed: 10)
        try f.putRemote("2025/01/01/DJI_20250101000000_0001_D.JPG", same)
        // Same size, different content: must not be taken for the same file.
        try f.putRemote("2025/01/01/DJI_20250101000000_0002_D.JPG", TestFiles.pseudoRandomBytes(count: 40_000, seed: 99))
        try f.putRemote("2025/01/01/DJI_20250101000000_0002_D_1.JPG", [1]) // _1 taken as well
        try f.add(rawName: Array("DJI_20250101000000_0001_D.JPG".utf8), bytes: same)
        let different = TestFiles.pseudoRandomBytes(count: 40_000, seed: 11)
        try f.add(rawName: Array("DJI_20250101000000_0002_D.JPG".utf8), bytes: different)
        // Two local files that want one name in one cycle.
        try f.add("other/DJI_20250101000000_0003_D.JPG", size: 100, seed: 5)
        try f.add("more/DJI_20250101000000_0003_D.JPG", size: 200, seed: 6)
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages)")
        #expect(summary.filesAlreadyPresent == 1)
        #expect(summary.filesCopied == 3)
        #expect(summary.bytesCopied == 40_000 + 100 + 200)
        let remote = try f.remoteFiles()
        #expect(remote[Array("2025/01/01/DJI_20250101000000_0002_D_2.JPG".utf8)].map(sha) == sha(different))
        #expect(remote[Array("2025/01/01/DJI_20250101000000_0002_D.JPG".utf8)].map(sha) == sha(TestFiles.pseudoRandomBytes(count: 40_000, seed: 99)))
        #expect(remote[Array("2025/01/01/DJI_20250101000000_0003_D.JPG".utf8)] != nil)
        #expect(remote[Array("2025/01/01/DJI_20250101000000_0003_D_1.JPG".utf8)] != nil)
        #expect(f.logs.messages(.nameConflict).count == 2)
        #expect(try f.store().counts().ledgerPresent == 4)
    }

    @Test func aFileChangingBeforeOrWhileItIsReadIsNotRecorded() async throws {
        let f = try await NASFixture("changing")
        defer { f.cleanUp() }
        let growing = try f.add("DJI_20250101000000_0001_V.MP4", size: 4_000_000, seed: 1)
        let later = try f.add("DJI_20250101000001_0002_V.MP4", size: 1000, seed: 2)
        // While the first file streams, a writer appends to it and to the file after it.
        let observer = AppendingObserver(targets: [growing, later])
        let summary = try await f.cycle(observer: observer)
        #expect(summary.filesCopied == 0)
        #expect(summary.skipped == 2)
        #expect(try f.remoteFiles().isEmpty, "no partial file and no temp file may remain")
        #expect(try f.store().counts().queuePending == 0)
        // Once the writer is done, the next cycle copies them.
        let next = try await f.cycle()
        #expect(next.filesCopied == 2)
    }

    @Test func aYoungFileIsLeftAlone() async throws {
        var f = try await NASFixture("young")
        defer { f.cleanUp() }
        f.config.local.minFileAgeSeconds = 3600
        try TestFiles.write([1, 2], to: f.source.appending("DJI_20250101000000_0001_V.MP4")) // mtime now
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 0)
        #expect(summary.skipped == 1)
        #expect(try f.remoteFiles().isEmpty)
    }

    @Test func aRemoteChecksumMismatchIsNotPublishedAndNotQueued() async throws {
        var f = try await NASFixture("mismatch")
        defer { f.cleanUp() }
        try f.add("DJI_20250101000000_0001_D.JPG", size: 70_000, seed: 1)
        try f.add("DJI_20250101000000_0002_D.JPG", size: 70_000, seed: 2)
        // Corrupt one temp file on the real NAS between extraction and hashing.
        f.tweak = { $0.faultInjectionAfterExtract = "for t in 2025/01/01/.dms-*; do printf X >> \"$t\"; break; done" }
        let summary = try await f.cycle()
        #expect(summary.failed == 1)
        #expect(summary.filesCopied == 1)
        #expect(f.logs.contains(.verificationFailed))
        let remote = try f.remoteFiles()
        #expect(remote.count == 1, "only the intact file is published; the corrupt temp is removed")
        #expect(remote.keys.allSatisfy { !String(decoding: $0, as: UTF8.self).contains(".dms-") })
        #expect(try f.store().counts().queuePending == 1)
        #expect(try f.store().pending(destination: "nas").isEmpty)
    }

    /// Defect: a file of 128 KiB to 256 KiB went out before the request line staged ahead of it
    /// (the stream's writer sent large chunks straight to ssh, skipping what it held), so the
    /// receiver refused the batch ("unknown data request") and the file never arrived.
    @Test func everySizeAroundTheStreamsStagingBoundariesArrivesIntact() async throws {
        let f = try await NASFixture("sizes")
        defer { f.cleanUp() }
        let sizes = [0, 1, 65_535, 131_071, 131_072, 150_000, 262_015, 262_144, 262_145, (1 << 20) + 150_000, 3 << 20]
        var expected: [[UInt8]: [UInt8]] = [:]
        for (index, size) in sizes.enumerated() {
            let name = "DJI_20250101120000_\(String(format: "%04d", index))_D.JPG"
            let path = try f.add(name, size: size, seed: UInt64(index + 1))
            expected[Array("2025/01/01/\(name)".utf8)] = try FileIO.readWholeFile(path, limit: 1 << 30)
        }
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages)")
        #expect(summary.filesCopied == sizes.count)
        #expect(try f.remoteFiles() == expected)
    }

    /// The receiver starts hashing every 4 MiB of a batch's temps in the background while the next
    /// ones stream, and hashes the rest at the end: every file of the batch is verified and published
    /// either way, with perl's publisher and with the shell's.
    @Test(arguments: [false, true])
    func aBatchHashedPartlyWhileItStreamsIsVerifiedWhole(shellPublisher: Bool) async throws {
        var f = try await NASFixture("bghash-\(shellPublisher)")
        defer { f.cleanUp() }
        f.tweak = { $0.forceShellPublisher = shellPublisher }
        f.config.concurrency.parallelTransfers = 1
        var expected: [[UInt8]: [UInt8]] = [:]
        // 20 × 512 KiB in one batch: two runs while it streams (after the 8th and 16th file), one at the end.
        for index in 1...20 {
            let name = "DJI_20250101120000_\(1000 + index)_D.JPG"
            let path = try f.add(name, size: 1 << 19, seed: UInt64(index))
            expected[Array("2025/01/01/\(name)".utf8)] = try FileIO.readWholeFile(path, limit: 1 << 30)
        }
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages)")
        #expect(summary.filesCopied == 20)
        #expect(try f.remoteFiles() == expected)
    }

    @Test func thePortableShellPublisherWorksToo() async throws {
        var f = try await NASFixture("shpublish")
        defer { f.cleanUp() }
        f.tweak = { $0.forceShellPublisher = true }
        try f.add(rawName: Array("it's \"odd\" $(x).JPG".utf8), bytes: [1, 2, 3])
        try f.add("DJI_20250101000000_0001_D.JPG", size: 1000)
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 2, "\(summary.messages)")
        #expect(try f.remoteFiles().count == 2)
    }

    @Test func anUnreachableNASOrAWrongHostKeyIsAClearErrorAndNothingIsQueued() async throws {
        var f = try await NASFixture("unreachable")
        defer { f.cleanUp() }
        try f.add("DJI_20250101000000_0001_D.JPG", size: 1000)
        var nas = f.nas
        nas.port = try closedLoopbackPort()
        f.nas = nas
        let down = try await f.cycle()
        #expect(down.unavailableDestinations == ["nas"])
        #expect(down.status == .failed)
        #expect(down.messages.joined().contains("unreachable"), "\(down.messages)")
        #expect(try f.store().counts().queuePending == 0)

        // A known_hosts with some other key for this host.
        let other = try TemporaryDirectory(prefix: "dms-kh")
        defer { try? other.remove() }
        let keygen = Process()
        keygen.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
        keygen.arguments = ["-q", "-t", "ed25519", "-N", "", "-f", other.path + "/k"]
        try keygen.run()
        keygen.waitUntilExit()
        let pub = String(decoding: try FileIO.readWholeFile(FilePath(other.path + "/k.pub")), as: UTF8.self)
        let fields = pub.split(separator: " ")
        try TestFiles.write(Array("[127.0.0.1]:\(f.server.port) \(fields[0]) \(fields[1])\n".utf8), to: FilePath(other.path + "/known_hosts"))
        nas = f.nas
        nas.port = f.server.port
        nas.knownHostsFile = other.path + "/known_hosts"
        f.nas = nas
        let spoofed = try await f.cycle()
        #expect(spoofed.unavailableDestinations == ["nas"])
        #expect(spoofed.messages.joined().contains("host key not accepted"), "\(spoofed.messages)")
        #expect(try f.remoteFiles().isEmpty)
        #expect(try f.store().counts().queuePending == 0)
    }

    @Test func aMissingBasePathIsReportedAndNeverCreated() async throws {
        var f = try await NASFixture("nobase")
        defer { f.cleanUp() }
        try f.add("DJI_20250101000000_0001_D.JPG", size: 10)
        var nas = f.nas
        nas.basePath = f.remoteBase + "/not-mounted"
        f.nas = nas
        let summary = try await f.cycle()
        #expect(summary.messages.joined().contains("base_path does not exist"), "\(summary.messages)")
        #expect(!LocalFS.exists(FilePath(f.remoteBase + "/not-mounted")))
    }

    @Test func theDeleteQueueDeletesOnlyAfterTheDelayAndAFreshVerification() async throws {
        var f = try await NASFixture("delete")
        defer { f.cleanUp() }
        f.config.deletePolicy.delayMinutes = 60
        let kept = try f.add("DJI_20250101000000_0001_D.JPG", size: 10_000, seed: 1)
        let changed = try f.add("DJI_20250101000000_0002_D.JPG", size: 10_000, seed: 2)
        let corrupted = try f.add("DJI_20250101000000_0003_D.JPG", size: 10_000, seed: 3)
        let good = try f.add("DJI_20250101000000_0004_D.JPG", size: 10_000, seed: 4)
        #expect(try await f.cycle().filesCopied == 4)
        // Not due yet: nothing is deleted.
        #expect(try await f.cycle().deleted == 0)
        #expect([kept, changed, corrupted, good].allSatisfy { LocalFS.exists($0) })
        // Make everything due (the delay passed), then change one source and corrupt one copy.
        f.config.deletePolicy.delayMinutes = 0
        let store = try f.store()
        for entry in try store.deleteQueue() { try Self.makeDue(store, entry.id) }
        try TestFiles.write(size: 10_000, seed: 22, to: changed, modified: .secondsAgo(3500))
        try f.putRemote("2025/01/01/DJI_20250101000000_0003_D.JPG", TestFiles.pseudoRandomBytes(count: 10_000, seed: 33)) // same size, other bytes
        var f2 = f
        f2.config.deletePolicy.deleteSources = true
        let summary = try await f2.cycle()
        #expect(summary.deleted == 2) // kept + good
        #expect(!LocalFS.exists(kept) && !LocalFS.exists(good))
        #expect(LocalFS.exists(changed), "a source that changed since it was verified is never deleted")
        #expect(LocalFS.exists(corrupted), "a source whose copy no longer verifies is never deleted")
        #expect(f.logs.contains(.deleteVerificationFailed))
        #expect(f.logs.messages(.sourceDeleted).count == 2)
        // The corrupted copy's source was copied again (under a new name) in the same cycle,
        // and the changed file (a new version) too.
        #expect(summary.filesCopied == 2, "\(summary.messages)")
        #expect(try f.remoteFiles()[Array("2025/01/01/DJI_20250101000000_0003_D_1.JPG".utf8)].map(sha) == sha(try FileIO.readWholeFile(corrupted)))
    }

    @Test func aCycleWritesThePrometheusTextfileAndRecordsTheNASSpace() async throws {
        var f = try await NASFixture("metrics")
        defer { f.cleanUp() }
        f.config.health.prometheusTextfile = f.state.path + "/dji.prom"
        try f.add("DJI_20250101000000_0001_D.JPG", size: 1000)
        let summary = try await f.cycle()
        #expect(summary.health?.level == .healthy)
        let text = String(decoding: try FileIO.readWholeFile(FilePath(f.state.path + "/dji.prom")), as: UTF8.self)
        #expect(text.contains("dji_media_sync_last_cycle_files 1"))
        #expect(text.contains("dji_media_sync_destination_free_bytes{destination=\"nas\"}"))
    }

    @Test func theBandwidthLimitHoldsForARealTransfer() async throws {
        var f = try await NASFixture("throttle")
        defer { f.cleanUp() }
        let limiter = BandwidthLimiter(bytesPerSecond: 4_000_000)
        f.limiter = limiter
        try f.add("DJI_20250101000000_0001_V.MP4", size: 6_000_000)
        let clock = ContinuousClock()
        let start = clock.now
        let summary = try await f.cycle()
        let elapsed = clock.now - start
        #expect(summary.filesCopied == 1)
        // 6 MB at 4 MB/s, less the 1 MB initial bucket: at least 1.25 s.
        #expect(elapsed >= .milliseconds(1250), "\(elapsed)")
    }

    /// Records when each chunk went out (after the limiters let it through).
    final class RateProbe: CycleObserver {
        let chunks = Mutex<[(at: ContinuousClock.Instant, bytes: Int)]>([])
        func fileStarted(_ item: TransferItem) {}
        func bytesMoved(_ count: Int) { chunks.withLock { $0.append((.now, count)) } }
    }

    /// A destination's `bandwidth_schedule`, wired as Bootstrap wires it, holds a real transfer to
    /// the rate the schedule gives for the current local time.
    @Test func aScheduledDestinationLimitSlowsARealNASTransfer() async throws {
        var f = try await NASFixture("bw-schedule")
        defer { f.cleanUp() }
        // 1 MiB/s from a minute ago, off two hours from now: the limited entry is in force
        // while the test runs, whatever the time of day.
        let clock = DateFormatter()
        clock.locale = Locale(identifier: "en_US_POSIX")
        clock.dateFormat = "HH:mm"
        let from = clock.string(from: Date().addingTimeInterval(-60)), to = clock.string(from: Date().addingTimeInterval(7200))
        f.nas.bandwidthSchedule = try BandwidthSchedule.parse("\(from),1M \(to),off")
        let limiter = try #require(BandwidthLimiter.perDestination(f.config)["nas"])
        #expect(limiter.describe() == "1 MiB/s until \(to) (schedule)")

        let size = 4 << 20
        try f.add("DJI_20250101000000_0001_V.MP4", size: size)
        let probe = RateProbe()
        let summary = try await f.engine().runCycle(observer: probe)
        #expect(summary.filesCopied == 1, "\(summary.messages)")
        let chunks = probe.chunks.withLock { $0 }
        let moved = chunks.map(\.bytes).reduce(0, +)
        #expect(moved == size)
        // The rate after the first chunk (which the quarter-second bucket lets through at once).
        let first = try #require(chunks.first), last = try #require(chunks.last)
        let seconds = (last.at - first.at).inSeconds
        let rate = Double(moved - first.bytes) / seconds
        #expect(rate > 0.85 * 1_048_576 && rate < 1.1 * 1_048_576, "\(rate) B/s over \(seconds) s, \(chunks.count) chunks")
    }

    @Test(arguments: [true, false])
    func aLargeFileIsVerifiedWhetherHashedWhileWrittenOrAfterwards(whileWriting: Bool) async throws {
        var f = try await NASFixture("large-\(whileWriting)")
        defer { f.cleanUp() }
        f.config.integrity.hashWhileWriting = whileWriting
        let path = try f.add("DJI_20250101000000_0001_V.MP4", size: 70 << 20, seed: 3)
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 1, "\(summary.messages)")
        let remote = FilePath(f.remoteBase + "/2025/01/01/DJI_20250101000000_0001_V.MP4")
        #expect(sha(try FileIO.readWholeFile(remote, limit: 1 << 30)) == sha(try FileIO.readWholeFile(path, limit: 1 << 30)))
        #expect(try f.remoteNames().count == 1)
    }

    @Test func withDeletionOffSourcesAreVerifiedAndKept() async throws {
        var f = try await NASFixture("keep")
        defer { f.cleanUp() }
        f.config.deletePolicy.deleteSources = false
        let path = try f.add("DJI_20250101000000_0001_D.JPG", size: 1000)
        _ = try await f.cycle()
        let second = try await f.cycle()
        #expect(second.deleted == 0)
        #expect(second.kept == 1)
        #expect(LocalFS.exists(path))
    }

    static func makeDue(_ store: StateStore, _ id: Int64) throws {
        // Simulates the passing of the delay without waiting for it.
        try store.overrideDueForTesting(id, dueAt: 0)
    }

}

/// Appends to the given files when the first transfer starts: a writer still at work.
final class AppendingObserver: CycleObserver {
    let targets: [FilePath]
    let done = Mutex(false)
    init(targets: [FilePath]) { self.targets = targets }
    func fileStarted(_ item: TransferItem) {}
    func bytesMoved(_ count: Int) {
        let first = done.withLock { d -> Bool in
            defer { d = true }
            return !d
        }
        guard first else { return }
        for t in targets {
            let fd = t.withPlatformString { open($0, O_WRONLY | O_APPEND) }
            _ = write(fd, "appended", 8)
            close(fd)
        }
    }
}
