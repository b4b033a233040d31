import COpenSSL

/// HMAC-SHA256 over OpenSSL's one-shot `HMAC()` (RFC 2104): the MAC that AWS Signature Version 4
/// chains to derive its signing key and sign a request.
public enum HMACSHA256 {
    /// The 32-byte MAC of `message` under `key` (a key of any length, empty included).
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // OpenSSL reads a NULL key as "no key given": pass real buffers, with the true (zero) counts.
        let keyBytes = key.isEmpty ? [0] : key
        let messageBytes = message.isEmpty ? [0] : message
        let result = keyBytes.withUnsafeBytes { keyBuffer in
            messageBytes.withUnsafeBufferPointer { messageBuffer in
                out.withUnsafeMutableBufferPointer { outBuffer in
                    HMAC(
                        EVP_sha256(), keyBuffer.baseAddress, Int32(key.count),
                        messageBuffer.baseAddress, message.count, outBuffer.baseAddress, &length)
                }
            }
        }
        // HMAC() only fails on a broken OpenSSL (no SHA-256): a programming error.
        precondition(result != nil && length == 32, "HMAC(SHA-256) failed")
        return Array(out.prefix(32))
    }

    public static func authenticationCode(key: [UInt8], message: String) -> [UInt8] {
        authenticationCode(key: key, message: Array(message.utf8))
    }
}
