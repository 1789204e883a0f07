//! Times as people type and read them: `00:03:12`, `3:12.5`, `192.5`.

use super::RecordError;

/// Parses SECONDS (`192.5`) or `[HH:]MM:SS[.fraction]` (`00:03:12`, `3:12.250`) into seconds.
pub fn parse(value: &str) -> Result<f64, RecordError> {
    let bad = || RecordError::BadTime {
        value: value.to_owned(),
    };
    let text = value.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 {
        return Err(bad());
    }
    let mut seconds = 0.0;
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let ok_chars = part
            .chars()
            .all(|c| c.is_ascii_digit() || (last && c == '.'));
        if part.is_empty() || !ok_chars {
            return Err(bad());
        }
        let number: f64 = part.parse().map_err(|_| bad())?;
        // Minutes and seconds after a colon are below 60.
        if i > 0 && number >= 60.0 {
            return Err(bad());
        }
        seconds = seconds * 60.0 + number;
    }
    if seconds.is_finite() {
        Ok(seconds)
    } else {
        Err(bad())
    }
}

/// `HH:MM:SS.mmm`, the form WebVTT uses.
pub fn format_vtt(seconds: f64) -> String {
    let total_ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, rest) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    format!("{h:02}:{m:02}:{:02}.{:03}", rest / 1000, rest % 1000)
}

/// `MM:SS.m` (or `H:MM:SS.m`), for people reading a terminal or the report.
pub fn format_short(seconds: f64) -> String {
    let tenths = (seconds.max(0.0) * 10.0).round() as u64;
    let (s, t) = (tenths / 10, tenths % 10);
    if s >= 3600 {
        format!("{}:{:02}:{:02}.{t}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}.{t}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(parse("00:03:12").unwrap(), 192.0);
        assert_eq!(parse("3:12.5").unwrap(), 192.5);
        assert_eq!(parse("192.5").unwrap(), 192.5);
        assert_eq!(parse("1:00:00").unwrap(), 3600.0);
        assert_eq!(parse(" 7 ").unwrap(), 7.0);
    }

    #[test]
    fn rejects_what_is_not_a_time_and_says_what_was_expected() {
        for bad in [
            "", "abc", "1:2:3:4", "00:75", "-3", "1.5:00", "::", "1e3", "NaN",
        ] {
            let err = parse(bad).expect_err(bad).to_string();
            assert!(err.contains("expected SECONDS"), "{bad}: {err}");
        }
    }

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_vtt(192.25), "00:03:12.250");
        assert_eq!(format_vtt(3723.0), "01:02:03.000");
        assert_eq!(parse(&format_vtt(4000.125)).unwrap(), 4000.125);
        assert_eq!(format_short(192.25), "03:12.3");
        assert_eq!(format_short(3723.0), "1:02:03.0");
    }
}
