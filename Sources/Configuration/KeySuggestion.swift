/// "did you mean ...?" for unknown keys.
enum KeySuggestion {
    /// The known key an operator most likely meant by `key`, or nil when none is close.
    /// Spelling variants (`delayMinutes`, `Delay-Minutes`) match exactly; otherwise the closest
    /// key by edit distance (a swap of two neighbours counts as one edit) within a limit that
    /// grows with the key's length, ties going to the key listed first.
    static func closest(to key: String, among known: [String]) -> String? {
        let normalized = normalize(key)
        if let exact = known.first(where: { normalize($0) == normalized }) { return exact }
        let limit =
            switch normalized.count {
            case ..<4: 1
            case ..<9: 2
            default: 3
            }
        var best: (key: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(Array(normalized), Array(normalize(candidate)))
            if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.key
    }

    /// The one known key that contains `key` or is contained in it (`interval` →
    /// `interval_minutes`, `log_level` → `level`), or nil. When several do, one starting with
    /// `key` wins if it is the only one (`dir` → `directory` rather than `runtime_directory`).
    static func containing(_ key: String, among known: [String]) -> String? {
        let normalized = normalize(key)
        let containing = known.filter { candidate in
            let other = normalize(candidate)
            return (normalized.count >= 3 && other.contains(normalized))
                || (other.count >= 3 && normalized.contains(other))
        }
        if containing.count == 1 { return containing[0] }
        let starting = containing.filter { normalize($0).hasPrefix(normalized) }
        return starting.count == 1 ? starting[0] : nil
    }

    /// Lower-case snake_case: "delayMinutes" and "Delay-Minutes" both become "delay_minutes".
    static func normalize(_ key: String) -> String {
        var result = ""
        var previousWasLower = false
        for character in key {
            if character.isUppercase, previousWasLower { result.append("_") }
            previousWasLower = character.isLowercase || character.isNumber
            result += character == "-" || character == " " ? "_" : character.lowercased()
        }
        return result
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and
    /// transpositions of adjacent characters each cost one.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
