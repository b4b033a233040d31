import Foundation
import Subprocess
import SystemPackage

/// The processes below a pid, read from /proc (for tests that freeze or kill a server's sessions).
public enum ProcessTree {
    /// Every process below `pid` (not `pid` itself).
    public static func descendants(of pid: Int32) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let p = Int32(entry), let fields = statFields(p) else { continue }
            if fields.count > 1, let ppid = Int32(fields[1]) { children[ppid, default: []].append(p) }
        }
        var result: [Int32] = []
        var stack = children[pid] ?? []
        while let p = stack.popLast() {
            result.append(p)
            stack += children[p] ?? []
        }
        return result
    }

    /// The fields of /proc/PID/stat after the command name (state, ppid, pgrp, …: field N of
    /// proc(5) is index N - 3), or nil once the process is gone. The name may hold spaces, so the
    /// fields start after its last ')'.
    public static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return nil
        }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// The process has exited (a zombie not reaped yet, or gone): a wait on what it should do can
    /// stop at once instead of at its deadline.
    public static func hasEnded(_ pid: Int32) -> Bool {
        statFields(pid).map { $0.first == "Z" } ?? true
    }
}

/// The `KEY=value` lines a scripts/test-*.sh `start` prints.
public struct ScriptEnvironment: Sendable {
    public let values: [String: String]
    let script: String
    let output: String

    public init(output: String, script: String) {
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        self.values = values
        self.script = script
        self.output = output
    }

    public func value(_ key: String) throws -> String {
        guard let found = values[key], !found.isEmpty else {
            throw TestSupportError("\(script) start printed no \(key); its output:\n\(output)")
        }
        return found
    }
}

/// Runs `scripts/<name> <arguments>` from the repository; returns its standard output, or throws
/// with its exit status and standard error (the scripts say there how to install what is missing).
public func runRepositoryScript(_ name: String, _ arguments: [String], environment extra: [String: String] = [:]) async throws -> String {
    let script = try repositoryRoot() + "/scripts/" + name
    var updates: [Environment.Key: String?] = [:]
    for (key, value) in extra { updates[Environment.Key(rawValue: key)!] = value }
    let environment: Environment = .inherit.updating(updates)
    let result = try await Subprocess.run(
        .path(FilePath(script)), arguments: Arguments(arguments), environment: environment,
        output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
    guard result.terminationStatus.isSuccess else {
        throw TestSupportError("\(script) \(arguments.joined(separator: " ")) failed (\(result.terminationStatus)):\n" + result.standardError)
    }
    return result.standardOutput
}
