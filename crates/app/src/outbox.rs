//! Delivering the outbox: each queued message is checked again at send time and handed to its
//! transport (email over SMTP, SMS through the Notify-shaped gateway); letters wait on the print
//! list.
//!
//! Invariants: nothing goes to a person who has died, whose registration has ended or whose cycle
//! says declined, moved away or personalised care adjustment — such messages are suppressed with
//! the reason; a transient failure is retried with back-off and never lost; a permanent failure
//! is kept as failed for staff to see. Message ids are stable, so a resend after a crash carries
//! the same Message-ID / reference and the receiving side can see it is the same message.

use std::sync::Arc;

use concord_domain::cycle::Stage;
use concord_messaging::{Attachment, EmailTransport, OutgoingEmail, OutgoingSms, SendError, SmsTransport};
use concord_store::DeliveryOutcome;
use time::{Duration, OffsetDateTime};

use crate::cycle::TWO_APPOINTMENTS_LEAFLET;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// Attempts before a transiently failing message is marked failed for staff.
pub const MAX_ATTEMPTS: i64 = 6;

/// The configured transports; a channel without one keeps its messages queued.
#[derive(Clone, Default)]
pub struct Transports {
    pub email: Option<Arc<dyn EmailTransport>>,
    pub sms: Option<Arc<dyn SmsTransport>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRun {
    pub sent: u64,
    pub suppressed: u64,
    pub retrying: u64,
    pub failed: u64,
    /// Queued for a channel with no transport configured.
    pub waiting: u64,
}

/// Back-off after the given number of attempts: 5 minutes, doubling, at most a day.
pub fn retry_delay(attempts: i64) -> Duration {
    let minutes = 5i64.saturating_mul(1i64 << attempts.clamp(0, 9));
    Duration::minutes(minutes.min(24 * 60))
}

impl Concord {
    /// Delivers up to `limit` messages that are due. Safe to run concurrently with itself only
    /// in one process (the outbox worker); the message id makes a repeat visible as a duplicate.
    pub async fn deliver_outbox(
        &self,
        transports: &Transports,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<DeliveryRun, AppError> {
        let now_text = timestamp(now);
        let mut run = DeliveryRun::default();
        for message in self.store.pending_messages(&now_text, limit).await? {
            if let Some(reason) = self.suppression_reason(&message.patient_id, now).await? {
                self.store
                    .record_delivery(
                        &message.id,
                        &DeliveryOutcome {
                            status: "suppressed",
                            suppressed_reason: Some(&reason),
                            ..Default::default()
                        },
                        &now_text,
                    )
                    .await?;
                run.suppressed += 1;
                continue;
            }
            let outcome = match message.channel.as_str() {
                "email" => match (&transports.email, &message.recipient) {
                    (Some(transport), Some(to)) => {
                        let attachments = match message.attachment.as_deref() {
                            Some("two-appointments-leaflet") => vec![Attachment {
                                filename: "your-yearly-review-two-appointments.txt".into(),
                                content_type: "text/plain; charset=utf-8".into(),
                                bytes: TWO_APPOINTMENTS_LEAFLET.as_bytes().to_vec(),
                            }],
                            _ => vec![],
                        };
                        let email = OutgoingEmail {
                            message_id: message.id.clone(),
                            to: to.clone(),
                            subject: message.subject.clone(),
                            text_body: message.body.clone(),
                            html_body: None,
                            attachments,
                        };
                        Some(transport.send_email(&email).await)
                    }
                    (None, _) => None,
                    (Some(_), None) => Some(Err(SendError::Permanent { reason: "no email address recorded".into() })),
                },
                "sms" => match (&transports.sms, &message.recipient) {
                    (Some(transport), Some(phone)) => Some(
                        transport
                            .send_sms(&OutgoingSms {
                                message_id: message.id.clone(),
                                phone_number: phone.clone(),
                                body: message.body.clone(),
                            })
                            .await,
                    ),
                    (None, _) => None,
                    (Some(_), None) => Some(Err(SendError::Permanent { reason: "no mobile number recorded".into() })),
                },
                _ => None,
            };
            match outcome {
                None => run.waiting += 1,
                Some(Ok(delivery)) => {
                    let outcome = DeliveryOutcome {
                        status: "sent",
                        provider_id: delivery.provider_id.as_deref(),
                        ..Default::default()
                    };
                    self.store.record_delivery(&message.id, &outcome, &now_text).await?;
                    run.sent += 1;
                }
                Some(Err(error)) if error.is_transient() && message.attempts + 1 < MAX_ATTEMPTS => {
                    let next = timestamp(now + retry_delay(message.attempts + 1));
                    let outcome = DeliveryOutcome {
                        status: "queued",
                        error: Some(error.reason()),
                        not_before: Some(&next),
                        ..Default::default()
                    };
                    self.store.record_delivery(&message.id, &outcome, &now_text).await?;
                    run.retrying += 1;
                }
                Some(Err(error)) => {
                    let outcome =
                        DeliveryOutcome { status: "failed", error: Some(error.reason()), ..Default::default() };
                    self.store.record_delivery(&message.id, &outcome, &now_text).await?;
                    run.failed += 1;
                }
            }
        }
        Ok(run)
    }

    /// Why nothing may be sent to this person now, if anything.
    pub(crate) async fn suppression_reason(
        &self,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, AppError> {
        let today = now.date();
        let Some(patient) = self.store.patient(patient_id).await? else {
            return Ok(Some("person no longer in the record".into()));
        };
        if patient.patient.death_date.is_some_and(|died| died <= today) {
            return Ok(Some("died".into()));
        }
        if patient
            .patient
            .registration
            .as_ref()
            .and_then(|registration| registration.end)
            .is_some_and(|end| end <= today)
        {
            return Ok(Some("registration ended (moved away)".into()));
        }
        if let Some(cycle) = self.store.cycle(patient_id, i64::from(today.year())).await?
            && let Some(stage) = Stage::parse(&cycle.stage)
            && stage.stops_messages()
        {
            return Ok(Some(format!("cycle stage is {}", stage.label().to_lowercase())));
        }
        Ok(None)
    }
}

/// What a gateway's delivery status means for the message: `None` when delivered or still on its
/// way; otherwise why it failed, in words staff act on. (GOV.UK Notify's statuses for text
/// messages: `delivered`, `permanent-failure`, `temporary-failure`, `technical-failure`.)
pub fn receipt_failure(status: &str) -> Option<&'static str> {
    match status {
        "permanent-failure" => Some("The mobile number does not exist or cannot receive texts"),
        "temporary-failure" => Some("The phone was off or unreachable while the gateway kept trying"),
        "technical-failure" => Some("The text gateway could not send it"),
        _ => None,
    }
}

impl Concord {
    /// A delivery receipt from the SMS gateway (its callback): `reference` is the message id
    /// Concord sent with the text. Refused unless the bearer token is the configured one.
    /// Returns whether a message had that reference.
    pub async fn sms_delivery_receipt(
        &self,
        bearer: &str,
        reference: &str,
        status: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AppError> {
        let Some(expected) = &self.sms_callback_token_sha256 else {
            return Err(AppError::Forbidden("delivery receipts are not configured"));
        };
        if !crate::auth::constant_time_equal(expected, &crate::auth::token_digest(bearer)) {
            return Err(AppError::Forbidden("wrong callback token"));
        }
        if reference.is_empty() || reference.len() > 100 || status.is_empty() || status.len() > 40 {
            return Err(AppError::Invalid("reference and status are required".into()));
        }
        Ok(self
            .store
            .record_delivery_receipt(
                reference,
                status,
                receipt_failure(status),
                &concord_domain::audit::Actor::System("sms-gateway".into()),
                &timestamp(now),
            )
            .await?
            .is_some())
    }

    /// Messages that could not be delivered, waiting for staff (the practice's own people).
    pub async fn failed_messages(
        &self,
        staff: &crate::record::StaffMember,
    ) -> Result<Vec<concord_store::FailedMessage>, AppError> {
        staff.require(concord_domain::access::Permission::ViewPracticeLists)?;
        let failed = self.store.failed_messages(staff.organisation.as_deref()).await?;
        self.audit(
            staff.actor(),
            staff.organisation.clone(),
            None,
            concord_domain::audit::AuditAction::Read,
            "OutboxMessage",
            format!("{} undelivered message(s) listed", failed.len()),
        )
        .await?;
        Ok(failed)
    }

    /// Deals with a failed message: `letter` (send it as a letter instead) or `handled`.
    pub async fn resolve_failed_message(
        &self,
        staff: &crate::record::StaffMember,
        id: &str,
        action: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AppError> {
        staff.require(concord_domain::access::Permission::ManageCycle)?;
        if !matches!(action, "letter" | "handled") {
            return Err(AppError::Invalid("action: send it as a letter, or say it was handled".into()));
        }
        Ok(self.store.resolve_failed_message(id, action, &staff.display_name, &staff.actor(), &timestamp(now)).await?)
    }
}
