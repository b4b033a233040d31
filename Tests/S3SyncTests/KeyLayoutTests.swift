import Configuration
import S3Sync
import Testing

@Suite struct KeyLayoutTests {
    func settings(prefix: String) -> S3Settings {
        var config = MediaSyncConfig.S3(provider: "minio", bucket: "dji-media")
        config.endpoint = "http://127.0.0.1:9000"
        config.prefix = prefix
        return S3Settings(config, transferTimeoutSeconds: 300)
    }

    @Test func keysFollowTheDateLayoutUnderThePrefix() {
        #expect(
            settings(prefix: "dock-7/").key(directory: "2025/01/02", name: Array("DJI_0001.JPG".utf8))
                == "dock-7/2025/01/02/DJI_0001.JPG")
        #expect(settings(prefix: "").key(directory: "2025/01/02", name: Array("a b.MP4".utf8)) == "2025/01/02/a b.MP4")
    }

    @Test func namesMapInjectivelyToUTF8Keys() {
        #expect(S3Settings.keyName(Array("100%.jpg".utf8)) == "100%25.jpg")
        #expect(S3Settings.keyName([0x61, 0xFF, 0x2E, 0x6A]) == "a%FF.j")
        #expect(S3Settings.keyName(Array("a%FF.j".utf8)) == "a%25FF.j", "a literal %FF is not the byte 0xFF")
        #expect(S3Settings.keyName(Array("航拍.jpg".utf8)) == "航拍.jpg")
        #expect(S3Settings.keyName([0xE8, 0x88]) == "%E8%88", "a truncated sequence is escaped byte by byte")
        #expect(S3Settings.keyName(Array("$(rm -rf ~) 'x'".utf8)) == "$(rm -rf ~) 'x'", "no shell is involved")
    }

    /// Bytes a server rewrites (SeaweedFS stores `\` as `/`) or XML 1.0 cannot carry (controls, in
    /// DeleteObjects) are %-escaped like non-UTF-8 bytes, so the key is one the server lists as is.
    @Test func backslashAndControlCharactersAreEscaped() {
        #expect(S3Settings.keyName(Array("a\\b.jpg".utf8)) == "a%5Cb.jpg")
        #expect(S3Settings.keyName([0x61, 0x01, 0x1F, 0x7F, 0x62]) == "a%01%1F%7Fb")
        #expect(S3Settings.keyName(Array("tab\tline\nret\r".utf8)) == "tab%09line%0Aret%0D")
        #expect(S3Settings.keyName(Array("a%5Cb".utf8)) == "a%255Cb", "a literal %5C is not a backslash")
        // Injective: distinct names, distinct keys.
        let names: [[UInt8]] = [Array("a\\b".utf8), Array("a/b".utf8), Array("a%5Cb".utf8), [0x61, 0x5C, 0x62, 0x01], [0x5C, 0x5C]]
        #expect(Set(names.map(S3Settings.keyName)).count == names.count)
    }
}
