//! Loopback peers for tests (the `testing` feature): real servers on `127.0.0.1`, not mocks of the
//! clients.
//!
//! - [`SmtpSink`]: enough SMTP (EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA with dot-unstuffing, RSET,
//!   NOOP, QUIT) to receive what [`crate::SmtpEmailTransport`] sends; decodes messages with an
//!   independent MIME parser.
//! - [`NotifySink`]: a GOV.UK Notify-shaped `POST /v2/notifications/sms` that checks the JWT's
//!   signature, `iss` and `iat`, and answers `201` with an id, or a status it is told to.
//!
//! Both record every message they kept with its stable id (Message-ID, `reference`) and can report
//! duplicates, so a crash/restart test can check each outbox message arrived exactly once. Both can be
//! told to fail, and to fail after keeping the message (the client then sees an error for a message the
//! peer has), which is how a resend happens. Dropping a sink stops it.

mod notify_sink;
mod smtp_sink;

pub use notify_sink::{NotifyReply, NotifySink, SmsRequest, TEST_NOTIFY_API_KEY, TEST_NOTIFY_TEMPLATE_ID};
pub use smtp_sink::{DecodedEmail, ReceivedAttachment, ReceivedEmail, SmtpBehaviour, SmtpSink};

/// Ids that occur more than once in `ids`, with their counts, sorted.
fn duplicates<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    counts.into_iter().filter(|(_, count)| *count > 1).map(|(id, count)| (id.to_owned(), count)).collect()
}
