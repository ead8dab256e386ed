//! The read-only view of a person's plan for clinicians of partner organisations (community and
//! hospital services), and the practice privacy officer's review of break-glass access.
//!
//! Invariants: a partner clinician sees a plan only while `organisation_access` allows it
//! (consent, care team, or their organisation's live break-glass); what they are told about an
//! NHS number is the same whether the person is unknown or simply not sharing with them, until
//! they break the glass; every read is audited with its purpose.

use concord_domain::access::Permission;
use concord_domain::audit::AuditAction;
use concord_domain::document::Document;
use time::OffsetDateTime;

use crate::record::StaffMember;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// What a partner clinician's search by NHS number found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedSearch {
    /// A person whose plan the clinician's organisation may see, and why.
    Found { patient_id: String, name: String, birth_date: String, purpose: String },
    /// Nobody they may see (unknown, or not sharing with them: never said which).
    NotShared,
}

/// A person's plan as a partner clinician reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedPlan {
    pub name: String,
    pub nhs_number: Option<String>,
    pub birth_date: String,
    pub version: i64,
    pub status: String,
    /// The plan, "If things get worse" first.
    pub document: Document,
    /// Why this clinician may see it ("shared care: consent", "break-glass: …").
    pub purpose: String,
    /// Plans from other services linked into the overarching plan, after the person's own.
    pub linked: Vec<concord_store::LinkedPlanRow>,
}

/// One break-glass access, for the privacy officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassEntry {
    pub row: concord_store::BreakGlassRow,
    pub person: String,
    pub nhs_number: Option<String>,
}

impl Concord {
    /// The partner organisation of a partner clinician.
    async fn partner_organisation(&self, staff: &StaffMember) -> Result<String, AppError> {
        staff.require(Permission::ViewSharedPlans)?;
        let organisation = staff.organisation.clone().ok_or(AppError::Forbidden("no organisation"))?;
        let kind = self
            .store
            .organisations()
            .await?
            .into_iter()
            .find(|(code, ..)| *code == organisation)
            .map(|(_, _, kind, _)| kind);
        if kind.as_deref() != Some("partner") {
            return Err(AppError::Forbidden("the account's organisation is not a partner organisation"));
        }
        Ok(organisation)
    }

    /// Finds the person with this NHS number, if their plan is shared with the clinician's
    /// organisation. Audited (without the number).
    pub async fn shared_search(&self, staff: &StaffMember, nhs_number: &str) -> Result<SharedSearch, AppError> {
        let organisation = self.partner_organisation(staff).await?;
        let Ok(number) = concord_domain::NhsNumber::parse(nhs_number) else {
            return Err(AppError::Invalid(format!(
                "nhs_number: {:?} is not a valid NHS number (10 digits, with a correct check digit)",
                nhs_number.trim()
            )));
        };
        let found = self
            .store
            .search_patients(&concord_store::PatientSearch { nhs_number: Some(number), ..Default::default() }, 2)
            .await?;
        let mut outcome = SharedSearch::NotShared;
        for person in found {
            let plan = self.load_plan(&person.id, None).await?;
            if plan.is_none() {
                continue;
            }
            if let Some(purpose) = self.organisation_access("partner", &organisation, &person.id, plan.as_ref()).await?
            {
                outcome = SharedSearch::Found {
                    patient_id: person.id.clone(),
                    name: format!("{} {}", person.given_name, person.family_name),
                    birth_date: person.birth_date.clone(),
                    purpose,
                };
                break;
            }
        }
        let (patient, detail) = match &outcome {
            SharedSearch::Found { patient_id, .. } => (Some(patient_id.as_str()), "shared plan search: found"),
            SharedSearch::NotShared => (None, "shared plan search: none shared"),
        };
        self.audit(staff.actor(), Some(organisation), patient, AuditAction::Search, "SharedPlan", detail.into())
            .await?;
        Ok(outcome)
    }

    /// The person's current plan for a partner clinician, contingency plans first. Audited with
    /// why they may see it.
    pub async fn shared_plan(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<SharedPlan, AppError> {
        let organisation = self.partner_organisation(staff).await?;
        let not_found = || AppError::NotFound("No plan is shared with your organisation for this person".into());
        let Some(view) = self.load_plan(patient_id, None).await? else { return Err(not_found()) };
        let Some(purpose) = self.organisation_access("partner", &organisation, patient_id, Some(&view)).await? else {
            return Err(not_found());
        };
        let person = self.store.patient(patient_id).await?.ok_or_else(not_found)?;
        let (document, _) = self.plan_as_document(&view, now).await?;
        self.store
            .record_audit(&[concord_store::NewAuditEvent {
                actor: staff.actor(),
                organisation: Some(organisation),
                patient_id: Some(patient_id.to_owned()),
                action: AuditAction::Read,
                entity: "CarePlan".into(),
                detail: format!("plan version {} read by a partner clinician", view.version),
                request_id: None,
                purpose: Some(purpose.clone()),
            }])
            .await?;
        Ok(SharedPlan {
            name: format!("{} {}", person.patient.name.given, person.patient.name.family),
            nhs_number: person.patient.nhs_number.as_ref().map(|number| number.as_str().to_owned()),
            birth_date: person.patient.birth_date.to_string(),
            version: view.version,
            status: view.status.clone(),
            document: concord_domain::plan::contingency_first(document),
            purpose,
            linked: self.store.linked_plans(patient_id).await?,
        })
    }

    /// Break-glass from the partner clinicians' pages: their organisation may see the person's
    /// plan for a limited time, with their reason recorded and flagged to the privacy officer.
    pub async fn staff_break_glass(
        &self,
        staff: &StaffMember,
        nhs_number: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(String, OffsetDateTime), AppError> {
        let organisation = self.partner_organisation(staff).await?;
        self.break_glass(&organisation, &staff.actor(), nhs_number, reason, now).await
    }

    /// Break-glass accesses for the privacy officer: waiting for review, or all.
    pub async fn break_glass_reviews(&self, staff: &StaffMember, all: bool) -> Result<Vec<BreakGlassEntry>, AppError> {
        staff.require(Permission::ReviewBreakGlass)?;
        let rows = self.store.break_glass_list(!all, 500).await?;
        let mut entries = Vec::new();
        for row in rows {
            let person = self.store.patient(&row.patient_id).await?;
            entries.push(BreakGlassEntry {
                person: person.as_ref().map_or_else(String::new, |person| {
                    format!("{} {}", person.patient.name.given, person.patient.name.family)
                }),
                nhs_number: person.and_then(|person| person.patient.nhs_number.map(|n| n.as_str().to_owned())),
                row,
            });
        }
        self.audit(
            staff.actor(),
            staff.organisation.clone(),
            None,
            AuditAction::Read,
            "BreakGlass",
            format!("{} break-glass access(es) listed", entries.len()),
        )
        .await?;
        Ok(entries)
    }

    /// The privacy officer records their review of a break-glass access.
    pub async fn review_break_glass(
        &self,
        staff: &StaffMember,
        id: &str,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AppError> {
        staff.require(Permission::ReviewBreakGlass)?;
        let note = note.trim();
        if note.is_empty() {
            return Err(AppError::Invalid("note: say what you found (appropriate, or what you will do)".into()));
        }
        Ok(self.store.review_break_glass(id, &staff.display_name, note, &staff.actor(), &timestamp(now)).await?)
    }
}
