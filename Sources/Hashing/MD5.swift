import COpenSSL

/// Streaming MD5 over OpenSSL's EVP interface. Not for security: S3 needs it where the protocol
/// does (the `Content-MD5` of DeleteObjects; the ETag of an object uploaded in one PUT is its MD5).
public final class MD5Hasher {
    private let context: OpaquePointer

    public init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        guard EVP_DigestInit_ex(ctx, EVP_md5(), nil) == 1 else { fatalError("EVP_DigestInit_ex(md5) failed") }
        context = ctx
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "EVP_DigestUpdate failed")
    }

    public func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// The 16 digest bytes; the hasher must not be used afterwards.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &out, &length) == 1 && length == 16, "EVP_DigestFinal_ex failed")
        return Array(out.prefix(16))
    }

    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        let hasher = MD5Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
