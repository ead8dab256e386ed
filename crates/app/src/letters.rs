//! Letters: invitations and reminders for people whose way of contact is paper (or whose needs
//! call for large print, braille or easy read) wait on a print list. Printing is recorded, and a
//! letter for someone who has since died, moved away or declined is withdrawn, never printed.

use concord_domain::access::Permission;
use concord_store::{DeliveryOutcome, NewAuditEvent, OutboxRow};
use time::OffsetDateTime;

use crate::record::StaffMember;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// A letter on the print list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterToPrint {
    pub message: OutboxRow,
    pub family_name: String,
    pub given_name: String,
}

impl Concord {
    /// The practice's letters waiting to be printed, after withdrawing any that must not go.
    /// Reading the list is audited.
    pub async fn letters_to_print(
        &self,
        staff: &StaffMember,
        now: OffsetDateTime,
    ) -> Result<Vec<LetterToPrint>, AppError> {
        staff.require(Permission::ManageCycle)?;
        let mut letters = Vec::new();
        for (message, family_name, given_name) in self.store.letters_to_print(staff.organisation.as_deref()).await? {
            if let Some(reason) = self.suppression_reason(&message.patient_id, now).await? {
                let outcome =
                    DeliveryOutcome { status: "suppressed", suppressed_reason: Some(&reason), ..Default::default() };
                self.store.record_delivery(&message.id, &outcome, &timestamp(now)).await?;
                continue;
            }
            letters.push(LetterToPrint { message, family_name, given_name });
        }
        self.store
            .record_audit(&[NewAuditEvent {
                actor: staff.actor(),
                organisation: staff.organisation.clone(),
                patient_id: None,
                action: concord_domain::audit::AuditAction::Read,
                entity: "PrintList".into(),
                detail: format!("{} letter(s) listed", letters.len()),
                request_id: None,
                purpose: None,
            }])
            .await?;
        Ok(letters)
    }

    /// One letter to print, read (and audited) for its person.
    pub async fn letter(&self, staff: &StaffMember, id: &str) -> Result<OutboxRow, AppError> {
        staff.require(Permission::ManageCycle)?;
        let message = self
            .store
            .outbox_message(id)
            .await?
            .filter(|message| message.channel == "letter")
            .ok_or_else(|| AppError::NotFound("No such letter".into()))?;
        let detail = format!("{} opened for printing", message.purpose);
        self.audit_person(staff, &message.patient_id, concord_domain::audit::AuditAction::Read, "Letter", detail)
            .await?;
        Ok(message)
    }

    /// Records letters as printed; returns how many were still waiting.
    pub async fn mark_letters_printed(
        &self,
        staff: &StaffMember,
        ids: &[String],
        now: OffsetDateTime,
    ) -> Result<u64, AppError> {
        staff.require(Permission::ManageCycle)?;
        Ok(self.store.mark_letters_printed(ids, &staff.actor(), &timestamp(now)).await?)
    }
}
