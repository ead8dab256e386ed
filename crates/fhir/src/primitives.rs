//! FHIR primitive types whose JSON form needs care: `decimal` (keeps its written precision),
//! `date`, `dateTime` (both may be partial) and `instant`.
//!
//! Parsing is strict to the FHIR R4 grammar: a malformed value is an error naming what was
//! expected, never a guess. Nothing here panics on any input.

use std::fmt;

use serde::de::{self, Unexpected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

/// A FHIR `decimal`, kept as the text it was written with: `5.0` is not `5` (precision is data).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// Accepts JSON number syntax only (`-12.50`, `1e3`); anything else is refused.
    pub fn parse(text: &str) -> Option<Self> {
        is_json_number(text).then(|| Self(text.to_owned()))
    }

    /// The decimal as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as a float, for comparison and conversion (always finite for valid decimals
    /// that fit; `None` for overflow such as `1e400`).
    pub fn to_f64(&self) -> Option<f64> {
        self.0.parse::<f64>().ok().filter(|value| value.is_finite())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = 0;
    let digits = |index: &mut usize| {
        let start = *index;
        while bytes.get(*index).is_some_and(u8::is_ascii_digit) {
            *index += 1;
        }
        *index > start
    };
    if bytes.get(index) == Some(&b'-') {
        index += 1;
    }
    match bytes.get(index) {
        Some(b'0') => index += 1,
        Some(b'1'..=b'9') => {
            digits(&mut index);
        }
        _ => return false,
    }
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        if !digits(&mut index) {
            return false;
        }
    }
    if matches!(bytes.get(index), Some(b'e' | b'E')) {
        index += 1;
        if matches!(bytes.get(index), Some(b'+' | b'-')) {
            index += 1;
        }
        if !digits(&mut index) {
            return false;
        }
    }
    index == bytes.len()
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The raw JSON text keeps trailing zeros that a float would lose.
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get().trim();
        if is_json_number(text) {
            return Ok(Self(text.to_owned()));
        }
        let unexpected = match text.as_bytes().first() {
            Some(b'"') => Unexpected::Other("a string (FHIR decimals are JSON numbers)"),
            Some(b't' | b'f') => Unexpected::Other("a boolean"),
            Some(b'n') => Unexpected::Other("null"),
            Some(b'{') => Unexpected::Map,
            Some(b'[') => Unexpected::Seq,
            _ => Unexpected::Other("a malformed value"),
        };
        Err(de::Error::invalid_type(unexpected, &"a decimal number"))
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// Why a date, dateTime or instant was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a valid FHIR {kind} ({expected})")]
pub struct DateTimeError {
    pub text: String,
    pub kind: &'static str,
    pub expected: &'static str,
}

const DATE_FORMS: &str = "YYYY, YYYY-MM or YYYY-MM-DD";
const DATE_TIME_FORMS: &str = "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with Z or an offset";
const INSTANT_FORMS: &str = "YYYY-MM-DDThh:mm:ss with Z or an offset";

/// A FHIR `date`: a year, a year and month, or a full date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FhirDate {
    Year(i32),
    YearMonth(i32, Month),
    Day(Date),
}

impl FhirDate {
    pub fn parse(text: &str) -> Result<Self, DateTimeError> {
        parse_date_part(text).ok_or_else(|| DateTimeError { text: text.to_owned(), kind: "date", expected: DATE_FORMS })
    }

    /// The full date, when the value is precise to the day.
    pub fn full(self) -> Option<Date> {
        match self {
            Self::Day(date) => Some(date),
            Self::Year(_) | Self::YearMonth(..) => None,
        }
    }

    /// The first day the value covers (`2010` gives 1 January 2010).
    pub fn earliest(self) -> Date {
        let (year, month, day) = match self {
            Self::Year(year) => (year, Month::January, 1),
            Self::YearMonth(year, month) => (year, month, 1),
            Self::Day(date) => return date,
        };
        // Years are 1..=9999 by construction, so the first of any month exists.
        Date::from_calendar_date(year, month, day).unwrap_or(Date::MIN)
    }
}

impl fmt::Display for FhirDate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Year(year) => write!(formatter, "{year:04}"),
            Self::YearMonth(year, month) => write!(formatter, "{year:04}-{:02}", *month as u8),
            Self::Day(date) => write!(formatter, "{:04}-{:02}-{:02}", date.year(), date.month() as u8, date.day()),
        }
    }
}

/// A FHIR `dateTime`: a partial or full date, or a moment with its UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FhirDateTime {
    Date(FhirDate),
    Moment(OffsetDateTime),
}

impl FhirDateTime {
    pub fn parse(text: &str) -> Result<Self, DateTimeError> {
        let error = || DateTimeError { text: text.to_owned(), kind: "dateTime", expected: DATE_TIME_FORMS };
        if text.contains('T') {
            parse_moment(text).map(Self::Moment).ok_or_else(error)
        } else {
            parse_date_part(text).map(Self::Date).ok_or_else(error)
        }
    }

    /// The calendar date as recorded (for a moment, the date in its own offset), or the first
    /// day of a partial date.
    pub fn earliest_date(self) -> Date {
        match self {
            Self::Date(date) => date.earliest(),
            Self::Moment(moment) => moment.date(),
        }
    }

    /// The full calendar date, when the value is precise to the day or better.
    pub fn full_date(self) -> Option<Date> {
        match self {
            Self::Date(date) => date.full(),
            Self::Moment(moment) => Some(moment.date()),
        }
    }

    /// A moment: the value itself, or midnight UTC at the start of a (partial) date.
    pub fn earliest_moment(self) -> OffsetDateTime {
        match self {
            Self::Date(date) => date.earliest().midnight().assume_utc(),
            Self::Moment(moment) => moment,
        }
    }
}

impl fmt::Display for FhirDateTime {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Date(date) => date.fmt(formatter),
            Self::Moment(moment) => format_moment(*moment, formatter),
        }
    }
}

/// A FHIR `instant`: a moment precise to at least the second, with its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FhirInstant(pub OffsetDateTime);

impl FhirInstant {
    pub fn parse(text: &str) -> Result<Self, DateTimeError> {
        parse_moment(text).map(Self).ok_or_else(|| DateTimeError {
            text: text.to_owned(),
            kind: "instant",
            expected: INSTANT_FORMS,
        })
    }
}

impl fmt::Display for FhirInstant {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_moment(self.0, formatter)
    }
}

fn format_moment(moment: OffsetDateTime, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
    match moment.format(&Rfc3339) {
        Ok(text) => formatter.write_str(&text),
        Err(_) => Err(fmt::Error),
    }
}

fn digits_value(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    bytes.iter().try_fold(0u32, |total, digit| total.checked_mul(10)?.checked_add(u32::from(digit - b'0')))
}

fn parse_date_part(text: &str) -> Option<FhirDate> {
    let bytes = text.as_bytes();
    let year = i32::try_from(digits_value(bytes.get(..4)?)?).ok().filter(|year| *year >= 1)?;
    match bytes.len() {
        4 => Some(FhirDate::Year(year)),
        7 if bytes[4] == b'-' => {
            let month = Month::try_from(u8::try_from(digits_value(&bytes[5..7])?).ok()?).ok()?;
            Some(FhirDate::YearMonth(year, month))
        }
        10 if bytes[4] == b'-' && bytes[7] == b'-' => {
            let month = Month::try_from(u8::try_from(digits_value(&bytes[5..7])?).ok()?).ok()?;
            let day = u8::try_from(digits_value(&bytes[8..10])?).ok()?;
            Date::from_calendar_date(year, month, day).ok().map(FhirDate::Day)
        }
        _ => None,
    }
}

/// `YYYY-MM-DDThh:mm:ss(.fraction)?(Z|+hh:mm|-hh:mm)`.
fn parse_moment(text: &str) -> Option<OffsetDateTime> {
    let bytes = text.as_bytes();
    let date = parse_date_part(text.get(..10)?)?.full()?;
    let rest = bytes.get(10..)?;
    let (time, offset_bytes) = parse_time(rest.strip_prefix(b"T")?)?;
    let offset = parse_offset(offset_bytes)?;
    Some(date.with_time(time).assume_offset(offset))
}

/// `hh:mm:ss(.fraction)?` followed by whatever remains (the offset).
fn parse_time(bytes: &[u8]) -> Option<(Time, &[u8])> {
    if bytes.len() < 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let hour = u8::try_from(digits_value(&bytes[0..2])?).ok()?;
    let minute = u8::try_from(digits_value(&bytes[3..5])?).ok()?;
    let second = u8::try_from(digits_value(&bytes[6..8])?).ok()?;
    let mut rest = &bytes[8..];
    let mut nanosecond = 0u32;
    if let Some(after_point) = rest.strip_prefix(b".") {
        let count = after_point.iter().take_while(|byte| byte.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        // Keep nanosecond precision; further digits are beyond what can be represented.
        let kept = &after_point[..count.min(9)];
        nanosecond = digits_value(kept)? * 10u32.pow(9 - kept.len() as u32);
        rest = &after_point[count..];
    }
    Some((Time::from_hms_nano(hour, minute, second, nanosecond).ok()?, rest))
}

fn parse_offset(bytes: &[u8]) -> Option<UtcOffset> {
    match bytes {
        b"Z" => Some(UtcOffset::UTC),
        [sign @ (b'+' | b'-'), hours @ ..] if hours.len() == 5 && hours[2] == b':' => {
            let hours_value = i8::try_from(digits_value(&hours[0..2])?).ok().filter(|hours| *hours <= 14)?;
            let minutes_value = i8::try_from(digits_value(&hours[3..5])?).ok().filter(|minutes| *minutes <= 59)?;
            let direction = if *sign == b'-' { -1 } else { 1 };
            UtcOffset::from_hms(direction * hours_value, direction * minutes_value, 0).ok()
        }
        _ => None,
    }
}

macro_rules! text_serde {
    ($type:ty, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct TextVisitor;
                impl de::Visitor<'_> for TextVisitor {
                    type Value = $type;
                    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                        formatter.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                        <$type>::parse(text).map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(TextVisitor)
            }
        }

        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    };
}

text_serde!(FhirDate, "a FHIR date string");
text_serde!(FhirDateTime, "a FHIR dateTime string");
text_serde!(FhirInstant, "a FHIR instant string");

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn decimals_keep_their_written_precision() {
        let decimal: Decimal = serde_json::from_str("5.0").unwrap();
        assert_eq!(decimal.as_str(), "5.0");
        assert_eq!(decimal.to_f64(), Some(5.0));
        assert_eq!(serde_json::to_string(&decimal).unwrap(), "5.0");
        assert!(serde_json::from_str::<Decimal>("\"5.0\"").unwrap_err().to_string().contains("a string"));
        for bad in ["", "-", "01", "1.", ".5", "1e", "+1", "1.0.0", "NaN"] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
        for good in ["0", "-0.5", "12.50", "1e3", "1.5E-2"] {
            assert!(Decimal::parse(good).is_some(), "{good}");
        }
    }

    #[test]
    fn dates_may_be_partial_but_must_be_real() {
        assert_eq!(FhirDate::parse("2010").unwrap().earliest(), date!(2010 - 01 - 01));
        assert_eq!(FhirDate::parse("2010-06").unwrap().earliest(), date!(2010 - 06 - 01));
        assert_eq!(FhirDate::parse("2024-02-29").unwrap().full(), Some(date!(2024 - 02 - 29)));
        for bad in ["2023-02-29", "2020-13-01", "2020-1-01", "20-01-01", "0000", "2020-01-01T", "２０２０", ""] {
            assert!(FhirDate::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(FhirDate::parse("2010-06").unwrap().to_string(), "2010-06");
    }

    #[test]
    fn date_times_need_an_offset_when_they_have_a_time() {
        let moment = FhirDateTime::parse("2015-04-05T10:21:48+01:00").unwrap();
        assert_eq!(moment.earliest_moment(), datetime!(2015-04-05 09:21:48 UTC));
        assert_eq!(moment.earliest_date(), date!(2015 - 04 - 05));
        assert_eq!(
            FhirDateTime::parse("2020-01-01T00:00:00.123456789123Z").unwrap().earliest_moment(),
            datetime!(2020-01-01 00:00:00.123456789 UTC)
        );
        assert_eq!(FhirDateTime::parse("2020-03").unwrap().earliest_moment(), datetime!(2020-03-01 00:00 UTC));
        for bad in ["2020-01-01T10:00:00", "2020-01-01T10:00Z", "2020-01-01T25:00:00Z", "2020-01-01T10:00:00+15:00"] {
            assert!(FhirDateTime::parse(bad).is_err(), "{bad}");
        }
        assert!(FhirInstant::parse("2020-01-01").is_err());
        assert_eq!(
            serde_json::to_string(&FhirDateTime::parse("2015-04-05T10:21:48+01:00").unwrap()).unwrap(),
            "\"2015-04-05T10:21:48+01:00\""
        );
    }

    #[test]
    fn a_bad_date_names_the_expected_forms() {
        let error = serde_json::from_str::<FhirDate>("\"2020-13-45\"").unwrap_err().to_string();
        assert!(error.contains("\"2020-13-45\" is not a valid FHIR date"), "{error}");
    }
}
