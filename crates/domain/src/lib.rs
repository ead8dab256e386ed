//! Concord's domain core: the patient record and the clinical rules that apply to it.
//!
//! Architecture invariant: this crate does no IO. It reads no clock (callers pass the date), touches
//! no database, file, network or environment, and knows nothing of SQL, HTTP, HTML or FHIR JSON.
//! Everything here is deterministic and unit-tested in isolation.

pub mod access;
pub mod audit;
pub mod care_process;
pub mod check_in;
pub mod code;
pub mod codelist;
pub mod criterion;
pub mod cycle;
pub mod document;
pub mod linked_plan;
pub mod nhs_number;
pub mod online_access;
pub mod organisation;
pub mod outcomes;
pub mod patient;
pub mod plan;
pub mod preparation;
pub mod record;
pub mod red_flag;
pub mod result_story;
pub mod risk;
pub mod sharing;
pub mod snapshot;
pub mod survey;
pub mod target;
pub mod uk_time;
pub mod units;
pub mod visit;

pub use code::{Code, CodeSystem, CodedConcept};
pub use nhs_number::{NhsNumber, NhsNumberError, NhsNumberVerification};
pub use organisation::{OdsCode, Organisation, OrganisationKind};
pub use patient::Patient;
