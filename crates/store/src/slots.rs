//! Clinic slots for the two Year of Care contacts: Concord's own clinic lists, the GP system's
//! appointment book recorded beside them (so staff see one schedule), and bookings.
//!
//! Invariants:
//! - A slot is booked by a conditional update (free and not taken elsewhere), so it is never given
//!   twice; the booking, the person's stage change, its history and their audit events are one
//!   transaction: both or neither.
//! - A Concord slot overlapping a GP-system appointment with a clinician of the same role is marked
//!   taken elsewhere and never offered (the rule: `docs/booking.md`).
//! - Every write is audited in the transaction that makes it.

use std::collections::{HashMap, HashSet};

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::audit::{NewAuditEvent, insert_audit_events};
use crate::cycle::{CycleChange, apply_cycle_change_in};
use crate::sql::{generated, new_id, timestamp_text};
use crate::{Backend, Store, StoreError};

/// How long a GP-system appointment is taken to last: the extract gives a start but no length,
/// and ten minutes is the standard UK general practice appointment.
pub const GP_APPOINTMENT_MINUTES: i64 = 10;

/// Clinician names beginning with this are kept for appointments recorded from the GP system.
pub const GP_SYSTEM_NAME_PREFIX: &str = "GP system";

/// Encounter settings that occupy a practice clinician (others happen elsewhere: out of hours,
/// emergency department, hospital).
const PRACTICE_SETTINGS: &str = "('surgery', 'telephone', 'video', 'home-visit')";

/// One slot of a new clinic list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSlot {
    /// RFC 3339 UTC.
    pub starts_at: String,
    /// How staff know the time (e.g. `09:30 on 2026-12-01`), used in the refusal of a duplicate.
    pub label: String,
}

/// A clinic list to create: slots of one clinician for one purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClinicList {
    pub practice_ods_code: String,
    /// `information_gathering` or `conversation`.
    pub purpose: String,
    /// As encounters spell it: `hca`, `nurse`, `gp`, `pharmacist`.
    pub clinician_role: String,
    pub clinician_name: String,
    pub slots: Vec<NewSlot>,
    pub minutes: i64,
}

/// A slot as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRow {
    pub id: String,
    pub practice_ods_code: String,
    pub purpose: String,
    pub clinician_role: String,
    pub clinician_name: String,
    /// RFC 3339 UTC.
    pub starts_at: String,
    pub minutes: i64,
    /// `concord` (Concord's clinic lists) or `gp_system` (recorded from the GP system's book).
    pub source: String,
    /// Overlaps an appointment in the GP system's book with a clinician of the same role.
    pub taken_elsewhere: bool,
    pub booked_patient_id: Option<String>,
    pub booked_cycle_id: Option<String>,
    pub booked_at: Option<String>,
    pub booked_by: Option<String>,
}

impl SlotRow {
    /// Free to offer: a Concord slot, not booked, not taken in the GP system.
    pub fn is_free(&self) -> bool {
        self.source == "concord" && self.booked_patient_id.is_none() && !self.taken_elsewhere
    }
}

/// A line of the schedule: a slot and, when booked, who to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRow {
    pub slot: SlotRow,
    pub nhs_number: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// What a pass over the GP system's appointment book changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpAppointmentSync {
    /// GP-system appointments recorded for the first time.
    pub recorded: u64,
    /// Recorded appointments whose person or clinician changed.
    pub updated: u64,
    /// Recorded appointments no longer booked in the GP system (cancelled, moved, attended early).
    pub removed: u64,
    /// Concord slots newly marked taken elsewhere.
    pub taken: u64,
    /// Concord slots no longer taken elsewhere.
    pub released: u64,
}

impl GpAppointmentSync {
    pub fn changes(&self) -> u64 {
        self.recorded + self.updated + self.removed + self.taken + self.released
    }
}

const SLOT_COLUMNS: [&str; 13] = [
    "id",
    "practice_ods_code",
    "purpose",
    "clinician_role",
    "clinician_name",
    "starts_at",
    "minutes",
    "source",
    "taken_elsewhere",
    "booked_patient_id",
    "booked_cycle_id",
    "booked_at",
    "booked_by",
];

fn slot_columns(prefix: &str) -> String {
    SLOT_COLUMNS.iter().map(|column| format!("{prefix}{column}")).collect::<Vec<_>>().join(", ")
}

fn slot_from_row(row: &AnyRow) -> Result<SlotRow, sqlx::Error> {
    let taken: i64 = row.try_get(8)?;
    Ok(SlotRow {
        id: row.try_get(0)?,
        practice_ods_code: row.try_get(1)?,
        purpose: row.try_get(2)?,
        clinician_role: row.try_get(3)?,
        clinician_name: row.try_get(4)?,
        starts_at: row.try_get(5)?,
        minutes: row.try_get(6)?,
        source: row.try_get(7)?,
        taken_elsewhere: taken != 0,
        booked_patient_id: row.try_get(9)?,
        booked_cycle_id: row.try_get(10)?,
        booked_at: row.try_get(11)?,
        booked_by: row.try_get(12)?,
    })
}

fn parse_timestamp(column: &'static str, text: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|error| StoreError::Corrupt {
        table: "clinic_slot",
        column,
        reason: format!("{text:?} is not an RFC 3339 time: {error}"),
    })
}

/// Half-open intervals `[start, start + minutes)` overlap.
fn overlaps(a: OffsetDateTime, a_minutes: i64, b: OffsetDateTime, b_minutes: i64) -> bool {
    a < b + time::Duration::minutes(b_minutes) && b < a + time::Duration::minutes(a_minutes)
}

/// The name a GP-system appointment is recorded under: the role, and the appointment's key in
/// the GP system (several nurses may see people at the same time, so the role alone is not unique).
pub fn gp_system_clinician_name(role: &str, source_key: &str) -> String {
    format!("{GP_SYSTEM_NAME_PREFIX} ({role}), {source_key}")
}

/// The list a GP-system appointment sits beside: healthcare assistants' beside information
/// gathering, everyone else's beside conversations. It never makes the appointment bookable.
fn gp_system_purpose(role: &str) -> &'static str {
    if role == "hca" { "information_gathering" } else { "conversation" }
}

/// A booked, future, in-practice appointment from the GP system's book.
struct GpAppointment {
    patient_id: String,
    source_key: String,
    starts_at: String,
    start: OffsetDateTime,
    role: String,
    booked_at: Option<String>,
}

/// A Concord slot that has not started, as the sync sees it.
struct OwnSlot {
    id: String,
    role: String,
    name: String,
    starts_at: String,
    start: OffsetDateTime,
    minutes: i64,
    taken: bool,
    booked_patient_id: Option<String>,
}

/// A GP-system row as recorded.
struct RecordedRow {
    id: String,
    purpose: String,
    role: String,
    minutes: i64,
    patient_id: Option<String>,
}

impl Store {
    /// Creates a clinic list in one transaction. A slot the clinician already has at the same
    /// time refuses the whole list, naming the time; nothing is written then.
    pub async fn create_clinic_list(
        &self,
        list: &NewClinicList,
        actor: &Actor,
        now: &str,
    ) -> Result<Vec<SlotRow>, StoreError> {
        if list.clinician_name.trim().starts_with(GP_SYSTEM_NAME_PREFIX) {
            return Err(StoreError::Conflict(format!(
                "clinician names beginning \"{GP_SYSTEM_NAME_PREFIX}\" are kept for the GP system's appointment book"
            )));
        }
        let (Some(first), Some(last)) = (list.slots.first(), list.slots.last()) else {
            return Err(StoreError::Conflict("a clinic list needs at least one slot".into()));
        };
        let mut transaction = self.pool().begin().await?;
        let mut created = Vec::with_capacity(list.slots.len());
        for slot in &list.slots {
            let row = SlotRow {
                id: new_id(),
                practice_ods_code: list.practice_ods_code.clone(),
                purpose: list.purpose.clone(),
                clinician_role: list.clinician_role.clone(),
                clinician_name: list.clinician_name.clone(),
                starts_at: slot.starts_at.clone(),
                minutes: list.minutes,
                source: "concord".into(),
                taken_elsewhere: false,
                booked_patient_id: None,
                booked_cycle_id: None,
                booked_at: None,
                booked_by: None,
            };
            let inserted = generated(format!(
                "INSERT INTO clinic_slot ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, 'concord', 0, NULL, NULL, NULL, NULL) \
                 ON CONFLICT (practice_ods_code, clinician_name, starts_at) DO NOTHING",
                slot_columns("")
            ))
            .bind(row.id.clone())
            .bind(row.practice_ods_code.clone())
            .bind(row.purpose.clone())
            .bind(row.clinician_role.clone())
            .bind(row.clinician_name.clone())
            .bind(row.starts_at.clone())
            .bind(row.minutes)
            .execute(&mut *transaction)
            .await?;
            if inserted.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!(
                    "{} already has a slot at {} at {}; no slot of this clinic list was created",
                    list.clinician_name, slot.label, list.practice_ods_code
                )));
            }
            created.push(row);
        }
        insert_audit_events(
            &mut transaction,
            &[NewAuditEvent {
                actor: actor.clone(),
                organisation: Some(list.practice_ods_code.clone()),
                patient_id: None,
                action: AuditAction::Create,
                entity: "ClinicList".into(),
                detail: format!(
                    "{} {} slot(s) of {} minutes with {} ({}) from {} to {}",
                    created.len(),
                    list.purpose,
                    list.minutes,
                    list.clinician_name,
                    list.clinician_role,
                    first.starts_at,
                    last.starts_at
                ),
                request_id: None,
                purpose: None,
            }],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(created)
    }

    pub async fn clinic_slot(&self, slot_id: &str) -> Result<Option<SlotRow>, StoreError> {
        let row = generated(format!("SELECT {} FROM clinic_slot WHERE id = $1", slot_columns("")))
            .bind(slot_id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(slot_from_row).transpose()?)
    }

    /// Free slots of a practice for one purpose starting in `[from, to)` (RFC 3339 UTC): Concord
    /// slots not booked and not taken in the GP system, soonest first.
    pub async fn free_slots(
        &self,
        practice: &str,
        purpose: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<SlotRow>, StoreError> {
        let rows = generated(format!(
            "SELECT {} FROM clinic_slot WHERE practice_ods_code = $1 AND purpose = $2 AND source = 'concord' \
             AND booked_patient_id IS NULL AND taken_elsewhere = 0 AND starts_at >= $3 AND starts_at < $4 \
             ORDER BY starts_at, clinician_name, id",
            slot_columns("")
        ))
        .bind(practice.to_owned())
        .bind(purpose.to_owned())
        .bind(from.to_owned())
        .bind(to.to_owned())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(slot_from_row).collect::<Result<_, _>>()?)
    }

    /// Every slot of a practice starting in `[from, to)`, both sources, with who is booked.
    pub async fn clinic_schedule(&self, practice: &str, from: &str, to: &str) -> Result<Vec<ScheduleRow>, StoreError> {
        let rows = generated(format!(
            "SELECT {}, p.nhs_number, p.given_name, p.family_name FROM clinic_slot s \
             LEFT JOIN patient p ON p.id = s.booked_patient_id \
             WHERE s.practice_ods_code = $1 AND s.starts_at >= $2 AND s.starts_at < $3 \
             ORDER BY s.starts_at, s.clinician_role, s.clinician_name, s.id",
            slot_columns("s.")
        ))
        .bind(practice.to_owned())
        .bind(from.to_owned())
        .bind(to.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ScheduleRow {
                    slot: slot_from_row(row)?,
                    nhs_number: row.try_get(13)?,
                    given_name: row.try_get(14)?,
                    family_name: row.try_get(15)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// A person's Concord bookings starting at or after `from`, soonest first.
    pub async fn booked_slots(&self, patient_id: &str, from: &str) -> Result<Vec<SlotRow>, StoreError> {
        let rows = generated(format!(
            "SELECT {} FROM clinic_slot WHERE booked_patient_id = $1 AND source = 'concord' AND starts_at >= $2 \
             ORDER BY starts_at, id",
            slot_columns("")
        ))
        .bind(patient_id.to_owned())
        .bind(from.to_owned())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(slot_from_row).collect::<Result<_, _>>()?)
    }

    /// Books a slot for a person together with their cycle's stage change, in one transaction.
    /// The slot is taken by a conditional update: if someone else has just booked it (or the GP
    /// system has), the booking is refused and nothing is written. A cycle changed since it was
    /// read is refused the same way. Returns the cycle's new version.
    pub async fn book_slot(
        &self,
        slot_id: &str,
        patient_id: &str,
        cycle_change: &CycleChange,
        actor: &Actor,
        now: &str,
    ) -> Result<i64, StoreError> {
        if cycle_change.after.patient_id != patient_id {
            return Err(StoreError::Conflict("the cycle change is for another person".into()));
        }
        let mut transaction = self.pool().begin().await?;
        // First statement a write, so SQLite takes the write lock (waiting its turn) before reading.
        let claimed = sqlx::query(
            "UPDATE clinic_slot SET booked_patient_id = $1, booked_at = $2, booked_by = $3 \
             WHERE id = $4 AND source = 'concord' AND booked_patient_id IS NULL AND taken_elsewhere = 0 \
             RETURNING purpose, clinician_role, clinician_name, starts_at, practice_ods_code",
        )
        .bind(patient_id.to_owned())
        .bind(now.to_owned())
        .bind(actor.name().to_owned())
        .bind(slot_id.to_owned())
        .fetch_all(&mut *transaction)
        .await?;
        let Some(slot) = claimed.first() else {
            return Err(StoreError::Conflict("this slot has just been taken; choose another".into()));
        };
        let (purpose, role, name, starts_at, practice): (String, String, String, String, String) =
            (slot.try_get(0)?, slot.try_get(1)?, slot.try_get(2)?, slot.try_get(3)?, slot.try_get(4)?);
        // The cycle row may be created by this change, so the slot points at it afterwards.
        let version = apply_cycle_change_in(&mut transaction, cycle_change, actor, now).await?;
        sqlx::query("UPDATE clinic_slot SET booked_cycle_id = $1 WHERE id = $2")
            .bind(cycle_change.after.id.clone())
            .bind(slot_id.to_owned())
            .execute(&mut *transaction)
            .await?;
        insert_audit_events(
            &mut transaction,
            &[NewAuditEvent {
                actor: actor.clone(),
                organisation: Some(practice),
                patient_id: Some(patient_id.to_owned()),
                action: AuditAction::Update,
                entity: "ClinicSlot".into(),
                detail: format!("booked {purpose} with {name} ({role}) at {starts_at}"),
                request_id: None,
                purpose: None,
            }],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(version)
    }

    /// Cancels a Concord booking, freeing the slot. The person's stage is left as it is (they
    /// are rebooked into another slot). Refused if the booking changed since `slot` was read.
    /// Returns the slot as it was booked.
    pub async fn cancel_booking(&self, slot_id: &str, actor: &Actor, now: &str) -> Result<SlotRow, StoreError> {
        let Some(slot) = self.clinic_slot(slot_id).await? else {
            return Err(StoreError::Conflict("there is no such slot".into()));
        };
        let Some(patient_id) = slot.booked_patient_id.clone() else {
            return Err(StoreError::Conflict("this slot is not booked".into()));
        };
        if slot.source != "concord" {
            return Err(StoreError::Conflict(
                "this appointment was booked in the GP system; cancel it there and import again".into(),
            ));
        }
        let mut transaction = self.pool().begin().await?;
        let freed = sqlx::query(
            "UPDATE clinic_slot SET booked_patient_id = NULL, booked_cycle_id = NULL, booked_at = NULL, booked_by = NULL \
             WHERE id = $1 AND source = 'concord' AND booked_patient_id = $2 AND booked_at IS NOT DISTINCT FROM $3",
        )
        .bind(slot_id.to_owned())
        .bind(patient_id.clone())
        .bind(slot.booked_at.clone())
        .execute(&mut *transaction)
        .await?;
        if freed.rows_affected() != 1 {
            return Err(StoreError::Conflict("this booking was changed by someone else; reload and try again".into()));
        }
        insert_audit_events(
            &mut transaction,
            &[NewAuditEvent {
                actor: actor.clone(),
                organisation: Some(slot.practice_ods_code.clone()),
                patient_id: Some(patient_id),
                action: AuditAction::Update,
                entity: "ClinicSlot".into(),
                detail: format!(
                    "cancelled {} with {} ({}) at {}",
                    slot.purpose, slot.clinician_name, slot.clinician_role, slot.starts_at
                ),
                request_id: None,
                purpose: None,
            }],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(slot)
    }

    /// Brings a practice's slots in line with the GP system's appointment book as imported
    /// (`docs/booking.md`): every booked, in-practice appointment of a person registered at the
    /// practice that has not ended by `now` is recorded as a `gp_system` slot booked to that
    /// person, and every Concord slot not yet started that overlaps one with a clinician of the
    /// same role is marked taken elsewhere (and released when the appointment goes). Idempotent:
    /// a second pass changes and audits nothing.
    pub async fn sync_gp_appointments(
        &self,
        practice: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<GpAppointmentSync, StoreError> {
        let now_at = OffsetDateTime::parse(now, &Rfc3339)
            .map_err(|error| StoreError::Database(format!("{now:?} is not an RFC 3339 time: {error}")))?;
        // Appointments that have not ended: started less than an appointment's length ago.
        let window = timestamp_text(now_at - time::Duration::minutes(GP_APPOINTMENT_MINUTES));
        let now = timestamp_text(now_at);
        // SQLite: take the write lock first, so the reads below cannot go stale before the writes.
        let mut transaction = match self.backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool().begin().await?,
        };

        let rows = generated(format!(
            "SELECT e.patient_id, e.source_key, e.start_at, e.clinician, e.booked_at FROM encounter e \
             JOIN patient p ON p.id = e.patient_id WHERE p.practice_ods_code = $1 AND e.status = 'booked' \
             AND e.start_at >= $2 AND e.setting IN {PRACTICE_SETTINGS} ORDER BY e.start_at, e.source_key"
        ))
        .bind(practice.to_owned())
        .bind(window.clone())
        .fetch_all(&mut *transaction)
        .await?;
        let mut appointments = Vec::with_capacity(rows.len());
        for row in &rows {
            let starts_at: String = row.try_get(2)?;
            appointments.push(GpAppointment {
                patient_id: row.try_get(0)?,
                source_key: row.try_get(1)?,
                start: parse_timestamp("starts_at", &starts_at)?,
                starts_at,
                role: row.try_get(3)?,
                booked_at: row.try_get(4)?,
            });
        }

        let rows = sqlx::query(
            "SELECT id, clinician_role, clinician_name, starts_at, minutes, taken_elsewhere, booked_patient_id \
             FROM clinic_slot WHERE practice_ods_code = $1 AND source = 'concord' AND starts_at >= $2",
        )
        .bind(practice.to_owned())
        .bind(now.clone())
        .fetch_all(&mut *transaction)
        .await?;
        let mut own = Vec::with_capacity(rows.len());
        for row in &rows {
            let starts_at: String = row.try_get(3)?;
            let taken: i64 = row.try_get(5)?;
            own.push(OwnSlot {
                id: row.try_get(0)?,
                role: row.try_get(1)?,
                name: row.try_get(2)?,
                start: parse_timestamp("starts_at", &starts_at)?,
                starts_at,
                minutes: row.try_get(4)?,
                taken: taken != 0,
                booked_patient_id: row.try_get(6)?,
            });
        }

        let rows = sqlx::query(
            "SELECT id, clinician_name, starts_at, purpose, clinician_role, minutes, booked_patient_id \
             FROM clinic_slot WHERE practice_ods_code = $1 AND source = 'gp_system' AND starts_at >= $2",
        )
        .bind(practice.to_owned())
        .bind(window)
        .fetch_all(&mut *transaction)
        .await?;
        let mut recorded: HashMap<(String, String), RecordedRow> = HashMap::with_capacity(rows.len());
        for row in &rows {
            recorded.insert(
                (row.try_get(1)?, row.try_get(2)?),
                RecordedRow {
                    id: row.try_get(0)?,
                    purpose: row.try_get(3)?,
                    role: row.try_get(4)?,
                    minutes: row.try_get(5)?,
                    patient_id: row.try_get(6)?,
                },
            );
        }

        let mut outcome = GpAppointmentSync::default();
        let mut events = Vec::new();
        let event = |patient_id: Option<String>, action: AuditAction, entity: &str, detail: String| NewAuditEvent {
            actor: actor.clone(),
            organisation: Some(practice.to_owned()),
            patient_id,
            action,
            entity: entity.into(),
            detail,
            request_id: None,
            purpose: None,
        };

        // Which appointments take which slots. An appointment overlapping a Concord slot of the same
        // role booked to the same person is that booking as the GP system shows it: not another.
        let mut taken_slots: HashSet<usize> = HashSet::new();
        let mut wanted: Vec<&GpAppointment> = Vec::with_capacity(appointments.len());
        for appointment in &appointments {
            let overlapping: Vec<usize> = own
                .iter()
                .enumerate()
                .filter(|(_, slot)| {
                    slot.role == appointment.role
                        && overlaps(slot.start, slot.minutes, appointment.start, GP_APPOINTMENT_MINUTES)
                })
                .map(|(index, _)| index)
                .collect();
            if overlapping.iter().any(|&index| own[index].booked_patient_id.as_deref() == Some(&appointment.patient_id))
            {
                continue;
            }
            taken_slots.extend(overlapping);
            wanted.push(appointment);
        }

        // Record the appointments (insert, update, remove), auditing each change with its person.
        let mut kept: HashSet<(String, String)> = HashSet::with_capacity(wanted.len());
        for appointment in wanted {
            let name = gp_system_clinician_name(&appointment.role, &appointment.source_key);
            let purpose = gp_system_purpose(&appointment.role);
            let key = (name.clone(), appointment.starts_at.clone());
            let detail = |what: &str| format!("{what}: {} at {}", appointment.role, appointment.starts_at);
            match recorded.get(&key) {
                Some(row)
                    if row.purpose == purpose
                        && row.role == appointment.role
                        && row.minutes == GP_APPOINTMENT_MINUTES
                        && row.patient_id.as_deref() == Some(&appointment.patient_id) => {}
                Some(row) => {
                    let updated = sqlx::query(
                        "UPDATE clinic_slot SET purpose = $1, clinician_role = $2, minutes = $3, booked_patient_id = $4, \
                         booked_at = $5 WHERE id = $6 AND source = 'gp_system'",
                    )
                    .bind(purpose.to_owned())
                    .bind(appointment.role.clone())
                    .bind(GP_APPOINTMENT_MINUTES)
                    .bind(appointment.patient_id.clone())
                    .bind(appointment.booked_at.clone())
                    .bind(row.id.clone())
                    .execute(&mut *transaction)
                    .await?;
                    if updated.rows_affected() == 1 {
                        outcome.updated += 1;
                        events.push(event(
                            Some(appointment.patient_id.clone()),
                            AuditAction::Update,
                            "GpAppointment",
                            detail("changed in the GP system's appointment book"),
                        ));
                    }
                }
                None => {
                    let inserted = generated(format!(
                        "INSERT INTO clinic_slot ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, 'gp_system', 0, $8, NULL, $9, \
                         'GP system') ON CONFLICT (practice_ods_code, clinician_name, starts_at) DO NOTHING",
                        slot_columns("")
                    ))
                    .bind(new_id())
                    .bind(practice.to_owned())
                    .bind(purpose.to_owned())
                    .bind(appointment.role.clone())
                    .bind(name)
                    .bind(appointment.starts_at.clone())
                    .bind(GP_APPOINTMENT_MINUTES)
                    .bind(appointment.patient_id.clone())
                    .bind(appointment.booked_at.clone())
                    .execute(&mut *transaction)
                    .await?;
                    if inserted.rows_affected() == 1 {
                        outcome.recorded += 1;
                        events.push(event(
                            Some(appointment.patient_id.clone()),
                            AuditAction::Create,
                            "GpAppointment",
                            detail("recorded from the GP system's appointment book"),
                        ));
                    }
                }
            }
            kept.insert(key);
        }
        let mut gone: Vec<(&(String, String), &RecordedRow)> =
            recorded.iter().filter(|(key, _)| !kept.contains(*key)).collect();
        gone.sort_by(|a, b| a.0.cmp(b.0));
        for ((_, starts_at), row) in gone {
            let removed = sqlx::query("DELETE FROM clinic_slot WHERE id = $1 AND source = 'gp_system'")
                .bind(row.id.clone())
                .execute(&mut *transaction)
                .await?;
            if removed.rows_affected() == 1 {
                outcome.removed += 1;
                events.push(event(
                    row.patient_id.clone(),
                    AuditAction::Update,
                    "GpAppointment",
                    format!("no longer booked in the GP system's appointment book: {} at {starts_at}", row.role),
                ));
            }
        }

        // Mark and release Concord slots.
        for (index, slot) in own.iter().enumerate() {
            let taken = taken_slots.contains(&index);
            if taken == slot.taken {
                continue;
            }
            let changed =
                sqlx::query("UPDATE clinic_slot SET taken_elsewhere = $1 WHERE id = $2 AND taken_elsewhere <> $1")
                    .bind(i64::from(taken))
                    .bind(slot.id.clone())
                    .execute(&mut *transaction)
                    .await?;
            if changed.rows_affected() != 1 {
                continue;
            }
            let what = if taken {
                outcome.taken += 1;
                "taken in the GP system's appointment book"
            } else {
                outcome.released += 1;
                "no longer taken in the GP system's appointment book"
            };
            events.push(event(
                slot.booked_patient_id.clone(),
                AuditAction::Update,
                "ClinicSlot",
                format!("{what}: {} ({}) at {}", slot.name, slot.role, slot.starts_at),
            ));
        }

        insert_audit_events(&mut transaction, &events, &now).await?;
        transaction.commit().await?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn intervals_overlap_only_when_they_share_time() {
        let nine = datetime!(2026-12-01 09:00 UTC);
        assert!(overlaps(nine, 20, datetime!(2026-12-01 09:05 UTC), 10));
        assert!(overlaps(nine, 20, datetime!(2026-12-01 08:55 UTC), 10));
        assert!(!overlaps(nine, 20, datetime!(2026-12-01 09:20 UTC), 10), "back to back is not overlapping");
        assert!(!overlaps(nine, 20, datetime!(2026-12-01 08:50 UTC), 10));
    }

    #[test]
    fn gp_system_rows_are_named_by_role_and_appointment() {
        assert_eq!(gp_system_clinician_name("nurse", "Encounter/E2"), "GP system (nurse), Encounter/E2");
        assert_eq!(gp_system_purpose("hca"), "information_gathering");
        assert_eq!(gp_system_purpose("gp"), "conversation");
    }
}
