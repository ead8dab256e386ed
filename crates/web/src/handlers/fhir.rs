//! The FHIR R4 API (`/fhir`) and its token endpoint (`/auth/token`): OAuth 2.0 client credentials,
//! bearer tokens only (never a session cookie), FHIR JSON, an OperationOutcome for every error,
//! and searches by NHS number POSTed so identifiers never travel in URLs.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use concord_app::AppError;
use concord_app::api::{ApiCaller, SCOPES};
use concord_fhir::{Bundle, BundleEntry, BundleEntrySearch, Resource, uri};
use serde_json::json;
use time::OffsetDateTime;

use crate::state::AppState;

const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

fn fhir(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, FHIR_JSON)], body.to_string()).into_response()
}

/// An OperationOutcome: FHIR's error body.
fn outcome(status: StatusCode, code: &str, text: &str) -> Response {
    fhir(
        status,
        json!({
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": "error", "code": code, "diagnostics": text }]
        }),
    )
}

fn app_error(error: AppError) -> Response {
    match error {
        AppError::Forbidden(text) => outcome(StatusCode::FORBIDDEN, "forbidden", text),
        AppError::NotFound(text) => outcome(StatusCode::NOT_FOUND, "not-found", &text),
        AppError::Invalid(text) | AppError::Refused(text) => outcome(StatusCode::BAD_REQUEST, "invalid", &text),
        other => {
            tracing::error!(error = %other, "FHIR request failed");
            outcome(StatusCode::INTERNAL_SERVER_ERROR, "exception", "Sorry, there is a problem with the service")
        }
    }
}

/// The client behind the request's bearer token, or the 401 to send.
async fn bearer(state: &AppState, headers: &HeaderMap) -> Result<ApiCaller, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|token| !token.is_empty() && token.len() <= 128);
    let unauthorised = || {
        let mut response =
            outcome(StatusCode::UNAUTHORIZED, "login", "A valid bearer token is required (POST /auth/token)");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        response
    };
    let Some(token) = token else { return Err(unauthorised()) };
    match state.concord.api_caller(token).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(unauthorised()),
        Err(error) => Err(app_error(error)),
    }
}

fn resource_json(resource: &Resource) -> serde_json::Value {
    serde_json::to_value(resource).unwrap_or_default()
}

fn searchset(state: &AppState, resources: Vec<Resource>) -> serde_json::Value {
    let base = format!("{}/fhir", state.concord.public_url);
    let total = resources.len() as u64;
    let bundle = Bundle {
        id: Some(concord_store::new_id()),
        meta: None,
        r#type: Some("searchset".into()),
        timestamp: Some(concord_fhir::FhirInstant(OffsetDateTime::now_utc())),
        total: Some(total),
        entry: resources
            .into_iter()
            .map(|resource| {
                let full_url = match &resource {
                    Resource::Patient(item) => item.id.as_ref().map(|id| format!("{base}/Patient/{id}")),
                    Resource::CarePlan(item) => item.id.as_ref().map(|id| format!("{base}/CarePlan/{id}")),
                    Resource::Goal(item) => item.id.as_ref().map(|id| format!("{base}/Goal/{id}")),
                    _ => None,
                };
                BundleEntry {
                    full_url,
                    resource: Some(resource),
                    search: Some(BundleEntrySearch { mode: Some("match".into()) }),
                    request: None,
                }
            })
            .collect(),
    };
    concord_fhir::resource_json(&bundle).unwrap_or_default()
}

/// The CapabilityStatement: what this server supports.
pub(crate) async fn metadata(State(state): State<AppState>) -> Response {
    let read = |kind: &str, search: serde_json::Value| json!({ "type": kind, "interaction": [{ "code": "read" }, { "code": "search-type" }], "searchParam": search });
    fhir(
        StatusCode::OK,
        json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": OffsetDateTime::now_utc().date().to_string(),
            "kind": "instance",
            "software": { "name": "Concord", "version": env!("CARGO_PKG_VERSION") },
            "implementation": { "description": "Concord: personalised care and support planning", "url": format!("{}/fhir", state.concord.public_url) },
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [{
                "mode": "server",
                "security": {
                    "service": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR" }] }],
                    "description": format!("OAuth 2.0 client credentials at {}/auth/token; scopes {}", state.concord.public_url, SCOPES.join(", "))
                },
                "resource": [
                    read("Patient", json!([{ "name": "identifier", "type": "token", "documentation": "The NHS number: https://fhir.nhs.uk/Id/nhs-number|NNNNNNNNNN; POST to Patient/_search" }])),
                    {
                        "type": "CarePlan",
                        "versioning": "versioned",
                        "readHistory": true,
                        "interaction": [{ "code": "read" }, { "code": "vread" }, { "code": "history-instance" }, { "code": "search-type" }],
                        "searchParam": [{ "name": "patient", "type": "reference" }]
                    },
                    { "type": "Goal", "interaction": [{ "code": "read" }] }
                ]
            }]
        }),
    )
}

/// OAuth 2.0 client credentials: the client's id and secret in the form or in HTTP Basic.
pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let field =
        |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    let oauth_error = |status: StatusCode, error: &str, description: &str| {
        (
            status,
            [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")],
            json!({ "error": error, "error_description": description }).to_string(),
        )
            .into_response()
    };
    if field("grant_type") != "client_credentials" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Only client_credentials is supported");
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.split_once(':').map(|(id, secret)| (id.to_owned(), secret.to_owned())));
    let (client_id, client_secret) = basic.unwrap_or_else(|| (field("client_id"), field("client_secret")));
    if client_id.is_empty() || client_secret.is_empty() || client_id.len() > 64 || client_secret.len() > 128 {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Give the client id and secret");
    }
    match state.concord.issue_api_token(&client_id, &client_secret, OffsetDateTime::now_utc()).await {
        Ok(issued) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")],
            json!({ "access_token": issued.access_token, "token_type": "bearer", "expires_in": issued.expires_in, "scope": issued.scope })
                .to_string(),
        )
            .into_response(),
        Err(AppError::Refused(_)) => oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unknown client or wrong secret"),
        Err(error) => app_error(error),
    }
}

/// `POST /fhir/Patient/_search` with `identifier=https://fhir.nhs.uk/Id/nhs-number|NNNNNNNNNN`.
pub(crate) async fn search_patients(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let identifier =
        pairs.iter().find(|(key, _)| key == "identifier").map(|(_, value)| value.clone()).unwrap_or_default();
    let Some(number) = identifier.strip_prefix(&format!("{}|", uri::NHS_NUMBER)) else {
        return outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Search by identifier=https://fhir.nhs.uk/Id/nhs-number|NNNNNNNNNN",
        );
    };
    match state.concord.api_search_patients(&caller, number).await {
        Ok(patients) => fhir(StatusCode::OK, searchset(&state, patients.into_iter().map(Resource::Patient).collect())),
        Err(error) => app_error(error),
    }
}

/// `GET /fhir/Patient` without POST: refused, so NHS numbers never travel in URLs.
pub(crate) async fn search_patients_by_get() -> Response {
    outcome(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "Search for patients with POST /fhir/Patient/_search, so the NHS number does not travel in the URL",
    )
}

pub(crate) async fn read_patient(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.concord.api_patient(&caller, &id).await {
        Ok(patient) => fhir(StatusCode::OK, resource_json(&Resource::Patient(patient))),
        Err(error) => app_error(error),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PatientQuery {
    #[serde(default)]
    patient: String,
}

async fn care_plans(state: &AppState, headers: &HeaderMap, patient: &str) -> Response {
    let caller = match bearer(state, headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let patient_id = patient.strip_prefix("Patient/").unwrap_or(patient);
    if patient_id.is_empty() {
        return outcome(StatusCode::BAD_REQUEST, "invalid", "Search CarePlan by patient=Patient/{id}");
    }
    match state.concord.api_plan(&caller, patient_id).await {
        Ok(resources) => {
            let plans = resources.into_iter().filter(|resource| matches!(resource, Resource::CarePlan(_))).collect();
            fhir(StatusCode::OK, searchset(state, plans))
        }
        Err(error) => app_error(error),
    }
}

/// `GET /fhir/CarePlan?patient=Patient/{id}` (the logical id, never the NHS number).
pub(crate) async fn search_care_plans(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PatientQuery>,
) -> Response {
    care_plans(&state, &headers, &query.patient).await
}

/// `POST /fhir/CarePlan/_search` with `patient=Patient/{id}`.
pub(crate) async fn search_care_plans_by_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let patient = pairs.iter().find(|(key, _)| key == "patient").map(|(_, value)| value.clone()).unwrap_or_default();
    care_plans(&state, &headers, &patient).await
}

pub(crate) async fn read_care_plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    read_plan_resource(&state, &headers, "CarePlan", &id).await
}

pub(crate) async fn read_goal(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    read_plan_resource(&state, &headers, "Goal", &id).await
}

async fn read_plan_resource(state: &AppState, headers: &HeaderMap, kind: &str, id: &str) -> Response {
    let caller = match bearer(state, headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.concord.api_plan_resource(&caller, kind, id).await {
        Ok(resource) => with_etag(fhir(StatusCode::OK, resource_json(&resource)), &resource),
        Err(error) => app_error(error),
    }
}

/// The resource's version as a weak ETag (`W/"3"`), as FHIR's version-aware reads use.
fn with_etag(mut response: Response, resource: &Resource) -> Response {
    let version = match resource {
        Resource::CarePlan(item) => item.meta.as_ref().and_then(|meta| meta.version_id.clone()),
        Resource::Goal(item) => item.meta.as_ref().and_then(|meta| meta.version_id.clone()),
        _ => None,
    };
    if let Some(value) = version.and_then(|version| header::HeaderValue::from_str(&format!("W/\"{version}\"")).ok()) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// `GET /fhir/CarePlan/{id}/_history`: every version, newest first.
pub(crate) async fn care_plan_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.concord.api_plan_history(&caller, &id).await {
        Ok(versions) => {
            let mut bundle = searchset(&state, versions);
            bundle["type"] = json!("history");
            if let Some(entries) = bundle["entry"].as_array_mut() {
                for entry in entries {
                    if let Some(object) = entry.as_object_mut() {
                        object.remove("search");
                    }
                }
            }
            fhir(StatusCode::OK, bundle)
        }
        Err(error) => app_error(error),
    }
}

/// `GET /fhir/CarePlan/{id}/_history/{vid}`: one version (vread).
pub(crate) async fn care_plan_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, version)): Path<(String, String)>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.concord.api_plan_history(&caller, &id).await {
        Ok(versions) => {
            let found = versions.into_iter().find(|resource| {
                matches!(resource, Resource::CarePlan(plan) if plan.meta.as_ref().and_then(|meta| meta.version_id.as_deref()) == Some(version.as_str()))
            });
            match found {
                Some(resource) => with_etag(fhir(StatusCode::OK, resource_json(&resource)), &resource),
                None => outcome(StatusCode::NOT_FOUND, "not-found", &format!("CarePlan/{id} has no version {version}")),
            }
        }
        Err(error) => app_error(error),
    }
}

/// Any other path under `/fhir`: an OperationOutcome, not an HTML page.
pub(crate) async fn unknown() -> Response {
    outcome(StatusCode::NOT_FOUND, "not-supported", "This server does not support that resource or interaction")
}
