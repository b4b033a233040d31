import Configuration
import Foundation
import MediaSync
import Testing

@Suite struct RemoteLayoutTests {
    @Test(arguments: [
        ("DJI_20250101123456_0001_V.MP4", "2025/01/01"),
        ("DJI_20231231235959_0042_D.JPG", "2023/12/31"),
        ("DJI_20240229120000_0001_W.DNG", "2024/02/29")
    ])
    func dateComesFromTheDJIName(name: String, day: String) {
        #expect(RemoteLayout.dayFromDJIName(Array(name.utf8))?.description == day)
    }

    @Test(arguments: [
        "DJI_0001.JPG", "DJI_20250230120000_0001_V.MP4", "DJI_21000229120000_0001_V.MP4", "DJI_20251301120000_0001.MP4",
        "DJI_2025010112345_0001.MP4", "XDJI_20250101123456_0001.MP4", "DJI_20250101126056_0001.MP4"
    ])
    func invalidOrMissingTimestampsFallBackToMtime(name: String) {
        #expect(RemoteLayout.dayFromDJIName(Array(name.utf8)) == nil)
        var layout = RemoteLayout()
        layout.timeZone = TimeZone(identifier: "UTC")!
        // 2024-07-04T10:00:00Z
        #expect(layout.day(forName: Array(name.utf8), mtimeNanoseconds: 1_720_087_200_000_000_000).description == "2024/07/04")
    }

    @Test func dayFoldersAreZeroPaddedAsPrintfWouldPadThem() {
        for (year, month, day) in [(2025, 1, 5), (987, 12, 31), (5, 3, 9), (12345, 10, 10), (-5, 1, 1), (0, 0, 0)] {
            let expected = String(format: "%04d/%02d/%02d", year, month, day)
            #expect(RemoteLayout.Day(year: year, month: month, day: day).description == expected)
        }
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
        let long = Array(String(repeating: "é", count: 125).utf8) + Array(".MP4".utf8) // 254 bytes
        #expect(long.count == 254)
        for index in [1, 99, 9999] {
            let name = RemoteLayout.conflictName(long, index: index)
            #expect(name.count <= 255)
            #expect(String(validating: name, as: UTF8.self) != nil)
            #expect(name.suffix(4) == Array(".MP4".utf8)[...])
        }
    }

    /// Many docks on one NAS: `layout.remote_layout` with {dock}, the date, {stem}/{ext}/{kind}.
    @Test func aTemplatePlacesByDockDateAndKind() throws {
        let utc = TimeZone(identifier: "UTC")!
        let layout = RemoteLayout(timeZone: utc, template: try LayoutTemplate("{dock}/{kind}/{yyyy}-{mm}/{dd}/{stem}_{dock}.{ext}"), dock: "dock-7")
        let p = layout.place(name: Array("DJI_20250102123456_0001_V.MP4".utf8), mtimeNanoseconds: 0)
        #expect(p.directory == "dock-7/video/2025-01/02")
        #expect(p.name == Array("DJI_20250102123456_0001_V_dock-7.MP4".utf8))
        // Non-UTF-8 bytes of a name stay bytes; the date falls back to the mtime.
        let odd: [UInt8] = [0x66, 0xff, 0x2e, 0x6a, 0x70, 0x67]
        let q = layout.place(name: odd, mtimeNanoseconds: 86_400 * 1_000_000_000)
        #expect(q.directory == "dock-7/photo/1970-01/02")
        #expect(q.name == [0x66, 0xff] + Array("_dock-7.jpg".utf8))
        // The default stays today's layout.
        let standard = RemoteLayout(timeZone: utc)
        let r = standard.place(name: Array("DJI_20250102123456_0001_V.MP4".utf8), mtimeNanoseconds: 0)
        #expect(r.directory == "2025/01/02")
        #expect(r.name == Array("DJI_20250102123456_0001_V.MP4".utf8))
    }

    @Test func theDockIDDefaultsToASafeFormOfTheHostName() {
        #expect(DockID.fromHostName("edge-17.field.example") == "edge-17")
        #expect(DockID.fromHostName("dock 3/a") == "dock-3-a")
        #expect(DockID.fromHostName("..") == "dock")
        #expect(DockID.isValid(DockID.fromHostName(ProcessInfo.processInfo.hostName)))
    }
}
