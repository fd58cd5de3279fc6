use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A duration written for people: `500ms`, `90s`, `15m`, `2h`, `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }
    pub fn as_duration(self) -> Duration {
        self.0
    }
}

impl TryFrom<String> for HumanDuration {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a duration: write e.g. 500ms, 90s, 15m, 2h or 1d");
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let ms = match unit {
            "ms" => Some(n),
            "s" => n.checked_mul(1000),
            "m" => n.checked_mul(60_000),
            "h" => n.checked_mul(3_600_000),
            "d" => n.checked_mul(86_400_000),
            _ => return Err(bad()),
        }
        .ok_or_else(bad)?;
        Ok(Self(Duration::from_millis(ms)))
    }
}

impl From<HumanDuration> for String {
    fn from(d: HumanDuration) -> String {
        d.to_string()
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        let units = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1000, "s"),
        ];
        for (size, unit) in units {
            if ms >= size && ms.is_multiple_of(size) {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit_and_prints_the_largest_exact_one() {
        for (text, ms, shown) in [
            ("500ms", 500, "500ms"),
            ("90s", 90_000, "90s"),
            ("120s", 120_000, "2m"),
            ("15m", 900_000, "15m"),
            ("2h", 7_200_000, "2h"),
            ("1d", 86_400_000, "1d"),
        ] {
            let d: HumanDuration = text.parse().unwrap();
            assert_eq!(d.0.as_millis(), ms);
            assert_eq!(d.to_string(), shown);
        }
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for text in [
            "",
            "10",
            "m",
            "1.5h",
            "10 m",
            "-1s",
            "99999999999999999999d",
            "5w",
        ] {
            let err = text.parse::<HumanDuration>().unwrap_err();
            assert!(err.contains("is not a duration"), "{text}: {err}");
        }
    }
}
