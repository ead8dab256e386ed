//! UK civil time: how practice systems write times without an offset, and how clinic lists are
//! read and shown.
//!
//! Rule (Summer Time Order 2002): British Summer Time (UTC+1) runs from 01:00 UTC on the last
//! Sunday of March to 01:00 UTC on the last Sunday of October; otherwise GMT (UTC+0). A local time
//! in the skipped spring hour is read as BST; one in the repeated autumn hour is read as its first
//! occurrence (BST).

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const BST: UtcOffset = time::macros::offset!(+1);
const ONE_AM: Time = time::macros::time!(01:00);
const TWO_AM: Time = time::macros::time!(02:00);

fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let last_day = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    let back = last_day.weekday().number_days_from_sunday();
    last_day.checked_sub(Duration::days(i64::from(back)))
}

/// The UTC offset in force in the UK at a local date and time.
pub fn uk_offset(local: PrimitiveDateTime) -> UtcOffset {
    let year = local.year();
    let (Some(spring), Some(autumn)) = (last_sunday(year, Month::March), last_sunday(year, Month::October)) else {
        return UtcOffset::UTC;
    };
    // Local clocks go 01:00 GMT → 02:00 BST in spring and 02:00 BST → 01:00 GMT in autumn.
    if local >= spring.with_time(ONE_AM) && local < autumn.with_time(TWO_AM) { BST } else { UtcOffset::UTC }
}

/// A UK civil time as UTC.
pub fn uk_time_to_utc(local: PrimitiveDateTime) -> OffsetDateTime {
    local.assume_offset(uk_offset(local)).to_offset(UtcOffset::UTC)
}

/// A moment as UK civil time.
pub fn utc_to_uk_time(at: OffsetDateTime) -> PrimitiveDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    let utc = PrimitiveDateTime::new(at.date(), at.time());
    let summer = match (last_sunday(at.year(), Month::March), last_sunday(at.year(), Month::October)) {
        (Some(spring), Some(autumn)) => utc >= spring.with_time(ONE_AM) && utc < autumn.with_time(ONE_AM),
        _ => false,
    };
    let local = if summer { at.to_offset(BST) } else { at };
    PrimitiveDateTime::new(local.date(), local.time())
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
        assert_eq!(uk_offset(datetime!(2026-03-29 01:30)).whole_hours(), 1, "the skipped hour is read as BST");
        assert_eq!(uk_offset(datetime!(2026-10-25 01:30)).whole_hours(), 1, "the repeated hour's first occurrence");
        assert_eq!(uk_offset(datetime!(2026-10-25 02:00)), UtcOffset::UTC);
    }

    #[test]
    fn uk_civil_time_round_trips_through_utc() {
        assert_eq!(uk_time_to_utc(datetime!(2026-01-15 09:00)), datetime!(2026-01-15 09:00 UTC));
        assert_eq!(uk_time_to_utc(datetime!(2026-07-01 09:00)), datetime!(2026-07-01 08:00 UTC));
        assert_eq!(utc_to_uk_time(datetime!(2026-07-01 08:00 UTC)), datetime!(2026-07-01 09:00));
        assert_eq!(utc_to_uk_time(datetime!(2026-03-29 00:59 UTC)), datetime!(2026-03-29 00:59));
        assert_eq!(utc_to_uk_time(datetime!(2026-03-29 01:00 UTC)), datetime!(2026-03-29 02:00));
        assert_eq!(utc_to_uk_time(datetime!(2026-10-25 00:30 UTC)), datetime!(2026-10-25 01:30));
        assert_eq!(utc_to_uk_time(datetime!(2026-10-25 01:30 UTC)), datetime!(2026-10-25 01:30));
        for local in [datetime!(2026-01-15 09:00), datetime!(2026-07-01 17:40), datetime!(2026-12-24 23:55)] {
            assert_eq!(utc_to_uk_time(uk_time_to_utc(local)), local);
        }
    }
}
