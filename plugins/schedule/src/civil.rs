//! Proleptic Gregorian calendar arithmetic on days since 1970-01-01, after
//! Howard Hinnant's `days_from_civil` / `civil_from_days`.

/// The date of day `z` (days since 1970-01-01): (year, month 1-12, day 1-31).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// 0 = Sunday ... 6 = Saturday. 1970-01-01 was a Thursday.
pub fn weekday(z: i64) -> u32 {
    (z + 4).rem_euclid(7) as u32
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(weekday(0), 4);
        // 2000-02-29, a leap day in a century divisible by 400.
        let z = days_from_civil(2000, 2, 29);
        assert_eq!(z, 11_016);
        assert_eq!(civil_from_days(z), (2000, 2, 29));
        // 2024-05-01 was a Wednesday.
        assert_eq!(weekday(days_from_civil(2024, 5, 1)), 3);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2024, 2), 29);
    }

    #[test]
    fn every_day_for_a_thousand_years_round_trips() {
        let start = days_from_civil(1970, 1, 1);
        let end = days_from_civil(2970, 1, 1);
        let mut expected = (1970, 1, 1);
        for z in start..end {
            assert_eq!(civil_from_days(z), expected, "day {z}");
            assert_eq!(days_from_civil(expected.0, expected.1, expected.2), z);
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }
}
