//! Text messages through an HTTP gateway with the GOV.UK Notify API's shape.
//!
//! Reference for the shape (GOV.UK Notify API v2, as documented for its REST API and official clients,
//! e.g. alphagov/notifications-python-client README and the notifications-api authentication page):
//! - `POST {base}/v2/notifications/sms`, JSON `{"phone_number", "template_id", "personalisation": {...},
//!   "reference"}`; `201 Created` with `{"id": "<uuid>", "reference", "content": {...}, ...}`.
//! - `Authorization: Bearer <JWT>`: header `{"typ":"JWT","alg":"HS256"}`, claims `iss` = service id and
//!   `iat` = now in seconds (the server allows 30 s of clock skew), HMAC-SHA256 with the secret key.
//! - An API key reads `{key_name}-{service_id}-{secret_key}`, both ids 36-character UUIDs.
//! - Errors: `{"status_code": 400, "errors": [{"error": "ValidationError", "message": "..."}]}`;
//!   400 bad request, 403 auth, 429 rate limit or daily limit, 500 internal error.
//!
//! The template is one whose content is `((body))`: Concord composes the text, Notify delivers it.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{StatusCode, Uri, header};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;

use crate::{ConfigError, Delivery, OutgoingSms, SendError, SendFuture, SmsTransport, is_loopback_host, now};

/// The GOV.UK Notify API's base URL.
pub const NOTIFY_BASE_URL: &str = "https://api.notifications.service.gov.uk";

/// The largest gateway reply read; a Notify reply is a few hundred bytes.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// A Notify API key: `{key_name}-{service_id}-{secret_key}`. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct NotifyApiKey {
    key_name: String,
    service_id: String,
    secret_key: String,
}

impl NotifyApiKey {
    /// Splits a key string. The key name may itself contain hyphens: the ids are the last 73 characters.
    /// The error never repeats the key.
    pub fn parse(key: &str) -> Result<NotifyApiKey, ConfigError> {
        let key = key.trim();
        if !key.is_ascii() || key.len() < 36 + 1 + 36 + 2 {
            return Err(ConfigError::NotifyApiKey);
        }
        let (rest, secret_key) = key.split_at(key.len() - 36);
        let (key_name, service_id) = rest.split_at(rest.len() - 37);
        let (Some(key_name), Some(service_id)) = (key_name.strip_suffix('-'), service_id.strip_suffix('-')) else {
            return Err(ConfigError::NotifyApiKey);
        };
        if key_name.is_empty() || !is_uuid(service_id) || !is_uuid(secret_key) {
            return Err(ConfigError::NotifyApiKey);
        }
        Ok(NotifyApiKey {
            key_name: key_name.to_owned(),
            service_id: service_id.to_owned(),
            secret_key: secret_key.to_owned(),
        })
    }

    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The service id, sent as the JWT's `iss`.
    pub fn service_id(&self) -> &str {
        &self.service_id
    }

    pub(crate) fn secret_key(&self) -> &str {
        &self.secret_key
    }
}

impl fmt::Debug for NotifyApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyApiKey")
            .field("key_name", &self.key_name)
            .field("service_id", &self.service_id)
            .finish_non_exhaustive()
    }
}

/// The bearer token for a request issued at `issued_at` (Unix seconds): an HS256 JWT with `iss` = the
/// service id and `iat` = `issued_at`, signed with the key's secret.
pub fn notify_bearer_token(key: &NotifyApiKey, issued_at: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
    let claims = serde_json::json!({ "iss": key.service_id, "iat": issued_at });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let signature = URL_SAFE_NO_PAD.encode(hs256(key.secret_key().as_bytes(), signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

pub(crate) fn hs256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `text` is a UUID in its 36-character hyphenated form.
pub(crate) fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// Where and how to send text messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifySmsConfig {
    /// [`NOTIFY_BASE_URL`] in production. Must be `https://` unless the host is loopback.
    pub base_url: String,
    pub api_key: NotifyApiKey,
    /// A Notify text message template whose whole content is `((body))`.
    pub template_id: String,
    /// Limit on the whole request, from connecting to reading the reply.
    pub timeout: Duration,
}

impl NotifySmsConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Production Notify with the default timeout.
    pub fn new(api_key: NotifyApiKey, template_id: impl Into<String>) -> NotifySmsConfig {
        NotifySmsConfig {
            base_url: NOTIFY_BASE_URL.to_owned(),
            api_key,
            template_id: template_id.into(),
            timeout: NotifySmsConfig::DEFAULT_TIMEOUT,
        }
    }
}

/// Sends [`OutgoingSms`]es to a Notify-shaped gateway over HTTP/1.1 (keep-alive connections reused).
#[derive(Clone)]
pub struct NotifySmsTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: Uri,
    api_key: NotifyApiKey,
    template_id: String,
    timeout: Duration,
}

impl fmt::Debug for NotifySmsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifySmsTransport").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl NotifySmsTransport {
    pub fn new(config: NotifySmsConfig) -> Result<NotifySmsTransport, ConfigError> {
        if !is_uuid(&config.template_id) {
            return Err(ConfigError::NotifyTemplateId);
        }
        let endpoint = sms_endpoint(&config.base_url)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|error| ConfigError::Tls(error.to_string()))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(https);
        Ok(NotifySmsTransport {
            client,
            endpoint,
            api_key: config.api_key,
            template_id: config.template_id,
            timeout: config.timeout,
        })
    }

    /// Posts `sms` to the gateway. Success means `201 Created`; the delivery's provider id is the
    /// notification `id` from the reply.
    pub async fn send(&self, sms: &OutgoingSms) -> Result<Delivery, SendError> {
        let outcome = self.post(sms).await;
        match &outcome {
            Ok(_) => tracing::debug!(message_id = %sms.message_id, "text message accepted by the SMS gateway"),
            Err(error) => tracing::debug!(message_id = %sms.message_id, %error, "text message not sent"),
        }
        outcome
    }

    async fn post(&self, sms: &OutgoingSms) -> Result<Delivery, SendError> {
        if sms.message_id.is_empty() {
            return Err(SendError::permanent("the message has no id"));
        }
        let payload = serde_json::json!({
            "phone_number": sms.phone_number,
            "template_id": self.template_id,
            "personalisation": { "body": sms.body },
            "reference": sms.message_id,
        });
        let token = notify_bearer_token(&self.api_key, now().unix_timestamp());
        let request = hyper::Request::post(self.endpoint.clone())
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, concat!("concord-messaging/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(payload.to_string())))
            .map_err(|_| SendError::permanent("the gateway request could not be built"))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| request_failed(&error))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_REPLY_BYTES)
                .collect()
                .await
                .map_err(|_| SendError::transient("the SMS gateway's reply broke off or was too large"))?
                .to_bytes();
            Ok::<_, SendError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| SendError::transient("timed out waiting for the SMS gateway"))??;
        let reply: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status.is_success() {
            let provider_id = reply["id"].as_str().map(str::to_owned);
            return Ok(Delivery { provider_id, accepted_at: now() });
        }
        let reason = format!("the SMS gateway answered HTTP {}{}", status.as_u16(), error_summary(&reply, sms));
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT || status.is_server_error()
        {
            Err(SendError::transient(reason))
        } else {
            Err(SendError::permanent(reason))
        }
    }
}

impl SmsTransport for NotifySmsTransport {
    fn send_sms<'a>(&'a self, sms: &'a OutgoingSms) -> SendFuture<'a> {
        Box::pin(self.send(sms))
    }
}

/// `{base}/v2/notifications/sms` as a URI, checking the base is HTTPS (or HTTP on loopback).
fn sms_endpoint(base_url: &str) -> Result<Uri, ConfigError> {
    let bad = |reason: &str| ConfigError::BaseUrl(reason.to_owned());
    let parsed = url::Url::parse(base_url).map_err(|_| bad("not a URL"))?;
    let host = parsed.host_str().ok_or_else(|| bad("no host"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        "http" => return Err(bad("must be https:// unless the gateway is on loopback")),
        _ => return Err(bad("the scheme must be https://")),
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(bad("no query, fragment or user name allowed"));
    }
    let endpoint = format!("{}/v2/notifications/sms", parsed.as_str().trim_end_matches('/'));
    endpoint.parse().map_err(|_| bad("not a valid URI"))
}

/// A failed request, by cause. hyper's text is not used, so nothing of the request can leak.
fn request_failed(error: &hyper_util::client::legacy::Error) -> SendError {
    let mut source = error.source();
    let mut io_kind = None;
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        source = cause.source();
    }
    let kind = io_kind.map(|kind| format!(": {kind}")).unwrap_or_default();
    if error.is_connect() {
        SendError::transient(format!("could not reach the SMS gateway{kind}"))
    } else {
        SendError::transient(format!("the connection to the SMS gateway failed before a reply{kind}"))
    }
}

/// The gateway's error names and messages, `: ValidationError (Missing personalisation: body)`, keeping
/// only text that cannot carry the message: error names are letters only, and a message is dropped if it
/// contains the phone number, the body, an `@` or a run of five or more digits.
fn error_summary(reply: &serde_json::Value, sms: &OutgoingSms) -> String {
    let Some(errors) = reply["errors"].as_array() else { return String::new() };
    let digits = |text: &str| text.chars().filter(char::is_ascii_digit).collect::<String>();
    let phone_digits = digits(&sms.phone_number);
    let safe_message = |message: &str| {
        let mut run = 0;
        let long_digit_run = message.chars().any(|c| {
            run = if c.is_ascii_digit() { run + 1 } else { 0 };
            run >= 5
        });
        let leaks = long_digit_run
            || message.contains('@')
            || (!sms.phone_number.trim().is_empty() && message.contains(sms.phone_number.trim()))
            || (phone_digits.len() >= 5 && digits(message).contains(&phone_digits))
            || (!sms.body.trim().is_empty() && message.contains(sms.body.trim()));
        !leaks && message.len() <= 200 && !message.chars().any(char::is_control)
    };
    let parts: Vec<String> = errors
        .iter()
        .take(3)
        .filter_map(|error| {
            let name = error["error"]
                .as_str()
                .filter(|name| !name.is_empty() && name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphabetic()))?;
            Some(match error["message"].as_str() {
                Some(message) if safe_message(message) => format!("{name} ({message})"),
                Some(_) => format!("{name} (message withheld)"),
                None => name.to_owned(),
            })
        })
        .collect();
    if parts.is_empty() { String::new() } else { format!(": {}", parts.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "concord_live-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn api_keys_split_into_name_service_and_secret() {
        let key = NotifyApiKey::parse(KEY).unwrap();
        assert_eq!(key.key_name(), "concord_live");
        assert_eq!(key.service_id(), "26785a09-ab16-4eb0-8407-a37497a57506");
        assert_eq!(key.secret_key(), "3d844edf-8d35-48ac-975b-e847b4f122b0");
        let hyphenated = NotifyApiKey::parse(&KEY.replace("concord_live", "my-test-key")).unwrap();
        assert_eq!(hyphenated.key_name(), "my-test-key");
        assert!(!format!("{key:?}").contains("3d844edf"));
    }

    #[test]
    fn malformed_api_keys_are_refused_without_echo() {
        for bad in [
            "",
            "3d844edf-8d35-48ac-975b-e847b4f122b0",
            "26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0",
            "name_26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0",
            "name-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122bX",
            "name-26785a09+ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0",
        ] {
            let error = NotifyApiKey::parse(bad).unwrap_err();
            assert_eq!(error, ConfigError::NotifyApiKey);
            assert!(!error.to_string().contains("3d844edf"));
        }
    }

    #[test]
    fn bearer_token_is_an_hs256_jwt_over_iss_and_iat() {
        let key = NotifyApiKey::parse(KEY).unwrap();
        let token = notify_bearer_token(&key, 1_700_000_000);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"typ": "JWT", "alg": "HS256"}));
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims, serde_json::json!({"iss": "26785a09-ab16-4eb0-8407-a37497a57506", "iat": 1_700_000_000}));
        let expected = hs256(key.secret_key().as_bytes(), format!("{}.{}", parts[0], parts[1]).as_bytes());
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap(), expected);
    }

    #[test]
    fn hs256_matches_rfc_4231_test_case_2() {
        let mac = hs256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn base_urls_must_be_https_off_loopback() {
        assert_eq!(
            sms_endpoint(NOTIFY_BASE_URL).unwrap(),
            "https://api.notifications.service.gov.uk/v2/notifications/sms"
        );
        assert_eq!(sms_endpoint("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080/v2/notifications/sms");
        assert_eq!(
            sms_endpoint("https://gw.example.org/notify").unwrap(),
            "https://gw.example.org/notify/v2/notifications/sms"
        );
        for bad in ["http://gw.example.org", "ftp://gw.example.org", "https://gw.example.org?x=1", "gw.example.org"] {
            assert!(sms_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gateway_error_text_is_kept_only_when_it_cannot_carry_the_message() {
        let sms = OutgoingSms {
            message_id: "m".into(),
            phone_number: "07700 900123".into(),
            body: "Your review is due".into(),
        };
        let reply = |message: &str| serde_json::json!({"errors": [{"error": "ValidationError", "message": message}]});
        assert_eq!(
            error_summary(&reply("Missing personalisation: body"), &sms),
            ": ValidationError (Missing personalisation: body)"
        );
        for leaky in [
            "phone_number 07700 900123 is not valid",
            "bad number +44 7700 900123",
            "body Your review is due too long",
            "to x@example.org",
            "ref 0123456",
        ] {
            assert_eq!(error_summary(&reply(leaky), &sms), ": ValidationError (message withheld)", "{leaky}");
        }
        let odd_name = serde_json::json!({"errors": [{"error": "07700 900123", "message": "x"}]});
        assert_eq!(error_summary(&odd_name, &sms), "");
        assert_eq!(error_summary(&serde_json::json!("not an object"), &sms), "");
    }
}
