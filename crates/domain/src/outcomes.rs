//! The commissioner's outcome measures and how they are published: care plans shared with
//! patients, care-process completeness, unscheduled GP visits per person-year before and after
//! care planning, and the share who feel supported; with small-number suppression.
//!
//! Suppression rule (stated with every figure): a count from 1 to 4 is not shown ("fewer than
//! 5"), and neither is a rate whose numerator or denominator is from 1 to 4. Secondary
//! suppression: where a group of units (the practices of a network) has exactly one figure
//! suppressed and the group's total is shown, the next smallest non-zero figure in the group is
//! suppressed too, so the hidden one cannot be worked out by subtraction (a hidden zero protects
//! nothing: it can often be told from other figures, such as an eligible count of zero). Where
//! every other figure is zero, the group's total equals the hidden figure and is hidden in its own
//! right. Zero is shown: it identifies nobody.

use time::{Date, Duration, Month, OffsetDateTime};

/// The smallest count shown (counts from 1 to `SMALL_NUMBER - 1` are suppressed).
pub const SMALL_NUMBER: i64 = 5;

/// The words every published table carries.
pub const SUPPRESSION_RULE: &str = "Counts from 1 to 4, and rates built on them, are not shown; where a network has \
     exactly one practice's figure hidden, the next smallest non-zero figure is hidden too so the first cannot \
     be worked out.";

/// Why unscheduled-visit figures are descriptive only.
pub const REGRESSION_NOTE: &str = "Descriptive: people are offered care planning when their risk is high, so their \
     visits would fall afterwards by regression to the mean alone. This is not evidence of effect.";

/// Whether a count must not be shown.
pub fn small(count: i64) -> bool {
    (1..SMALL_NUMBER).contains(&count)
}

/// Whether a rate built on these must not be shown.
pub fn small_rate(numerator: i64, denominator: i64) -> bool {
    small(numerator) || small(denominator)
}

/// Secondary suppression within groups: `figures` are (group, value, primarily suppressed).
/// Returns, for each, whether it is suppressed in the end.
pub fn with_secondary<G: PartialEq>(figures: &[(G, i64, bool)]) -> Vec<bool> {
    let mut suppressed: Vec<bool> = figures.iter().map(|(_, _, hidden)| *hidden).collect();
    for (index, (group, _, _)) in figures.iter().enumerate() {
        let members: Vec<usize> = (0..figures.len()).filter(|other| figures[*other].0 == *group).collect();
        if members.first() != Some(&index) || members.len() < 2 {
            continue;
        }
        let hidden = members.iter().filter(|member| suppressed[**member]).count();
        if hidden == 1
            && let Some(next) = members
                .iter()
                .filter(|member| !suppressed[**member] && figures[**member].1 != 0)
                .min_by_key(|member| figures[**member].1)
        {
            suppressed[*next] = true;
        }
    }
    suppressed
}

/// Unscheduled contacts around care planning for one person: (contacts in the year before, days
/// in that window, contacts after, days after). Each window counts only time the person was
/// registered and alive, so nobody adds person-time without records: the before window is the
/// year before the plan's agreement, from their registration if later; the after window runs from
/// the agreement to `today`, a year on, or the day they left (died or moved away), whichever is
/// soonest.
pub fn before_and_after(
    agreed: Date,
    today: Date,
    registered: Option<Date>,
    left: Option<Date>,
    contacts: &[Date],
) -> (i64, i64, i64, i64) {
    let year_before = agreed - Duration::days(365);
    let before_start = registered.map_or(year_before, |from| from.max(year_before)).min(agreed);
    let after_end =
        [Some(today), Some(agreed + Duration::days(365)), left].into_iter().flatten().min().unwrap_or(today);
    let before = contacts.iter().filter(|day| **day >= before_start && **day < agreed).count() as i64;
    let after = contacts.iter().filter(|day| **day >= agreed && **day < after_end).count() as i64;
    (before, (agreed - before_start).whole_days(), after, (after_end - agreed).whole_days().max(0))
}

/// Events per person-year, from events and person-days.
pub fn per_person_year(events: i64, person_days: i64) -> Option<f64> {
    (person_days > 0).then(|| events as f64 * 365.25 / person_days as f64)
}

/// Time from a red flag being raised (the result reaching Concord) to its action being recorded, in
/// bands: each band's upper bound in hours (inclusive), and its words.
pub const ACTION_BANDS: [(i64, &str); 7] = [
    (1, "within 1 hour"),
    (4, "within 4 hours"),
    (24, "within 24 hours"),
    (72, "within 3 days"),
    (168, "within 7 days"),
    (336, "within 14 days"),
    (i64::MAX, "more than 14 days"),
];

/// The standard each severity is measured against, in hours (data/red-flags.csv: urgent = act the
/// same working day, counted as within 24 hours; soon = within two weeks). Routine flags are
/// addressed at the review conversation and have no time standard here.
pub fn action_standard_hours(severity: &str) -> Option<i64> {
    match severity {
        "urgent" => Some(24),
        "soon" => Some(336),
        _ => None,
    }
}

/// The band of a flag actioned `actioned` after it was raised at `raised` (index into
/// [`ACTION_BANDS`]); a clock that ran backwards counts as the first band.
pub fn action_band(raised: OffsetDateTime, actioned: OffsetDateTime) -> usize {
    let seconds = (actioned - raised).whole_seconds().max(0);
    // An hour band holds everything up to and including its bound.
    ACTION_BANDS.iter().position(|(hours, _)| seconds <= hours.saturating_mul(3600)).unwrap_or(ACTION_BANDS.len() - 1)
}

/// The band holding the median of these band counts, if any were counted.
pub fn median_band(counts: &[i64]) -> Option<usize> {
    let total: i64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let mut seen = 0;
    counts.iter().position(|count| {
        seen += count;
        seen * 2 >= total
    })
}

/// Flags within a standard of `hours`, from band counts (bands whose bound is within it).
pub fn within_hours(counts: &[i64], hours: i64) -> i64 {
    ACTION_BANDS.iter().zip(counts).filter(|((bound, _), _)| *bound <= hours).map(|(_, count)| count).sum()
}

/// Whether a goal's newest progress (a key of `online_access::GOAL_PROGRESS`) means it was
/// attained: "I have done it", FHIR Goal achievement status `achieved`.
pub fn goal_attained(status: &str) -> bool {
    status == "achieved"
}

/// The first day of the NHS financial year (1 April) holding `today`: a local commissioned
/// service counts its paid activity from then.
pub fn financial_year_start(today: Date) -> Date {
    let year = if today.month() >= Month::April { today.year() } else { today.year() - 1 };
    Date::from_calendar_date(year, Month::April, 1).unwrap_or(today)
}

/// The `YYYY-MM` keys of the `count` months up to and including `today`'s, oldest first.
pub fn last_months(today: Date, count: u32) -> Vec<String> {
    let (mut year, mut month) = (today.year(), u8::from(today.month()));
    let mut keys = Vec::with_capacity(count as usize);
    for _ in 0..count {
        keys.push(format!("{year:04}-{month:02}"));
        if month == 1 {
            year -= 1;
            month = 12;
        } else {
            month -= 1;
        }
    }
    keys.reverse();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn counts_from_one_to_four_are_suppressed_and_zero_is_not() {
        assert!(!small(0) && small(1) && small(4) && !small(5));
        assert!(small_rate(3, 100) && small_rate(10, 4) && !small_rate(0, 10));
    }

    #[test]
    fn a_lone_hidden_figure_hides_the_next_smallest_in_its_group() {
        let figures =
            [("pcn1", 3, true), ("pcn1", 40, false), ("pcn1", 12, false), ("pcn2", 9, false), ("pcn2", 8, false)];
        assert_eq!(with_secondary(&figures), [true, false, true, false, false]);
        let two = [("pcn1", 3, true), ("pcn1", 2, true), ("pcn1", 50, false)];
        assert_eq!(with_secondary(&two), [true, true, false], "two hidden protect each other");
        let zero = [("pcn1", 3, true), ("pcn1", 0, false), ("pcn1", 7, false)];
        assert_eq!(with_secondary(&zero), [true, false, true], "a zero is no cover: the next non-zero is hidden");
        let only_zeros = [("pcn1", 3, true), ("pcn1", 0, false)];
        assert_eq!(with_secondary(&only_zeros), [true, false], "the network's total (3) is hidden in its own right");
    }

    #[test]
    fn before_and_after_windows_follow_the_agreement() {
        let agreed = date!(2026 - 06 - 01);
        let contacts = [
            date!(2025 - 05 - 31),
            date!(2025 - 06 - 02),
            date!(2026 - 05 - 31),
            date!(2026 - 06 - 01),
            date!(2026 - 09 - 01),
        ];
        assert_eq!(before_and_after(agreed, date!(2026 - 12 - 01), None, None, &contacts), (2, 365, 2, 183));
        // Registered in March: the before window starts then (the 2025 contacts were elsewhere).
        let registered = Some(date!(2026 - 03 - 01));
        assert_eq!(before_and_after(agreed, date!(2026 - 12 - 01), registered, None, &contacts), (1, 92, 2, 183));
        // Died in August: the after window ends then (the September contact cannot be theirs).
        let died = Some(date!(2026 - 08 - 01));
        assert_eq!(before_and_after(agreed, date!(2026 - 12 - 01), None, died, &contacts), (2, 365, 1, 61));
        // Registered after the agreement (records from elsewhere): no before window.
        let late = Some(date!(2026 - 07 - 01));
        assert_eq!(before_and_after(agreed, date!(2026 - 12 - 01), late, None, &contacts).1, 0);
        assert!((per_person_year(2, 365).unwrap() - 2.0).abs() < 0.01);
        assert_eq!(per_person_year(1, 0), None);
    }

    #[test]
    fn action_bands_include_their_bound_and_the_median_band_is_found() {
        let raised = time::macros::datetime!(2026-06-01 09:00 UTC);
        assert_eq!(action_band(raised, raised + Duration::hours(1)), 0);
        assert_eq!(action_band(raised, raised + Duration::minutes(61)), 1);
        assert_eq!(action_band(raised, raised + Duration::hours(24)), 2);
        assert_eq!(action_band(raised, raised + Duration::days(30)), 6);
        assert_eq!(action_band(raised, raised - Duration::hours(1)), 0, "a clock running backwards");
        assert_eq!(median_band(&[1, 0, 1, 0, 0, 0, 3]), Some(6));
        assert_eq!(median_band(&[2, 0, 1, 0, 0, 0, 1]), Some(0));
        assert_eq!(median_band(&[0; 7]), None);
        assert_eq!(within_hours(&[1, 2, 3, 4, 5, 6, 7], 24), 6);
        assert_eq!(within_hours(&[1, 2, 3, 4, 5, 6, 7], 336), 21);
    }

    #[test]
    fn financial_years_start_in_april_and_months_run_back_across_years() {
        assert_eq!(financial_year_start(date!(2026 - 03 - 31)), date!(2025 - 04 - 01));
        assert_eq!(financial_year_start(date!(2026 - 04 - 01)), date!(2026 - 04 - 01));
        assert_eq!(last_months(date!(2026 - 02 - 15), 3), ["2025-12", "2026-01", "2026-02"]);
        assert!(goal_attained("achieved") && !goal_attained("going_well"));
    }
}
