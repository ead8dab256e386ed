//! How things are written on screen, by NHS conventions: dates as "15 March 1950", NHS numbers as
//! "943 476 5919", names as "JONES, Ann", units in UK form, trends in words. Pure functions.

use concord_domain::nhs_number::NhsNumber;
use concord_domain::units::Ucum;
use concord_store::ObservationRow;
use time::{Date, Month};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "15 March 1950".
pub(crate) fn long_date(date: Date) -> String {
    format!("{} {} {}", date.day(), MONTHS[date.month() as usize - 1], date.year())
}

/// Reads the date part of a stored date (`YYYY-MM-DD`) or timestamp (RFC 3339).
pub(crate) fn parse_stored_date(text: &str) -> Option<Date> {
    let date = text.get(..10)?;
    let mut parts = date.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// A stored date or timestamp as a long date; text that is not a date is shown as it is.
pub(crate) fn stored_date(text: &str) -> String {
    parse_stored_date(text).map_or_else(|| text.to_owned(), long_date)
}

/// A stored timestamp as "15 March 2026 at 14:03 UTC" (the audit trail is kept in UTC).
pub(crate) fn stored_time(text: &str) -> String {
    match (parse_stored_date(text), text.get(11..16)) {
        (Some(date), Some(clock)) if clock.as_bytes().get(2) == Some(&b':') => {
            format!("{} at {clock} UTC", long_date(date))
        }
        _ => stored_date(text),
    }
}

/// "943 476 5919"; anything that is not a valid NHS number is shown as stored.
pub(crate) fn nhs_number(text: &str) -> String {
    NhsNumber::parse(text).map_or_else(|_| text.to_owned(), |number| number.to_string())
}

/// "JONES, Ann": family name in capitals, as on NHS clinical screens, to reduce wrong-patient errors.
pub(crate) fn clinical_name(family: &str, given: &str) -> String {
    if given.is_empty() { family.to_uppercase() } else { format!("{}, {given}", family.to_uppercase()) }
}

pub(crate) fn sex(text: &str) -> &'static str {
    match text {
        "male" => "Male",
        "female" => "Female",
        "other" => "Other",
        _ => "Not known",
    }
}

/// Age in completed years, as "76 years" (or months for babies).
pub(crate) fn age(birth_date: Date, on: Date) -> String {
    let years = concord_domain::patient::age_on(birth_date, on);
    if years >= 2 {
        return format!("{years} years");
    }
    let mut months = (on.year() - birth_date.year()) * 12 + (on.month() as i32 - birth_date.month() as i32);
    if on.day() < birth_date.day() {
        months -= 1;
    }
    match months.max(0) {
        1 => "1 month".into(),
        months => format!("{months} months"),
    }
}

/// A result's value with its unit in UK display form, e.g. "53 mmol/mol", "140 mmHg", "27.1 kg/m²".
pub(crate) fn result_value(row: &ObservationRow) -> String {
    let unit = row.unit.as_deref().map(|unit| Ucum::new(unit).display()).unwrap_or_default();
    let value = match row.value_kind.as_str() {
        "quantity" => row.value_text.clone().or_else(|| row.value_number.map(number)).unwrap_or_default(),
        "coded" | "text" => row.value_text.clone().unwrap_or_else(|| row.term.clone()),
        "none" => return row.term.clone(),
        _ => return "Could not be read".into(),
    };
    if unit.is_empty() { value } else { format!("{value} {unit}") }
}

/// A number without a trailing ".0".
fn number(value: f64) -> String {
    let text = format!("{value}");
    text.strip_suffix(".0").map_or_else(|| text.clone(), str::to_owned)
}

/// The change from the previous numeric result, in words (values newest first). States the
/// direction only: whether a change is good or bad is a clinical judgement left to the reader.
pub(crate) fn trend(values: &[ObservationRow]) -> String {
    let numeric: Vec<&ObservationRow> = values.iter().filter(|row| row.value_number.is_some()).collect();
    let (Some(latest), Some(previous)) = (numeric.first(), numeric.get(1)) else {
        return "No earlier result to compare".into();
    };
    let (now, before) = (latest.value_number.unwrap_or_default(), previous.value_number.unwrap_or_default());
    let earlier = format!("{} on {}", result_value(previous), stored_date(&previous.effective));
    if now == before {
        format!("No change from {earlier}")
    } else if now > before {
        format!("Up from {earlier}")
    } else {
        format!("Down from {earlier}")
    }
}

/// A small line chart of up to the 10 latest numeric values (oldest on the left), with a text
/// alternative. `None` when there are fewer than two values to draw.
pub(crate) struct Sparkline {
    pub points: String,
    pub last_x: String,
    pub last_y: String,
    pub label: String,
}

pub(crate) const SPARKLINE_WIDTH: f64 = 120.0;
pub(crate) const SPARKLINE_HEIGHT: f64 = 32.0;

pub(crate) fn sparkline(name: &str, values: &[ObservationRow]) -> Option<Sparkline> {
    let mut numeric: Vec<(&ObservationRow, f64)> =
        values.iter().filter_map(|row| row.value_number.map(|value| (row, value))).take(10).collect();
    if numeric.len() < 2 {
        return None;
    }
    numeric.reverse();
    let low = numeric.iter().map(|(_, value)| *value).fold(f64::INFINITY, f64::min);
    let high = numeric.iter().map(|(_, value)| *value).fold(f64::NEG_INFINITY, f64::max);
    // Every value the same: a flat line across the middle.
    let flat = high <= low;
    let margin = 4.0;
    let step = (SPARKLINE_WIDTH - 2.0 * margin) / (numeric.len() - 1) as f64;
    let coordinates: Vec<(f64, f64)> = numeric
        .iter()
        .enumerate()
        .map(|(index, (_, value))| {
            let x = margin + step * index as f64;
            let y = if flat {
                SPARKLINE_HEIGHT / 2.0
            } else {
                SPARKLINE_HEIGHT - margin - (value - low) / (high - low) * (SPARKLINE_HEIGHT - 2.0 * margin)
            };
            (x, y)
        })
        .collect();
    let points = coordinates.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let (last_x, last_y) = coordinates.last().copied().unwrap_or_default();
    let listed = numeric.iter().map(|(row, _)| result_value(row)).collect::<Vec<_>>().join(", ");
    Some(Sparkline {
        points,
        last_x: format!("{last_x:.1}"),
        last_y: format!("{last_y:.1}"),
        label: format!("{name}, last {} results from oldest to newest: {listed}", numeric.len()),
    })
}

pub(crate) fn contact_channel(channel: concord_domain::patient::ContactChannel) -> &'static str {
    use concord_domain::patient::ContactChannel;
    match channel {
        ContactChannel::Letter => "Letter",
        ContactChannel::Email => "Email",
        ContactChannel::Sms => "Text message",
        ContactChannel::Phone => "Phone call",
    }
}

pub(crate) fn encounter_setting(text: &str) -> String {
    match text {
        "surgery" => "At the surgery".into(),
        "telephone" => "Telephone".into(),
        "video" => "Video".into(),
        "home-visit" => "Home visit".into(),
        "out-of-hours" => "Out of hours".into(),
        "emergency" => "Emergency department".into(),
        "inpatient" => "Hospital stay".into(),
        "other" => "Other".into(),
        other => other.into(),
    }
}

pub(crate) fn clinician(text: &str) -> String {
    match text {
        "gp" => "GP".into(),
        "nurse" => "Nurse".into(),
        "hca" => "Healthcare assistant".into(),
        "pharmacist" => "Pharmacist".into(),
        "other" => "Other".into(),
        "unknown" | "" => "Not recorded".into(),
        other => other.into(),
    }
}

pub(crate) fn encounter_status(text: &str) -> String {
    match text {
        "attended" => "Attended".into(),
        "did-not-attend" => "Did not attend".into(),
        "cancelled" => "Cancelled".into(),
        "booked" => "Booked".into(),
        other => other.into(),
    }
}

pub(crate) fn medication_status(text: &str) -> String {
    match text {
        "active" => "Current".into(),
        "stopped" => "Stopped".into(),
        _ => "Not known".into(),
    }
}

/// Audit actions as people say them.
pub(crate) fn audit_action(text: &str) -> String {
    match text {
        "create" => "Created".into(),
        "update" => "Changed".into(),
        "read" => "Viewed".into(),
        "search" => "Searched".into(),
        "sign-in" => "Signed in".into(),
        "sign-in-failed" => "Sign-in failed".into(),
        "sign-out" => "Signed out".into(),
        "import" => "Imported".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use concord_domain::code::Code;
    use time::macros::date;

    use super::*;

    fn result(value: f64, text: &str, unit: &str, effective: &str) -> ObservationRow {
        ObservationRow {
            id: String::new(),
            source_key: String::new(),
            code: Code::snomed("1"),
            term: "HbA1c".into(),
            observable: Some("hba1c".into()),
            value_kind: "quantity".into(),
            value_text: Some(text.into()),
            value_number: Some(value),
            unit: Some(unit.into()),
            value_code: None,
            effective: effective.into(),
            status: "final".into(),
            source: "test".into(),
            unreadable_reason: None,
        }
    }

    #[test]
    fn dates_names_and_numbers_follow_nhs_conventions() {
        assert_eq!(long_date(date!(1950 - 03 - 15)), "15 March 1950");
        assert_eq!(long_date(date!(2026 - 12 - 01)), "1 December 2026");
        assert_eq!(stored_date("2026-01-10T09:30:00Z"), "10 January 2026");
        assert_eq!(stored_date("not a date"), "not a date");
        assert_eq!(stored_time("2026-01-10T09:30:12.5Z"), "10 January 2026 at 09:30 UTC");
        assert_eq!(nhs_number("9434765919"), "943 476 5919");
        assert_eq!(clinical_name("Jones", "Ann"), "JONES, Ann");
        assert_eq!(age(date!(1950 - 06 - 15), date!(2026 - 06 - 14)), "75 years");
        assert_eq!(age(date!(2026 - 01 - 20), date!(2026 - 03 - 19)), "1 month");
    }

    #[test]
    fn values_use_uk_unit_display() {
        assert_eq!(result_value(&result(140.0, "140", "mm[Hg]", "2026-01-01")), "140 mmHg");
        assert_eq!(result_value(&result(27.1, "27.1", "kg/m2", "2026-01-01")), "27.1 kg/m²");
        assert_eq!(result_value(&result(5.0, "5.0", "umol/L", "2026-01-01")), "5.0 µmol/L", "precision kept");
    }

    #[test]
    fn trends_are_stated_in_words() {
        let newer = result(53.0, "53", "mmol/mol", "2026-01-10T09:30:00Z");
        let older = result(48.0, "48", "mmol/mol", "2025-03-03T09:30:00Z");
        assert_eq!(trend(&[newer.clone(), older.clone()]), "Up from 48 mmol/mol on 3 March 2025");
        assert_eq!(trend(&[older.clone(), newer.clone()]), "Down from 53 mmol/mol on 10 January 2026");
        assert_eq!(trend(&[newer.clone(), newer.clone()]), "No change from 53 mmol/mol on 10 January 2026");
        assert_eq!(trend(&[newer]), "No earlier result to compare");
    }

    #[test]
    fn sparklines_draw_oldest_to_newest_within_the_box() {
        let values = [
            result(53.0, "53", "mmol/mol", "2026-01-10"),
            result(48.0, "48", "mmol/mol", "2025-03-03"),
            result(50.0, "50", "mmol/mol", "2024-03-03"),
        ];
        let line = sparkline("HbA1c", &values).unwrap();
        assert_eq!(line.label, "HbA1c, last 3 results from oldest to newest: 50 mmol/mol, 48 mmol/mol, 53 mmol/mol");
        assert_eq!(line.points.split(' ').count(), 3);
        assert_eq!(line.last_y, "4.0", "the highest value is at the top");
        assert!(sparkline("HbA1c", &values[..1]).is_none());
    }
}
