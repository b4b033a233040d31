import Hashing
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage

// An in-memory destination whose answers and failures are scripted per call, for engine tests
// and the fault simulation. It behaves like the NAS destination (SSHTransport/NASDestination):
// temp names journaled before any byte lands, the local file read once and hashed (SourceFile,
// identity checked before and after), SHA-256 compared on both ends, no-clobber publish
// (`<stem>_N<ext>` when a different file has the name, alreadyPresent when the same one has),
// temps of a crashed run reclaimed at the next connect from the journal, and nothing else.

/// One destination call, as the script sees it before it is answered.
public struct ScriptedCall: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case connect, transfer, verify, space, removeCopies, lookUp
        /// One file of a transfer, before it is probed and sent.
        case file
        /// One verified temp file, before it is renamed to its final name.
        case publish
        /// A batch's results, before they are handed to the engine.
        case report
    }

    public let kind: Kind
    public let destination: String
    /// Position among all calls on this remote (1, 2, ...).
    public let sequence: Int
    /// For `.file` and `.publish`.
    public let item: TransferItem?

    public var description: String {
        "#\(sequence) \(destination).\(kind.rawValue)\(item.map { " \($0.localPath.lastComponent.map { "\($0)" } ?? "")" } ?? "")"
    }
}

public enum ScriptedAnswer: Sendable {
    case proceed
    /// The call fails with this error. On `.file` and `.publish`: a connection loss or a full
    /// destination ends the transfer (earlier results of the batch are reported first, then it is
    /// thrown, as the NAS destination does); any other kind is this file's own failure.
    case fail(DestinationError)
    /// `.file`: the bytes arrive altered; the remote SHA-256 differs and nothing is published.
    case corrupt
    /// `.file`: `change` runs once the first chunk of the local file has been read (the file is
    /// being written to, replaced, renamed...); the read must then report sourceChanged.
    case changeSourceDuringRead(@Sendable (FilePath) -> Void)
    /// A stop (SIGTERM): the calling task is cancelled and the call throws `.cancelled`.
    case cancelTask
    /// A crash: the call never answers (until ``ScriptedRemote/releaseHung()``, after which it
    /// throws `.cancelled` without touching anything). Restart with ``ScriptedRemote/restart()``.
    case hang
    /// A slow link: the call answers nothing until the calling task is cancelled, then throws
    /// `.cancelled` without touching anything (a stop must get through every phase).
    case stall
}

/// The continuation a stalled call waits on, resumed by its task's cancellation.
final class StallGate: Sendable {
    private struct State {
        var cancelled = false
        var continuation: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.cancelled { return true }
                    s.continuation = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.cancelled = true
                defer { s.continuation = nil }
                return s.continuation
            }
            c?.resume()
        }
    }
}

/// What a remote holds under one name.
public struct RemoteFile: Sendable, Equatable {
    public var bytes: [UInt8]
    public var sha256: SHA256Digest
    /// A temp name (`.dms-sim-N.part`): data in flight, never a copy.
    public var isTemp: Bool
    public init(bytes: [UInt8], isTemp: Bool = false) {
        self.bytes = bytes
        self.sha256 = SHA256Hasher.hash(bytes)
        self.isTemp = isTemp
    }
}

/// One answered verification, for invariant checks ("which copies were verified in which cycle").
public struct RecordedVerification: Sendable {
    public let epoch: Int
    public let session: Int
    public let copy: RemoteCopy
    public let mode: VerifyMode
    public let result: VerifyResult
}

/// One call as it happened.
public struct RecordedCall: Sendable, CustomStringConvertible {
    public let epoch: Int
    public let call: ScriptedCall
    public let answer: String
    public var description: String { "[\(epoch)] \(call) → \(answer)" }
}

/// The far end: an in-memory file system that outlives processes (sessions, engines, stores),
/// with its script and the record of every call. Thread-safe; one per simulated destination.
public final class ScriptedRemote: Sendable {
    public let name: String
    /// Absolute base of the remote paths, e.g. "/nas".
    public let base: String

    struct Hung: Sendable {
        let generation: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    struct State {
        var files: [FilePath: RemoteFile] = [:]
        var capacity: Int64?
        var epoch = 0
        var sequence = 0
        var generation = 0
        var sessions = 0
        var tempCounter = 0
        var calls: [RecordedCall] = []
        var verifications: [RecordedVerification] = []
        var removals: [(epoch: Int, path: FilePath, sha256: SHA256Digest)] = []
        var hung: [Hung] = []
        var hangsReleased = false
        var rules: [Rule] = []
        var decide: (@Sendable (ScriptedCall) -> ScriptedAnswer)?
        var recordCalls = true
    }

    struct Rule {
        var kind: ScriptedCall.Kind
        var path: FilePath?
        var remaining: Int
        var answer: ScriptedAnswer
    }

    let state = Mutex(State())

    public init(name: String, base: String? = nil) {
        self.name = name
        self.base = base ?? "/\(name)"
    }

    /// A destination as a freshly started process builds it.
    public func destination(fingerprint: String = "sim") -> ScriptedDestination {
        ScriptedDestination(remote: self, configurationFingerprint: fingerprint)
    }

    // MARK: script

    /// Answers the next `times` calls of `kind` (for `.file`/`.publish`: of that local file, if
    /// given) with `answer`. Rules are consulted in the order they were added, before `decide`.
    public func on(_ kind: ScriptedCall.Kind, path: FilePath? = nil, times: Int = 1, _ answer: ScriptedAnswer) {
        state.withLock { $0.rules.append(Rule(kind: kind, path: path, remaining: times, answer: answer)) }
    }

    /// Answers every call no rule answered (nil: proceed).
    public func setDecider(_ decide: (@Sendable (ScriptedCall) -> ScriptedAnswer)?) {
        state.withLock { $0.decide = decide }
    }

    public func clearScript() {
        state.withLock {
            $0.rules = []
            $0.decide = nil
        }
    }

    // MARK: harness controls

    /// A label stored with every call from now on (the simulation uses the cycle number).
    public var epoch: Int {
        get { state.withLock { $0.epoch } }
        set { state.withLock { $0.epoch = newValue } }
    }

    /// Bytes the remote accepts in all (nil: unlimited); a write past it fails destinationFull.
    public var capacity: Int64? {
        get { state.withLock { $0.capacity } }
        set { state.withLock { $0.capacity = newValue } }
    }

    /// Whether calls are kept in ``calls`` (the simulation keeps only verifications, for speed).
    public var recordsCalls: Bool {
        get { state.withLock { $0.recordCalls } }
        set { state.withLock { $0.recordCalls = newValue } }
    }

    /// The process that used this remote died: its sessions do nothing from now on.
    public func restart() {
        state.withLock { $0.generation += 1 }
    }

    /// Lets calls parked by `.hang` return (they throw `.cancelled` and change nothing); a call
    /// answered `.hang` from now on does not park at all.
    public func releaseHung() {
        let hung = state.withLock { s in
            s.hangsReleased = true
            defer { s.hung = [] }
            return s.hung
        }
        for h in hung { h.continuation.resume() }
    }

    public var hungCount: Int { state.withLock { $0.hung.count } }

    // MARK: inspection and tampering

    public func files() -> [FilePath: RemoteFile] { state.withLock { $0.files } }
    public func finalFiles() -> [FilePath: RemoteFile] { state.withLock { $0.files.filter { !$0.value.isTemp } } }
    public func tempFiles() -> [FilePath] { state.withLock { $0.files.filter(\.value.isTemp).map(\.key) } }
    public func file(_ path: FilePath) -> RemoteFile? { state.withLock { $0.files[path] } }
    public var calls: [RecordedCall] { state.withLock { $0.calls } }
    public var verifications: [RecordedVerification] { state.withLock { $0.verifications } }
    public func verifications(epoch: Int) -> [RecordedVerification] { state.withLock { $0.verifications.filter { $0.epoch == epoch } } }
    public func callCount(_ kind: ScriptedCall.Kind, epoch: Int? = nil) -> Int {
        state.withLock { $0.calls.filter { $0.call.kind == kind && (epoch == nil || $0.epoch == epoch) }.count }
    }
    /// SHA-256s of the copies `removeCopies` (retention) removed in `epoch`.
    public func removedCopies(epoch: Int) -> [SHA256Digest] { state.withLock { $0.removals.filter { $0.epoch == epoch }.map(\.sha256) } }
    public var usedBytes: Int64 { state.withLock { Self.used($0) } }

    /// `<base>/<relative>` as a remote path.
    public func path(_ relative: String) -> FilePath { FilePath(bytes: Array("\(base)/\(relative)".utf8)) }
    public func path(directory: String, name: [UInt8]) -> FilePath {
        FilePath(bytes: Array("\(base)/\(directory)/".utf8) + name)
    }

    /// Someone else writes a file on the destination (replacing what was there).
    public func put(_ path: FilePath, bytes: [UInt8]) {
        state.withLock { $0.files[path] = RemoteFile(bytes: bytes) }
    }

    @discardableResult
    public func remove(_ path: FilePath) -> RemoteFile? {
        state.withLock { $0.files.removeValue(forKey: path) }
    }

    static func used(_ s: State) -> Int64 { s.files.values.reduce(0) { $0 + Int64($1.bytes.count) } }

    // MARK: the calls

    /// Consults the script, records the call, and carries out the control answers.
    func answer(_ kind: ScriptedCall.Kind, item: TransferItem?, generation: Int) async throws(DestinationError) -> ScriptedAnswer {
        let (call, decide, ruled) = state.withLock { s -> (ScriptedCall, (@Sendable (ScriptedCall) -> ScriptedAnswer)?, ScriptedAnswer?) in
            s.sequence += 1
            let call = ScriptedCall(kind: kind, destination: name, sequence: s.sequence, item: item)
            if let i = s.rules.firstIndex(where: { $0.kind == kind && ($0.path == nil || $0.path == item?.localPath) && $0.remaining > 0 }) {
                s.rules[i].remaining -= 1
                let answer = s.rules[i].answer
                if s.rules[i].remaining == 0 { s.rules.remove(at: i) }
                return (call, nil, answer)
            }
            return (call, s.decide, nil)
        }
        // The decider runs outside the lock: it may look at this remote.
        let answer = ruled ?? decide?(call) ?? .proceed
        state.withLock { s in
            if s.recordCalls { s.calls.append(RecordedCall(epoch: s.epoch, call: call, answer: Self.describe(answer))) }
        }
        switch answer {
        case .cancelTask:
            withUnsafeCurrentTask { $0?.cancel() }
            throw DestinationError(.cancelled, "stopping (scripted at \(call))")
        case .hang:
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let released = state.withLock { s in
                    if !s.hangsReleased { s.hung.append(Hung(generation: generation, continuation: c)) }
                    return s.hangsReleased
                }
                if released { c.resume() }
            }
            throw DestinationError(.cancelled, "the process crashed at \(call)")
        case .stall:
            await StallGate().wait()
            throw DestinationError(.cancelled, "stopping (stalled at \(call) until cancelled)")
        case .fail(let error) where kind != .file && kind != .publish:
            throw error
        default:
            return answer
        }
    }

    static func describe(_ answer: ScriptedAnswer) -> String {
        switch answer {
        case .proceed: "proceed"
        case .fail(let e): "fail \(e.kind.rawValue)"
        case .corrupt: "corrupt"
        case .changeSourceDuringRead: "change source during read"
        case .cancelTask: "cancel task"
        case .hang: "hang"
        case .stall: "stall"
        }
    }

    /// Runs `body` on the state if `generation` is still the live process; a dead one changes nothing.
    func live<T>(_ generation: Int, _ body: (inout State) throws(DestinationError) -> T) throws(DestinationError) -> T {
        try state.withLock { (s: inout State) throws(DestinationError) -> T in
            guard s.generation == generation else { throw DestinationError(.cancelled, "this process is gone") }
            return try body(&s)
        }
    }
}
