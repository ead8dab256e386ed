//! Delivery transports behind Concord's outbox: email over SMTP ([`SmtpEmailTransport`]) and text
//! messages through an HTTP gateway shaped like the GOV.UK Notify API ([`NotifySmsTransport`]).
//! Letters are not sent by a transport: they go to a print queue handled elsewhere.
//!
//! Each send returns a [`Delivery`] or a [`SendError`] that is either [`SendError::Permanent`] (do not
//! retry: bad address, rejected by the provider) or [`SendError::Transient`] (retry later: connection
//! refused, timeout, rate limited, server error).
//!
//! **Invariant:** no error, `Debug` output or log line of this crate contains a message body, subject,
//! email address or phone number. Reasons are built from crate-chosen words and status codes only,
//! never from a peer's free text (an SMTP server's rejection often quotes the address).
//!
//! The `testing` feature adds loopback peers ([`testing::SmtpSink`], [`testing::NotifySink`]) that
//! record what they receive, for this and other crates' tests.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use time::OffsetDateTime;

mod notify;
mod smtp;
#[cfg(feature = "testing")]
pub mod testing;

pub use notify::{NOTIFY_BASE_URL, NotifyApiKey, NotifySmsConfig, NotifySmsTransport, notify_bearer_token};
pub use smtp::{SmtpConfig, SmtpCredentials, SmtpEmailTransport, TlsMode, email_message_id};

/// How a message reaches the patient. Stored as [`Channel::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Email,
    Sms,
    /// Printed and posted: handed to the print queue, not to a transport.
    Letter,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Letter];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Letter => "letter",
        }
    }

    /// The channel stored as `text` ([`Channel::as_str`]), or `None`.
    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|channel| channel.as_str() == text)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file sent with an email (the PDF leaflet that goes with a first invitation).
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// An email to one patient. `Debug` shows only the id and sizes.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Stable id of the outbox message: the same on every attempt, so the recipient's system (through the
    /// `Message-ID` header) and our sinks can recognise a resend.
    pub message_id: String,
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    pub attachments: Vec<Attachment>,
}

impl fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("message_id", &self.message_id)
            .field("html", &self.html_body.is_some())
            .field("attachments", &self.attachments)
            .finish_non_exhaustive()
    }
}

/// A text message to one patient. `Debug` shows only the id.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    /// Stable id of the outbox message, sent as the gateway's `reference`.
    pub message_id: String,
    pub phone_number: String,
    pub body: String,
}

impl fmt::Debug for OutgoingSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingSms").field("message_id", &self.message_id).finish_non_exhaustive()
    }
}

/// The provider accepted the message for delivery (not: the patient has read it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The provider's id for the message: the Notify notification `id`, or the SMTP server's reply to the
    /// end of DATA (e.g. `2.0.0 Ok: queued as 4Jt0Xy`).
    pub provider_id: Option<String>,
    pub accepted_at: OffsetDateTime,
}

/// Why a send failed, and whether trying again can help. The reason never contains the message's
/// content or recipient.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Retrying will not help: invalid address, or the provider rejected the message (SMTP 5xx,
    /// HTTP 400/403).
    #[error("permanent delivery failure: {reason}")]
    Permanent { reason: String },
    /// Try again later: connection refused or reset, timeout, rate limited (429), server error (5xx,
    /// SMTP 4xx). The provider may or may not have the message if the connection broke after it was sent;
    /// the stable message id lets it (and our tests) recognise a resend.
    #[error("transient delivery failure, retry later: {reason}")]
    Transient { reason: String },
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent { .. })
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient { .. })
    }

    pub fn reason(&self) -> &str {
        match self {
            SendError::Permanent { reason } | SendError::Transient { reason } => reason,
        }
    }

    pub(crate) fn permanent(reason: impl Into<String>) -> SendError {
        SendError::Permanent { reason: reason.into() }
    }

    pub(crate) fn transient(reason: impl Into<String>) -> SendError {
        SendError::Transient { reason: reason.into() }
    }
}

/// A transport could not be configured. Messages never contain secrets (passwords, API keys).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid SMTP URL: {0}")]
    SmtpUrl(String),
    #[error("the sender (from) address is not a valid email address")]
    FromAddress,
    #[error("SMTP credentials need TLS (starttls or tls) unless the server is on loopback")]
    CredentialsWithoutTls,
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    #[error(
        "the Notify API key is malformed: expected {{key name}}-{{service id}}-{{secret key}}, where both ids are 36-character UUIDs"
    )]
    NotifyApiKey,
    #[error("the Notify template id is not a UUID")]
    NotifyTemplateId,
    #[error("invalid SMS gateway base URL: {0}")]
    BaseUrl(String),
}

/// What a transport's send returns, boxed so transports can be used as trait objects.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Delivery, SendError>> + Send + 'a>>;

/// Something that delivers emails: [`SmtpEmailTransport`], or a test double in the outbox's tests.
pub trait EmailTransport: Send + Sync {
    fn send_email<'a>(&'a self, email: &'a OutgoingEmail) -> SendFuture<'a>;
}

/// Something that delivers text messages: [`NotifySmsTransport`], or a test double in the outbox's tests.
pub trait SmsTransport: Send + Sync {
    fn send_sms<'a>(&'a self, sms: &'a OutgoingSms) -> SendFuture<'a>;
}

/// Whether `host` (a name or IP literal, IPv6 with or without brackets) is this machine.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback())
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip_through_text() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
            assert_eq!(channel.to_string(), channel.as_str());
        }
        assert_eq!(Channel::parse("Email"), None);
        assert_eq!(Channel::parse("fax"), None);
    }

    #[test]
    fn debug_output_hides_recipients_and_content() {
        let email = OutgoingEmail {
            message_id: "m-1".into(),
            to: "patient@example.org".into(),
            subject: "Your review, Ms Jones".into(),
            text_body: "secret body".into(),
            html_body: None,
            attachments: vec![Attachment {
                filename: "leaflet.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF".to_vec(),
            }],
        };
        let sms = OutgoingSms { message_id: "m-2".into(), phone_number: "07700900123".into(), body: "hi".into() };
        let shown = format!("{email:?} {sms:?}");
        for hidden in ["patient@example.org", "Jones", "secret body", "07700900123", "\"hi\""] {
            assert!(!shown.contains(hidden), "{shown}");
        }
        assert!(shown.contains("m-1") && shown.contains("m-2"));
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in ["localhost", "127.0.0.1", "127.3.2.1", "::1", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["smtp.example.org", "10.0.0.1", "localhost.example.org"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
