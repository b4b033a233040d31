import Glibc
import LocalFS
import MediaSync

/// Descriptor I/O with a stall deadline: if the peer takes no bytes (or sends none) for `stall`
/// seconds, the operation fails with `.timeout` instead of hanging on a dead link.
enum BlockingIO {
    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Waits until `fd` is ready for `events`; false on timeout.
    static func wait(_ fd: Int32, events: Int16, stall: Double) throws(DestinationError) -> Bool {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        let ms = stall <= 0 ? -1 : Int32(min(stall * 1000, Double(Int32.max)))
        while true {
            let rc = poll(&pfd, 1, ms)
            if rc > 0 { return true }
            if rc == 0 { return false }
            if errno == EINTR { continue }
            throw DestinationError(.transient, "poll failed (errno \(errno))")
        }
    }

    /// `what` is built only when an error needs it (it names a file: building it per write cost
    /// more than the write for small files).
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, stall: Double, what: @autoclosure () -> String) throws(DestinationError) {
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n > 0 {
                offset += n
                continue
            }
            let err = errno
            if n < 0 && err == EINTR { continue }
            if n < 0 && (err == EAGAIN || err == EWOULDBLOCK) {
                guard try wait(fd, events: Int16(POLLOUT), stall: stall) else {
                    throw DestinationError(.timeout, "\(what()): no progress for \(Int(stall)) s (transfer_timeout_seconds)")
                }
                continue
            }
            if err == EPIPE { throw DestinationError(.transient, "\(what()): the remote side closed the connection") }
            throw DestinationError(.transient, "\(what()): write failed (errno \(err))")
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], stall: Double, what: @autoclosure () -> String) throws(DestinationError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(DestinationError) in try writeAll(fd, raw, stall: stall, what: what()) }
        }
        try result.get()
    }
}

/// Gathers small writes (a tar header, a small file, its padding) into one buffer, so a batch of
/// 1 KiB files costs one write(2) per ~256 KiB instead of three per file. Large chunks go straight
/// through after what is staged.
struct StagedWriter: ~Copyable {
    let fd: Int32
    let stall: Double
    private let buffer: UnsafeMutableRawBufferPointer
    private var count = 0

    init(fd: Int32, stall: Double, capacity: Int = 256 << 10) {
        self.fd = fd
        self.stall = stall
        buffer = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { buffer.deallocate() }

    mutating func write(_ bytes: UnsafeRawBufferPointer, what: @autoclosure () -> String) throws(DestinationError) {
        if bytes.count >= buffer.count / 2 {
            // Large: straight to the descriptor, after what is staged (the order is the protocol).
            try flush(what: what())
            try BlockingIO.writeAll(fd, bytes, stall: stall, what: what())
            return
        }
        if count + bytes.count > buffer.count { try flush(what: what()) }
        UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + bytes.count)]).copyMemory(from: bytes)
        count += bytes.count
    }

    mutating func write(_ bytes: [UInt8], what: @autoclosure () -> String) throws(DestinationError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(DestinationError) in try self.write(raw, what: what()) }
        }
        try result.get()
    }

    /// `n` zero bytes (tar padding: less than a block).
    mutating func writeZeros(_ n: Int, what: @autoclosure () -> String) throws(DestinationError) {
        precondition(n < buffer.count)
        if count + n > buffer.count { try flush(what: what()) }
        UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + n)]).initializeMemory(as: UInt8.self, repeating: 0)
        count += n
    }

    mutating func flush(what: @autoclosure () -> String) throws(DestinationError) {
        guard count > 0 else { return }
        try BlockingIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[..<count]), stall: stall, what: what())
        count = 0
    }
}

/// Splits a descriptor's bytes into lines (LF), with a stall deadline per read.
final class LineReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false

    init(fd: Int32) {
        self.fd = fd
        BlockingIO.setNonBlocking(fd)
    }

    /// The next line without its LF; nil at end of stream.
    func nextLine(stall: Double, what: String) throws(DestinationError) -> [UInt8]? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 10) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                if start > 65536 {
                    buffer.removeFirst(start)
                    start = 0
                }
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            try fill(stall: stall, what: what)
        }
    }

    /// Exactly `count` bytes after the last line, handed to `body` in chunks (a framed stream).
    func read(exactly count: Int64, stall: Double, what: String, _ body: (UnsafeRawBufferPointer) -> Void) throws(DestinationError) {
        var left = count
        while left > 0 {
            if start < buffer.count {
                let n = Int(min(Int64(buffer.count - start), left))
                buffer[start..<(start + n)].withUnsafeBytes { body($0) }
                start += n
                left -= Int64(n)
                if start == buffer.count {
                    buffer.removeAll(keepingCapacity: true)
                    start = 0
                }
                continue
            }
            if eof { throw DestinationError(.transient, "\(what): the stream ended \(left) bytes early") }
            try fill(stall: stall, what: what)
        }
    }

    /// One read into the buffer (or the end of the stream).
    private func fill(stall: Double, what: String) throws(DestinationError) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                buffer += chunk[..<n]
                return
            }
            if n == 0 {
                eof = true
                return
            }
            let err = errno
            if err == EINTR { continue }
            if err == EAGAIN || err == EWOULDBLOCK {
                guard try BlockingIO.wait(fd, events: Int16(POLLIN), stall: stall) else {
                    throw DestinationError(.timeout, "\(what): no answer for \(Int(stall)) s (transfer_timeout_seconds)")
                }
                continue
            }
            throw DestinationError(.transient, "\(what): read failed (errno \(err))")
        }
    }
}
