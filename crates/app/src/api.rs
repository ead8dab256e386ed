//! Access for systems outside the practice (and the practice's own): OAuth 2.0 client credentials
//! with SMART-style system scopes, and what each client may read through the FHIR API.
//!
//! Invariants: secrets and tokens are 256-bit random values kept only as SHA-256 digests; a token
//! carries only scopes its client was registered with; a partner organisation sees a person only
//! when `concord_domain::sharing::partner_access` allows it (consent covers it, or the care team
//! includes it; an explicit refusal overrides); a practice's client sees only people registered
//! there; every read is audited with the client and its organisation.

use base64::Engine as _;
use concord_domain::audit::{Actor, AuditAction};
use concord_domain::sharing::partner_access;
use concord_fhir::{Patient, Resource};
use rand::RngCore;
use time::{Duration, OffsetDateTime};

use crate::auth::token_digest;
use crate::fhir_export::{fhir_patient, plan_resources};
use crate::fhir_record::{
    MadeDocument, fhir_agenda, fhir_audit_event, fhir_condition, fhir_consent, fhir_document, fhir_observation,
    fhir_provenance,
};
use crate::status::timestamp;
use crate::{AppError, Concord};
use concord_store::StoreError;

/// The resource types served about a person, searchable by `patient` (the patient compartment).
pub const COMPARTMENT: [&str; 9] = [
    "Condition",
    "Observation",
    "CarePlan",
    "Goal",
    "QuestionnaireResponse",
    "DocumentReference",
    "Consent",
    "AuditEvent",
    "Provenance",
];

/// The scopes a client may be given: SMART-style `system/{type}.read`, or `system/*.read` for all.
pub const SCOPES: [&str; 12] = [
    "system/Patient.read",
    "system/Condition.read",
    "system/Observation.read",
    "system/CarePlan.read",
    "system/Goal.read",
    "system/QuestionnaireResponse.read",
    "system/DocumentReference.read",
    "system/Consent.read",
    "system/AuditEvent.read",
    "system/Provenance.read",
    "system/*.read",
    "system/CarePlan.write",
];

/// How long break-glass access lasts before the clinician must state a reason again.
pub const BREAK_GLASS_MINUTES: i64 = 60;

/// The shortest reason accepted for breaking the glass (a word or two is not a reason).
pub const BREAK_GLASS_REASON_MIN: usize = 10;

/// How long a bearer token lives.
pub const TOKEN_MINUTES: i64 = 5;

/// A newly registered client: its id and its secret (shown once, never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    pub client_id: String,
    pub client_secret: String,
}

/// A token issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
}

/// A client calling with a live token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCaller {
    pub client_id: String,
    pub organisation: String,
    /// `partner` or `practice`.
    pub kind: String,
    pub scopes: Vec<String>,
}

impl ApiCaller {
    fn actor(&self) -> Actor {
        Actor::User { username: format!("client:{}", self.client_id), role: format!("api:{}", self.kind) }
    }

    /// Whether the token carries `scope` (a `system/*.read` grant covers every read scope).
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| {
            granted == scope || (granted == "system/*.read" && scope.starts_with("system/") && scope.ends_with(".read"))
        })
    }

    /// Who the client is in the audit trail.
    pub fn actor_for_audit(&self) -> Actor {
        self.actor()
    }

    /// Refused unless the token carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), AppError> {
        if self.has(scope) { Ok(()) } else { Err(AppError::Forbidden("the token does not carry the scope this needs")) }
    }
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Concord {
    /// Registers a client for an organisation (a partner, or a practice for its own systems).
    pub async fn create_api_client(
        &self,
        organisation: &str,
        name: &str,
        scopes: &str,
        now: OffsetDateTime,
    ) -> Result<NewClient, AppError> {
        let known = self.store.organisations().await?;
        let Some((code, _, kind, _)) = known.iter().find(|(code, ..)| code.eq_ignore_ascii_case(organisation.trim()))
        else {
            return Err(AppError::Invalid(format!("--org: no organisation has the ODS code {organisation:?}")));
        };
        if !matches!(kind.as_str(), "partner" | "practice") {
            return Err(AppError::Invalid(format!(
                "--org: {code} is a {kind}; clients belong to partners or practices"
            )));
        }
        if name.trim().is_empty() {
            return Err(AppError::Invalid("--name: give the client a name".into()));
        }
        let requested: Vec<&str> = scopes.split([' ', ',']).filter(|scope| !scope.is_empty()).collect();
        if requested.is_empty() {
            return Err(AppError::Invalid(format!("--scope: give one or more of {}", SCOPES.join(", "))));
        }
        if let Some(unknown) = requested.iter().find(|scope| !SCOPES.contains(scope)) {
            return Err(AppError::Invalid(format!("--scope: {unknown} is not one of {}", SCOPES.join(", "))));
        }
        let client_id = concord_store::new_id();
        let client_secret = random_secret();
        self.store
            .create_api_client(
                &concord_store::ApiClientRow {
                    id: client_id.clone(),
                    organisation_ods: code.clone(),
                    name: name.trim().to_owned(),
                    scopes: requested.join(" "),
                    secret_sha256: token_digest(&client_secret),
                    revoked: false,
                },
                &timestamp(now),
            )
            .await?;
        self.audit(
            Actor::System("cli".into()),
            Some(code.clone()),
            None,
            AuditAction::Create,
            "ApiClient",
            format!("client {client_id} registered for {code} with {}", requested.join(" ")),
        )
        .await?;
        Ok(NewClient { client_id, client_secret })
    }

    /// Issues a bearer token for a client's id and secret (OAuth 2.0 client credentials).
    /// Refused, in the same words for an unknown client and a wrong secret, with `invalid_client`.
    pub async fn issue_api_token(
        &self,
        client_id: &str,
        client_secret: &str,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, AppError> {
        let client = self.store.api_client(client_id).await?;
        let valid = client.as_ref().is_some_and(|client| {
            !client.revoked && crate::auth::constant_time_equal(&client.secret_sha256, &token_digest(client_secret))
        });
        let Some(client) = client.filter(|_| valid) else {
            self.audit(
                Actor::User {
                    username: format!("client:{}", client_id.chars().take(64).collect::<String>()),
                    role: "api".into(),
                },
                None,
                None,
                AuditAction::SignInFailed,
                "ApiToken",
                "token refused: unknown client or wrong secret".into(),
            )
            .await?;
            return Err(AppError::Refused("invalid_client".into()));
        };
        let token = random_secret();
        self.store
            .create_api_token(
                &token_digest(&token),
                &client.id,
                &client.scopes,
                &timestamp(now),
                &timestamp(now + Duration::minutes(TOKEN_MINUTES)),
            )
            .await?;
        self.audit(
            Actor::User { username: format!("client:{}", client.id), role: "api".into() },
            Some(client.organisation_ods.clone()),
            None,
            AuditAction::SignIn,
            "ApiToken",
            format!("token issued with {}", client.scopes),
        )
        .await?;
        Ok(IssuedToken { access_token: token, expires_in: TOKEN_MINUTES * 60, scope: client.scopes })
    }

    /// The client calling with this bearer token, if the token is live.
    pub async fn api_caller(&self, token: &str) -> Result<Option<ApiCaller>, AppError> {
        let now = timestamp(OffsetDateTime::now_utc());
        let Some((client, scopes)) = self.store.api_token(&token_digest(token), &now).await? else { return Ok(None) };
        let kind = self
            .store
            .organisations()
            .await?
            .into_iter()
            .find(|(code, ..)| *code == client.organisation_ods)
            .map(|(_, _, kind, _)| kind)
            .unwrap_or_default();
        Ok(Some(ApiCaller {
            client_id: client.id,
            organisation: client.organisation_ods,
            kind,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        }))
    }

    /// Why the client may see this person (the purpose its reads are audited with), or `None`.
    async fn api_access(&self, caller: &ApiCaller, patient_id: &str) -> Result<Option<String>, AppError> {
        let plan = self.load_plan(patient_id, None).await?;
        self.api_access_with(caller, patient_id, plan.as_ref()).await
    }

    /// As [`Concord::api_access`], with the person's current plan already loaded.
    async fn api_access_with(
        &self,
        caller: &ApiCaller,
        patient_id: &str,
        plan: Option<&crate::plan::PlanView>,
    ) -> Result<Option<String>, AppError> {
        self.organisation_access(&caller.kind, &caller.organisation, patient_id, plan).await
    }

    /// Why an organisation (a practice, or a partner) may see a person, or `None`: a practice
    /// sees the people registered there; a partner sees people whose consent covers it or whose
    /// care team includes it (an explicit refusal overrides both), or during a live break-glass
    /// access its clinician asked for.
    pub(crate) async fn organisation_access(
        &self,
        kind: &str,
        organisation: &str,
        patient_id: &str,
        plan: Option<&crate::plan::PlanView>,
    ) -> Result<Option<String>, AppError> {
        match kind {
            "practice" => Ok(self
                .store
                .patient(patient_id)
                .await?
                .is_some_and(|person| {
                    person
                        .patient
                        .registration
                        .is_some_and(|registration| registration.practice.as_str() == organisation)
                })
                .then(|| "direct care: registered practice".to_owned())),
            "partner" => {
                let shared = plan.and_then(|view| partner_access(organisation, &view.plan.sharing, &[]).ok());
                if let Some(basis) = shared {
                    return Ok(Some(match basis {
                        concord_domain::sharing::Basis::Consent => "shared care: consent".to_owned(),
                        concord_domain::sharing::Basis::CareTeam => "shared care: care team".to_owned(),
                    }));
                }
                let now = timestamp(OffsetDateTime::now_utc());
                Ok(self
                    .store
                    .live_break_glass(patient_id, organisation, &now)
                    .await?
                    .map(|grant| format!("break-glass: {}", grant.reason)))
            }
            _ => Ok(None),
        }
    }

    async fn audit_api(
        &self,
        caller: &ApiCaller,
        patient_id: Option<&str>,
        entity: &str,
        detail: String,
        purpose: Option<String>,
    ) -> Result<(), AppError> {
        self.store
            .record_audit(&[concord_store::NewAuditEvent {
                actor: caller.actor(),
                organisation: Some(caller.organisation.clone()),
                patient_id: patient_id.map(str::to_owned),
                action: AuditAction::Read,
                entity: entity.into(),
                detail,
                request_id: None,
                purpose,
            }])
            .await?;
        Ok(())
    }

    /// People with this NHS number whom the client may see (none when it may not: a search never
    /// says whether someone exists). Audited.
    pub async fn api_search_patients(&self, caller: &ApiCaller, nhs_number: &str) -> Result<Vec<Patient>, AppError> {
        caller.require("system/Patient.read")?;
        let Ok(number) = concord_domain::NhsNumber::parse(nhs_number) else {
            return Err(AppError::Invalid(format!("identifier: {nhs_number:?} is not a valid NHS number")));
        };
        let found = self
            .store
            .search_patients(&concord_store::PatientSearch { nhs_number: Some(number), ..Default::default() }, 5)
            .await?;
        let mut patients = Vec::new();
        let mut why = None;
        for listing in found {
            if let Some(purpose) = self.api_access(caller, &listing.id).await?
                && let Some(person) = self.store.patient(&listing.id).await?
            {
                patients.push(fhir_patient(&listing.id, &person.patient));
                why.get_or_insert(purpose);
            }
        }
        self.audit_api(
            caller,
            patients.first().and_then(|patient| patient.id.as_deref()),
            "Patient",
            format!("search: {} found", patients.len()),
            why,
        )
        .await?;
        Ok(patients)
    }

    /// One person, if the client may see them. Audited.
    pub async fn api_patient(&self, caller: &ApiCaller, patient_id: &str) -> Result<Patient, AppError> {
        caller.require("system/Patient.read")?;
        let Some(purpose) = self.api_access(caller, patient_id).await? else {
            return Err(AppError::NotFound(format!("Patient/{patient_id} is not known to this client")));
        };
        let person =
            self.store.patient(patient_id).await?.ok_or_else(|| AppError::NotFound("no such patient".into()))?;
        self.audit_api(caller, Some(patient_id), "Patient", "read".into(), Some(purpose)).await?;
        Ok(fhir_patient(patient_id, &person.patient))
    }

    /// The person's current plan resources (CarePlans and Goals), if the client may see them.
    pub async fn api_plan(&self, caller: &ApiCaller, patient_id: &str) -> Result<Vec<Resource>, AppError> {
        caller.require("system/CarePlan.read")?;
        let view = self.load_plan(patient_id, None).await?;
        let Some(purpose) = self.api_access_with(caller, patient_id, view.as_ref()).await? else { return Ok(vec![]) };
        let detail = view
            .as_ref()
            .map_or_else(|| "no plan yet".to_owned(), |view| format!("plan version {} read", view.version));
        self.audit_api(caller, Some(patient_id), "CarePlan", detail, Some(purpose)).await?;
        let mut resources = match view {
            Some(view) => {
                let mut resources = plan_resources(&view, &format!("Patient/{patient_id}"), true);
                self.add_goal_progress(&view, &mut resources).await?;
                resources
            }
            None => vec![],
        };
        // Plans from other services, part of the overarching plan, after the person's own.
        resources.extend(self.linked_plan_resources(patient_id).await?);
        Ok(resources)
    }

    async fn add_goal_progress(
        &self,
        view: &crate::plan::PlanView,
        resources: &mut [Resource],
    ) -> Result<(), AppError> {
        if let Some(plan_id) = view.versions.first().map(|row| row.plan_id.clone()) {
            crate::fhir_export::with_goal_progress(resources, &self.store.goal_progress(&plan_id).await?);
        }
        Ok(())
    }

    /// One CarePlan or Goal by id, if the client may see its person.
    pub async fn api_plan_resource(
        &self,
        caller: &ApiCaller,
        resource_type: &str,
        id: &str,
    ) -> Result<Resource, AppError> {
        let plan_id = id.split("-goal-").next().unwrap_or(id).split("-contingency-").next().unwrap_or(id);
        let not_found = || AppError::NotFound(format!("{resource_type}/{id} is not known to this client"));
        let patient = match self.store.plan_patient(plan_id).await? {
            Some(patient) => Some(patient),
            None if resource_type == "CarePlan" => self.store.resource_patient("CarePlan", id).await?,
            None => None,
        };
        let Some(patient_id) = patient else { return Err(not_found()) };
        if resource_type == "Goal" {
            caller.require("system/Goal.read")?;
        }
        let resources = self.api_plan(caller, &patient_id).await?;
        resources
            .into_iter()
            .find(|resource| resource.resource_type() == resource_type && resource.id() == Some(id))
            .ok_or_else(not_found)
    }

    /// Every version of a person's main CarePlan, newest first (FHIR `_history`), if the client
    /// may see them. Older versions are `completed`. Audited.
    pub async fn api_plan_history(&self, caller: &ApiCaller, plan_id: &str) -> Result<Vec<Resource>, AppError> {
        caller.require("system/CarePlan.read")?;
        let not_found = || AppError::NotFound(format!("CarePlan/{plan_id} is not known to this client"));
        let Some(patient_id) = self.store.plan_patient(plan_id).await? else { return Err(not_found()) };
        let Some(newest) = self.load_plan(&patient_id, None).await? else { return Err(not_found()) };
        let Some(purpose) = self.api_access_with(caller, &patient_id, Some(&newest)).await? else {
            return Err(not_found());
        };
        let history = self.plan_history_resources(&patient_id, &newest).await?;
        self.audit_api(
            caller,
            Some(&patient_id),
            "CarePlan",
            format!("history of {} version(s) read", history.len()),
            Some(purpose),
        )
        .await?;
        Ok(history)
    }

    async fn plan_history_resources(
        &self,
        patient_id: &str,
        newest: &crate::plan::PlanView,
    ) -> Result<Vec<Resource>, AppError> {
        let reference = format!("Patient/{patient_id}");
        let mut history = Vec::new();
        for row in &newest.versions {
            let Some(view) = self.load_plan(patient_id, Some(row.version)).await? else { continue };
            let main = plan_resources(&view, &reference, row.version == newest.version)
                .into_iter()
                .find(|resource| matches!(resource, Resource::CarePlan(plan) if plan.id.as_deref() == Some(row.plan_id.as_str())));
            history.extend(main);
        }
        Ok(history)
    }

    /// A person's resources of one compartment type, unaudited and unchecked: the callers below
    /// check access and audit.
    pub(crate) async fn compartment(&self, resource_type: &str, patient_id: &str) -> Result<Vec<Resource>, AppError> {
        let subject = format!("Patient/{patient_id}");
        let base = format!("{}/fhir", self.public_url);
        Ok(match resource_type {
            "Condition" => self
                .store
                .conditions(patient_id)
                .await?
                .iter()
                .map(|row| Resource::Condition(fhir_condition(row, &subject)))
                .collect(),
            "Observation" => self
                .store
                .observations(patient_id)
                .await?
                .iter()
                .map(|row| Resource::Observation(fhir_observation(row, &subject)))
                .collect(),
            "CarePlan" | "Goal" => match self.load_plan(patient_id, None).await? {
                Some(view) => {
                    let mut resources: Vec<Resource> = plan_resources(&view, &subject, true)
                        .into_iter()
                        .filter(|resource| resource.resource_type() == resource_type)
                        .collect();
                    self.add_goal_progress(&view, &mut resources).await?;
                    if resource_type == "CarePlan" {
                        resources.extend(self.linked_plan_resources(patient_id).await?);
                    }
                    resources
                }
                None if resource_type == "CarePlan" => self.linked_plan_resources(patient_id).await?,
                None => vec![],
            },
            "QuestionnaireResponse" => self
                .store
                .patient_agendas(patient_id)
                .await?
                .iter()
                .filter(|(_, answers)| answers.iter().any(|answer| !answer.answer.is_empty()))
                .map(|(cycle_id, answers)| Resource::QuestionnaireResponse(fhir_agenda(cycle_id, answers, &subject)))
                .collect(),
            "DocumentReference" => {
                let mut documents = Vec::new();
                let versions = self.store.plan_versions(patient_id).await?;
                let agreed: Vec<_> = versions.iter().filter(|row| row.status == "agreed").collect();
                for (index, row) in agreed.iter().enumerate() {
                    if self.store.plan_version_pdf(&row.version_id).await?.is_some() {
                        let document = MadeDocument::plan(row, index > 0);
                        documents.push(Resource::DocumentReference(fhir_document(&document, &subject, &base)));
                    }
                }
                let letters = self.store.preparation_letters(patient_id).await?;
                for (index, row) in letters.iter().enumerate() {
                    let document = MadeDocument::letter(row, index > 0);
                    documents.push(Resource::DocumentReference(fhir_document(&document, &subject, &base)));
                }
                documents
            }
            "Consent" => {
                let Some(view) = self.load_plan(patient_id, None).await? else { return Ok(vec![]) };
                let plan_id = view.versions.first().map(|row| row.plan_id.clone()).unwrap_or_default();
                let practice = self
                    .store
                    .patient(patient_id)
                    .await?
                    .and_then(|person| person.patient.registration.map(|r| r.practice.as_str().to_owned()));
                fhir_consent(&plan_id, &view.plan.sharing, &subject, &view.recorded_at, practice.as_deref())
                    .map(Resource::Consent)
                    .into_iter()
                    .collect()
            }
            "AuditEvent" => self
                .store
                .audit_events(&concord_store::AuditFilter {
                    patient_id: Some(patient_id.to_owned()),
                    limit: Some(AUDIT_EVENTS_SERVED),
                    ..Default::default()
                })
                .await?
                .iter()
                .filter_map(|entry| fhir_audit_event(entry, &subject, &self.public_url))
                .map(Resource::AuditEvent)
                .collect(),
            "Provenance" => {
                let mut provenance = Vec::new();
                for row in self.store.plan_versions(patient_id).await? {
                    let agreed_with = match self.load_plan(patient_id, Some(row.version)).await? {
                        Some(view) if row.status == "agreed" => Some(view.plan.agreed_by),
                        _ => None,
                    };
                    provenance.extend(fhir_provenance(&row, agreed_with.as_deref()).map(Resource::Provenance));
                }
                provenance
            }
            _ => return Err(AppError::Invalid(format!("{resource_type} is not searched by patient here"))),
        })
    }

    /// A person's resources of one type (FHIR search by `patient`), if the client may see them:
    /// none when it may not, so a search never says whether someone exists. Audited with why.
    pub async fn api_search(
        &self,
        caller: &ApiCaller,
        resource_type: &str,
        patient_id: &str,
    ) -> Result<Vec<Resource>, AppError> {
        if !COMPARTMENT.contains(&resource_type) {
            return Err(AppError::Invalid(format!("{resource_type} cannot be searched by patient")));
        }
        caller.require(&format!("system/{resource_type}.read"))?;
        if resource_type == "CarePlan" {
            return self.api_plan(caller, patient_id).await.map(|resources| {
                resources.into_iter().filter(|resource| resource.resource_type() == "CarePlan").collect()
            });
        }
        let Some(purpose) = self.api_access(caller, patient_id).await? else { return Ok(vec![]) };
        let resources = self.compartment(resource_type, patient_id).await?;
        self.audit_api(
            caller,
            Some(patient_id),
            resource_type,
            format!("search: {} found", resources.len()),
            Some(purpose),
        )
        .await?;
        Ok(resources)
    }

    /// One resource by type and id, if the client may see its person. Audited.
    pub async fn api_read(&self, caller: &ApiCaller, resource_type: &str, id: &str) -> Result<Resource, AppError> {
        if matches!(resource_type, "CarePlan" | "Goal") {
            return self.api_plan_resource(caller, resource_type, id).await;
        }
        caller.require(&format!("system/{resource_type}.read"))?;
        let not_found = || AppError::NotFound(format!("{resource_type}/{id} is not known to this client"));
        let Some(patient_id) = self.store.resource_patient(resource_type, id).await? else { return Err(not_found()) };
        let Some(purpose) = self.api_access(caller, &patient_id).await? else { return Err(not_found()) };
        let found = self
            .compartment(resource_type, &patient_id)
            .await?
            .into_iter()
            .find(|resource| resource.id() == Some(id))
            .ok_or_else(not_found)?;
        self.audit_api(caller, Some(&patient_id), resource_type, format!("{resource_type} read"), Some(purpose))
            .await?;
        Ok(found)
    }

    /// `Patient/$everything`: the Patient and every compartment resource the token's scopes
    /// cover, except the audit trail (read it with an AuditEvent search: each read adds to it).
    /// Audited once, with the types returned.
    pub async fn api_everything(&self, caller: &ApiCaller, patient_id: &str) -> Result<Vec<Resource>, AppError> {
        caller.require("system/Patient.read")?;
        let not_found = || AppError::NotFound(format!("Patient/{patient_id} is not known to this client"));
        let Some(purpose) = self.api_access(caller, patient_id).await? else { return Err(not_found()) };
        let person = self.store.patient(patient_id).await?.ok_or_else(not_found)?;
        let mut resources = vec![Resource::Patient(fhir_patient(patient_id, &person.patient))];
        let mut types = vec!["Patient"];
        for resource_type in COMPARTMENT {
            if resource_type == "AuditEvent" || !caller.has(&format!("system/{resource_type}.read")) {
                continue;
            }
            resources.extend(self.compartment(resource_type, patient_id).await?);
            types.push(resource_type);
        }
        self.audit_api(
            caller,
            Some(patient_id),
            "Patient/$everything",
            format!("{} resources read ({})", resources.len(), types.join(", ")),
            Some(purpose),
        )
        .await?;
        Ok(resources)
    }

    /// The PDF behind a DocumentReference (FHIR Binary), if the client may see its person. Audited.
    pub async fn api_binary(&self, caller: &ApiCaller, id: &str) -> Result<Vec<u8>, AppError> {
        caller.require("system/DocumentReference.read")?;
        let not_found = || AppError::NotFound(format!("Binary/{id} is not known to this client"));
        let Some(patient_id) = self.store.resource_patient("Binary", id).await? else { return Err(not_found()) };
        let Some(purpose) = self.api_access(caller, &patient_id).await? else { return Err(not_found()) };
        let encoded = match id.split_once('-') {
            Some(("plan", version)) => self.store.plan_version_pdf(version).await?,
            Some(("letter", letter)) => self.store.preparation_letter(letter).await?.map(|row| row.pdf_base64),
            _ => None,
        }
        .ok_or_else(not_found)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded.as_bytes()).map_err(|_| {
            StoreError::Corrupt { table: "stored PDF", column: "pdf_base64", reason: "not base64".into() }
        })?;
        self.audit_api(caller, Some(&patient_id), "DocumentReference", format!("{id} PDF read"), Some(purpose)).await?;
        Ok(bytes)
    }

    /// Break-glass: a partner's clinician, outside the person's consent and care team, reads
    /// their record in an emergency. Needs the NHS number and a stated reason; lasts
    /// [`BREAK_GLASS_MINUTES`]; recorded (the grant and its audit in one transaction) and put on
    /// the practice privacy officer's list until reviewed. Returns the person's logical id and
    /// when access ends. Refused for practice clients (they have direct care already).
    pub async fn api_break_glass(
        &self,
        caller: &ApiCaller,
        nhs_number: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(String, OffsetDateTime), AppError> {
        caller.require("system/Patient.read")?;
        if caller.kind != "partner" {
            return Err(AppError::Invalid("break-glass is for organisations outside the practice".into()));
        }
        self.break_glass(&caller.organisation, &caller.actor(), nhs_number, reason, now).await
    }

    /// Records a break-glass access for `organisation` by `actor` (the checks common to the API
    /// and the partner clinicians' pages): a real reason, a known NHS number.
    pub(crate) async fn break_glass(
        &self,
        organisation: &str,
        actor: &Actor,
        nhs_number: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(String, OffsetDateTime), AppError> {
        let reason = reason.trim();
        if reason.chars().count() < BREAK_GLASS_REASON_MIN {
            return Err(AppError::Invalid(format!(
                "reason: say why this access is needed now (at least {BREAK_GLASS_REASON_MIN} characters)"
            )));
        }
        if reason.chars().count() > 500 {
            return Err(AppError::Invalid("reason: at most 500 characters".into()));
        }
        let Ok(number) = concord_domain::NhsNumber::parse(nhs_number) else {
            return Err(AppError::Invalid(format!("identifier: {nhs_number:?} is not a valid NHS number")));
        };
        let found = self
            .store
            .search_patients(&concord_store::PatientSearch { nhs_number: Some(number), ..Default::default() }, 2)
            .await?;
        let Some(person) = found.first() else {
            return Err(AppError::NotFound("No one with that NHS number is known to Concord".into()));
        };
        let expires = now + Duration::minutes(BREAK_GLASS_MINUTES);
        self.store
            .grant_break_glass(
                &concord_store::BreakGlassRow {
                    id: concord_store::new_id(),
                    patient_id: person.id.clone(),
                    organisation: organisation.to_owned(),
                    actor: actor.name().to_owned(),
                    reason: reason.to_owned(),
                    granted_at: timestamp(now),
                    expires_at: timestamp(expires),
                    reviewed_at: None,
                    reviewed_by: None,
                    review_note: None,
                },
                actor,
                &timestamp(now),
            )
            .await?;
        Ok((person.id.clone(), expires))
    }
}

impl Concord {
    /// Keeps the next page of a search for this client; returns the opaque token naming it.
    /// Lapsed tokens are forgotten here, so the table stays small without a sweeper.
    pub async fn api_keep_page(
        &self,
        caller: &ApiCaller,
        page: &concord_store::SearchPageRow,
        now: OffsetDateTime,
    ) -> Result<String, AppError> {
        self.store.forget_search_pages(&timestamp(now)).await?;
        let token = random_secret();
        let expires = timestamp(now + Duration::minutes(PAGE_MINUTES));
        self.store.save_search_page(&token, &caller.client_id, page, &expires).await?;
        Ok(token)
    }

    /// The page a token names, if it is live and this client's.
    pub async fn api_page(
        &self,
        caller: &ApiCaller,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<concord_store::SearchPageRow>, AppError> {
        if token.len() > 64 {
            return Ok(None);
        }
        Ok(self.store.search_page(token, &caller.client_id, &timestamp(now)).await?)
    }
}

/// Why a record was touched, for the audit report: the recorded purpose, else what the actor's
/// role implies (the practice's staff act for direct care; the person and their proxies for
/// themselves).
pub fn audit_purpose(event: &concord_store::AuditEntry) -> String {
    if let Some(purpose) = &event.purpose {
        return purpose.clone();
    }
    match event.actor_role.as_str() {
        "patient" => "the person's own access".into(),
        role if role.starts_with("proxy") => "proxy access for the person".into(),
        "system" => "system process".into(),
        role if role.starts_with("api") => "system access".into(),
        _ => "direct care by the practice".into(),
    }
}

/// How long a next-page link stays usable.
pub const PAGE_MINUTES: i64 = 10;

/// The most audit events an AuditEvent search returns (newest first).
pub const AUDIT_EVENTS_SERVED: i64 = 1000;
