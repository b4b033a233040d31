import MediaSync

extension CycleSummary {
    /// `unavailable` in --json: each destination that could not be used, why (`kind`: the error
    /// kind, e.g. `unreachable`, `authentication`) and the error's text.
    var unavailableJSON: [[String: Any]] {
        unavailableDestinations.map { name in
            let prefix = name + ": "
            let message = messages.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
            return ["destination": name, "kind": JSONOutput.nullable(unavailableKinds[name]?.rawValue), "message": JSONOutput.nullable(message)]
        }
    }
}
