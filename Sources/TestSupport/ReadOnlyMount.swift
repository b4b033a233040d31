import Subprocess
import SystemPackage

/// A read-only bind mount for the duration of `body` (root only): a real read-only file system.
public enum ReadOnlyMount {
    public static func with(source: FilePath, at target: FilePath, _ body: () async throws -> Void) async throws {
        try await run(["--bind", source.string, target.string])
        do {
            try await run(["-o", "remount,ro,bind", target.string])
            try await body()
        } catch {
            try? await unmount(target)
            throw error
        }
        try await unmount(target)
    }

    static func run(_ arguments: [String], command: String = "mount") async throws {
        let r = try await Subprocess.run(.name(command), arguments: Arguments(arguments), output: .discarded, error: .string(limit: 1 << 16))
        guard r.terminationStatus == .exited(0) else {
            throw TestSupportError("\(command) \(arguments.joined(separator: " ")): \(r.terminationStatus) \(r.standardError)")
        }
    }

    static func unmount(_ target: FilePath) async throws { try await run([target.string], command: "umount") }
}
