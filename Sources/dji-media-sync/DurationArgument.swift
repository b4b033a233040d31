import ArgumentParser

/// The one duration syntax of every option that takes one (`verify --since`, `presign --expires`):
/// a number ≥ 0 with s, m, h or d, or plain seconds: 3600s, 90m, 1.5h, 24h, 7d, 3600.
struct DurationArgument: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    static let syntax = "a duration like 3600s, 90m, 24h or 7d (plain numbers are seconds)"

    let seconds: Double
    let text: String

    init?(argument: String) {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(argument)
        var factor = 1.0
        if let unit = argument.last, let f = units[unit] {
            number = number.dropLast()
            factor = f
        }
        // Digits and one point only: no sign, exponent, "nan" or "inf".
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value.isFinite
        else { return nil }
        seconds = value * factor
        text = argument
    }

    var description: String { text }
    var defaultValueDescription: String { text }
}
