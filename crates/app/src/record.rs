//! Finding a patient and opening their record. Both are audited: a search records that it happened
//! (not its terms, which may identify someone); opening a record records whose record was read.

use concord_domain::access::{Permission, StaffRole};
use concord_domain::audit::{Actor, AuditAction};
use concord_domain::nhs_number::NhsNumber;
use concord_domain::record::Condition;
use concord_store::{
    ConditionRow, EncounterRow, MedicationRow, NewAuditEvent, ObservationRow, PatientListing, PatientRow, PatientSearch,
};
use time::Date;

use crate::{AppError, Concord};

/// Who is asking, as established by sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: StaffRole,
    pub organisation: Option<String>,
}

impl StaffMember {
    pub fn actor(&self) -> Actor {
        Actor::User { username: self.username.clone(), role: self.role.as_str().to_owned() }
    }

    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.role.permits(permission) { Ok(()) } else { Err(AppError::Forbidden("your role does not allow this")) }
    }
}

/// What a search form sends, before validation.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub name: String,
    pub nhs_number: String,
    pub birth_date: Option<Date>,
}

/// One latest result per observable, with the earlier values for a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultSeries {
    pub observable: String,
    pub name: String,
    /// Newest first.
    pub values: Vec<ObservationRow>,
}

/// Everything the patient summary page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientSummary {
    pub patient: PatientRow,
    pub registers: Vec<(String, String)>,
    pub conditions: Vec<ConditionRow>,
    pub results: Vec<ResultSeries>,
    /// Results that could not be read at import but could raise a red flag.
    pub unreadable_results: Vec<ObservationRow>,
    pub medications: Vec<MedicationRow>,
    pub encounters: Vec<EncounterRow>,
}

impl Concord {
    /// Searches for patients. At least one criterion is needed; a malformed NHS number is refused
    /// with the reason rather than searched for.
    pub async fn search_patients(
        &self,
        staff: &StaffMember,
        request: &SearchRequest,
        request_id: Option<String>,
    ) -> Result<Vec<PatientListing>, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let name = request.name.trim();
        let number = request.nhs_number.trim();
        if name.is_empty() && number.is_empty() && request.birth_date.is_none() {
            return Err(AppError::Invalid("Enter a name, NHS number or date of birth".into()));
        }
        let nhs_number = if number.is_empty() {
            None
        } else {
            Some(NhsNumber::parse(number).map_err(|error| AppError::Invalid(format!("NHS number: {error}")))?)
        };
        let search = PatientSearch {
            name: (!name.is_empty()).then(|| name.to_owned()),
            nhs_number,
            birth_date: request.birth_date,
            practice: None,
        };
        let found = self.store.search_patients(&search, 50).await?;
        self.store
            .record_audit(&[NewAuditEvent {
                actor: staff.actor(),
                organisation: staff.organisation.clone(),
                patient_id: None,
                action: AuditAction::Search,
                entity: "PatientSearch".into(),
                detail: format!("{} result(s)", found.len()),
                request_id,
                purpose: None,
            }])
            .await?;
        Ok(found)
    }

    /// Opens a patient's summary, auditing the read before returning anything.
    pub async fn patient_summary(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        today: Date,
        request_id: Option<String>,
    ) -> Result<PatientSummary, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let Some(patient) = self.store.patient(patient_id).await? else {
            return Err(AppError::NotFound("No patient record was found".into()));
        };
        self.store
            .record_audit(&[NewAuditEvent {
                actor: staff.actor(),
                organisation: staff.organisation.clone(),
                patient_id: Some(patient.id.clone()),
                action: AuditAction::Read,
                entity: "PatientSummary".into(),
                detail: "patient summary viewed".into(),
                request_id,
                purpose: None,
            }])
            .await?;
        let conditions = self.store.conditions(patient_id).await?;
        let domain_conditions: Vec<Condition> = conditions.iter().map(|row| row.condition.clone()).collect();
        let registers = self.registers_for(&patient.patient, &domain_conditions, today);
        let observations = self.store.observations(patient_id).await?;
        let mut results: Vec<ResultSeries> = Vec::new();
        let mut unreadable_results = Vec::new();
        for observation in observations {
            if observation.value_kind == "unreadable" {
                unreadable_results.push(observation);
                continue;
            }
            let Some(observable) = observation.observable.clone() else { continue };
            match results.iter_mut().find(|series| series.observable == observable) {
                Some(series) => series.values.push(observation),
                None => {
                    let name = self
                        .catalogue
                        .observable(&observable)
                        .map_or_else(|| observable.clone(), |definition| definition.name.clone());
                    results.push(ResultSeries { observable, name, values: vec![observation] });
                }
            }
        }
        // Keep the catalogue's order (HbA1c, blood pressure, …) so every summary reads the same way.
        results.sort_by_key(|series| {
            self.catalogue
                .observables
                .iter()
                .position(|definition| definition.id == series.observable)
                .unwrap_or(usize::MAX)
        });
        Ok(PatientSummary {
            patient,
            registers,
            conditions,
            results,
            unreadable_results,
            medications: self.store.medications(patient_id).await?,
            encounters: self.store.encounters(patient_id).await?,
        })
    }
}

impl Concord {
    /// Results that could raise a red flag but could not be read at import, for clinicians to
    /// check. The list can identify people (file locations, source keys), so reading it is audited.
    pub async fn unreadable_results(
        &self,
        staff: &StaffMember,
        request_id: Option<String>,
    ) -> Result<Vec<concord_store::RejectionRow>, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let rows = self.store.unreviewed_red_flag_rejections().await?;
        self.record_read(staff, "UnreadableResultsList", format!("{} result(s) listed", rows.len()), request_id)
            .await?;
        Ok(rows)
    }

    /// The most recent audit events, for the privacy officer. Reading the trail is itself audited.
    pub async fn audit_trail(
        &self,
        staff: &StaffMember,
        limit: i64,
        request_id: Option<String>,
    ) -> Result<Vec<concord_store::AuditEntry>, AppError> {
        staff.require(Permission::ViewAudit)?;
        let events =
            self.store.audit_events(&concord_store::AuditFilter { limit: Some(limit), ..Default::default() }).await?;
        self.record_read(staff, "AuditTrail", format!("{} event(s) listed", events.len()), request_id).await?;
        Ok(events)
    }

    /// Writes one audit event for something done outside the store's own audited writes (a read,
    /// a list, a sign-in).
    pub(crate) async fn audit(
        &self,
        actor: concord_domain::audit::Actor,
        organisation: Option<String>,
        patient_id: Option<&str>,
        action: AuditAction,
        entity: &str,
        detail: String,
    ) -> Result<(), AppError> {
        self.store
            .record_audit(&[NewAuditEvent {
                actor,
                organisation,
                patient_id: patient_id.map(str::to_owned),
                action,
                entity: entity.into(),
                detail,
                request_id: None,
                purpose: None,
            }])
            .await?;
        Ok(())
    }

    /// Audits what a staff member did with one person's record (a read or a change made outside
    /// the store's own audited writes).
    pub(crate) async fn audit_person(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        action: AuditAction,
        entity: &str,
        detail: String,
    ) -> Result<(), AppError> {
        self.audit(staff.actor(), staff.organisation.clone(), Some(patient_id), action, entity, detail).await
    }

    async fn record_read(
        &self,
        staff: &StaffMember,
        entity: &str,
        detail: String,
        request_id: Option<String>,
    ) -> Result<(), AppError> {
        self.store
            .record_audit(&[NewAuditEvent {
                actor: staff.actor(),
                organisation: staff.organisation.clone(),
                patient_id: None,
                action: AuditAction::Read,
                entity: entity.into(),
                detail,
                request_id,
                purpose: None,
            }])
            .await?;
        Ok(())
    }
}
