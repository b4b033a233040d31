import COpenSSL

/// One OpenSSL EVP digest context (SHA-256, MD5, ...): what every hasher of this module wraps.
/// Owned by one hasher, used by one task at a time.
final class EVPDigest {
    private let context: OpaquePointer
    private let length: Int

    init(_ md: OpaquePointer?, length: Int) {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        guard EVP_DigestInit_ex(ctx, md, nil) == 1 else { fatalError("EVP_DigestInit_ex failed") }
        context = ctx
        self.length = length
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // EVP_DigestUpdate only fails on a broken context; that is a programming error.
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "EVP_DigestUpdate failed")
    }

    /// The digest of the bytes so far; this context goes on (a copy of it is finished).
    func digestSoFar() -> [UInt8] {
        guard let copy = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        defer { EVP_MD_CTX_free(copy) }
        precondition(EVP_MD_CTX_copy_ex(copy, context) == 1, "EVP_MD_CTX_copy_ex failed")
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var written: UInt32 = 0
        precondition(EVP_DigestFinal_ex(copy, &out, &written) == 1 && Int(written) == length, "EVP_DigestFinal_ex failed")
        return Array(out.prefix(length))
    }

    /// The digest bytes; the context must not be used afterwards.
    func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var written: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &out, &written) == 1 && Int(written) == length, "EVP_DigestFinal_ex failed")
        return Array(out.prefix(length))
    }
}
