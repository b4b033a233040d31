import Configuration
import Foundation
import Testing

@Suite struct BandwidthScheduleTests {
    static let MiB = Double(1 << 20)
    static func minute(_ day: Int, _ h: Int, _ m: Int) -> Int { day * 1440 + h * 60 + m }

    @Test func rcloneStyleEntriesSetTheRateUntilTheNextOneAndWrapRound() throws {
        let s = try BandwidthSchedule.parse("08:00,2M 19:00,off")
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(0, 7, 59)) == 0) // before the first: the last one of the day before
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(0, 8, 0)) == 2 * Self.MiB)
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(3, 18, 59)) == 2 * Self.MiB)
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(3, 19, 0)) == 0)
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(6, 23, 59)) == 0)
        #expect(s.changes.count == 14)
        #expect(!s.neverLimits)
    }

    @Test func unitsAreBinaryAsInRclone() throws {
        for (text, rate) in [
            ("512k", 512.0 * 1024), ("512K", 512.0 * 1024), ("2M", 2 * Self.MiB), ("1.5M", 1.5 * Self.MiB),
            ("1G", 1024 * Self.MiB), ("100B", 100), ("0", 0), ("off", 0), ("OFF", 0)
        ] {
            let s = try BandwidthSchedule.parse("00:00,\(text)")
            #expect(s.bytesPerSecond(atMinuteOfWeek: 0) == rate, "\(text)")
        }
        // A lone rate: all day, every day.
        let allDay = try BandwidthSchedule.parse("10M")
        #expect(allDay.changes == [.init(minuteOfWeek: 0, bytesPerSecond: 10 * Self.MiB)])
        #expect(try BandwidthSchedule.parse("off").neverLimits)
    }

    @Test func aWeekdayEntryAppliesThatDayAndWinsOverAnEveryDayOneAtTheSameTime() throws {
        let s = try BandwidthSchedule.parse("08:00,2M 19:00,off Sat-08:00,off sunday-10:00,512k")
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(4, 9, 0)) == 2 * Self.MiB) // Friday
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(5, 9, 0)) == 0) // Saturday
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(6, 9, 0)) == 2 * Self.MiB) // Sunday, from 08:00
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(6, 10, 0)) == 512 * 1024) // Sunday, from 10:00
        #expect(s.bytesPerSecond(atMinuteOfWeek: Self.minute(6, 19, 0)) == 0)
    }

    @Test func theNextChangeIsFoundAcrossMidnightAndTheWeek() throws {
        let utc = TimeZone(identifier: "UTC")!
        let s = try BandwidthSchedule.parse("08:00,2M 19:00,off")
        // Monday 2026-11-30 20:30:15 UTC: off until Tuesday 08:00.
        let monday = Date(timeIntervalSince1970: 1_796_070_615)
        #expect(BandwidthSchedule.minuteOfWeek(monday, in: utc) == Self.minute(0, 20, 30))
        let now = s.inForce(at: monday, in: utc)
        #expect(now.bytesPerSecond == 0)
        #expect(now.next?.at == Date(timeIntervalSince1970: 1_796_112_000)) // 2026-12-01T08:00:00Z
        #expect(now.next?.bytesPerSecond == 2 * Self.MiB)
        // Another time zone, another local time.
        let tokyo = TimeZone(identifier: "Asia/Tokyo")!
        #expect(BandwidthSchedule.minuteOfWeek(monday, in: tokyo) == Self.minute(1, 5, 30))
        #expect(try BandwidthSchedule.parse("2M").inForce(at: monday, in: utc).next == nil)
    }

    @Test(arguments: [
        ("", "the schedule is empty"),
        ("08:00", "\"08:00\": expected HH:MM,RATE"),
        ("08:00,2M,3M", "\"08:00,2M,3M\": expected HH:MM,RATE"),
        ("25:00,1M", "\"25:00,1M\": the time \"25:00\" is not HH:MM from 00:00 to 23:59"),
        ("8:00,1M", "the time \"8:00\" is not HH:MM"),
        ("+8:00,1M", "the time \"+8:00\" is not HH:MM"),
        ("08:60,1M", "the time \"08:60\""),
        ("08:00,fast", "the rate \"fast\" is not a number with a unit"),
        ("08:00,512", "the rate \"512\" has no unit"),
        ("08:00,-1M", "the rate \"-1M\" is not a number"),
        ("08:00,1X", "the rate \"1X\" is not a number"),
        ("08:00,2000G", "the rate \"2000G\" is outside"),
        ("Mo-08:00,1M", "unknown weekday \"Mo\""),
        ("08:00,1M 08:00,2M", "\"08:00,2M\": a second entry for the same time"),
        ("08:00,1M:100k", "the rate \"1M:100k\" is not a number")
    ])
    func invalidEntriesAreNamed(text: String, message: String) {
        #expect(throws: BandwidthSchedule.ParseError.self) { try BandwidthSchedule.parse(text) }
        do {
            _ = try BandwidthSchedule.parse(text)
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func rateDescriptions() {
        #expect(BandwidthSchedule.describe(2 * Self.MiB) == "2 MiB/s")
        #expect(BandwidthSchedule.describe(512 * 1024) == "512 KiB/s")
        #expect(BandwidthSchedule.describe(1.5 * Self.MiB) == "1.5 MiB/s")
        #expect(BandwidthSchedule.describe(100) == "100 B/s")
        #expect(BandwidthSchedule.describe(0) == "unlimited")
    }
}

/// The key in the configuration: global and per destination, refused with the key and the entry.
@Suite struct BandwidthScheduleConfigTests {
    @Test func globalNASAndS3SchedulesAreRead() throws {
        let config = try parse(
            Doc.make(
                nas: [
                    Doc.nas + #", "bandwidth_schedule": "08:00,512k 19:00,off""#,
                    #""type": "s3", "name": "bucket", "provider": "minio", "bucket": "dji-media", "endpoint": "http://127.0.0.1:9000", "bandwidth_schedule": "Sat-00:00,1M Mon-00:00,off""#
                ],
                extra: #""concurrency_control": { "bandwidth_schedule": "08:00,2M 19:00,off" }"#))
        #expect(config.concurrency.bandwidthSchedule == (try BandwidthSchedule.parse("08:00,2M 19:00,off")))
        guard case let .nas(nas) = config.destinations[0], case let .s3(s3) = config.destinations[1] else {
            Issue.record("\(config.destinations)")
            return
        }
        #expect(nas.bandwidthSchedule?.text == "08:00,512k 19:00,off")
        #expect(s3.bandwidthSchedule?.bytesPerSecond(atMinuteOfWeek: 5 * 1440) == Double(1 << 20))
        #expect(try parse(Doc.make()).concurrency.bandwidthSchedule == nil)
        #expect(try parse(Doc.with("concurrency_control", #""bandwidth_schedule": null"#)).concurrency.bandwidthSchedule == nil)
    }

    @Test func aBadEntryIsRefusedWithTheKeyAndTheEntry() {
        let error = parseError(Doc.with("concurrency_control", #""bandwidth_schedule": "08:00,2M 25:00,off""#), source: "c.json")
        #expect(error?.kind == .invalidValue)
        #expect(error?.keyPath == "concurrency_control.bandwidth_schedule")
        #expect(
            error?.description.hasPrefix(
                #"c.json: concurrency_control.bandwidth_schedule: entry "25:00,off": the time "25:00" is not HH:MM from 00:00 to 23:59; expected a schedule such as"#) == true,
            "\(String(describing: error))")

        let nas = parseError(Doc.nas(#""bandwidth_schedule": "08:00,512""#))
        #expect(nas?.keyPath == "destinations[0].bandwidth_schedule")
        #expect(nas?.message.contains("entry \"08:00,512\": the rate \"512\" has no unit") == true, "\(String(describing: nas))")

        let s3 = parseError(Doc.s3(#""bandwidth_schedule": 5"#))
        #expect(s3?.keyPath == "destinations[0].bandwidth_schedule")
        #expect(s3?.kind == .wrongType)
    }

    @Test func theOldKeyStillWorksButNotTogetherWithASchedule() throws {
        let old = try parse(Doc.with("concurrency_control", #""bandwidth_limit_bytes_per_second": 5000000"#))
        #expect(old.concurrency.bandwidthLimitBytesPerSecond == 5_000_000)
        #expect(old.concurrency.bandwidthSchedule == nil)

        let both = parseError(
            Doc.with(
                "concurrency_control",
                #""bandwidth_limit_bytes_per_second": 5000000, "bandwidth_schedule": "08:00,2M 19:00,off""#))
        #expect(both?.keyPath == "concurrency_control.bandwidth_schedule")
        #expect(
            both?.message.contains("set either bandwidth_limit_bytes_per_second or bandwidth_schedule, not both") == true,
            "\(String(describing: both))")
        // A schedule of null is no schedule: the old key alone is in force.
        #expect(
            try parse(Doc.with("concurrency_control", #""bandwidth_limit_bytes_per_second": 1, "bandwidth_schedule": null"#))
                .concurrency.bandwidthLimitBytesPerSecond == 1)
    }
}
