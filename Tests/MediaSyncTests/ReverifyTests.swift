import Foundation
import GRDB
import LocalFS
@testable import MediaSync
import SystemPackage
import Testing
import TestSupport

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
        _ = await f.cycle()                                  // copied; due for deletion (delay 0)
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
}
