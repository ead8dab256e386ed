//! Plans from other services linked into the person's overarching plan: received as FHIR
//! CarePlans through the API from partners' systems (created, then updated with `If-Match` on the
//! version), or recorded by the practice from a copy it was sent; served as CarePlans that are
//! part of the person's plan; shown after the person's own goals wherever the plan is read.
//!
//! Invariants: only an organisation that may see the person (consent, care team, or the
//! practice itself; never break-glass) may link a plan; only the organisation that linked a plan
//! may update it, naming the version it replaces; nothing of a refused write is kept.

use concord_domain::access::Permission;
use concord_domain::linked_plan::{LinkedPlan, kind_from_words};
use concord_fhir::{
    CarePlan, CodeableConcept, FhirDateTime, Identifier, Meta, Period, Reference, Resource, from_json, uri,
};
use concord_store::{LinkedPlanRow, StoreError};
use time::OffsetDateTime;

use crate::api::ApiCaller;
use crate::record::StaffMember;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// A linked plan as a FHIR CarePlan, part of the person's own plan (`main`) when they have one.
pub fn fhir_linked_plan(row: &LinkedPlanRow, subject: &str, main: Option<&str>) -> CarePlan {
    let plan = &row.plan;
    let date = |text: &Option<String>| text.as_deref().and_then(|text| FhirDateTime::parse(text).ok());
    CarePlan {
        id: Some(row.id.clone()),
        meta: Some(Meta { version_id: Some(row.version.to_string()), ..Default::default() }),
        status: plan.status.clone(),
        intent: "plan".into(),
        category: vec![CodeableConcept { coding: vec![], text: Some(plan.kind_words().into()) }],
        title: Some(plan.title.clone()),
        description: Some(plan.summary.clone()),
        subject: Reference { reference: Some(subject.to_owned()), ..Default::default() },
        part_of: main
            .map(|id| Reference { reference: Some(format!("CarePlan/{id}")), ..Default::default() })
            .into_iter()
            .collect(),
        period: (plan.period_start.is_some() || plan.period_end.is_some())
            .then(|| Period { start: date(&plan.period_start), end: date(&plan.period_end) }),
        author: Some(Reference {
            display: Some(plan.service.clone()),
            identifier: plan.organisation.as_ref().map(|code| Identifier {
                system: Some(uri::ODS_ORGANISATION_CODE.into()),
                value: Some(code.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What a received FHIR CarePlan says, as a linked plan, and whom it is about (`Patient/{id}`
/// reference, or an NHS number). Problems name the element.
fn from_fhir(text: &str, service: &str, organisation: &str) -> Result<(LinkedPlan, PlanSubject), AppError> {
    let header =
        concord_fhir::peek_header(text).map_err(|error| AppError::Invalid(format!("body: {}", error.message)))?;
    if header.resource_type.as_deref() != Some("CarePlan") {
        return Err(AppError::Invalid("resourceType: send a CarePlan".into()));
    }
    let care_plan: CarePlan = from_json(text).map_err(|error| {
        AppError::Invalid(format!("{}: {}", error.path.clone().unwrap_or_else(|| "body".into()), error.message))
    })?;
    let subject = if let Some(reference) = care_plan.subject.reference.as_deref() {
        PlanSubject::Id(reference.strip_prefix("Patient/").unwrap_or(reference).to_owned())
    } else if let Some(identifier) =
        care_plan.subject.identifier.as_ref().filter(|identifier| identifier.system.as_deref() == Some(uri::NHS_NUMBER))
    {
        PlanSubject::NhsNumber(identifier.value.clone().unwrap_or_default())
    } else {
        return Err(AppError::Invalid(
            "subject: refer to the person as Patient/{id} or by NHS number identifier".into(),
        ));
    };
    let status = match care_plan.status.as_str() {
        "active" | "on-hold" | "draft" => "active",
        "completed" => "completed",
        "revoked" | "entered-in-error" => "revoked",
        other => return Err(AppError::Invalid(format!("status: {other:?} is not a CarePlan status"))),
    };
    let words = care_plan
        .category
        .iter()
        .flat_map(|category| {
            category.text.iter().cloned().chain(category.coding.iter().filter_map(|coding| coding.display.clone()))
        })
        .chain(care_plan.title.clone())
        .collect::<Vec<_>>()
        .join(" ");
    let mut summary: Vec<String> = care_plan.description.iter().cloned().collect();
    summary.extend(
        care_plan
            .activity
            .iter()
            .filter_map(|activity| activity.detail.as_ref().and_then(|detail| detail.description.clone())),
    );
    summary.extend(care_plan.note.iter().map(|note| note.text.clone()));
    let day = |value: Option<FhirDateTime>| value.map(|value| value.earliest_date().to_string());
    let plan = LinkedPlan {
        service: care_plan
            .author
            .as_ref()
            .and_then(|author| author.display.clone())
            .unwrap_or_else(|| service.to_owned()),
        organisation: Some(organisation.to_owned()),
        kind: kind_from_words(&words).into(),
        title: care_plan.title.clone().unwrap_or_default(),
        summary: summary.join("\n"),
        status: status.into(),
        period_start: day(care_plan.period.as_ref().and_then(|period| period.start)),
        period_end: day(care_plan.period.as_ref().and_then(|period| period.end)),
    };
    if let Some((field, problem)) = plan.problems().into_iter().next() {
        let element = match field.as_str() {
            "title" => "title",
            "summary" => "description",
            "service" => "author.display",
            other => other,
        };
        return Err(AppError::Invalid(format!("{element}: {problem}")));
    }
    Ok((plan, subject))
}

enum PlanSubject {
    Id(String),
    NhsNumber(String),
}

/// The version an `If-Match` header names (`W/"3"`, `"3"` or `3`).
pub fn if_match_version(header: &str) -> Option<i64> {
    header.trim().trim_start_matches("W/").trim_matches('"').parse().ok()
}

impl Concord {
    async fn subject_id(&self, subject: PlanSubject) -> Result<Option<String>, AppError> {
        Ok(match subject {
            PlanSubject::Id(id) => self.store.patient(&id).await?.map(|_| id),
            PlanSubject::NhsNumber(number) => match concord_domain::NhsNumber::parse(&number) {
                Ok(number) => self
                    .store
                    .search_patients(
                        &concord_store::PatientSearch { nhs_number: Some(number), ..Default::default() },
                        1,
                    )
                    .await?
                    .into_iter()
                    .next()
                    .map(|listing| listing.id),
                Err(_) => return Err(AppError::Invalid("subject.identifier: not a valid NHS number".into())),
            },
        })
    }

    async fn organisation_name(&self, code: &str) -> Result<String, AppError> {
        Ok(self
            .store
            .organisations()
            .await?
            .into_iter()
            .find(|(ods, ..)| ods == code)
            .map_or_else(|| code.to_owned(), |(_, name, ..)| name))
    }

    /// May this client write into the person's plan: the practice's own client for its people,
    /// a partner by consent or care team (never by break-glass).
    async fn may_link(&self, caller: &ApiCaller, patient_id: &str) -> Result<bool, AppError> {
        let plan = self.load_plan(patient_id, None).await?;
        Ok(self
            .organisation_access(&caller.kind, &caller.organisation, patient_id, plan.as_ref())
            .await?
            .is_some_and(|purpose| !purpose.starts_with("break-glass")))
    }

    /// `POST /fhir/CarePlan`: a partner's plan for the person, linked into their overarching
    /// plan. Returns the CarePlan as served (version 1).
    pub async fn api_create_linked_plan(
        &self,
        caller: &ApiCaller,
        body: &str,
        now: OffsetDateTime,
    ) -> Result<CarePlan, AppError> {
        caller.require("system/CarePlan.write")?;
        let service = self.organisation_name(&caller.organisation).await?;
        let (plan, subject) = from_fhir(body, &service, &caller.organisation)?;
        let not_found = || AppError::NotFound("The plan's subject is not known to this client".into());
        let patient_id = self.subject_id(subject).await?.ok_or_else(not_found)?;
        if !self.may_link(caller, &patient_id).await? {
            return Err(not_found());
        }
        let row = LinkedPlanRow {
            id: concord_store::new_id(),
            patient_id: patient_id.clone(),
            plan,
            received_via: "api".into(),
            resource_json: Some(body.to_owned()),
            version: 1,
            recorded_by: format!("client:{}", caller.client_id),
            created_at: timestamp(now),
            updated_at: timestamp(now),
        };
        self.store.add_linked_plan(&row, &caller.actor_for_audit(), &timestamp(now)).await?;
        self.served_linked_plan(&row.id).await
    }

    /// `PUT /fhir/CarePlan/{id}` with `If-Match`: the partner replaces its own linked plan.
    /// Refused 428 without `If-Match`, 412 when the version named is not current.
    pub async fn api_update_linked_plan(
        &self,
        caller: &ApiCaller,
        id: &str,
        if_match: Option<&str>,
        body: &str,
        now: OffsetDateTime,
    ) -> Result<CarePlan, AppError> {
        caller.require("system/CarePlan.write")?;
        let not_found = || AppError::NotFound(format!("CarePlan/{id} is not one this client may change"));
        let Some(existing) = self.store.linked_plan(id).await? else { return Err(not_found()) };
        if existing.plan.organisation.as_deref() != Some(caller.organisation.as_str()) {
            return Err(not_found());
        }
        let Some(expected) = if_match.and_then(if_match_version) else {
            return Err(AppError::Precondition {
                message: "Send If-Match with the version you are replacing (W/\"n\" from the ETag)".into(),
                missing: true,
            });
        };
        let service = self.organisation_name(&caller.organisation).await?;
        let (plan, subject) = from_fhir(body, &service, &caller.organisation)?;
        if self.subject_id(subject).await?.as_deref() != Some(existing.patient_id.as_str()) {
            return Err(AppError::Invalid("subject: a plan cannot move to another person".into()));
        }
        let row = LinkedPlanRow {
            plan,
            resource_json: Some(body.to_owned()),
            recorded_by: format!("client:{}", caller.client_id),
            ..existing
        };
        match self.store.update_linked_plan(&row, expected, &caller.actor_for_audit(), &timestamp(now)).await {
            Ok(_) => self.served_linked_plan(id).await,
            Err(StoreError::Conflict(_)) => Err(AppError::Precondition {
                message: format!("CarePlan/{id} is no longer at version {expected}: read it again"),
                missing: false,
            }),
            Err(error) => Err(error.into()),
        }
    }

    async fn served_linked_plan(&self, id: &str) -> Result<CarePlan, AppError> {
        let row = self.store.linked_plan(id).await?.ok_or_else(|| AppError::NotFound("gone".into()))?;
        let main = self.main_plan_id(&row.patient_id).await?;
        Ok(fhir_linked_plan(&row, &format!("Patient/{}", row.patient_id), main.as_deref()))
    }

    async fn main_plan_id(&self, patient_id: &str) -> Result<Option<String>, AppError> {
        Ok(self.store.plan_versions(patient_id).await?.first().map(|row| row.plan_id.clone()))
    }

    /// The person's linked plans as served CarePlans (part of the compartment's CarePlans).
    pub(crate) async fn linked_plan_resources(&self, patient_id: &str) -> Result<Vec<Resource>, AppError> {
        let main = self.main_plan_id(patient_id).await?;
        let subject = format!("Patient/{patient_id}");
        Ok(self
            .store
            .linked_plans(patient_id)
            .await?
            .iter()
            .map(|row| Resource::CarePlan(fhir_linked_plan(row, &subject, main.as_deref())))
            .collect())
    }

    /// The practice records a plan from another service it was sent (a copy by post or email).
    pub async fn link_plan(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        plan: LinkedPlan,
        now: OffsetDateTime,
    ) -> Result<Result<String, Vec<(String, String)>>, AppError> {
        staff.require(Permission::ManageCycle)?;
        staff.require(Permission::ViewPatientRecord)?;
        let plan = LinkedPlan { organisation: None, status: "active".into(), ..plan };
        let problems = plan.problems();
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let row = LinkedPlanRow {
            id: concord_store::new_id(),
            patient_id: patient_id.to_owned(),
            plan,
            received_via: "practice".into(),
            resource_json: None,
            version: 1,
            recorded_by: staff.display_name.clone(),
            created_at: timestamp(now),
            updated_at: timestamp(now),
        };
        self.store.add_linked_plan(&row, &staff.actor(), &timestamp(now)).await?;
        Ok(Ok(row.id))
    }

    /// A plan from another service uploaded as a FHIR CarePlan file (`concord plan link`): the
    /// same reading as the API's, recorded as the practice's.
    pub async fn link_plan_file(
        &self,
        caller: crate::cycle::Caller<'_>,
        patient_id: &str,
        text: &str,
        now: OffsetDateTime,
    ) -> Result<String, AppError> {
        caller.require(Permission::ManageCycle)?;
        let (plan, subject) = from_fhir(text, "", "")?;
        if self.subject_id(subject).await?.as_deref() != Some(patient_id) {
            return Err(AppError::Invalid("subject: the plan is about someone else".into()));
        }
        let row = LinkedPlanRow {
            id: concord_store::new_id(),
            patient_id: patient_id.to_owned(),
            plan: LinkedPlan { organisation: None, ..plan },
            received_via: "practice".into(),
            resource_json: Some(text.to_owned()),
            version: 1,
            recorded_by: caller.actor().name().to_owned(),
            created_at: timestamp(now),
            updated_at: timestamp(now),
        };
        self.store.add_linked_plan(&row, &caller.actor(), &timestamp(now)).await?;
        Ok(row.id)
    }

    /// The person's linked plans, for whoever is already allowed to read their plan (the caller
    /// checks and audits the read of the plan they are shown with).
    pub async fn linked_plans_for(&self, patient_id: &str) -> Result<Vec<LinkedPlanRow>, AppError> {
        Ok(self.store.linked_plans(patient_id).await?)
    }
}
