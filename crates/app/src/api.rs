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
use crate::status::timestamp;
use crate::{AppError, Concord};

/// The scopes a client may be given.
pub const SCOPES: [&str; 3] = ["system/Patient.read", "system/CarePlan.read", "system/Goal.read"];

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

    /// Refused unless the token carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), AppError> {
        if self.scopes.iter().any(|granted| granted == scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden("the token does not carry the scope this needs"))
        }
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

    /// Whether the client may see this person: their own practice's people for a practice's client;
    /// for a partner, by the person's consent and care team (`partner_access`).
    async fn api_may_see(&self, caller: &ApiCaller, patient_id: &str) -> Result<bool, AppError> {
        let plan = self.load_plan(patient_id, None).await?;
        self.api_may_see_with(caller, patient_id, plan.as_ref()).await
    }

    /// As [`Concord::api_may_see`], with the person's current plan already loaded.
    async fn api_may_see_with(
        &self,
        caller: &ApiCaller,
        patient_id: &str,
        plan: Option<&crate::plan::PlanView>,
    ) -> Result<bool, AppError> {
        match caller.kind.as_str() {
            "practice" => Ok(self.store.patient(patient_id).await?.is_some_and(|person| {
                person
                    .patient
                    .registration
                    .is_some_and(|registration| registration.practice.as_str() == caller.organisation)
            })),
            "partner" => {
                Ok(plan.is_some_and(|view| partner_access(&caller.organisation, &view.plan.sharing, &[]).is_ok()))
            }
            _ => Ok(false),
        }
    }

    async fn audit_api(
        &self,
        caller: &ApiCaller,
        patient_id: Option<&str>,
        entity: &str,
        detail: String,
    ) -> Result<(), AppError> {
        self.audit(caller.actor(), Some(caller.organisation.clone()), patient_id, AuditAction::Read, entity, detail)
            .await
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
        for listing in found {
            if self.api_may_see(caller, &listing.id).await?
                && let Some(person) = self.store.patient(&listing.id).await?
            {
                patients.push(fhir_patient(&listing.id, &person.patient));
            }
        }
        self.audit_api(
            caller,
            patients.first().and_then(|patient| patient.id.as_deref()),
            "Patient",
            format!("search: {} found", patients.len()),
        )
        .await?;
        Ok(patients)
    }

    /// One person, if the client may see them. Audited.
    pub async fn api_patient(&self, caller: &ApiCaller, patient_id: &str) -> Result<Patient, AppError> {
        caller.require("system/Patient.read")?;
        if !self.api_may_see(caller, patient_id).await? {
            return Err(AppError::NotFound(format!("Patient/{patient_id} is not known to this client")));
        }
        let person =
            self.store.patient(patient_id).await?.ok_or_else(|| AppError::NotFound("no such patient".into()))?;
        self.audit_api(caller, Some(patient_id), "Patient", "read".into()).await?;
        Ok(fhir_patient(patient_id, &person.patient))
    }

    /// The person's current plan resources (CarePlans and Goals), if the client may see them.
    pub async fn api_plan(&self, caller: &ApiCaller, patient_id: &str) -> Result<Vec<Resource>, AppError> {
        caller.require("system/CarePlan.read")?;
        let Some(view) = self.load_plan(patient_id, None).await? else { return Ok(vec![]) };
        if !self.api_may_see_with(caller, patient_id, Some(&view)).await? {
            return Ok(vec![]);
        }
        self.audit_api(caller, Some(patient_id), "CarePlan", format!("plan version {} read", view.version)).await?;
        Ok(plan_resources(&view, &format!("Patient/{patient_id}"), true))
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
        let Some(patient_id) = self.store.plan_patient(plan_id).await? else { return Err(not_found()) };
        if resource_type == "Goal" {
            caller.require("system/Goal.read")?;
        }
        let resources = self.api_plan(caller, &patient_id).await?;
        resources
            .into_iter()
            .find(|resource| match resource {
                Resource::CarePlan(plan) => resource_type == "CarePlan" && plan.id.as_deref() == Some(id),
                Resource::Goal(goal) => resource_type == "Goal" && goal.id.as_deref() == Some(id),
                _ => false,
            })
            .ok_or_else(not_found)
    }

    /// Every version of a person's main CarePlan, newest first (FHIR `_history`), if the client
    /// may see them. Older versions are `completed`. Audited.
    pub async fn api_plan_history(&self, caller: &ApiCaller, plan_id: &str) -> Result<Vec<Resource>, AppError> {
        caller.require("system/CarePlan.read")?;
        let not_found = || AppError::NotFound(format!("CarePlan/{plan_id} is not known to this client"));
        let Some(patient_id) = self.store.plan_patient(plan_id).await? else { return Err(not_found()) };
        let Some(newest) = self.load_plan(&patient_id, None).await? else { return Err(not_found()) };
        if !self.api_may_see_with(caller, &patient_id, Some(&newest)).await? {
            return Err(not_found());
        }
        let reference = format!("Patient/{patient_id}");
        let mut history = Vec::new();
        for row in &newest.versions {
            let Some(view) = self.load_plan(&patient_id, Some(row.version)).await? else { continue };
            let main = plan_resources(&view, &reference, row.version == newest.version)
                .into_iter()
                .find(|resource| matches!(resource, Resource::CarePlan(plan) if plan.id.as_deref() == Some(plan_id)));
            history.extend(main);
        }
        self.audit_api(caller, Some(&patient_id), "CarePlan", format!("history of {} version(s) read", history.len()))
            .await?;
        Ok(history)
    }
}
