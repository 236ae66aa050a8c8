//! The `Date` field's value (RFC 9110 IMF-fixdate), formatted once per
//! second and kept.
//!
//! Whether the second is still the same is told by the base's monotonic
//! time, which the loop caches each iteration, so a reply reads no clock:
//! the wall clock is read only when a new second starts (and the moment
//! it ends is noted in monotonic time). A wall-clock step shows in the
//! field within a second.

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const DATE_LEN: usize = 29;

/// The last date formatted and, in monotonic time, when its second ends.
#[derive(Debug)]
pub(crate) struct DateCache {
    /// Monotonic ns at which `text` goes stale (0: never formatted).
    until_ns: u64,
    text: [u8; DATE_LEN],
}

impl Default for DateCache {
    fn default() -> Self {
        let mut d = DateCache {
            until_ns: 0,
            text: [b' '; DATE_LEN],
        };
        format(0, &mut d.text);
        d
    }
}

impl DateCache {
    /// Now, as an IMF-fixdate; `mono_ns` is the monotonic time now (the
    /// base's, cached by the loop).
    pub(crate) fn now(&mut self, mono_ns: u64) -> &[u8; DATE_LEN] {
        if mono_ns >= self.until_ns {
            let since = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            format(since.as_secs(), &mut self.text);
            self.until_ns = mono_ns + u64::from(1_000_000_000 - since.subsec_nanos());
        }
        &self.text
    }
}

/// Formats `secs` since the epoch (UTC) into `out`.
fn format(secs: u64, out: &mut [u8; DATE_LEN]) {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    let two = |n: u64| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    out[3..5].copy_from_slice(b", ");
    out[5..7].copy_from_slice(&two(d));
    out[7] = b' ';
    out[8..11].copy_from_slice(MONTHS[(m - 1) as usize]);
    out[11] = b' ';
    out[12..14].copy_from_slice(&two(y / 100));
    out[14..16].copy_from_slice(&two(y % 100));
    out[16] = b' ';
    out[17..19].copy_from_slice(&two(rem / 3600));
    out[19] = b':';
    out[20..22].copy_from_slice(&two(rem / 60 % 60));
    out[22] = b':';
    out[23..25].copy_from_slice(&two(rem % 60));
    out[25..].copy_from_slice(b" GMT");
}

/// Year, month (1–12), day (1–31) of `days` since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u64, m as u64, d as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(secs: u64) -> String {
        let mut out = [0u8; DATE_LEN];
        format(secs, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn known_dates() {
        assert_eq!(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(fmt(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(fmt(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(fmt(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
        let mut c = DateCache::default();
        let first = *c.now(5);
        assert!(first.ends_with(b" GMT"));
        assert!(c.until_ns > 5 && c.until_ns <= 5 + 1_000_000_000);
        // Within the second: kept, no clock read (a poisoned text shows it).
        c.text[0] = b'X';
        assert_eq!(c.now(c.until_ns - 1)[0], b'X');
        // Its end passed: formatted again.
        let later = *c.now(c.until_ns);
        assert_ne!(later[0], b'X');
    }
}
