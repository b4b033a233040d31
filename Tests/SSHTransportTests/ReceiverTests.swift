import Foundation
import Glibc
import LocalFS
import Subprocess
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync
@testable import SSHTransport

/// dms-receive as a forced command (`command="…",restrict` in authorized_keys) on the real sshd:
/// the daemon works through it unchanged, and everything outside its verbs is refused and logged
/// on the NAS. Each test runs with the receiver under dash and under BusyBox sh with BusyBox tools
/// only (PATH holds nothing else), as on NAS firmware.
@Suite struct ReceiverTests {
    static let canary = "PWNED"
    static let hostileNames: [[UInt8]] = [
        Array("it's a 'quote'.JPG".utf8),
        Array("$(touch \(canary)).JPG".utf8),
        Array("`touch \(canary)`.MP4".utf8),
        Array("x;touch \(canary);'\"$(touch \(canary))\".JPG".utf8),
        Array("new\nline.SRT".utf8),
        Array("cr\rand%25percent%0A.JPG".utf8),
        Array("-rf --leading-dash.JPG".utf8),
        Array("  spaces  and\ttab .MOV".utf8),
        Array("unicodé 航拍 📷.DNG".utf8),
        Array("latin1-".utf8) + [0xE9, 0xFF, 0xFE] + Array(".JPG".utf8),
        Array("back\\slash \"dq\" ;|&<>*?[].LRF".utf8),
        Array(String(repeating: "x", count: 251).utf8) + Array(".JPG".utf8) // 255 bytes
    ]

    @Test(arguments: [false, true])
    func theFullCycleWithHostileNamesWorksThroughTheInstalledReceiver(busybox: Bool) async throws {
        var f = try await NASFixture(busybox ? "recv-bb" : "recv")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(busybox: busybox)
        for (i, name) in Self.hostileNames.enumerated() {
            try f.add(rawName: name, bytes: TestFiles.pseudoRandomBytes(count: 1000 + i, seed: UInt64(i)))
        }
        let video = try f.add("DJI_20250101000000_0001_V.MP4", size: 3_000_000, seed: 99)
        // Same name and content already on the NAS: found by the probe's hash, not sent again.
        let same = TestFiles.pseudoRandomBytes(count: 5000, seed: 7)
        try f.putRemote("2025/01/01/DJI_20250101000000_0002_D.JPG", same)
        try f.add(rawName: Array("DJI_20250101000000_0002_D.JPG".utf8), bytes: same)
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages) \(f.receiverLogLines())")
        #expect(summary.filesCopied == Self.hostileNames.count + 1)
        #expect(summary.filesAlreadyPresent == 1)
        let remote = try f.remoteFiles()
        let remoteNames = Set(remote.keys.map { Array($0.split(separator: UInt8(ascii: "/"), maxSplits: 3).last!) })
        #expect(remoteNames == Set(Self.hostileNames + [Array("DJI_20250101000000_0001_V.MP4".utf8), Array("DJI_20250101000000_0002_D.JPG".utf8)]))
        for (i, name) in Self.hostileNames.enumerated() {
            let content = remote.first { $0.key.suffix(name.count).elementsEqual(name) && $0.key[$0.key.count - name.count - 1] == UInt8(ascii: "/") }?.value
            #expect(content.map(sha) == sha(TestFiles.pseudoRandomBytes(count: 1000 + i, seed: UInt64(i))), "\(FilePath.display(name))")
        }
        for folder in [f.remoteBase, "/var/lib/dms-nas", f.remoteBase + "/2025/01/01"] {
            #expect(!LocalFS.exists(FilePath(folder + "/" + Self.canary)), "a file name was executed as a command in \(folder)")
        }
        #expect(f.receiverLogLines().isEmpty, "nothing the daemon does is refused: \(f.receiverLogLines())")
        // Copies keep their source's modification time (seconds).
        let copied = try LocalFS.status(FilePath(f.remoteBase + "/2025/01/01/DJI_20250101000000_0001_V.MP4")).identity
        #expect(copied.mtimeNanoseconds / 1_000_000_000 == (try LocalFS.status(video).identity.mtimeNanoseconds) / 1_000_000_000)
        // Re-verification before the delayed deletion (delay 0: next cycle) goes through it too.
        let second = try await f.cycle()
        #expect(second.deleted == Self.hostileNames.count + 2, "\(second.messages)")
    }

    // MARK: - Refusals

    struct Reply {
        let status: TerminationStatus
        let output: String
        let error: String
    }

    /// The receiver's text (or `script`) with `old` replaced (which must be there) by `new`.
    static func variant(_ old: String, _ new: String, in script: String = ReceiverScript.text) -> String {
        let text = script.replacingOccurrences(of: old, with: new)
        #expect(text != script, "the receiver no longer has: \(old)")
        return text
    }

    /// ssh's arguments for one session with the fixture's (forced-command) key, asking for `command`.
    static func sshArguments(_ f: NASFixture, command: String) -> Arguments {
        let s = f.server
        return Arguments([
            "-F", "none", "-p", String(s.port), "-i", f.nas.identityFile ?? "", "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(s.knownHostsFile)",
            "-o", "LogLevel=ERROR", "--", s.destination, command
        ])
    }

    /// One ssh session with the fixture's (forced-command) key, asking for `command`, `input` on
    /// its standard input.
    static func session(_ f: NASFixture, command: String, input: [UInt8] = []) async throws -> Reply {
        let r = try await Subprocess.run(
            .name("ssh"), arguments: sshArguments(f, command: command), input: .array(input),
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        return Reply(status: r.terminationStatus, output: r.standardOutput, error: r.standardError)
    }

    static func line(_ verb: String, _ fields: [String]) -> [UInt8] { RemoteProtocol.line(verb, fields.map { Array($0.utf8) }) }

    @Test(arguments: [false, true])
    func everythingOutsideTheVerbsIsRefusedAndLoggedOnTheNAS(busybox: Bool) async throws {
        var f = try await NASFixture(busybox ? "refuse-bb" : "refuse")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(busybox: busybox)
        let published = Array("published".utf8)
        try f.putRemote("2025/01/01/DJI_0001.JPG", published)
        let outside = try f.server.makeRemoteBase(name: "outside")
        f.extraFolders.append(outside)
        // A folder in the base that is a symbolic link out of it (made by someone on the NAS).
        _ = symlink(outside, f.remoteBase + "/2025/02")
        var logged = 0
        func expectRefused(_ reply: Reply, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(reply.status != .exited(0), "\(what): \(reply.output)", sourceLocation: sourceLocation)
            #expect(reply.error.contains("dms-receive: refused"), "\(what): \(reply.error)", sourceLocation: sourceLocation)
            let lines = f.receiverLogLines()
            #expect(lines.count == logged + 1, "\(what): one line logged on the NAS: \(lines)", sourceLocation: sourceLocation)
            #expect(lines.last?.contains("refused") == true, "\(what): \(lines)", sourceLocation: sourceLocation)
            logged = lines.count
        }

        // A shell command instead of a session, and `cat /etc/passwd`.
        for command in ["touch \(f.remoteBase)/\(Self.canary)", "cat /etc/passwd", "dms-receive control; id", "sh"] {
            let reply = try await Self.session(f, command: command)
            expectRefused(reply, command)
            #expect(!reply.output.contains("root:"), "\(command)")
        }
        #expect(!LocalFS.exists(FilePath(f.remoteBase + "/" + Self.canary)))
        // A shell command sent as a request on the control session.
        expectRefused(
            try await Self.session(f, command: "dms-receive control", input: Array("cat /etc/passwd\n".utf8)),
            "a shell line on the control session")
        // Reading outside the base: "..", an absolute path, through a symbolic link.
        for path in ["../outside/x", "2025/../../etc/passwd", "/etc/passwd", "2025/02/x", "2025//01/x", "./2025/01/DJI_0001.JPG"] {
            expectRefused(try await Self.session(f, command: "dms-receive control", input: Self.line("ver", ["0", path, "hash"])), "ver \(path)")
        }
        // ".." as a name to probe.
        expectRefused(
            try await Self.session(f, command: "dms-receive control", input: Self.line("pr", ["1", "2025/01/01", "..", "..", "%", "1"])),
            "pr ..")
        // Asking whether a folder outside the base exists.
        for folder in ["../outside", "2025/02", "/etc"] {
            expectRefused(try await Self.session(f, command: "dms-receive control", input: Self.line("dx", ["1", folder])), "dx \(folder)")
        }
        // Writing outside the base, or over a published file, in a data session.
        let dataHead = Self.line("tool", ["sha256sum"])
        for temp in ["../outside/.dms-x.part", "/tmp/.dms-x.part", "2025/02/.dms-x.part", "2025/01/01/DJI_0001.JPG", "2025/01/01/new.JPG"] {
            let put = dataHead + Self.line("put", [temp, "3"]) + Array("abc".utf8) + Self.line("end", [])
            expectRefused(try await Self.session(f, command: "dms-receive data", input: put), "put \(temp)")
        }
        expectRefused(try await Self.session(f, command: "dms-receive data", input: dataHead + Self.line("dir", ["../outside/d"])), "dir ..")
        // Publishing (fin) a temp this session wrote outside the base or under a temp name, or a
        // file it did not write. (Without perl there is no fin: refused as an unknown request.)
        let hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // SHA-256 of "abc"
        for (n, (temp, final)) in [
            (nil, "../outside/x.JPG"), (nil, "2025/02/x.JPG"), (nil, "2025/01/01/.dms-v.part"), ("2025/01/01/DJI_0001.JPG", "2025/01/01/y.JPG")
        ].enumerated() {
            // (A temp of its own each: a refused session leaves the one it wrote.)
            let wrote = "2025/01/01/.dms-w\(n).part"
            let fin =
                dataHead + Self.line("dir", ["2025/01/01"]) + Self.line("put", [wrote, "3"]) + Array("abc".utf8)
                + Self.line("fin", ["0", temp ?? wrote, final, hash]) + Self.line("end", [])
            expectRefused(try await Self.session(f, command: "dms-receive data", input: fin), "fin \(temp ?? wrote) as \(final)")
        }
        #expect(LocalFS.exists(FilePath(f.remoteBase + "/2025/01/01/DJI_0001.JPG")), "the published file is still there")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "nothing written outside the base")
        // Removing a published file as if it were a temp; publishing over it.
        expectRefused(
            try await Self.session(f, command: "dms-receive control", input: Self.line("rmt", ["2025/01/01/DJI_0001.JPG"])),
            "rmt of a published file")
        let temp =
            dataHead + Self.line("dir", ["2025/01/01"]) + Self.line("put", ["2025/01/01/.dms-t.part", "5"])
            + Array("other".utf8) + Self.line("end", [])
        let put = try await Self.session(f, command: "dms-receive data", input: temp)
        #expect(put.status == .exited(0), "\(put.error)")
        let over = try await Self.session(
            f, command: "dms-receive control",
            input: Self.line("pb", ["7", "2025/01/01/.dms-t.part", "2025/01/01/DJI_0001.JPG"]) + Self.line("end", ["1"]))
        #expect(over.output.contains("7 E"), "publishing over a published file says it exists: \(over.output)")
        // Retention without --allow-remove: the copy stays, the NAS logs it, the session goes on.
        let rmv = try await Self.session(
            f, command: "dms-receive control",
            input: Self.line("rmv", ["0", "2025/01/01/DJI_0001.JPG", "9"]) + Self.line("end", ["1"]))
        #expect(rmv.output.contains("0 F refused"), "\(rmv.output)")
        #expect(rmv.output.contains("@@END 1"))
        #expect(f.receiverLogLines().last?.contains("no --allow-remove") == true, "\(f.receiverLogLines())")
        #expect(try FileIO.readWholeFile(FilePath(f.remoteBase + "/2025/01/01/DJI_0001.JPG")) == published, "the published file is intact")
    }

    /// With --allow-remove (the NAS admin enabled retention for the key), retention removes copies
    /// of the recorded size through the receiver and, given the modification time the copy had, only
    /// a file modified within 2 s of it. Under dash and BusyBox (its `date -r`).
    @Test(arguments: [false, true])
    func retentionRemovesCopiesOnlyWhenTheNASAllowsIt(busybox: Bool) async throws {
        var f = try await NASFixture(busybox ? "recv-retention-bb" : "recv-retention")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(busybox: busybox, allowRemove: true)
        let (copy, other) = ("2025/01/01/DJI_0001.JPG", "2025/01/01/DJI_0002.JPG")
        for name in [copy, other] {
            try f.putRemote(name, [1, 2, 3])
            try TestFiles.setModificationTime(FilePath(f.remoteBase + "/" + name), to: .epoch(seconds: 1_700_000_000))
        }
        let reply = try await Self.session(
            f, command: "dms-receive control",
            input: Self.line("rmv", ["0", copy, "3", "1700000001"]) + Self.line("rmv", ["1", other, "3", "1700000100"])
                + Self.line("end", ["1"]))
        #expect(reply.output.contains("0 D"), "\(reply.output) \(reply.error)")
        #expect(reply.output.contains("1 T 1700000000"), "a file of the same size modified at another time stays: \(reply.output)")
        #expect(!LocalFS.exists(FilePath(f.remoteBase + "/" + copy)))
        #expect(LocalFS.exists(FilePath(f.remoteBase + "/" + other)))
        // Without a time (an older daemon), size alone; a time that is not a number is refused.
        let sizeOnly = try await Self.session(
            f, command: "dms-receive control", input: Self.line("rmv", ["2", other, "3"]) + Self.line("end", ["1"]))
        #expect(sizeOnly.output.contains("2 D"), "\(sizeOnly.output)")
        let bad = try await Self.session(f, command: "dms-receive control", input: Self.line("rmv", ["3", copy, "3", "-5"]))
        #expect(bad.status != .exited(0) && bad.error.contains("dms-receive: refused: not a number"), "\(bad.output) \(bad.error)")
    }

    /// A data session that ends before `end` (its daemon gone, the stream cut) removes the temps it
    /// created, except those of files of the `tidy` size or more, which the daemon resumes. So a
    /// stream still buffered for a dead daemon, read after that daemon's temps were removed, leaves
    /// nothing behind (issue 11, defect 10). Under perl (dash) and the dd path (BusyBox).
    @Test(arguments: [false, true])
    func aDataSessionCutShortRemovesItsTempsExceptResumableOnes(busybox: Bool) async throws {
        var f = try await NASFixture(busybox ? "tidy-bb" : "tidy")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(busybox: busybox)
        let day = "2025/01/01"
        func put(_ name: String, size: Int, sending: Int? = nil) -> [UInt8] {
            Self.line("put", ["\(day)/\(name)", String(size)]) + [UInt8](repeating: 0x61, count: sending ?? size)
        }
        func temps() throws -> [String: Int] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: f.remoteBase + "/" + day)) ?? []
            var sizes: [String: Int] = [:]
            for name in names where name.hasPrefix(".dms-") {
                sizes[name] = Int(try LocalFS.status(FilePath(f.remoteBase + "/" + day + "/" + name)).identity.size)
            }
            return sizes
        }
        let head = Self.line("tool", ["sha256sum"]) + Self.line("dir", [day])
        // Cut inside a large file, after a small and a large one were written whole.
        let cut = try await Self.session(
            f, command: "dms-receive data",
            input: head + Self.line("tidy", ["1000"]) + put(".dms-a.part", size: 5) + put(".dms-b.part", size: 1500)
                + put(".dms-c.part", size: 3000, sending: 100))
        #expect(cut.status != .exited(0))
        #expect(try temps() == [".dms-b.part": 1500, ".dms-c.part": 100], "\(cut.error)")
        // Cut inside a small file: removed; with tidy 0 (no resuming) the large ones go too.
        _ = try await Self.session(
            f, command: "dms-receive data", input: head + Self.line("tidy", ["1000"]) + put(".dms-d.part", size: 500, sending: 10))
        _ = try await Self.session(
            f, command: "dms-receive data", input: head + Self.line("tidy", ["0"]) + put(".dms-e.part", size: 3000, sending: 2000))
        #expect(try temps() == [".dms-b.part": 1500, ".dms-c.part": 100])
        // A refusal ends the session early too.
        let refused = try await Self.session(
            f, command: "dms-receive data", input: head + Self.line("tidy", ["0"]) + put(".dms-f.part", size: 7) + Self.line("put", ["../x", "1"]))
        #expect(refused.error.contains("refused"), "\(refused.error)")
        #expect(try temps() == [".dms-b.part": 1500, ".dms-c.part": 100])
        // A complete batch keeps its temps for publishing; without a tidy line (an older daemon)
        // nothing is removed.
        let whole = try await Self.session(
            f, command: "dms-receive data", input: head + Self.line("tidy", ["0"]) + put(".dms-g.part", size: 9) + Self.line("end", []))
        #expect(whole.status == .exited(0), "\(whole.error)")
        _ = try await Self.session(f, command: "dms-receive data", input: head + put(".dms-h.part", size: 50, sending: 20))
        #expect(try temps() == [".dms-b.part": 1500, ".dms-c.part": 100, ".dms-g.part": 9, ".dms-h.part": 20])
    }

    /// With perl the data session publishes what it verified itself (`fin`): a cycle needs no
    /// publish request. Here the receiver refuses every `pb`, and the cycle still places its files,
    /// each checked by the NAS's own SHA-256 first; no temp or session file is left. (With `fin`
    /// taken out of the greeting the same cycle fails: the pb is refused.)
    @Test func theDataSessionPublishesWhatItVerifiedWithoutAPublishRequest() async throws {
        var f = try await NASFixture("recv-fin")
        defer { f.cleanUp() }
        let noPublish = Self.variant("return pb(@f) if $v eq q{pb};", "refuse(q{pb in this test}) if $v eq q{pb};")
        try await f.useInstalledReceiver(script: noPublish)
        for i in 0..<30 { try f.add("DJI_20250101000000_\(1000 + i)_D.JPG", size: 5000 + i, seed: UInt64(i)) }
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages) \(f.receiverLogLines())")
        #expect(summary.filesCopied == 30)
        #expect(f.receiverLogLines().isEmpty, "no pb was sent: \(f.receiverLogLines())")
        let names = try f.remoteNames()
        #expect(names.filter { $0.contains(".dms-") }.isEmpty, "\(names.filter { $0.contains(".dms-") })")
        for i in 0..<30 {
            let copy = try FileIO.readWholeFile(FilePath(f.remoteBase + "/2025/01/01/DJI_20250101000000_\(1000 + i)_D.JPG"))
            #expect(sha(copy) == sha(TestFiles.pseudoRandomBytes(count: 5000 + i, seed: UInt64(i))))
        }
    }
}

extension ReceiverTests {
    /// `es` ends a data session's whole process group, not only the pid in its session file: a
    /// writer the receiver started (here the background `dd` of a `putw`, frozen) dies with it. Under dash,
    /// `kill -9 -- -PGID` is an error ("--" is no option there), and `es` killed the pid alone: the
    /// writer lived on and could create temps after the next run had removed the journaled ones.
    @Test func endingADataSessionEndsItsWholeProcessGroup() async throws {
        var f = try await NASFixture("es-group")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(busybox: false)
        let day = "2025/01/01", sessionFile = ".dms-test.session-1"
        // A large file announced, a little of it sent, the stream left open: the writer waits for more.
        // (Subprocess, not Foundation's Process: its reaper blocks in wait4 on a child that lives on,
        // and with it every test that waits for a process.)
        let head =
            Self.line("tool", ["sha256sum"]) + Self.line("pid", [sessionFile]) + Self.line("dir", [day])
            + Self.line("putw", ["\(day)/.dms-w.part", "10000000"]) + [UInt8](repeating: 0x61, count: 100)
        let base = f.remoteBase
        let fixture = f
        _ = try await Subprocess.run(
            .name("ssh"), arguments: Self.sshArguments(f, command: "dms-receive data"), input: .inputWriter, output: .discarded, error: .discarded
        ) { execution in
            defer { try? execution.send(signal: .terminate) }
            _ = try await execution.standardInputWriter.write(head)
            var writers: [Int32] = []
            try await waitUntil(timeout: .seconds(30), waitingFor: "the session's writer") {
                writers = StaleSessionTests.remoteWriters(in: base)
                return LocalFS.exists(FilePath(base + "/" + sessionFile)) && !writers.isEmpty
            }
            // Frozen, as behind a hung disk: a stopped writer reads no end of stream; only a kill ends it.
            for pid in writers { kill(pid, SIGSTOP) }
            defer { for pid in writers { kill(pid, SIGCONT) } }
            // The session file names the receiver, its process group and its start time. The same pid
            // and group with another start time (a later process that got the pid) is left alone.
            let named = String(decoding: try FileIO.readWholeFile(FilePath(base + "/" + sessionFile), limit: 1 << 10), as: UTF8.self)
            let fields = named.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            let receiver = try #require(fields.first.flatMap { Int32($0) }, "\(named)")
            #expect(fields.count == 3 && fields[2] == ProcessTree.statFields(receiver).flatMap { $0.count > 19 ? String($0[19]) : nil }, "\(named)")
            let otherProcess = ".dms-test.session-2"
            try TestFiles.write(Array("\(fields[0]) \(fields[1]) 1\n".utf8), to: FilePath(base + "/" + otherProcess))
            let spared = try await Self.session(
                fixture, command: "dms-receive control", input: Self.line("es", [otherProcess]) + Self.line("end", ["1"]))
            #expect(spared.status == .exited(0), "\(spared.error)")
            #expect(writers.allSatisfy { StaleSessionTests.procStat($0).hasPrefix("state T") }, "es ended a process its session file does not name")
            let ended = try await Self.session(
                fixture, command: "dms-receive control", input: Self.line("es", [sessionFile]) + Self.line("end", ["1"]))
            #expect(ended.status == .exited(0), "\(ended.error)")
            try await waitUntil(timeout: .seconds(10), waitingFor: "the writer to be ended with its session") {
                writers.allSatisfy { StaleSessionTests.procStat($0) == "gone" || StaleSessionTests.procStat($0).hasPrefix("state Z") }
            }
        }
    }
}
