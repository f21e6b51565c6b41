// SPDX-License-Identifier: GPL-2.0

//! Human-readable output: sizes, durations, timestamps, aligned blocks and
//! tables.

use std::time::{SystemTime, UNIX_EPOCH};

/// `1536` -> `1.50 KiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.2} {}", UNITS[unit])
}

/// Microseconds, in the largest unit that keeps the number readable.
pub fn micros(us: u64) -> String {
    if us < 1000 {
        format!("{us} us")
    } else if us < 1_000_000 {
        format!("{:.2} ms", us as f64 / 1e3)
    } else {
        format!("{:.2} s", us as f64 / 1e6)
    }
}

pub fn millis(ms: u64) -> String {
    micros(ms.saturating_mul(1000))
}

/// A rate over `secs` seconds.
pub fn rate(delta: u64, secs: f64, unit_bytes: bool) -> String {
    let per_s = delta as f64 / secs;
    if unit_bytes {
        format!("{}/s", bytes(per_s as u64))
    } else {
        format!("{per_s:.1} msg/s")
    }
}

/// Seconds since the epoch, as a float (for JSON).
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `secs` since the epoch as RFC 3339 UTC with milliseconds.
pub fn timestamp(secs: f64) -> String {
    let ms_total = (secs * 1000.0) as i64;
    let (days, ms) = (
        ms_total.div_euclid(86_400_000),
        ms_total.rem_euclid(86_400_000),
    );
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// Lines of `key: value` under a heading, values aligned.
pub struct Block {
    indent: usize,
    rows: Vec<(String, String)>,
}

impl Block {
    pub fn new(indent: usize) -> Block {
        Block {
            indent,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.rows.push((key.into(), value.into()));
    }

    pub fn print(&self) {
        let width = self
            .rows
            .iter()
            .map(|(k, _)| k.len() + 1)
            .max()
            .unwrap_or(0);
        for (k, v) in &self.rows {
            println!(
                "{:indent$}{:width$} {v}",
                "",
                format!("{k}:"),
                indent = self.indent
            );
        }
    }
}

/// A table with a header row; columns padded to their widest cell, numbers
/// (cells that parse as one) right-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let numeric: Vec<bool> = (0..header.len())
        .map(|i| {
            !rows.is_empty()
                && rows
                    .iter()
                    .all(|r| r.get(i).is_some_and(|c| c.parse::<f64>().is_ok()))
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            if numeric[i] {
                out.push_str(&format!("{c:>w$}", w = width[i]));
            } else {
                out.push_str(&format!("{c:<w$}", w = width[i]));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(3 << 20), "3.00 MiB");
        assert_eq!(micros(999), "999 us");
        assert_eq!(micros(1500), "1.50 ms");
        assert_eq!(millis(2500), "2.50 s");
        assert_eq!(timestamp(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(951_782_400.5), "2000-02-29T00:00:00.500Z");
        assert_eq!(timestamp(1_700_000_000.0), "2023-11-14T22:13:20.000Z");
    }
}
