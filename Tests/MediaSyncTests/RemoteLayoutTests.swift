import Foundation
import MediaSync
import Testing

@Suite struct RemoteLayoutTests {
    @Test(arguments: [
        ("DJI_20250101123456_0001_V.MP4", "2025/01/01"),
        ("DJI_20231231235959_0042_D.JPG", "2023/12/31"),
        ("DJI_20240229120000_0001_W.DNG", "2024/02/29"),
    ])
    func dateComesFromTheDJIName(name: String, day: String) {
        #expect(RemoteLayout.dayFromDJIName(Array(name.utf8))?.description == day)
    }

    @Test(arguments: ["DJI_0001.JPG", "DJI_20250230120000_0001_V.MP4", "DJI_21000229120000_0001_V.MP4", "DJI_20251301120000_0001.MP4",
                      "DJI_2025010112345_0001.MP4", "XDJI_20250101123456_0001.MP4", "DJI_20250101126056_0001.MP4"])
    func invalidOrMissingTimestampsFallBackToMtime(name: String) {
        #expect(RemoteLayout.dayFromDJIName(Array(name.utf8)) == nil)
        var layout = RemoteLayout()
        layout.timeZone = TimeZone(identifier: "UTC")!
        // 2024-07-04T10:00:00Z
        #expect(layout.day(forName: Array(name.utf8), mtimeNanoseconds: 1_720_087_200_000_000_000).description == "2024/07/04")
    }

    @Test func mtimeDateUsesTheConfiguredTimeZone() {
        var layout = RemoteLayout()
        layout.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        // 2024-07-04T20:00:00Z is already the 5th in Shanghai.
        #expect(layout.day(forName: Array("a.jpg".utf8), mtimeNanoseconds: 1_720_123_200_000_000_000).description == "2024/07/05")
    }

    @Test func conflictNamesKeepTheExtension() {
        #expect(String(decoding: RemoteLayout.conflictName(Array("DJI_0001.JPG".utf8), index: 1), as: UTF8.self) == "DJI_0001_1.JPG")
        #expect(String(decoding: RemoteLayout.conflictName(Array("noext".utf8), index: 12), as: UTF8.self) == "noext_12")
        #expect(String(decoding: RemoteLayout.conflictName(Array(".hidden".utf8), index: 2), as: UTF8.self) == ".hidden_2")
        #expect(String(decoding: RemoteLayout.conflictName(Array("a.tar.gz".utf8), index: 3), as: UTF8.self) == "a.tar_3.gz")
    }

    @Test func conflictNamesOfLongNamesFitIn255BytesAndNeverSplitACharacter() {
        let long = Array(String(repeating: "é", count: 125).utf8) + Array(".MP4".utf8)  // 254 bytes
        #expect(long.count == 254)
        for index in [1, 99, 9999] {
            let name = RemoteLayout.conflictName(long, index: index)
            #expect(name.count <= 255)
            #expect(String(validating: name, as: UTF8.self) != nil)
            #expect(name.suffix(4) == Array(".MP4".utf8)[...])
        }
    }
}
