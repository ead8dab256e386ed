//! Email over SMTP with lettre: STARTTLS or implicit TLS (rustls) in production, plain SMTP on loopback.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment as MimeAttachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{ConfigError, Delivery, EmailTransport, OutgoingEmail, SendError, SendFuture, is_loopback_host, now};

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP, for a relay on loopback or a development sink. Credentials are refused unless the host
    /// is loopback.
    None,
    /// Plain connection upgraded with STARTTLS, which the server must offer (usually port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::StartTls => "starttls",
            TlsMode::Tls => "tls",
        }
    }

    pub fn parse(text: &str) -> Option<TlsMode> {
        [TlsMode::None, TlsMode::StartTls, TlsMode::Tls].into_iter().find(|mode| mode.as_str() == text)
    }

    /// The usual port for the mode: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
        }
    }
}

/// SMTP AUTH user name and password. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Where and how to send email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub credentials: Option<SmtpCredentials>,
    /// The sender, e.g. `Riverside Surgery <noreply@riverside.nhs.uk>`. Its domain also names the
    /// `Message-ID`s ([`email_message_id`]).
    pub from: String,
    /// Limit on the whole send, from connecting to the server's reply to the end of DATA.
    pub timeout: Duration,
    /// Name sent with EHLO; `localhost` when `None`.
    pub hello_name: Option<String>,
}

impl SmtpConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// A configuration from a URL such as `CONCORD_SMTP_URL`:
    /// `smtp://[user[:password]@]host[:port][?tls=none|starttls|tls]` or `smtps://…`.
    /// `smtp://` means STARTTLS (port 587) unless `tls=` says otherwise, `smtps://` means implicit TLS
    /// (port 465); `tls=none` defaults to port 25. User and password are percent-decoded. Errors never
    /// repeat the URL (it may hold a password).
    pub fn from_url(smtp_url: &str, from: &str) -> Result<SmtpConfig, ConfigError> {
        let bad = |reason: &str| ConfigError::SmtpUrl(reason.to_owned());
        let parsed = url::Url::parse(smtp_url).map_err(|_| bad("not a URL"))?;
        let mut tls = match parsed.scheme() {
            "smtp" => TlsMode::StartTls,
            "smtps" => TlsMode::Tls,
            _ => return Err(bad("the scheme must be smtp:// or smtps://")),
        };
        for (name, value) in parsed.query_pairs() {
            match &*name {
                "tls" => tls = TlsMode::parse(&value).ok_or_else(|| bad("tls= must be none, starttls or tls"))?,
                _ => return Err(bad("the only query parameter is tls=")),
            }
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
            Some(url::Host::Ipv4(address)) => address.to_string(),
            Some(url::Host::Ipv6(address)) => address.to_string(),
            _ => return Err(bad("no host")),
        };
        let decode = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
        let credentials = if parsed.username().is_empty() {
            None
        } else {
            Some(SmtpCredentials {
                username: decode(parsed.username()),
                password: parsed.password().map(decode).unwrap_or_default(),
            })
        };
        Ok(SmtpConfig {
            port: parsed.port().unwrap_or(tls.default_port()),
            host,
            tls,
            credentials,
            from: from.to_owned(),
            timeout: SmtpConfig::DEFAULT_TIMEOUT,
            hello_name: None,
        })
    }
}

/// Sends [`OutgoingEmail`]s to one SMTP server, a fresh connection per message.
#[derive(Clone)]
pub struct SmtpEmailTransport {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl fmt::Debug for SmtpEmailTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpEmailTransport").finish_non_exhaustive()
    }
}

impl SmtpEmailTransport {
    pub fn new(config: SmtpConfig) -> Result<SmtpEmailTransport, ConfigError> {
        let from: Mailbox = config.from.parse().map_err(|_| ConfigError::FromAddress)?;
        if config.credentials.is_some() && config.tls == TlsMode::None && !is_loopback_host(&config.host) {
            return Err(ConfigError::CredentialsWithoutTls);
        }
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(tls_parameters(&config.host)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(&config.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let Some(credentials) = config.credentials {
            builder = builder.credentials(Credentials::new(credentials.username, credentials.password));
        }
        if let Some(name) = config.hello_name {
            builder = builder.hello_name(ClientId::Domain(name));
        }
        Ok(SmtpEmailTransport { mailer: builder.build(), from, timeout: config.timeout })
    }

    /// Hands `email` to the SMTP server. Success means the server answered 250 to the end of DATA.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<Delivery, SendError> {
        let message = self.message(email)?;
        // lettre's own timeout covers connecting only; this bounds the whole conversation.
        let Ok(outcome) = tokio::time::timeout(self.timeout, self.mailer.send(message)).await else {
            let error = SendError::transient("timed out talking to the SMTP server");
            tracing::debug!(message_id = %email.message_id, %error, "email not sent");
            return Err(error);
        };
        match outcome {
            Ok(response) => {
                tracing::debug!(message_id = %email.message_id, "email accepted by the SMTP server");
                let reply = response.message().collect::<Vec<_>>().join(" ");
                let provider_id = Some(reply.trim().chars().take(200).collect::<String>()).filter(|id| !id.is_empty());
                Ok(Delivery { provider_id, accepted_at: now() })
            }
            Err(error) => {
                let error = classify(&error);
                tracing::debug!(message_id = %email.message_id, %error, "email not sent");
                Err(error)
            }
        }
    }

    /// The MIME message: text (or text and HTML alternatives), then any attachments.
    fn message(&self, email: &OutgoingEmail) -> Result<Message, SendError> {
        if email.message_id.is_empty() {
            return Err(SendError::permanent("the message has no id"));
        }
        let to: Mailbox =
            email.to.parse().map_err(|_| SendError::permanent("the recipient address is not a valid email address"))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(email_message_id(&email.message_id, self.from.email.domain())));
        let body = match &email.html_body {
            Some(html) => Body::Multi(MultiPart::alternative_plain_html(email.text_body.clone(), html.clone())),
            None => Body::Single(SinglePart::plain(email.text_body.clone())),
        };
        let built = if email.attachments.is_empty() {
            match body {
                Body::Single(part) => builder.singlepart(part),
                Body::Multi(part) => builder.multipart(part),
            }
        } else {
            let mut mixed = match body {
                Body::Single(part) => MultiPart::mixed().singlepart(part),
                Body::Multi(part) => MultiPart::mixed().multipart(part),
            };
            for attachment in &email.attachments {
                let content_type = ContentType::parse(&attachment.content_type)
                    .map_err(|_| SendError::permanent("an attachment has an invalid content type"))?;
                mixed = mixed.singlepart(
                    MimeAttachment::new(attachment.filename.clone()).body(attachment.bytes.clone(), content_type),
                );
            }
            builder.multipart(mixed)
        };
        built.map_err(|_| SendError::permanent("the email could not be composed"))
    }
}

enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

impl EmailTransport for SmtpEmailTransport {
    fn send_email<'a>(&'a self, email: &'a OutgoingEmail) -> SendFuture<'a> {
        Box::pin(self.send(email))
    }
}

/// The `Message-ID` header value for an outbox message: `<{message_id}@{domain}>`, with any character
/// outside `A-Z a-z 0-9 - _` written as `=XX` (hex of its UTF-8 bytes) so the id is always valid and
/// distinct ids stay distinct. Every attempt at the same message carries the same Message-ID.
pub fn email_message_id(message_id: &str, domain: &str) -> String {
    let mut local = String::with_capacity(message_id.len());
    for byte in message_id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            local.push(char::from(byte));
        } else {
            local.push_str(&format!("={byte:02X}"));
        }
    }
    format!("<{local}@{domain}>")
}

fn tls_parameters(host: &str) -> Result<TlsParameters, ConfigError> {
    TlsParameters::builder(host.to_owned()).build_rustls().map_err(|error| ConfigError::Tls(error.to_string()))
}

/// Maps a lettre error to a retry class. lettre's own text is not used: a server's reply often quotes
/// the recipient's address, so the reason carries the reply code only.
fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    if let Some(code) = error.status() {
        return if error.is_permanent() {
            SendError::permanent(format!("the SMTP server refused the message (reply {code})"))
        } else {
            SendError::transient(format!("the SMTP server deferred the message (reply {code})"))
        };
    }
    if error.is_timeout() {
        return SendError::transient("timed out talking to the SMTP server");
    }
    if error.is_tls() {
        return SendError::transient("TLS with the SMTP server failed");
    }
    if error.is_client() {
        // lettre's client errors are its own fixed sentences, never the server's words.
        let text = error.to_string();
        if text.contains("SMTPUTF8") {
            return SendError::permanent("the recipient address is not ASCII and the SMTP server lacks SMTPUTF8");
        }
        if text.contains("STARTTLS") {
            return SendError::transient("the SMTP server does not offer STARTTLS");
        }
        if text.contains("authentication mechanism") {
            return SendError::transient("the SMTP server offers no authentication mechanism we support");
        }
        return SendError::transient("the SMTP exchange failed");
    }
    if error.is_response() {
        return SendError::transient("the SMTP server's reply could not be understood");
    }
    if error.is_transport_shutdown() {
        return SendError::transient("the SMTP transport has shut down");
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return SendError::transient(format!("could not reach the SMTP server: {}", io.kind()));
        }
        source = cause.source();
    }
    SendError::transient("could not reach the SMTP server")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_valid_and_distinct() {
        let id = "0197a6c0-7d3e-7c1b-9a4e-3f2b1c0d9e8f";
        assert_eq!(email_message_id(id, "riverside.nhs.uk"), format!("<{id}@riverside.nhs.uk>"));
        assert_eq!(email_message_id("a b@c", "x.org"), "<a=20b=40c@x.org>");
        assert_ne!(email_message_id("a=20", "x.org"), email_message_id("a ", "x.org"));
    }

    #[test]
    fn smtp_urls_give_modes_ports_and_credentials() {
        let config = SmtpConfig::from_url("smtp://relay.example.org", "noreply@example.org").unwrap();
        assert_eq!((config.host.as_str(), config.port, config.tls), ("relay.example.org", 587, TlsMode::StartTls));
        assert_eq!(config.credentials, None);

        let config = SmtpConfig::from_url("smtps://user%40x:p%2Fss+w@relay.example.org", "a@b.org").unwrap();
        assert_eq!((config.port, config.tls), (465, TlsMode::Tls));
        let credentials = config.credentials.unwrap();
        assert_eq!((credentials.username.as_str(), credentials.password.as_str()), ("user@x", "p/ss+w"));

        let config = SmtpConfig::from_url("smtp://127.0.0.1:2525?tls=none", "a@b.org").unwrap();
        assert_eq!((config.host.as_str(), config.port, config.tls), ("127.0.0.1", 2525, TlsMode::None));
        let config = SmtpConfig::from_url("smtp://[::1]?tls=none", "a@b.org").unwrap();
        assert_eq!((config.host.as_str(), config.port), ("::1", 25));
    }

    #[test]
    fn bad_smtp_urls_are_refused_without_repeating_them() {
        for url in [
            "http://user:hunter2@relay.example.org",
            "smtp://user:hunter2@relay.example.org?tls=maybe",
            "smtp://user:hunter2@relay.example.org?port=1",
            "not a url hunter2",
            "smtp://user:hunter2@:25",
        ] {
            let error = SmtpConfig::from_url(url, "a@b.org").unwrap_err();
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn credentials_need_tls_off_loopback() {
        let mut config = SmtpConfig::from_url("smtp://u:p@relay.example.org?tls=none", "a@b.org").unwrap();
        assert_eq!(SmtpEmailTransport::new(config.clone()).unwrap_err(), ConfigError::CredentialsWithoutTls);
        config.host = "127.0.0.1".into();
        assert!(SmtpEmailTransport::new(config).is_ok());
        let config = SmtpConfig::from_url("smtp://relay.example.org", "not an address").unwrap();
        assert_eq!(SmtpEmailTransport::new(config).unwrap_err(), ConfigError::FromAddress);
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let credentials = SmtpCredentials { username: "concord".into(), password: "hunter2".into() };
        assert!(!format!("{credentials:?}").contains("hunter2"));
    }
}
