//! Small deterministic building blocks: calendar days, identifiers and random draws.
//!
//! Days are counted from 1970-01-01 (`Day`), which keeps date arithmetic to integer sums and
//! formatting free of fallible conversions. Identifiers are UUID-shaped values derived by hashing
//! (run seed, patient, ordinal), so they are stable for a seed and independent of batching.

use std::fmt::Write as _;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Days since 1970-01-01.
pub(crate) type Day = i32;

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) fn day_from_civil(year: i32, month: u32, day: u32) -> Day {
    let year = i64::from(if month <= 2 { year - 1 } else { year });
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let year_of_era = year - era * 400;
    let month_index = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era - 719_468) as Day
}

/// The calendar date of a day (inverse of [`day_from_civil`]).
pub(crate) fn civil_from_day(day: Day) -> (i32, u32, u32) {
    let z = i64::from(day) + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day_of_month = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year as i32, month, day_of_month)
}

pub(crate) fn day_from_date(date: time::Date) -> Day {
    day_from_civil(date.year(), u32::from(u8::from(date.month())), u32::from(date.day()))
}

/// Writes `YYYY-MM-DD`.
pub(crate) fn push_date(out: &mut String, day: Day) {
    let (year, month, day_of_month) = civil_from_day(day);
    let _ = write!(out, "{year:04}-{month:02}-{day_of_month:02}");
}

/// Writes a FHIR instant/dateTime in UTC, `YYYY-MM-DDThh:mm:00Z`, from a day and minute of day.
pub(crate) fn push_date_time(out: &mut String, day: Day, minute_of_day: u32) {
    push_date(out, day);
    let minute_of_day = minute_of_day.min(24 * 60 - 1);
    let _ = write!(out, "T{:02}:{:02}:00Z", minute_of_day / 60, minute_of_day % 60);
}

/// SplitMix64 finaliser: a fast, well-mixed bijection on `u64`.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A UUID (version 4 layout) used as a FHIR resource id and, in Bundles, as `urn:uuid:` fullUrl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Id(u128);

impl Id {
    /// Derives an id from a 64-bit namespace key and an ordinal within it.
    pub(crate) fn derive(key: u64, ordinal: u64) -> Self {
        let high = mix64(key ^ mix64(ordinal.wrapping_mul(2).wrapping_add(1)));
        let low = mix64(high ^ key.rotate_left(29) ^ ordinal.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut value = (u128::from(high) << 64) | u128::from(low);
        value = (value & !(0xf << 76)) | (0x4 << 76);
        value = (value & !(0x3 << 62)) | (0x2 << 62);
        Self(value)
    }

    /// Writes the 8-4-4-4-12 lower-case hex form.
    pub(crate) fn push(self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for index in 0..32 {
            if matches!(index, 8 | 12 | 16 | 20) {
                out.push('-');
            }
            let nibble = (self.0 >> (124 - 4 * index)) & 0xf;
            out.push(char::from(HEX[nibble as usize]));
        }
    }

    /// The id folded to 64 bits (for picking among a few alternatives stably).
    pub(crate) fn fold(self) -> u64 {
        (self.0 as u64) ^ ((self.0 >> 64) as u64)
    }

    #[cfg(test)]
    pub(crate) fn text(self) -> String {
        let mut text = String::with_capacity(36);
        self.push(&mut text);
        text
    }
}

/// Hands out the ids of one patient's resources, in generation order.
pub(crate) struct IdSequence {
    key: u64,
    next: u64,
}

impl IdSequence {
    pub(crate) fn new(key: u64) -> Self {
        Self { key, next: 0 }
    }

    pub(crate) fn next_id(&mut self) -> Id {
        let id = Id::derive(self.key, self.next);
        self.next += 1;
        id
    }
}

/// A uniform draw in `[0, 1)`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>()
}

pub(crate) fn chance(rng: &mut ChaCha8Rng, probability: f64) -> bool {
    uniform(rng) < probability
}

/// A standard normal draw (Box–Muller; one of the pair is discarded for simplicity).
pub(crate) fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - uniform(rng); // (0, 1]
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

pub(crate) fn normal(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    mean + sd * standard_normal(rng)
}

/// A Poisson draw (Knuth's method for small means, a rounded normal above 30).
pub(crate) fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        return normal(rng, mean, mean.sqrt()).round().max(0.0) as u32;
    }
    let limit = (-mean).exp();
    let mut product = uniform(rng);
    let mut count = 0;
    while product > limit {
        product *= uniform(rng);
        count += 1;
    }
    count
}

pub(crate) fn between(rng: &mut ChaCha8Rng, low: i32, high_inclusive: i32) -> i32 {
    if high_inclusive <= low { low } else { rng.random_range(low..=high_inclusive) }
}

pub(crate) fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Picks an index with probability proportional to `weights` (which must not all be zero).
pub(crate) fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut target = uniform(rng) * total;
    for (index, weight) in weights.iter().enumerate() {
        if target < *weight {
            return index;
        }
        target -= weight;
    }
    weights.len().saturating_sub(1)
}

/// Standard normal cumulative distribution (Abramowitz & Stegun 26.2.17, error below 7.5e-8).
pub(crate) fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.231_641_9 * x.abs());
    let poly =
        t * (0.319_381_530 + t * (-0.356_563_782 + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    let tail = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt() * poly;
    if x >= 0.0 { 1.0 - tail } else { tail }
}

/// Formats a value with a fixed number of decimals, as FHIR decimal text.
pub(crate) fn decimal(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use time::macros::date;

    use super::*;

    #[test]
    fn calendar_round_trips_and_agrees_with_the_time_crate() {
        for day in -30_000..80_000 {
            let (year, month, day_of_month) = civil_from_day(day);
            assert_eq!(day_from_civil(year, month, day_of_month), day);
        }
        assert_eq!(day_from_date(date!(1970 - 01 - 01)), 0);
        let date = date!(2026 - 03 - 01);
        assert_eq!(i64::from(day_from_date(date)), i64::from(date.to_julian_day()) - 2_440_588);
        let mut text = String::new();
        push_date_time(&mut text, day_from_date(date!(2024 - 02 - 29)), 9 * 60 + 5);
        assert_eq!(text, "2024-02-29T09:05:00Z");
    }

    #[test]
    fn ids_look_like_version_4_uuids_and_differ() {
        let first = Id::derive(7, 0).text();
        let second = Id::derive(7, 1).text();
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(first, second);
        assert_eq!(first, Id::derive(7, 0).text());
    }

    #[test]
    fn normal_cdf_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }

    #[test]
    fn poisson_has_the_right_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let draws = 20_000;
        let total: u64 = (0..draws).map(|_| u64::from(poisson(&mut rng, 3.5))).sum();
        let mean = total as f64 / draws as f64;
        assert!((mean - 3.5).abs() < 0.1, "{mean}");
    }
}
