//! The person: demographics, registration with a practice, contact preferences and needs.

use time::Date;

use crate::nhs_number::{NhsNumber, NhsNumberVerification};
use crate::organisation::OdsCode;

/// Administrative gender as FHIR and the NHS exchange it (`male | female | other | unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
    Other,
    Unknown,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
            Self::Other => "other",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "male" | "m" | "1" => Some(Self::Male),
            "female" | "f" | "2" => Some(Self::Female),
            "other" | "9" => Some(Self::Other),
            "unknown" | "u" | "0" | "" => Some(Self::Unknown),
            _ => None,
        }
    }
}

/// How the person prefers to be contacted; letters are always possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactChannel {
    Letter,
    Email,
    Sms,
    Phone,
}

impl ContactChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Letter => "letter",
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Phone => "phone",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "letter" | "post" | "mail" => Some(Self::Letter),
            "email" => Some(Self::Email),
            "sms" | "text" => Some(Self::Sms),
            "phone" | "telephone" => Some(Self::Phone),
            _ => None,
        }
    }
}

/// A local identifier from the source system (EMIS/SystmOne patient id, a FHIR resource id).
/// Every patient has at least one, so a patient without an NHS number is still identifiable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalIdentifier {
    pub system: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName {
    pub prefix: Option<String>,
    pub given: String,
    pub family: String,
}

impl PersonName {
    /// "FAMILY, Given" as NHS clinical screens show names, reducing wrong-patient selection.
    pub fn clinical_display(&self) -> String {
        format!("{}, {}", self.family.to_uppercase(), self.given)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub lines: Vec<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub practice: OdsCode,
    pub start: Option<Date>,
    pub end: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactDetails {
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub preferred_channel: Option<ContactChannel>,
}

/// Communication and accessibility needs (NHS Accessible Information Standard), as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommunicationNeeds {
    /// Preferred spoken or written language, e.g. `"Bengali"`, when not English.
    pub language: Option<String>,
    pub interpreter_needed: bool,
    /// Free statements such as "large print", "easy read", "BSL interpreter".
    pub needs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    pub nhs_number: Option<NhsNumber>,
    pub nhs_number_verification: Option<NhsNumberVerification>,
    pub local_identifiers: Vec<LocalIdentifier>,
    pub name: PersonName,
    pub birth_date: Date,
    pub sex: Sex,
    pub address: Address,
    pub death_date: Option<Date>,
    pub registration: Option<Registration>,
    pub contact: ContactDetails,
    pub communication: CommunicationNeeds,
}

impl Patient {
    /// Age in completed years on `on`.
    pub fn age_on(&self, on: Date) -> i32 {
        age_on(self.birth_date, on)
    }

    /// Alive on `on` (no date of death, or death after it).
    pub fn is_alive_on(&self, on: Date) -> bool {
        self.death_date.is_none_or(|death| death > on)
    }

    /// Registered with a practice on `on`: started on or before it, not ended before it.
    pub fn is_registered_on(&self, on: Date) -> bool {
        self.registration.as_ref().is_some_and(|registration| {
            registration.start.is_none_or(|start| start <= on) && registration.end.is_none_or(|end| end >= on)
        })
    }
}

/// Completed years between a date of birth and a date (birthdays on 29 February fall on 1 March).
pub fn age_on(birth_date: Date, on: Date) -> i32 {
    let mut years = on.year() - birth_date.year();
    if (on.month() as u8, on.day()) < (birth_date.month() as u8, birth_date.day()) {
        years -= 1;
    }
    years
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn age_counts_completed_years() {
        assert_eq!(age_on(date!(1950 - 06 - 15), date!(2026 - 06 - 14)), 75);
        assert_eq!(age_on(date!(1950 - 06 - 15), date!(2026 - 06 - 15)), 76);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2025 - 02 - 28)), 16);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2025 - 03 - 01)), 17);
    }

    #[test]
    fn sex_accepts_fhir_and_extract_spellings() {
        assert_eq!(Sex::parse("Female"), Some(Sex::Female));
        assert_eq!(Sex::parse("M"), Some(Sex::Male));
        assert_eq!(Sex::parse("robot"), None);
    }
}
