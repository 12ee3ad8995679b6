//! Latency summaries (nearest-rank percentiles), mean/stddev and fixed-width histograms.

use serde_json::{Value, json};

/// A summary of samples in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Samples.
    pub count: usize,
    /// Smallest.
    pub min: u64,
    /// Median (nearest rank).
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation.
    pub stddev: f64,
}

/// The nearest-rank percentile `p` (0 < p ≤ 100) of sorted samples: the smallest sample such
/// that at least p % of the samples are ≤ it. `None` for no samples.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    // ceil(p/100 * n) as a 1-based rank, clamped into 1..=n.
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    let index = rank.clamp(1, n) - 1;
    sorted.get(index).copied()
}

/// Mean and population standard deviation.
pub fn mean_stddev(samples: &[u64]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    let n = samples.len() as f64;
    let mean = samples.iter().map(|&s| s as f64).sum::<f64>() / n;
    let var = samples
        .iter()
        .map(|&s| {
            let d = s as f64 - mean;
            d * d
        })
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

/// Summarises samples (sorts them in place). `None` for no samples.
pub fn summarize(samples: &mut [u64]) -> Option<Summary> {
    samples.sort_unstable();
    let (mean, stddev) = mean_stddev(samples);
    Some(Summary {
        count: samples.len(),
        min: *samples.first()?,
        p50: percentile(samples, 50.0)?,
        p90: percentile(samples, 90.0)?,
        p99: percentile(samples, 99.0)?,
        max: *samples.last()?,
        mean,
        stddev,
    })
}

impl Summary {
    /// JSON in microseconds.
    pub fn to_json(&self) -> Value {
        json!({
            "count": self.count, "min_us": self.min, "p50_us": self.p50, "p90_us": self.p90,
            "p99_us": self.p99, "max_us": self.max, "mean_us": round1(self.mean),
            "stddev_us": round1(self.stddev),
        })
    }

    /// `p50 / p90 / p99 / max` in readable units.
    pub fn line(&self) -> String {
        format!(
            "p50 {} · p90 {} · p99 {} · max {}",
            micros(self.p50),
            micros(self.p90),
            micros(self.p99),
            micros(self.max)
        )
    }
}

/// JSON of an optional summary (`null` without samples).
pub fn summary_json(s: Option<&Summary>) -> Value {
    s.map_or(Value::Null, Summary::to_json)
}

/// One decimal place, for JSON.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Microseconds as µs, ms or s.
pub fn micros(us: u64) -> String {
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.2} ms", us as f64 / 1_000.0)
    } else {
        format!("{:.2} s", us as f64 / 1_000_000.0)
    }
}

/// Counts of samples in `buckets` equal-width bins from `lo` to `hi` (samples outside are put
/// in the first or last bin).
pub fn histogram(samples: &[u64], lo: u64, hi: u64, buckets: usize) -> Vec<usize> {
    let buckets = buckets.max(1);
    let mut counts = vec![0usize; buckets];
    let width = (hi.saturating_sub(lo)).max(1) as f64 / buckets as f64;
    for &s in samples {
        let offset = s.saturating_sub(lo) as f64;
        let bin = ((offset / width) as usize).min(buckets - 1);
        if let Some(c) = counts.get_mut(bin) {
            *c += 1;
        }
    }
    counts
}

/// A one-line bar chart of histogram counts (for the table).
pub fn sparkline(counts: &[usize]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                ' '
            } else {
                let level = (c * (BARS.len() - 1)).div_ceil(max);
                BARS.get(level.min(BARS.len() - 1)).copied().unwrap_or('█')
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), Some(50));
        assert_eq!(percentile(&sorted, 90.0), Some(90));
        assert_eq!(percentile(&sorted, 99.0), Some(99));
        assert_eq!(percentile(&sorted, 100.0), Some(100));
        assert_eq!(percentile(&sorted, 0.1), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // Ten samples: p99 is the largest, p50 the fifth.
        let ten: Vec<u64> = (10..20).collect();
        assert_eq!(percentile(&ten, 99.0), Some(19));
        assert_eq!(percentile(&ten, 50.0), Some(14));
    }

    #[test]
    fn summary_sorts_and_measures_spread() {
        let mut samples = vec![4, 2, 8, 6];
        let s = summarize(&mut samples).unwrap();
        assert_eq!((s.count, s.min, s.max, s.p50), (4, 2, 8, 4));
        assert!((s.mean - 5.0).abs() < 1e-9);
        assert!((s.stddev - 5.0f64.sqrt()).abs() < 1e-9);
        assert!(summarize(&mut []).is_none());
        assert_eq!(mean_stddev(&[3, 3, 3]), (3.0, 0.0));
    }

    #[test]
    fn histogram_bins_and_clamps() {
        let counts = histogram(&[0, 1, 5, 9, 10, 50], 0, 10, 5);
        assert_eq!(counts, vec![2, 0, 1, 0, 3]);
        assert_eq!(histogram(&[], 0, 0, 3), vec![0, 0, 0]);
        assert_eq!(sparkline(&[0, 1, 8]).chars().count(), 3);
    }

    #[test]
    fn units() {
        assert_eq!(micros(999), "999 µs");
        assert_eq!(micros(1_500), "1.50 ms");
        assert_eq!(micros(2_000_000), "2.00 s");
    }
}
