import Foundation
import Hashing
import Subprocess
import SystemPackage
import Testing

/// HMAC-SHA256 against the openssl command line (a second implementation), for the key lengths
/// SigV4 does not reach: empty, and longer than SHA-256's 64-byte block.
@Suite("HMAC-SHA256")
struct HMACTests {
    @Test("matches `openssl mac`", arguments: [0, 1, 32, 64, 65, 200])
    func matchesOpenSSL(keyLength: Int) async throws {
        let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let message = Array("The quick brown fox jumps over the lazy dog".utf8)
        let hexKey = key.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        // `openssl mac` wants a non-empty hexkey; an empty key is the same as 64 zero bytes (RFC 2104).
        let effectiveKey = keyLength == 0 ? String(repeating: "00", count: 64) : hexKey
        let result = try await Subprocess.run(
            .name("openssl"),
            arguments: ["mac", "-digest", "SHA256", "-macopt", "hexkey:\(effectiveKey)", "-in", "/dev/stdin", "HMAC"],
            input: .array(message),
            output: .string(limit: 4096), error: .string(limit: 4096))
        #expect(result.terminationStatus.isSuccess, "\(result.standardError)")
        let expected = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let mac = HMACSHA256.authenticationCode(key: key, message: message)
        #expect(mac.map { String($0, radix: 16).leftPadded(to: 2) }.joined() == expected)
    }
}
