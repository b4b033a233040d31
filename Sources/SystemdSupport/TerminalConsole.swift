import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Stderr on a terminal, shared by log lines and a live block (the progress view) drawn below
/// them: a log line is written above the block, never through it. The block's lines are cut to
/// the terminal's width, so none wraps and the block can always be erased by moving up its own
/// height. Every output is one write(2) under one lock. Off a terminal nothing is drawn and log
/// lines go straight out.
public final class TerminalConsole: Sendable {
    public static let shared = TerminalConsole(fd: STDERR_FILENO)

    public let fd: Int32
    public let isTerminal: Bool
    /// The block on screen: its height and its text (redrawn under each log line).
    private struct State {
        var shown = 0
        var rendered = ""
    }
    private let state = Mutex(State())

    init(fd: Int32) {
        self.fd = fd
        isTerminal = isatty(fd) == 1
    }

    /// Writes `line` (a newline is added) above the block, or straight out off a terminal.
    public func writeLine(_ line: String) {
        guard isTerminal else { return write(Array((line + "\n").utf8)) }
        state.withLock { s in
            write(Array((Self.erase(s.shown) + line + "\n" + s.rendered).utf8))
        }
    }

    /// Draws `lines` as the block in place of the one shown; an empty array clears it.
    public func show(_ lines: [String]) {
        guard isTerminal else { return }
        let rendered = Self.render(lines, width: width())
        state.withLock { s in
            write(Array((Self.erase(s.shown) + rendered).utf8))
            s.shown = lines.count
            s.rendered = rendered
        }
    }

    /// From the end of a block of `lines` lines: back to its first column, and clear to the end.
    static func erase(_ lines: Int) -> String {
        guard lines > 0 else { return "" }
        return "\r" + (lines > 1 ? "\u{1B}[\(lines - 1)A" : "") + "\u{1B}[J"
    }

    /// The block's lines cut to `width - 1` columns (a non-ASCII character counts as two: a wide
    /// one must not wrap), control characters shown as "?", joined without a final newline (the
    /// cursor stays on the last line).
    static func render(_ lines: [String], width: Int) -> String {
        let limit = max(width - 1, 10)
        return lines.map { line in
            var out = ""
            var columns = 0
            for scalar in line.unicodeScalars {
                let w = scalar.isASCII ? 1 : 2
                if columns + w > limit { break }
                columns += w
                out.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? "?" : scalar)
            }
            return out
        }.joined(separator: "\n")
    }

    private func width() -> Int {
        var size = winsize()
        return ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    private func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0, errno == EINTR { continue } else { return }
            }
        }
    }
}
