/// The window a budget counts spend over, in UTC.
package enum BudgetPeriod: String, Sendable, Hashable, CaseIterable, Codable {
    case daily
    case monthly
    case total

    /// Start (seconds since 1970) of the period containing `time`.
    package func start(containing time: Double) -> Double {
        switch self {
        case .total:
            return 0
        case .daily:
            return (time / 86_400).rounded(.down) * 86_400
        case .monthly:
            let day = Int((time / 86_400).rounded(.down))
            let (year, month, _) = CivilDate.fromDays(day)
            return Double(CivilDate.toDays(year: year, month: month, day: 1)) * 86_400
        }
    }

    /// When the period containing `time` ends and spend starts again from zero; `nil` for `total`.
    package func reset(after time: Double) -> Double? {
        switch self {
        case .total:
            return nil
        case .daily:
            return start(containing: time) + 86_400
        case .monthly:
            let day = Int((time / 86_400).rounded(.down))
            let (year, month, _) = CivilDate.fromDays(day)
            let next = month == 12 ? (year + 1, 1) : (year, month + 1)
            return Double(CivilDate.toDays(year: next.0, month: next.1, day: 1)) * 86_400
        }
    }
}

/// Days since 1970-01-01 ↔ proleptic Gregorian dates (H. Hinnant's civil-date algorithms).
package enum CivilDate {
    package static func fromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    package static func toDays(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The times these functions render: 0001-01-01 to 9999-12-31 (others are clamped).
    package static let range: ClosedRange<Double> = -62_135_596_800...253_402_300_799

    /// `2026-12-02` for a time in seconds since 1970.
    package static func isoDay(_ time: Double) -> String {
        let time = clamped(time)
        let (year, month, day) = fromDays(Int((time / 86_400).rounded(.down)))
        return "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    /// `2026-12-02T13:04:05Z`.
    package static func isoTimestamp(_ time: Double) -> String {
        let time = clamped(time)
        let seconds = Int(time.rounded(.down))
        let secondOfDay = ((seconds % 86_400) + 86_400) % 86_400
        let hh = secondOfDay / 3600, mm = secondOfDay / 60 % 60, ss = secondOfDay % 60
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return isoDay(time) + "T" + two(hh) + ":" + two(mm) + ":" + two(ss) + "Z"
    }

    /// A time that cannot be rendered (infinite, NaN, beyond the years 1–9999) brought into range.
    static func clamped(_ time: Double) -> Double {
        guard time.isFinite else { return time > 0 ? range.upperBound : range.lowerBound }
        return min(max(time, range.lowerBound), range.upperBound)
    }

    /// Parses `2026-12-02`, `2026-12-02T13:04:05Z` (or with `+00:00`) or seconds since 1970;
    /// `nil` for anything else, and for times outside the years 1–9999.
    package static func parse(_ text: String) -> Double? {
        if let seconds = Double(text) { return range.contains(seconds) ? seconds : nil }
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var time = Double(toDays(year: year, month: month, day: day)) * 86_400
        if bytes.count == 10 { return time }
        guard bytes.count >= 19, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
            let hh = number(11..<13), let mm = number(14..<16), let ss = number(17..<19), hh < 24, mm < 60, ss < 61
        else { return nil }
        time += Double(hh * 3600 + mm * 60 + ss)
        let rest = String(decoding: bytes[19...], as: UTF8.self)
        var zone = Substring(rest)
        if zone.first == "." { zone = zone.drop(while: { $0 == "." || $0.isNumber }) }
        if zone.isEmpty || zone == "Z" || zone == "+00:00" { return time }
        return nil
    }
}
