//! CPU time and latency percentiles.

use std::fs;
use std::io;
use std::time::Instant;

/// Nanoseconds of user + system time used by this process so far.
pub fn self_cpu_ns() -> u64 {
    // SAFETY: rusage is plain data; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is valid for the call.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    ns(ru.ru_utime) + ns(ru.ru_stime)
}

/// Nanoseconds all CPUs of the machine spent busy so far, from the first
/// line of /proc/stat: user, nice, system, irq, softirq and steal (not idle,
/// not iowait). Unlike getrusage this counts kernel threads and softirqs,
/// where RDS does much of its work (rds_wq workers, TCP receive).
pub fn machine_busy_ns() -> io::Result<u64> {
    let stat = fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().unwrap_or_default();
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    if ticks.len() < 8 {
        return Err(io::Error::other("unexpected /proc/stat"));
    }
    let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7];
    // SAFETY: plain system call.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(busy * (1_000_000_000 / hz))
}

/// A point in time with the CPU counters at that point.
pub struct Snapshot {
    pub at: Instant,
    pub busy_ns: u64,
    pub self_ns: u64,
}

impl Snapshot {
    pub fn take() -> io::Result<Snapshot> {
        Ok(Snapshot {
            at: Instant::now(),
            busy_ns: machine_busy_ns()?,
            self_ns: self_cpu_ns(),
        })
    }
}

/// The `p`-quantile (0 < p <= 1) of ascending `sorted` by the nearest-rank
/// method; 0 for no samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&v, 0.5), 500);
        assert_eq!(percentile(&v, 0.99), 990);
        assert_eq!(percentile(&v, 0.999), 999);
        assert_eq!(percentile(&v[..1], 0.999), 1);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn counters_move_forward() {
        let a = Snapshot::take().unwrap();
        let until = a.at + std::time::Duration::from_secs(5);
        let mut x = 0u64;
        while self_cpu_ns() == a.self_ns && Instant::now() < until {
            for i in 0..1_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
        }
        let b = Snapshot::take().unwrap();
        assert!(b.self_ns > a.self_ns && b.busy_ns >= a.busy_ns);
    }
}
