//! The FHIR R4 API (`/fhir`) and its token endpoint (`/auth/token`): OAuth 2.0 client credentials,
//! bearer tokens only (never a session cookie), FHIR JSON, an OperationOutcome for every error,
//! and searches by NHS number POSTed so identifiers never travel in URLs.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use concord_app::AppError;
use concord_app::api::{ApiCaller, COMPARTMENT, SCOPES};
use concord_fhir::{Bundle, BundleEntry, BundleEntrySearch, Resource, uri};
use serde_json::json;
use time::OffsetDateTime;

use crate::state::AppState;

const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

fn fhir(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, FHIR_JSON)], body.to_string()).into_response()
}

/// The first value of a form field, or empty.
fn form_field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default()
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
        AppError::Precondition { message, missing: true } => {
            outcome(StatusCode::PRECONDITION_REQUIRED, "conflict", &message)
        }
        AppError::Precondition { message, missing: false } => {
            outcome(StatusCode::PRECONDITION_FAILED, "conflict", &message)
        }
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
    let total = resources.len() as u64;
    bundle(state, "searchset", resources, Some(total), None)
}

/// A Bundle of `kind` holding `resources`, each with its full URL; `next` is the opaque link to
/// the following page, if any.
fn bundle(
    state: &AppState,
    kind: &str,
    resources: Vec<Resource>,
    total: Option<u64>,
    next: Option<String>,
) -> serde_json::Value {
    let base = format!("{}/fhir", state.concord.public_url);
    let search = kind == "searchset";
    let bundle = Bundle {
        id: Some(concord_store::new_id()),
        meta: None,
        r#type: Some(kind.into()),
        timestamp: Some(concord_fhir::FhirInstant(OffsetDateTime::now_utc())),
        total,
        entry: resources
            .into_iter()
            .map(|resource| BundleEntry {
                full_url: resource.id().map(|id| format!("{base}/{}/{id}", resource.resource_type())),
                search: search.then(|| BundleEntrySearch { mode: Some("match".into()) }),
                resource: Some(resource),
                request: None,
            })
            .collect(),
    };
    let mut value = concord_fhir::resource_json(&bundle).unwrap_or_default();
    if let Some(next) = next {
        value["link"] = json!([{ "relation": "next", "url": next }]);
    }
    value
}

/// The CapabilityStatement: what this server supports.
pub(crate) async fn metadata(State(state): State<AppState>) -> Response {
    let mut resources = vec![json!({
        "type": "Patient",
        "interaction": [{ "code": "read" }, { "code": "search-type" }],
        "searchParam": [{ "name": "identifier", "type": "token", "documentation": "The NHS number: https://fhir.nhs.uk/Id/nhs-number|NNNNNNNNNN; POST to Patient/_search (GET is refused so NHS numbers never travel in URLs)" }],
        "operation": [{ "name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything" }]
    })];
    for kind in COMPARTMENT {
        let mut interaction = vec![json!({ "code": "read" }), json!({ "code": "search-type" })];
        let mut resource = json!({
            "type": kind,
            "searchParam": [
                { "name": "patient", "type": "reference", "documentation": "Patient/{id}: the logical id, never the NHS number" },
                { "name": "_count", "type": "number", "documentation": format!("page size, at most {MAX_COUNT} (default {DEFAULT_COUNT}); further pages by opaque next links") }
            ]
        });
        if kind == "CarePlan" {
            interaction.extend([
                json!({ "code": "vread" }),
                json!({ "code": "history-instance" }),
                json!({ "code": "create", "documentation": "A partner's plan, linked into the person's overarching plan (system/CarePlan.write)" }),
                json!({ "code": "update", "documentation": "Only the partner's own linked plans, with If-Match on the version (428 without, 412 when stale)" }),
            ]);
            resource["versioning"] = json!("versioned-update");
            resource["readHistory"] = json!(true);
        }
        resource["interaction"] = json!(interaction);
        resources.push(resource);
    }
    resources.push(json!({ "type": "Binary", "interaction": [{ "code": "read" }], "documentation": "The PDF a DocumentReference points to (application/pdf)" }));
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
                "resource": resources,
                "operation": [
                    { "name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything" },
                    { "name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export", "documentation": "The practice's own systems only: its registered people, as NDJSON" }
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
    let field = |name: &str| form_field(&pairs, name);
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
    let identifier = form_field(&pairs, "identifier");
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

/// Page size when the client gives no `_count`.
const DEFAULT_COUNT: usize = 50;
/// The largest page served.
const MAX_COUNT: usize = 500;

/// A search's parameters: `patient` (or `subject`) as `Patient/{id}` and `_count`. Any other
/// parameter is refused by name, so a client never believes a filter was applied when it was not.
fn search_parameters(pairs: &[(String, String)]) -> Result<(String, usize), (StatusCode, &'static str, String)> {
    let mut patient = None;
    let mut count = DEFAULT_COUNT;
    for (key, value) in pairs {
        match key.as_str() {
            "patient" | "subject" => {
                let id = value.strip_prefix("Patient/").unwrap_or(value);
                patient = Some(id.to_owned());
            }
            "_count" => match value.parse::<usize>() {
                Ok(number) if number <= MAX_COUNT => count = number,
                _ => {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        "invalid",
                        format!("_count: give a whole number from 0 to {MAX_COUNT}"),
                    ));
                }
            },
            "_format" => {}
            other => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "not-supported",
                    format!("The search parameter {other:?} is not supported here (patient and _count are)"),
                ));
            }
        }
    }
    match patient.filter(|id| !id.is_empty() && id.len() <= 64) {
        Some(id) => Ok((id, count)),
        None => Err((StatusCode::BAD_REQUEST, "required", "Search by patient=Patient/{id}".into())),
    }
}

/// One page of `resources` (all of the search's matches) from `offset`, with an opaque next
/// link when more remain.
async fn page(
    state: &AppState,
    caller: &ApiCaller,
    search: &str,
    patient_id: &str,
    resources: Vec<Resource>,
    offset: usize,
    count: usize,
) -> Response {
    let total = resources.len();
    let end = offset.saturating_add(count).min(total);
    let next = if end < total && count > 0 {
        let row = concord_store::SearchPageRow {
            search: search.to_owned(),
            patient_id: patient_id.to_owned(),
            offset: end as i64,
            count: count as i64,
        };
        match state.concord.api_keep_page(caller, &row, OffsetDateTime::now_utc()).await {
            Ok(token) => Some(format!("{}/fhir/_page/{token}", state.concord.public_url)),
            Err(error) => return app_error(error),
        }
    } else {
        None
    };
    let shown: Vec<Resource> = resources.into_iter().skip(offset).take(end.saturating_sub(offset)).collect();
    fhir(StatusCode::OK, bundle(state, "searchset", shown, Some(total as u64), next))
}

/// Runs a search (`search` is a resource type, or `$everything`) and serves one page.
async fn run_search(
    state: &AppState,
    caller: &ApiCaller,
    search: &str,
    patient_id: &str,
    offset: usize,
    count: usize,
) -> Response {
    let found = if search == "$everything" {
        state.concord.api_everything(caller, patient_id).await
    } else {
        state.concord.api_search(caller, search, patient_id).await
    };
    match found {
        Ok(resources) => page(state, caller, search, patient_id, resources, offset, count).await,
        Err(error) => app_error(error),
    }
}

async fn search(state: &AppState, headers: &HeaderMap, resource_type: &str, pairs: &[(String, String)]) -> Response {
    if !COMPARTMENT.contains(&resource_type) {
        return unknown().await;
    }
    let caller = match bearer(state, headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let (patient_id, count) = match search_parameters(pairs) {
        Ok(parameters) => parameters,
        Err((status, code, text)) => return outcome(status, code, &text),
    };
    run_search(state, &caller, resource_type, &patient_id, 0, count).await
}

/// `GET /fhir/{type}?patient=Patient/{id}` (the logical id, never the NHS number).
pub(crate) async fn search_by_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(resource_type): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    search(&state, &headers, &resource_type, &pairs).await
}

/// `POST /fhir/{type}/_search` with the parameters in the form body.
pub(crate) async fn search_by_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(resource_type): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    search(&state, &headers, &resource_type, &pairs).await
}

/// `GET /fhir/_page/{token}`: the next page of an earlier search by the same client.
pub(crate) async fn next_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.concord.api_page(&caller, &token, OffsetDateTime::now_utc()).await {
        Ok(Some(row)) => {
            run_search(
                &state,
                &caller,
                &row.search,
                &row.patient_id,
                usize::try_from(row.offset).unwrap_or(0),
                usize::try_from(row.count).unwrap_or(DEFAULT_COUNT),
            )
            .await
        }
        Ok(None) => outcome(StatusCode::GONE, "expired", "This page link has expired or is not yours; search again"),
        Err(error) => app_error(error),
    }
}

/// `GET|POST /fhir/Patient/{id}/$everything` (with `_count` paging).
pub(crate) async fn everything(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let mut with_patient = pairs;
    with_patient.push(("patient".into(), id));
    let (patient_id, count) = match search_parameters(&with_patient) {
        Ok(parameters) => parameters,
        Err((status, code, text)) => return outcome(status, code, &text),
    };
    run_search(&state, &caller, "$everything", &patient_id, 0, count).await
}

/// `GET /fhir/{type}/{id}`: any served resource by its logical id.
pub(crate) async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((resource_type, id)): Path<(String, String)>,
) -> Response {
    if !COMPARTMENT.contains(&resource_type.as_str()) {
        return unknown().await;
    }
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.concord.api_read(&caller, &resource_type, &id).await {
        Ok(resource) => with_etag(fhir(StatusCode::OK, resource_json(&resource)), &resource),
        Err(error) => app_error(error),
    }
}

/// `GET /fhir/Binary/{id}`: the PDF a DocumentReference points to.
pub(crate) async fn binary(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.concord.api_binary(&caller, &id).await {
        Ok(bytes) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/pdf"), (header::CACHE_CONTROL, "no-store")], bytes)
                .into_response()
        }
        Err(error) => app_error(error),
    }
}

/// `POST /fhir/Patient/$break-glass` with `identifier` (the NHS number) and `reason`: emergency
/// access for a partner's clinician, time-limited and flagged to the practice's privacy officer.
pub(crate) async fn break_glass(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let identifier = form_field(&pairs, "identifier");
    let number = identifier.strip_prefix(&format!("{}|", uri::NHS_NUMBER)).unwrap_or(&identifier);
    match state.concord.api_break_glass(&caller, number, &form_field(&pairs, "reason"), OffsetDateTime::now_utc()).await
    {
        Ok((patient_id, expires)) => fhir(
            StatusCode::OK,
            json!({
                "resourceType": "Parameters",
                "parameter": [
                    { "name": "patient", "valueReference": { "reference": format!("Patient/{patient_id}") } },
                    { "name": "expires", "valueInstant": concord_app::status::timestamp(expires) },
                    { "name": "notice", "valueString": "This access is recorded, time-limited and will be reviewed by the practice's privacy officer. The person can see it." }
                ]
            }),
        ),
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

/// A method the path does not take under `/fhir`.
pub(crate) async fn not_allowed() -> Response {
    outcome(StatusCode::METHOD_NOT_ALLOWED, "not-supported", "This server does not support that method here")
}

/// `GET /fhir/Patient/{id}/$gp-record`: for the practice's own system, what Concord recorded that
/// the GP record must hold and does not yet, as a transaction Bundle to apply.
pub(crate) async fn gp_record(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.concord.api_gp_record(&caller, &id, OffsetDateTime::now_utc()).await {
        Ok(export) => fhir(StatusCode::OK, concord_fhir::resource_json(&export.bundle).unwrap_or_default()),
        Err(error) => app_error(error),
    }
}

/// `POST /fhir/Bundle/{export id}/$filed` with the GP system's transaction-response: marks the
/// confirmed items filed. Answers with a Parameters resource saying how many.
pub(crate) async fn gp_filed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(export_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    if caller.kind != "practice" {
        return outcome(StatusCode::FORBIDDEN, "forbidden", "Only the practice's own systems confirm filing");
    }
    let response: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => return outcome(StatusCode::BAD_REQUEST, "invalid", &format!("The body is not JSON: {error}")),
    };
    match state
        .concord
        .gp_record_filed(
            &caller.actor_for_audit(),
            Some(&caller.organisation),
            &export_id,
            &response,
            OffsetDateTime::now_utc(),
        )
        .await
    {
        Ok(filed) => fhir(
            StatusCode::OK,
            json!({ "resourceType": "Parameters", "parameter": [{ "name": "filed", "valueInteger": filed }] }),
        ),
        Err(error) => app_error(error),
    }
}

/// The request body as text, or why not (a status and words for the OperationOutcome).
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<String, (StatusCode, &'static str)> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !(content_type.starts_with("application/fhir+json") || content_type.starts_with("application/json")) {
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send the resource as application/fhir+json"));
    }
    String::from_utf8(body.to_vec()).map_err(|_| (StatusCode::BAD_REQUEST, "The body is not UTF-8 text"))
}

/// `POST /fhir/CarePlan`: a partner's plan linked into the person's overarching plan.
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(resource_type): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if resource_type != "CarePlan" {
        return not_allowed().await;
    }
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let text = match json_body(&headers, &body) {
        Ok(text) => text,
        Err((status, text)) => return outcome(status, "invalid", text),
    };
    match state.concord.api_create_linked_plan(&caller, &text, OffsetDateTime::now_utc()).await {
        Ok(plan) => {
            let id = plan.id.clone().unwrap_or_default();
            let resource = Resource::CarePlan(plan);
            let mut response = with_etag(fhir(StatusCode::CREATED, resource_json(&resource)), &resource);
            if let Ok(location) =
                header::HeaderValue::from_str(&format!("{}/fhir/CarePlan/{id}/_history/1", state.concord.public_url))
            {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(error) => app_error(error),
    }
}

/// `PUT /fhir/CarePlan/{id}` with `If-Match: W/"n"`: the partner replaces its linked plan.
pub(crate) async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((resource_type, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if resource_type != "CarePlan" {
        return not_allowed().await;
    }
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let text = match json_body(&headers, &body) {
        Ok(text) => text,
        Err((status, text)) => return outcome(status, "invalid", text),
    };
    let if_match = headers.get(header::IF_MATCH).and_then(|value| value.to_str().ok());
    match state.concord.api_update_linked_plan(&caller, &id, if_match, &text, OffsetDateTime::now_utc()).await {
        Ok(plan) => {
            let resource = Resource::CarePlan(plan);
            with_etag(fhir(StatusCode::OK, resource_json(&resource)), &resource)
        }
        Err(error) => app_error(error),
    }
}

/// `GET /fhir/$export` with `Prefer: respond-async`: a bulk export of the practice's people as
/// NDJSON (FHIR Bulk Data), for the practice's own systems. Answers 202 with the status URL.
pub(crate) async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let prefer = headers.get("prefer").and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !prefer.contains("respond-async") {
        return outcome(StatusCode::BAD_REQUEST, "invalid", "Bulk export is asynchronous: send Prefer: respond-async");
    }
    let mut types = None;
    for (key, value) in &pairs {
        match key.as_str() {
            "_type" => types = Some(value.clone()),
            "_outputFormat"
                if ["application/fhir+ndjson", "application/ndjson", "ndjson"].contains(&value.as_str()) => {}
            other => {
                return outcome(
                    StatusCode::BAD_REQUEST,
                    "not-supported",
                    &format!("The export parameter {other:?} is not supported here (_type and _outputFormat are)"),
                );
            }
        }
    }
    match state.concord.api_start_export(&caller, types.as_deref(), OffsetDateTime::now_utc()).await {
        Ok(id) => {
            let mut response = StatusCode::ACCEPTED.into_response();
            if let Ok(location) =
                header::HeaderValue::from_str(&format!("{}/fhir/$export-status/{id}", state.concord.public_url))
            {
                response.headers_mut().insert(header::CONTENT_LOCATION, location);
            }
            response
        }
        Err(error) => app_error(error),
    }
}

/// `GET /fhir/$export-status/{id}`: 202 while running; the manifest (200) when complete.
pub(crate) async fn export_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.concord.api_export_status(&caller, &id).await {
        Ok(Some(row)) if row.status == "running" => {
            let mut response = StatusCode::ACCEPTED.into_response();
            response.headers_mut().insert("x-progress", header::HeaderValue::from_static("in progress"));
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("2"));
            response
        }
        Ok(Some(row)) if row.status == "complete" => {
            let base = &state.concord.public_url;
            let output: Vec<serde_json::Value> = row
                .output
                .lines()
                .filter_map(|line| line.split_once(' '))
                .filter(|(_, count)| *count != "0")
                .map(|(kind, count)| {
                    json!({ "type": kind, "url": format!("{base}/fhir/$export-file/{}/{kind}.ndjson", row.id), "count": count.parse::<u64>().unwrap_or(0) })
                })
                .collect();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                json!({
                    "transactionTime": row.transaction_time,
                    "request": format!("{base}/fhir/$export"),
                    "requiresAccessToken": true,
                    "output": output,
                    "error": []
                })
                .to_string(),
            )
                .into_response()
        }
        Ok(Some(row)) => {
            outcome(StatusCode::INTERNAL_SERVER_ERROR, "exception", row.error.as_deref().unwrap_or("the export failed"))
        }
        Ok(None) => outcome(StatusCode::NOT_FOUND, "not-found", "No such export for this client"),
        Err(error) => app_error(error),
    }
}

/// `GET /fhir/$export-file/{id}/{Type}.ndjson`: one file of a complete export.
pub(crate) async fn export_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let caller = match bearer(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Some(kind) = file.strip_suffix(".ndjson") else {
        return outcome(StatusCode::NOT_FOUND, "not-found", "No such export file");
    };
    match state.concord.api_export_file(&caller, &id, kind).await {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/fhir+ndjson"), (header::CACHE_CONTROL, "no-store")],
            bytes,
        )
            .into_response(),
        Err(error) => app_error(error),
    }
}
