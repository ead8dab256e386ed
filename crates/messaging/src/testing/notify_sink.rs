//! A GOV.UK Notify-shaped SMS gateway on loopback that checks the JWT and records requests.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::notify::is_uuid;
use crate::{NotifyApiKey, NotifySmsConfig};

/// A well-formed API key for tests (not a real one).
pub const TEST_NOTIFY_API_KEY: &str =
    "concord_test-11111111-2222-4333-8444-555555555555-66666666-7777-4888-9999-aaaaaaaaaaaa";
/// A template id for tests.
pub const TEST_NOTIFY_TEMPLATE_ID: &str = "0c0c0c0c-1d1d-4e4e-8f8f-2a2a2a2a2a2a";

/// How far `iat` may be from the sink's clock, as Notify allows.
const CLOCK_SKEW_SECONDS: i64 = 30;

/// What the sink answers to an authorised, well-formed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyReply {
    /// `201 Created` with a notification id: the message is accepted.
    Created,
    /// This status with a Notify-shaped error body (400, 403, 429, 500, …): the message is not accepted.
    Status(u16),
}

/// One request the sink received, and how it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsRequest {
    /// The `reference` field: Concord's message id.
    pub reference: Option<String>,
    pub phone_number: Option<String>,
    pub template_id: Option<String>,
    /// `personalisation.body`.
    pub body: Option<String>,
    /// Whether the bearer JWT verified (signature, `iss`, `iat` within 30 s).
    pub authorised: bool,
    /// The status the sink answered (or was about to, for a delayed reply the client gave up on).
    pub status: u16,
    /// The notification id given with `201`.
    pub notification_id: Option<String>,
}

impl SmsRequest {
    /// Whether the gateway took the message (it answered, or was going to answer, 201).
    pub fn accepted(&self) -> bool {
        self.status == 201
    }
}

#[derive(Debug)]
struct State {
    api_key: NotifyApiKey,
    reply: NotifyReply,
    scripted: VecDeque<NotifyReply>,
    delay: Duration,
    requests: Vec<SmsRequest>,
}

/// A Notify-shaped gateway on `127.0.0.1`. Stops when dropped.
#[derive(Debug)]
pub struct NotifySink {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl NotifySink {
    /// Starts a gateway that trusts [`TEST_NOTIFY_API_KEY`] and answers `201`.
    pub async fn start() -> NotifySink {
        NotifySink::start_with_key(NotifyApiKey::parse(TEST_NOTIFY_API_KEY).expect("test key parses")).await
    }

    /// Starts a gateway that trusts `api_key` (its service id and secret) and answers `201`.
    pub async fn start_with_key(api_key: NotifyApiKey) -> NotifySink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State {
            api_key,
            reply: NotifyReply::Created,
            scripted: VecDeque::new(),
            delay: Duration::ZERO,
            requests: Vec::new(),
        }));
        let router = Router::new().route("/v2/notifications/sms", post(send_sms)).with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("sink serves");
        });
        NotifySink { address, state, task }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:{port}`, the transport's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn api_key(&self) -> NotifyApiKey {
        self.lock().api_key.clone()
    }

    /// A transport configuration for this sink: its key, [`TEST_NOTIFY_TEMPLATE_ID`], a 5-second timeout.
    pub fn config(&self) -> NotifySmsConfig {
        NotifySmsConfig {
            base_url: self.base_url(),
            api_key: self.api_key(),
            template_id: TEST_NOTIFY_TEMPLATE_ID.to_owned(),
            timeout: Duration::from_secs(5),
        }
    }

    /// The answer from now on (after any scripted ones).
    pub fn respond_with(&self, reply: NotifyReply) {
        self.lock().reply = reply;
    }

    /// Answer the next `count` authorised requests with `reply`, then go back to the usual answer.
    pub fn script(&self, reply: NotifyReply, count: usize) {
        self.lock().scripted.extend(std::iter::repeat_n(reply, count));
    }

    /// Wait this long before answering (after recording the request and deciding the answer), so a
    /// client with a shorter timeout gives up on a message the gateway has accepted.
    pub fn delay_replies(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Every request, in arrival order.
    pub fn requests(&self) -> Vec<SmsRequest> {
        self.lock().requests.clone()
    }

    /// The requests answered (or being answered) with 201.
    pub fn accepted(&self) -> Vec<SmsRequest> {
        self.lock().requests.iter().filter(|request| request.accepted()).cloned().collect()
    }

    /// How many accepted requests carry this reference.
    pub fn count_accepted(&self, reference: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|request| request.accepted() && request.reference.as_deref() == Some(reference))
            .count()
    }

    /// References accepted more than once, with their counts: empty when every message arrived once.
    pub fn duplicates(&self) -> Vec<(String, usize)> {
        let state = self.lock();
        super::duplicates(
            state
                .requests
                .iter()
                .filter(|request| request.accepted())
                .filter_map(|request| request.reference.as_deref()),
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("sink state")
    }
}

impl Drop for NotifySink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn send_sms(AxumState(state): AxumState<Arc<Mutex<State>>>, headers: HeaderMap, body: Bytes) -> Response {
    let (status, reply, delay) = {
        let mut state = state.lock().expect("sink state");
        let authorisation = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).unwrap_or("");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let auth = verify_bearer(authorisation, &state.api_key, now);
        let payload: Option<Value> = serde_json::from_slice(&body).ok();
        let field = |pointer: &str| {
            payload.as_ref().and_then(|p| p.pointer(pointer)).and_then(Value::as_str).map(str::to_owned)
        };
        let mut request = SmsRequest {
            reference: field("/reference"),
            phone_number: field("/phone_number"),
            template_id: field("/template_id"),
            body: field("/personalisation/body"),
            authorised: auth.is_ok(),
            status: 0,
            notification_id: None,
        };
        let (status, reply) = match auth {
            Err(message) => (403, error_body(403, "AuthError", message)),
            Ok(()) => answer(&mut state, payload.as_ref(), &mut request),
        };
        request.status = status;
        state.requests.push(request);
        (status, reply, state.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], reply.to_string()).into_response()
}

/// The answer to an authorised request: validation as Notify does it, then the scripted or usual reply.
fn answer(state: &mut State, payload: Option<&Value>, request: &mut SmsRequest) -> (u16, Value) {
    let Some(payload) = payload.filter(|payload| payload.is_object()) else {
        return (400, error_body(400, "BadRequestError", "Invalid JSON supplied in POST data"));
    };
    if request.phone_number.is_none() {
        return (400, error_body(400, "ValidationError", "phone_number is a required property"));
    }
    if !request.template_id.as_deref().is_some_and(is_uuid) {
        return (400, error_body(400, "ValidationError", "template_id is not a valid UUID"));
    }
    if request.body.is_none() {
        return (400, error_body(400, "BadRequestError", "Missing personalisation: body"));
    }
    if payload.get("reference").is_some_and(|reference| !reference.is_string()) {
        return (400, error_body(400, "ValidationError", "reference is not of type string"));
    }
    match state.scripted.pop_front().unwrap_or(state.reply) {
        NotifyReply::Created => {
            let id = format!("00000000-0000-4000-8000-{:012x}", state.requests.len() + 1);
            request.notification_id = Some(id.clone());
            let reply = json!({
                "id": id,
                "reference": request.reference,
                "content": { "body": request.body, "from_number": "CONCORD" },
                "uri": format!("/v2/notifications/{id}"),
                "template": { "id": request.template_id, "version": 1, "uri": "/v2/template" },
                "scheduled_for": null,
            });
            (201, reply)
        }
        NotifyReply::Status(status) => {
            let (error, message) = match status {
                // Quotes the number, as a careless gateway might: tests prove it never reaches our errors.
                400 => (
                    "ValidationError",
                    format!("phone_number {} is not a UK mobile number", request.phone_number.as_deref().unwrap_or("")),
                ),
                403 => ("AuthError", "Invalid token: API key not found".to_owned()),
                429 => (
                    "RateLimitError",
                    "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds".to_owned(),
                ),
                500..=599 => ("Exception", "Internal server error".to_owned()),
                _ => ("BadRequestError", "Request refused".to_owned()),
            };
            (status, error_body(status, error, &message))
        }
    }
}

fn error_body(status: u16, error: &str, message: &str) -> Value {
    json!({ "status_code": status, "errors": [{ "error": error, "message": message }] })
}

/// Checks `Bearer <jwt>`: HS256 header, signature with the key's secret, `iss` = service id, `iat`
/// within 30 s of `now`. The error is Notify's wording.
fn verify_bearer(authorisation: &str, key: &NotifyApiKey, now: i64) -> Result<(), &'static str> {
    let token = authorisation.strip_prefix("Bearer ").ok_or("Unauthorized: authentication token must be provided")?;
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("Invalid token: signature, api token is not valid");
    };
    let decode =
        |part: &str| URL_SAFE_NO_PAD.decode(part).ok().and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let header = decode(header).ok_or("Invalid token: signature, api token is not valid")?;
    if header["alg"] != "HS256" {
        return Err("Invalid token: algorithm used is not HS256");
    }
    let signature =
        URL_SAFE_NO_PAD.decode(signature).map_err(|_| "Invalid token: signature, api token is not valid")?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.secret_key().as_bytes()).expect("any key length");
    mac.update(token.rsplit_once('.').map(|(signed, _)| signed).unwrap_or_default().as_bytes());
    mac.verify_slice(&signature).map_err(|_| "Invalid token: signature, api token not found")?;
    let claims = decode(claims).ok_or("Invalid token: signature, api token is not valid")?;
    if claims["iss"].as_str() != Some(key.service_id()) {
        return Err("Invalid token: iss field not provided or not a known service");
    }
    let issued_at = claims["iat"].as_i64().ok_or("Invalid token: iat field not provided")?;
    if (now - issued_at).abs() > CLOCK_SKEW_SECONDS {
        return Err("Error: Your system clock must be accurate to within 30 seconds");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify_bearer_token;

    #[test]
    fn bearer_tokens_verify_only_with_the_right_key_and_a_fresh_iat() {
        let key = NotifyApiKey::parse(TEST_NOTIFY_API_KEY).unwrap();
        let token = format!("Bearer {}", notify_bearer_token(&key, 1_000_000));
        assert_eq!(verify_bearer(&token, &key, 1_000_000), Ok(()));
        assert_eq!(verify_bearer(&token, &key, 1_000_030), Ok(()));
        assert!(verify_bearer(&token, &key, 1_000_031).unwrap_err().contains("clock"));
        assert!(verify_bearer(&token, &key, 999_969).unwrap_err().contains("clock"));

        let other_secret = NotifyApiKey::parse(&TEST_NOTIFY_API_KEY.replace("aaaaaaaaaaaa", "bbbbbbbbbbbb")).unwrap();
        assert!(verify_bearer(&token, &other_secret, 1_000_000).unwrap_err().contains("signature"));
        let other_service = NotifyApiKey::parse(&TEST_NOTIFY_API_KEY.replace("555555555555", "000000000000")).unwrap();
        let forged = format!("Bearer {}", notify_bearer_token(&other_service, 1_000_000));
        // Signed with the right secret but naming another service.
        assert!(verify_bearer(&forged, &key, 1_000_000).unwrap_err().contains("iss"));

        let tampered = token.replacen('.', ".e30.", 1);
        assert!(verify_bearer(&tampered, &key, 1_000_000).is_err());
        assert!(verify_bearer("", &key, 1_000_000).is_err());
        assert!(verify_bearer(&token.replace("Bearer ", "Basic "), &key, 1_000_000).is_err());
    }
}
