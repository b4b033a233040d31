import Testing

@testable import SystemdSupport

@Suite("LoggingBootstrap chooses journald only when stderr is the journal stream")
struct LoggingBootstrapTests {
    @Test("no JOURNAL_STREAM: stderr")
    func unset() {
        #expect(LoggingBootstrap.destination(journalStream: nil, stderrIdentity: (1, 2)) == .stderr)
        #expect(LoggingBootstrap.destination(journalStream: "", stderrIdentity: nil) == .stderr)
    }

    @Test("JOURNAL_STREAM matching stderr's device:inode: journald")
    func matching() {
        #expect(LoggingBootstrap.destination(journalStream: "8:123456", stderrIdentity: (8, 123456)) == .journald)
    }

    @Test("inherited JOURNAL_STREAM with stderr redirected elsewhere: stderr")
    func redirected() {
        #expect(LoggingBootstrap.destination(journalStream: "8:123456", stderrIdentity: (8, 999)) == .stderr)
    }

    @Test("malformed JOURNAL_STREAM: stderr; stderr identity unknown: trust the variable")
    func edgeCases() {
        #expect(LoggingBootstrap.destination(journalStream: "garbage", stderrIdentity: nil) == .stderr)
        #expect(LoggingBootstrap.destination(journalStream: "8:x", stderrIdentity: nil) == .stderr)
        #expect(LoggingBootstrap.destination(journalStream: "8:5", stderrIdentity: nil) == .journald)
    }
}
