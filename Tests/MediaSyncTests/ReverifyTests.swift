import Foundation
import GRDB
import LocalFS
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// Verdicts of a re-verification belong to their own ledger rows, by id.
@Suite struct ReverifyTests {
    /// Defect: copies were built with `compactMap` (dropping a row whose sha256 did not parse) and
    /// verdicts zipped back by position. Copies of a and c present, b missing, a's row damaged →
    /// source b was deleted and a's present copy marked lost. Now: b is kept and copied again, a
    /// is not deleted (a damaged row never verifies) and its copy is not marked lost, c is deleted.
    @Test func aDamagedDigestNeverShiftsVerdictsOntoOtherRows() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let a = try f.add("a.JPG", bytes: Array("aaaa".utf8))
        let b = try f.add("b.JPG", bytes: Array("bbbb".utf8))
        let c = try f.add("c.JPG", bytes: Array("cccc".utf8))
        _ = await f.cycle() // copied; due for deletion (delay 0)
        let nas = f.remote("nas")
        let ledger = try f.store.ledgerEntries()
        let rowA = try #require(ledger.first { $0.localPath == a })
        let rowB = try #require(ledger.first { $0.localPath == b })
        #expect(nas.remove(rowB.remotePath) != nil)
        try await f.store.db.write { db in
            try db.execute(sql: "UPDATE ledger SET sha256 = 'damaged' WHERE id = ?", arguments: [rowA.id])
        }
        _ = await f.cycle()
        #expect(LocalFS.exists(b), "b's copy is missing: b must not be deleted")
        #expect(nas.file(rowB.remotePath) != nil, "b is copied again in the same cycle")
        #expect(LocalFS.exists(a), "a's ledger row is damaged: a must not be deleted")
        #expect(try f.store.ledgerEntries().first { $0.id == rowA.id }?.state == .present, "a's copy is there: not lost")
        #expect(!LocalFS.exists(c))
    }

    /// Found by the fault simulation (seeds 119 and 318 of 400): a copy lost on the NAS while the
    /// engine could not verify it, then the next version of the file published under the same
    /// (now free) name. The old version's row must not go on claiming that name.
    @Test func aNameReusedByTheNextVersionRetiresTheStaleRow() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let path = try f.add("IMG_1.JPG", bytes: Array("first".utf8))
        _ = await f.cycle()
        let nas = f.remote("nas")
        let old = try #require(try f.store.ledgerEntries().first)
        #expect(nas.remove(old.remotePath) != nil) // lost on the NAS
        try TestFiles.write(Array("first, then more".utf8), to: path, modified: .secondsAgo(1800))
        nas.on(.verify, .fail(DestinationError(.transient, "scripted: cannot verify now")))
        _ = await f.cycle()
        let claims = try f.store.ledgerEntries().filter { $0.remotePath == old.remotePath && $0.state == .present }
        #expect(claims.count == 1)
        #expect(claims.first?.sha256 == nas.file(old.remotePath)?.sha256)
        #expect(try f.store.ledgerEntries().first { $0.id == old.id }?.state == .lost)
    }
}
