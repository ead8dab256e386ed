//! UK civil time, for CSV times written without an offset (as practice systems export them).
//!
//! Rule (Summer Time Order 2002, EU-aligned): British Summer Time (UTC+1) runs from 01:00 UTC on
//! the last Sunday of March to 01:00 UTC on the last Sunday of October; otherwise GMT (UTC+0).
//! A local time in the skipped spring hour is read as BST; one in the repeated autumn hour is read
//! as its first occurrence (BST).

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let last_day = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    let back = last_day.weekday().number_days_from_sunday();
    last_day.checked_sub(time::Duration::days(i64::from(back)))
}

/// The UTC offset in force in the UK at a local date and time.
pub(crate) fn uk_offset(local: PrimitiveDateTime) -> UtcOffset {
    let year = local.year();
    let (Some(spring), Some(autumn)) = (last_sunday(year, Month::March), last_sunday(year, Month::October)) else {
        return UtcOffset::UTC;
    };
    let starts = spring.with_time(Time::from_hms(1, 0, 0).unwrap_or(Time::MIDNIGHT));
    let ends = autumn.with_time(Time::from_hms(2, 0, 0).unwrap_or(Time::MIDNIGHT));
    if local >= starts && local < ends {
        UtcOffset::from_hms(1, 0, 0).unwrap_or(UtcOffset::UTC)
    } else {
        UtcOffset::UTC
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn summer_time_follows_the_last_sundays_of_march_and_october() {
        assert_eq!(last_sunday(2026, Month::March).unwrap().day(), 29);
        assert_eq!(last_sunday(2026, Month::October).unwrap().day(), 25);
        assert_eq!(uk_offset(datetime!(2026-01-15 12:00)), UtcOffset::UTC);
        assert_eq!(uk_offset(datetime!(2026-07-01 00:30)).whole_hours(), 1);
        assert_eq!(uk_offset(datetime!(2026-03-29 00:59)), UtcOffset::UTC);
        assert_eq!(uk_offset(datetime!(2026-03-29 01:30)).whole_hours(), 1);
        assert_eq!(uk_offset(datetime!(2026-10-25 01:30)).whole_hours(), 1);
        assert_eq!(uk_offset(datetime!(2026-10-25 02:00)), UtcOffset::UTC);
    }
}
