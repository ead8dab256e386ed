//! The clinical record Concord imports from the GP system: conditions, observations (results and
//! measurements), medications "as at" an extract date, and encounters.

use time::{Date, OffsetDateTime};

use crate::code::CodedConcept;
use crate::units::Ucum;

/// FHIR Condition clinical status, reduced to what registers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionStatus {
    Active,
    /// Inactive, in remission or resolved: the condition no longer puts the person on a register.
    Resolved,
    /// Recorded in error; never counts for anything.
    EnteredInError,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Resolved => "resolved",
            Self::EnteredInError => "entered-in-error",
        }
    }

    /// Maps FHIR clinicalStatus / verificationStatus codes.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" | "recurrence" | "relapse" => Some(Self::Active),
            "inactive" | "remission" | "resolved" => Some(Self::Resolved),
            "entered-in-error" | "refuted" => Some(Self::EnteredInError),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub concept: CodedConcept,
    pub onset: Option<Date>,
    /// Date the condition resolved (FHIR abatement); implies [`ConditionStatus::Resolved`].
    pub resolved: Option<Date>,
    pub status: ConditionStatus,
    /// Date the code was entered in the record; registers use it when onset is absent.
    pub recorded: Option<Date>,
}

impl Condition {
    /// The date that places this code in time for register rules: onset, else recorded date.
    pub fn effective_date(&self) -> Option<Date> {
        self.onset.or(self.recorded)
    }
}

/// FHIR Observation status. `Amended` and `Corrected` replace an earlier value;
/// `EnteredInError` keeps the row (for audit) but it is never shown as a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObservationStatus {
    Registered,
    Preliminary,
    Final,
    Amended,
    Corrected,
    Cancelled,
    EnteredInError,
    Unknown,
}

impl ObservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Preliminary => "preliminary",
            Self::Final => "final",
            Self::Amended => "amended",
            Self::Corrected => "corrected",
            Self::Cancelled => "cancelled",
            Self::EnteredInError => "entered-in-error",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "registered" => Self::Registered,
            "preliminary" => Self::Preliminary,
            "final" => Self::Final,
            "amended" => Self::Amended,
            "corrected" => Self::Corrected,
            "cancelled" => Self::Cancelled,
            "entered-in-error" => Self::EnteredInError,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    /// Whether a result with this status may be shown or counted as the person's value.
    pub fn is_usable(self) -> bool {
        matches!(self, Self::Final | Self::Amended | Self::Corrected | Self::Preliminary | Self::Unknown)
    }
}

/// A numeric value kept as the decimal text it arrived with (FHIR decimals keep their precision:
/// `5.0` is not `5`) plus a parsed copy for comparison and charts, in the observable's canonical unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub value_text: String,
    pub value: f64,
    pub unit: Ucum,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ObservationValue {
    Quantity(Quantity),
    Coded(CodedConcept),
    Text(String),
    /// A coded finding with no value, e.g. "Ex-smoker" recorded as the observation code itself.
    None,
}

/// Where a result came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultSource {
    /// Imported from the GP clinical system or a laboratory extract (named system).
    Imported(String),
    /// Recorded in Concord (e.g. at the information-gathering appointment).
    Concord,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub concept: CodedConcept,
    /// Concord's observable id when the code is understood (e.g. `"hba1c"`, `"systolic_bp"`).
    pub observable: Option<String>,
    pub value: ObservationValue,
    pub effective: OffsetDateTime,
    pub status: ObservationStatus,
    pub source: ResultSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MedicationStatus {
    Active,
    Stopped,
    Unknown,
}

impl MedicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Stopped => "stopped",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" | "intended" | "on-hold" => Some(Self::Active),
            "stopped" | "completed" | "cancelled" | "not-taken" | "entered-in-error" | "revoked" => Some(Self::Stopped),
            "unknown" | "draft" => Some(Self::Unknown),
            _ => None,
        }
    }
}

/// A medication on the GP system's list. The GP system stays the legal record of prescribing, so
/// Concord shows this list "as at" the date of the extract it came from, never as current truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Medication {
    pub concept: CodedConcept,
    pub dosage: Option<String>,
    pub status: MedicationStatus,
    pub authored: Option<Date>,
    pub as_at: Date,
}

/// Where a contact took place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncounterSetting {
    Surgery,
    Telephone,
    Video,
    HomeVisit,
    OutOfHours,
    Emergency,
    Inpatient,
    Other,
}

impl EncounterSetting {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Surgery => "surgery",
            Self::Telephone => "telephone",
            Self::Video => "video",
            Self::HomeVisit => "home-visit",
            Self::OutOfHours => "out-of-hours",
            Self::Emergency => "emergency",
            Self::Inpatient => "inpatient",
            Self::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "surgery" => Self::Surgery,
            "telephone" => Self::Telephone,
            "video" => Self::Video,
            "home-visit" => Self::HomeVisit,
            "out-of-hours" => Self::OutOfHours,
            "emergency" => Self::Emergency,
            "inpatient" => Self::Inpatient,
            "other" => Self::Other,
            _ => return None,
        })
    }
}

/// Who the person saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clinician {
    Gp,
    Nurse,
    HealthcareAssistant,
    Pharmacist,
    Other,
    /// Not stated by the extract (common in FHIR exports without PractitionerRole).
    Unknown,
}

impl Clinician {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gp => "gp",
            Self::Nurse => "nurse",
            Self::HealthcareAssistant => "hca",
            Self::Pharmacist => "pharmacist",
            Self::Other => "other",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "gp" | "doctor" => Self::Gp,
            "nurse" => Self::Nurse,
            "hca" | "healthcare assistant" => Self::HealthcareAssistant,
            "pharmacist" => Self::Pharmacist,
            "other" => Self::Other,
            "unknown" | "" => Self::Unknown,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncounterStatus {
    Attended,
    DidNotAttend,
    Cancelled,
    Booked,
}

impl EncounterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attended => "attended",
            Self::DidNotAttend => "did-not-attend",
            Self::Cancelled => "cancelled",
            Self::Booked => "booked",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "attended" | "finished" | "fulfilled" | "arrived" | "checked-in" | "in-progress" => Self::Attended,
            "did-not-attend" | "noshow" | "no-show" => Self::DidNotAttend,
            "cancelled" | "entered-in-error" => Self::Cancelled,
            "booked" | "planned" | "pending" | "proposed" => Self::Booked,
            _ => return None,
        })
    }
}

/// An appointment or encounter, imported from the GP system's appointment book or record.
#[derive(Debug, Clone, PartialEq)]
pub struct Encounter {
    pub start: OffsetDateTime,
    pub setting: EncounterSetting,
    pub clinician: Clinician,
    pub status: EncounterStatus,
    /// The reason or type code, when the extract gives one.
    pub kind: Option<CodedConcept>,
    /// Explicitly planned (booked as a review/recall) or not, when the source says so.
    pub planned: Option<bool>,
    /// When the booking was made; a booking two or more days ahead counts as planned.
    pub booked_at: Option<OffsetDateTime>,
    /// One of Concord's own Year of Care contacts (information gathering or conversation).
    pub year_of_care_contact: bool,
}

/// The documented rule for an **unscheduled GP contact** (see `docs/unscheduled-contacts.md`):
/// an attended contact in the practice's own settings (surgery, telephone, video, home visit) with
/// a GP or an unstated clinician, that was not planned. A contact is planned when the source marks it
/// so, when its type code is on the planned-contact codelist (`is_planned_kind`), or when it was
/// booked at least two days ahead. Year of Care contacts are never unscheduled.
pub fn is_unscheduled_gp_contact(encounter: &Encounter, is_planned_kind: impl Fn(&CodedConcept) -> bool) -> bool {
    if encounter.year_of_care_contact || encounter.status != EncounterStatus::Attended {
        return false;
    }
    let in_practice = matches!(
        encounter.setting,
        EncounterSetting::Surgery | EncounterSetting::Telephone | EncounterSetting::Video | EncounterSetting::HomeVisit
    );
    let with_gp = matches!(encounter.clinician, Clinician::Gp | Clinician::Unknown);
    if !in_practice || !with_gp {
        return false;
    }
    let planned = encounter.planned.unwrap_or(false)
        || encounter.kind.as_ref().is_some_and(&is_planned_kind)
        || encounter.booked_at.is_some_and(|booked| (encounter.start - booked) >= time::Duration::days(2));
    !planned
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::code::Code;

    fn contact() -> Encounter {
        Encounter {
            start: datetime!(2026-03-10 09:00 UTC),
            setting: EncounterSetting::Surgery,
            clinician: Clinician::Gp,
            status: EncounterStatus::Attended,
            kind: None,
            planned: None,
            booked_at: None,
            year_of_care_contact: false,
        }
    }

    fn review_codes(concept: &CodedConcept) -> bool {
        concept.code.code == "394703002"
    }

    #[test]
    fn a_same_day_gp_appointment_is_unscheduled() {
        let mut encounter = contact();
        encounter.booked_at = Some(datetime!(2026-03-10 08:01 UTC));
        assert!(is_unscheduled_gp_contact(&encounter, review_codes));
    }

    #[test]
    fn planned_reviews_and_year_of_care_contacts_are_not_counted() {
        let mut booked_ahead = contact();
        booked_ahead.booked_at = Some(datetime!(2026-02-20 12:00 UTC));
        assert!(!is_unscheduled_gp_contact(&booked_ahead, review_codes));

        let mut review = contact();
        review.kind = Some(CodedConcept { code: Code::snomed("394703002"), term: "COPD annual review".into() });
        assert!(!is_unscheduled_gp_contact(&review, review_codes));

        let mut year_of_care = contact();
        year_of_care.year_of_care_contact = true;
        assert!(!is_unscheduled_gp_contact(&year_of_care, review_codes));
    }

    #[test]
    fn other_settings_clinicians_and_missed_appointments_are_not_counted() {
        let mut nurse = contact();
        nurse.clinician = Clinician::Nurse;
        assert!(!is_unscheduled_gp_contact(&nurse, review_codes));
        let mut emergency = contact();
        emergency.setting = EncounterSetting::Emergency;
        assert!(!is_unscheduled_gp_contact(&emergency, review_codes));
        let mut missed = contact();
        missed.status = EncounterStatus::DidNotAttend;
        assert!(!is_unscheduled_gp_contact(&missed, review_codes));
        let mut telephone_unknown_clinician = contact();
        telephone_unknown_clinician.setting = EncounterSetting::Telephone;
        telephone_unknown_clinician.clinician = Clinician::Unknown;
        assert!(is_unscheduled_gp_contact(&telephone_unknown_clinician, review_codes));
    }
}
