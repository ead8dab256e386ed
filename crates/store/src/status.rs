//! Each person's kept status for the cycle (registers, risk, eligibility, merged checklist) and
//! their red flags.
//!
//! Invariants:
//! - The import marks a person stale (generation + 1) in the same transaction as the change to
//!   their record; a refresh stores the generation it computed from, so a person changed during
//!   a refresh stays stale and is computed again. Nothing is lost between the two.
//! - Red flags are never deleted or overwritten: a refresh inserts flags it has not seen
//!   (by person and identity) and audits each one in the same transaction.

use std::collections::HashMap;

use concord_domain::audit::{Actor, AuditAction};
use concord_domain::{Code, CodeSystem, CodedConcept};
use sqlx::{Any, Row, Transaction};

use crate::audit::{NewAuditEvent, insert_audit_events};
use crate::read::{PATIENT_SELECT, RegisterPatient, condition_from_row, patient_from_row};
use crate::sql::{Value, bind_owned, bind_values, generated, new_id};
use crate::{Store, StoreError};

/// Rows per generated statement (SQLite allows 32766 parameters; PostgreSQL 65535).
const CHUNK: usize = 200;
/// Status rows per upsert (18 parameters each).
const STATUS_CHUNK: usize = 50;
/// Ids per `IN (…)` list.
const ID_CHUNK: usize = 500;

/// The columns `save_statuses` writes, in its order.
const STATUS_COLUMNS: [&str; 18] = [
    "patient_id",
    "generation",
    "computed_generation",
    "rules_fingerprint",
    "computed_on",
    "practice_ods_code",
    "registers",
    "risk_score",
    "risk_factors",
    "enters_cycle",
    "care_planning",
    "recall_month",
    "outstanding_items",
    "updated_at",
    "due_items",
    "family_name",
    "given_name",
    "stale",
];

/// The database fact remembering the last rule set and day every status was checked against.
const STATUS_CHECK_FACT: &str = "status_checked";

/// Keeps a person's count of open red flags current (after flags are raised or actioned).
/// Recounts the open flags kept on each of these people's statuses.
async fn update_open_flags_of(transaction: &mut Transaction<'_, Any>, patient_ids: &[&str]) -> Result<(), StoreError> {
    let list = placeholders(1, patient_ids.len());
    let sql = format!(
        "UPDATE patient_status SET open_flags = (SELECT COUNT(*) FROM red_flag \
         WHERE red_flag.patient_id = patient_status.patient_id AND red_flag.actioned_at IS NULL) \
         WHERE patient_id IN ({list})"
    );
    bind_owned(generated(sql), patient_ids.iter().map(|id| Value::text(*id))).execute(&mut **transaction).await?;
    Ok(())
}

pub(crate) async fn update_open_flags(
    transaction: &mut Transaction<'_, Any>,
    patient_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE patient_status SET open_flags = \
         (SELECT COUNT(*) FROM red_flag WHERE red_flag.patient_id = $1 AND red_flag.actioned_at IS NULL) WHERE patient_id = $1",
    )
    .bind(patient_id.to_owned())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// A usable result, as the status computation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub id: String,
    pub observable: String,
    pub code: Code,
    pub value_number: Option<f64>,
    pub value_code: Option<Code>,
    pub effective: String,
}

/// A medicine on the GP system's list.
#[derive(Debug, Clone, PartialEq)]
pub struct MedicineRow {
    pub concept: CodedConcept,
    pub status: String,
}

/// What the status computation reads of one person.
#[derive(Debug, Clone)]
pub struct PersonRecord {
    pub person: RegisterPatient,
    pub generation: i64,
    pub results: Vec<ResultRow>,
    pub medicines: Vec<MedicineRow>,
    pub encounters: Vec<crate::read::EncounterRow>,
}

/// One merged-checklist line to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStatusRow {
    pub item: String,
    pub status: String,
    pub last_done: Option<String>,
    pub next_due: Option<String>,
    pub interval_months: i64,
    pub performed_by: String,
}

/// A red flag as raised by the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFlag {
    pub identity: String,
    pub rule_id: String,
    pub severity: String,
    pub value_text: String,
    pub observation_keys: Vec<String>,
    pub observation_codes: Vec<Code>,
    pub result_date: String,
    pub recommended: String,
    /// When an urgent flag escalates if no action is recorded (RFC 3339), if it does.
    pub escalate_at: Option<String>,
    /// The practice's duty clinician when an urgent flag is raised.
    pub duty_clinician: Option<String>,
}

/// What saving statuses did: red flags newly raised, and the practices whose kept figures counted
/// some of these people before and counts none of them now (they moved practice).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedStatuses {
    pub flags_raised: u64,
    pub practices_left: Vec<String>,
}

/// A person's computed status, to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    pub patient_id: String,
    /// The generation the computation read.
    pub generation: i64,
    pub practice_ods_code: Option<String>,
    pub registers: Vec<String>,
    pub risk_score: i64,
    pub risk_factors: Vec<String>,
    pub enters_cycle: bool,
    pub care_planning: Vec<String>,
    pub recall_month: i64,
    /// The person's names, kept for the worklist's order.
    pub family_name: String,
    pub given_name: String,
    pub items: Vec<ItemStatusRow>,
    pub flags: Vec<NewFlag>,
}

/// A kept status as read back (for the worklist, reports and the recompute check).
#[derive(Debug, Clone, PartialEq)]
pub struct KeptStatus {
    pub patient_id: String,
    pub registers: Vec<String>,
    pub risk_score: i64,
    pub risk_factors: Vec<String>,
    pub enters_cycle: bool,
    pub care_planning: Vec<String>,
    pub recall_month: i64,
    pub items: Vec<ItemStatusRow>,
}

/// A stored red flag.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRow {
    pub id: String,
    pub patient_id: String,
    pub rule_id: String,
    pub severity: String,
    pub value_text: String,
    pub observation_keys: Vec<String>,
    pub observation_codes: Vec<Code>,
    pub result_date: String,
    pub recommended: String,
    pub raised_at: String,
    pub escalate_at: Option<String>,
    pub escalated_at: Option<String>,
    pub actioned_at: Option<String>,
    /// The duty clinician named when the flag was raised.
    pub duty_clinician: Option<String>,
    pub actioned_by: Option<String>,
    pub action_taken: Option<String>,
}

fn join(list: &[String]) -> String {
    list.join(" ")
}

/// Lists are stored space-separated (ids never contain spaces).
pub(crate) fn split(text: &str) -> Vec<String> {
    text.split(' ').filter(|part| !part.is_empty()).map(str::to_owned).collect()
}

fn codes_text(codes: &[Code]) -> String {
    codes.iter().map(|code| format!("{}|{}", code.system.uri(), code.code)).collect::<Vec<_>>().join(" ")
}

fn codes_from_text(text: &str) -> Vec<Code> {
    text.split(' ')
        .filter_map(|part| part.rsplit_once('|'))
        .map(|(system, code)| Code::new(CodeSystem::from_uri(system), code))
        .collect()
}

fn placeholders(from: usize, count: usize) -> String {
    (from..from + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// Marks people stale in the import's own transaction.
pub(crate) async fn mark_stale(
    transaction: &mut Transaction<'_, Any>,
    patient_ids: &[String],
    now: &str,
) -> Result<(), StoreError> {
    for chunk in patient_ids.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO patient_status (patient_id, generation, computed_generation, rules_fingerprint, computed_on, \
             registers, risk_score, risk_factors, enters_cycle, care_planning, recall_month, outstanding_items, updated_at, stale) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for (index, id) in chunk.iter().enumerate() {
            if index > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, 1, 0, '', '', '', 0, '', 0, '', 0, 0, ${}, 1)", index * 2 + 1, index * 2 + 2));
            values.push(Value::text(id.clone()));
            values.push(Value::text(now));
        }
        sql.push_str(" ON CONFLICT (patient_id) DO UPDATE SET generation = patient_status.generation + 1, stale = 1");
        bind_owned(generated(sql), values).execute(&mut **transaction).await?;
    }
    Ok(())
}

impl Store {
    /// Marks stale everyone whose status was computed under other rules or on another day, and
    /// everyone with no status yet. The full check runs once per rule set and day (remembered as a
    /// database fact); otherwise only the stale marker's index is read. Returns how many people
    /// are stale.
    pub async fn mark_outdated_statuses(&self, fingerprint: &str, today: &str, now: &str) -> Result<u64, StoreError> {
        let checked = format!("{fingerprint} {today}");
        if self.fact(STATUS_CHECK_FACT).await?.as_deref() != Some(checked.as_str()) {
            let mut transaction = self.pool().begin().await?;
            sqlx::query(
                "INSERT INTO patient_status (patient_id, generation, computed_generation, rules_fingerprint, computed_on, \
                 registers, risk_score, risk_factors, enters_cycle, care_planning, recall_month, outstanding_items, updated_at, stale) \
                 SELECT id, 1, 0, '', '', '', 0, '', 0, '', 0, 0, $1, 1 FROM patient \
                 WHERE NOT EXISTS (SELECT 1 FROM patient_status s WHERE s.patient_id = patient.id)",
            )
            .bind(now.to_owned())
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "UPDATE patient_status SET generation = generation + 1, stale = 1 \
                 WHERE stale = 0 AND (rules_fingerprint <> $1 OR computed_on <> $2)",
            )
            .bind(fingerprint.to_owned())
            .bind(today.to_owned())
            .execute(&mut *transaction)
            .await?;
            crate::set_fact_in(&mut transaction, STATUS_CHECK_FACT, &checked).await?;
            transaction.commit().await?;
        }
        Ok(self.stale_status_count().await? as u64)
    }

    /// Marks everyone stale (a full recompute).
    pub async fn mark_all_statuses_stale(&self, now: &str) -> Result<(), StoreError> {
        self.mark_outdated_statuses("\u{1}never", "", now).await?;
        sqlx::query("UPDATE patient_status SET generation = generation + 1, stale = 1 WHERE stale = 0")
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn stale_status_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM patient_status WHERE stale = 1")
            .fetch_one(self.pool())
            .await?
            .try_get(0)?)
    }

    /// The next stale people (by id, after `after`), with everything the computation reads.
    pub async fn stale_people(&self, after: &str, limit: i64) -> Result<Vec<PersonRecord>, StoreError> {
        let stale = sqlx::query(
            "SELECT patient_id, generation FROM patient_status WHERE stale = 1 AND patient_id > $1 \
             ORDER BY patient_id LIMIT $2",
        )
        .bind(after.to_owned())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let generations: Vec<(String, i64)> =
            stale.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<Result<_, sqlx::Error>>()?;
        let ids: Vec<String> = generations.iter().map(|(id, _)| id.clone()).collect();
        let mut people = self.person_records(&ids).await?;
        let generation_of: HashMap<&str, i64> = generations.iter().map(|(id, g)| (id.as_str(), *g)).collect();
        for person in &mut people {
            person.generation = generation_of.get(person.person.id.as_str()).copied().unwrap_or(0);
        }
        Ok(people)
    }

    /// Loads the records of the given people (ids that do not exist are skipped), in id order.
    pub async fn person_records(&self, ids: &[String]) -> Result<Vec<PersonRecord>, StoreError> {
        let mut people: Vec<PersonRecord> = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let list = placeholders(1, chunk.len());
            let values: Vec<Value> = chunk.iter().map(|id| Value::text(id.clone())).collect();
            let patients =
                bind_values(generated(format!("{PATIENT_SELECT} WHERE id IN ({list}) ORDER BY id")), &values)
                    .fetch_all(self.pool())
                    .await?;
            let mut index: HashMap<String, usize> = HashMap::new();
            let first = people.len();
            for row in &patients {
                let patient = patient_from_row(row)?;
                index.insert(patient.id.clone(), people.len());
                people.push(PersonRecord {
                    person: RegisterPatient { id: patient.id, patient: patient.patient, conditions: vec![] },
                    generation: 0,
                    results: vec![],
                    medicines: vec![],
                    encounters: vec![],
                });
            }
            let conditions = bind_values(
                generated(format!(
                    "SELECT patient_id, code_system, code, term, onset, resolved, recorded, status FROM condition \
                     WHERE patient_id IN ({list})"
                )),
                &values,
            )
            .fetch_all(self.pool())
            .await?;
            for row in &conditions {
                let owner: String = row.try_get(0)?;
                if let Some(&at) = index.get(&owner) {
                    people[at].person.conditions.push(condition_from_row(row, 1)?);
                }
            }
            let results = bind_values(
                generated(format!(
                    "SELECT patient_id, id, observable, code_system, code, value_number, value_code_system, value_code, effective \
                     FROM observation WHERE patient_id IN ({list}) AND observable IS NOT NULL \
                     AND status NOT IN ('entered-in-error', 'cancelled') AND value_kind <> 'unreadable' \
                     ORDER BY patient_id, effective, id"
                )),
                &values,
            )
            .fetch_all(self.pool())
            .await?;
            for row in &results {
                let owner: String = row.try_get(0)?;
                let Some(&at) = index.get(&owner) else { continue };
                let value_system: Option<String> = row.try_get(6)?;
                let value_code: Option<String> = row.try_get(7)?;
                people[at].results.push(ResultRow {
                    id: row.try_get(1)?,
                    observable: row.try_get(2)?,
                    code: Code::new(CodeSystem::from_uri(&row.try_get::<String, _>(3)?), row.try_get::<String, _>(4)?),
                    value_number: row.try_get(5)?,
                    value_code: value_system
                        .zip(value_code)
                        .map(|(system, code)| Code::new(CodeSystem::from_uri(&system), code)),
                    effective: row.try_get(8)?,
                });
            }
            let medicines = bind_values(
                generated(format!(
                    "SELECT patient_id, code_system, code, term, status FROM medication WHERE patient_id IN ({list})"
                )),
                &values,
            )
            .fetch_all(self.pool())
            .await?;
            for row in &medicines {
                let owner: String = row.try_get(0)?;
                let Some(&at) = index.get(&owner) else { continue };
                people[at].medicines.push(MedicineRow {
                    concept: CodedConcept {
                        code: Code::new(
                            CodeSystem::from_uri(&row.try_get::<String, _>(1)?),
                            row.try_get::<String, _>(2)?,
                        ),
                        term: row.try_get(3)?,
                    },
                    status: row.try_get(4)?,
                });
            }
            let encounters = bind_values(
                generated(format!(
                    "SELECT patient_id, start_at, setting, clinician, status, kind_code_system, kind_code, kind_term, planned, \
                     booked_at, year_of_care_contact FROM encounter WHERE patient_id IN ({list})"
                )),
                &values,
            )
            .fetch_all(self.pool())
            .await?;
            for row in &encounters {
                let owner: String = row.try_get(0)?;
                let Some(&at) = index.get(&owner) else { continue };
                people[at].encounters.push(crate::read::encounter_from_row(row, 1)?);
            }
            people[first..].sort_by(|a, b| a.person.id.cmp(&b.person.id));
        }
        Ok(people)
    }

    /// Keeps computed statuses and raises new flags, in one transaction. A status is kept as
    /// current only if the person's generation is still the one computed from.
    pub async fn save_statuses(
        &self,
        statuses: &[StatusRow],
        fingerprint: &str,
        today: &str,
        now: &str,
        actor: &Actor,
    ) -> Result<SavedStatuses, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let mut raised_events = Vec::new();
        let ids: Vec<&str> = statuses.iter().map(|status| status.patient_id.as_str()).collect();
        // The practices these people were counted under until now: one a person has left keeps
        // figures that counted them, so it is refreshed too.
        let mut counted_under = std::collections::BTreeSet::new();
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT DISTINCT practice_ods_code FROM patient_status WHERE patient_id IN ({}) \
                 AND practice_ods_code IS NOT NULL",
                placeholders(1, chunk.len())
            );
            let rows = bind_owned(generated(sql), chunk.iter().map(|id| Value::text(*id)))
                .fetch_all(&mut *transaction)
                .await?;
            for row in &rows {
                counted_under.insert(row.try_get::<String, _>(0)?);
            }
        }
        // Statuses: one multi-row upsert per chunk. Every row exists (people are refreshed because
        // their row is stale); the insert half only keeps the statement portable. A person whose
        // record changed again while this ran stays stale (generation moved past the one read).
        for chunk in statuses.chunks(STATUS_CHUNK) {
            let mut sql = format!("INSERT INTO patient_status ({}) VALUES ", STATUS_COLUMNS.join(", "));
            let mut values = Vec::with_capacity(chunk.len() * STATUS_COLUMNS.len());
            for (index, status) in chunk.iter().enumerate() {
                if index > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("({})", placeholders(index * STATUS_COLUMNS.len() + 1, STATUS_COLUMNS.len())));
                let due: Vec<String> = status
                    .items
                    .iter()
                    .filter(|item| item.status != "done")
                    .map(|item| format!("{}={}", item.item, item.status))
                    .collect();
                values.extend([
                    Value::text(status.patient_id.clone()),
                    Value::Integer(Some(status.generation)),
                    Value::Integer(Some(status.generation)),
                    Value::text(fingerprint),
                    Value::text(today),
                    Value::optional_text(status.practice_ods_code.clone()),
                    Value::text(join(&status.registers)),
                    Value::Integer(Some(status.risk_score)),
                    Value::text(join(&status.risk_factors)),
                    Value::Integer(Some(i64::from(status.enters_cycle))),
                    Value::text(join(&status.care_planning)),
                    Value::Integer(Some(status.recall_month)),
                    Value::Integer(Some(due.len() as i64)),
                    Value::text(now),
                    Value::text(due.join(" ")),
                    Value::text(status.family_name.clone()),
                    Value::text(status.given_name.clone()),
                    Value::Integer(Some(0)),
                ]);
            }
            sql.push_str(" ON CONFLICT (patient_id) DO UPDATE SET ");
            let updated: Vec<String> = STATUS_COLUMNS
                .iter()
                .filter(|column| !["patient_id", "generation", "stale"].contains(column))
                .map(|column| format!("{column} = excluded.{column}"))
                .collect();
            sql.push_str(&updated.join(", "));
            sql.push_str(
                ", stale = CASE WHEN patient_status.generation = excluded.computed_generation THEN 0 ELSE 1 END",
            );
            bind_owned(generated(sql), values).execute(&mut *transaction).await?;
        }
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!("DELETE FROM care_process_status WHERE patient_id IN ({})", placeholders(1, chunk.len()));
            bind_owned(generated(sql), chunk.iter().map(|id| Value::text(*id))).execute(&mut *transaction).await?;
        }
        let items: Vec<(&str, &ItemStatusRow)> = statuses
            .iter()
            .flat_map(|status| status.items.iter().map(move |item| (status.patient_id.as_str(), item)))
            .collect();
        for chunk in items.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO care_process_status (patient_id, item, status, last_done, next_due, interval_months, performed_by) VALUES ",
            );
            let mut values = Vec::with_capacity(chunk.len() * 7);
            for (index, (patient_id, item)) in chunk.iter().enumerate() {
                if index > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("({})", placeholders(index * 7 + 1, 7)));
                values.extend([
                    Value::text(*patient_id),
                    Value::text(item.item.clone()),
                    Value::text(item.status.clone()),
                    Value::optional_text(item.last_done.clone()),
                    Value::optional_text(item.next_due.clone()),
                    Value::Integer(Some(item.interval_months)),
                    Value::text(item.performed_by.clone()),
                ]);
            }
            bind_owned(generated(sql), values).execute(&mut *transaction).await?;
        }
        for status in statuses {
            for flag in &status.flags {
                let inserted = sqlx::query(
                    "INSERT INTO red_flag (id, patient_id, identity, rule_id, severity, value_text, observation_keys, \
                     observation_codes, result_date, recommended, raised_at, escalate_at, duty_clinician) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                     ON CONFLICT (patient_id, identity) DO NOTHING RETURNING id",
                )
                .bind(new_id())
                .bind(status.patient_id.clone())
                .bind(flag.identity.clone())
                .bind(flag.rule_id.clone())
                .bind(flag.severity.clone())
                .bind(flag.value_text.clone())
                .bind(join(&flag.observation_keys))
                .bind(codes_text(&flag.observation_codes))
                .bind(flag.result_date.clone())
                .bind(flag.recommended.clone())
                .bind(now.to_owned())
                .bind(flag.escalate_at.clone())
                .bind(flag.duty_clinician.clone())
                .fetch_optional(&mut *transaction)
                .await?;
                if inserted.is_some() {
                    raised_events.push(NewAuditEvent {
                        actor: actor.clone(),
                        organisation: None,
                        patient_id: Some(status.patient_id.clone()),
                        action: AuditAction::Create,
                        entity: "RedFlag".into(),
                        detail: format!("{} ({}) raised", flag.rule_id, flag.severity),
                        request_id: None,
                        purpose: None,
                    });
                }
            }
        }
        for chunk in ids.chunks(ID_CHUNK) {
            update_open_flags_of(&mut transaction, chunk).await?;
        }
        insert_audit_events(&mut transaction, &raised_events, now).await?;
        transaction.commit().await?;
        for status in statuses {
            if let Some(practice) = &status.practice_ods_code {
                counted_under.remove(practice);
            }
        }
        Ok(SavedStatuses {
            flags_raised: raised_events.len() as u64,
            practices_left: counted_under.into_iter().collect(),
        })
    }

    /// Kept statuses of the given people (or everyone when `None`), in id order.
    pub async fn kept_statuses(&self, practice: Option<&str>) -> Result<Vec<KeptStatus>, StoreError> {
        let mut sql = String::from(
            "SELECT patient_id, registers, risk_score, risk_factors, enters_cycle, care_planning, recall_month \
             FROM patient_status",
        );
        let mut values = Vec::new();
        if let Some(practice) = practice {
            sql.push_str(" WHERE practice_ods_code = $1");
            values.push(Value::text(practice));
        }
        sql.push_str(" ORDER BY patient_id");
        let rows = bind_values(generated(sql), &values).fetch_all(self.pool()).await?;
        let mut kept = Vec::with_capacity(rows.len());
        for row in &rows {
            kept.push(KeptStatus {
                patient_id: row.try_get(0)?,
                registers: split(&row.try_get::<String, _>(1)?),
                risk_score: row.try_get(2)?,
                risk_factors: split(&row.try_get::<String, _>(3)?),
                enters_cycle: row.try_get::<i64, _>(4)? != 0,
                care_planning: split(&row.try_get::<String, _>(5)?),
                recall_month: row.try_get(6)?,
                items: vec![],
            });
        }
        let items = sqlx::query(
            "SELECT patient_id, item, status, last_done, next_due, interval_months, performed_by FROM care_process_status \
             ORDER BY patient_id, item",
        )
        .fetch_all(self.pool())
        .await?;
        let index: HashMap<String, usize> = kept.iter().enumerate().map(|(at, k)| (k.patient_id.clone(), at)).collect();
        for row in &items {
            let owner: String = row.try_get(0)?;
            if let Some(&at) = index.get(&owner) {
                kept[at].items.push(item_from_row(row, 1)?);
            }
        }
        Ok(kept)
    }

    /// A person's kept checklist, in item order.
    pub async fn checklist(&self, patient_id: &str) -> Result<Vec<ItemStatusRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT item, status, last_done, next_due, interval_months, performed_by FROM care_process_status \
             WHERE patient_id = $1 ORDER BY item",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| item_from_row(row, 0)).collect()
    }

    /// Open flags first by severity then oldest result; then actioned ones if asked.
    pub async fn red_flags(&self, patient_id: Option<&str>, open_only: bool) -> Result<Vec<FlagRow>, StoreError> {
        let mut sql = String::from(
            "SELECT id, patient_id, rule_id, severity, value_text, observation_keys, observation_codes, result_date, \
             recommended, raised_at, escalate_at, escalated_at, actioned_at, actioned_by, action_taken, duty_clinician \
             FROM red_flag WHERE 1 = 1",
        );
        let mut values = Vec::new();
        if let Some(patient_id) = patient_id {
            values.push(Value::text(patient_id));
            sql.push_str(&format!(" AND patient_id = ${}", values.len()));
        }
        if open_only {
            sql.push_str(" AND actioned_at IS NULL");
        }
        sql.push_str(
            " ORDER BY CASE WHEN actioned_at IS NULL THEN 0 ELSE 1 END, \
             CASE severity WHEN 'urgent' THEN 0 WHEN 'soon' THEN 1 ELSE 2 END, result_date, id",
        );
        let rows = bind_values(generated(sql), &values).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(FlagRow {
                    id: row.try_get(0)?,
                    patient_id: row.try_get(1)?,
                    rule_id: row.try_get(2)?,
                    severity: row.try_get(3)?,
                    value_text: row.try_get(4)?,
                    observation_keys: split(&row.try_get::<String, _>(5)?),
                    observation_codes: codes_from_text(&row.try_get::<String, _>(6)?),
                    result_date: row.try_get(7)?,
                    recommended: row.try_get(8)?,
                    raised_at: row.try_get(9)?,
                    escalate_at: row.try_get(10)?,
                    escalated_at: row.try_get(11)?,
                    actioned_at: row.try_get(12)?,
                    actioned_by: row.try_get(13)?,
                    action_taken: row.try_get(14)?,
                    duty_clinician: row.try_get(15)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Records the action taken on an open flag, audited in the same transaction. Refuses a flag
    /// already actioned (someone else got there first) or belonging to another person.
    pub async fn record_flag_action(
        &self,
        flag_id: &str,
        patient_id: &str,
        action: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE red_flag SET actioned_at = $1, actioned_by = $2, action_taken = $3 \
             WHERE id = $4 AND patient_id = $5 AND actioned_at IS NULL RETURNING rule_id",
        )
        .bind(now.to_owned())
        .bind(actor.name().to_owned())
        .bind(action.to_owned())
        .bind(flag_id.to_owned())
        .bind(patient_id.to_owned())
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = updated else {
            return Err(StoreError::Conflict(
                "this flag was already actioned or does not belong to this person".into(),
            ));
        };
        let rule_id: String = row.try_get(0)?;
        update_open_flags(&mut transaction, patient_id).await?;
        crate::outcomes::outcomes_changed(&mut transaction, patient_id).await?;
        insert_audit_events(
            &mut transaction,
            &[NewAuditEvent {
                actor: actor.clone(),
                organisation: None,
                patient_id: Some(patient_id.to_owned()),
                action: AuditAction::Update,
                entity: "RedFlag".into(),
                detail: format!("action recorded on {rule_id}"),
                request_id: None,
                purpose: None,
            }],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// How many open flags there are of a severity.
    pub async fn open_flag_count(&self, severity: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM red_flag WHERE actioned_at IS NULL AND severity = $1")
            .bind(severity.to_owned())
            .fetch_one(self.pool())
            .await?
            .try_get(0)?)
    }

    /// Gives the practice's open urgent flags that have no named clinician to `clinician`.
    pub async fn assign_unowned_urgent_flags(&self, practice: &str, clinician: &str) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE red_flag SET duty_clinician = $1 WHERE actioned_at IS NULL AND severity = 'urgent' AND duty_clinician IS NULL \
             AND patient_id IN (SELECT id FROM patient WHERE practice_ods_code = $2)",
        )
        .bind(clinician.to_owned())
        .bind(practice.to_owned())
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected())
    }

    /// Marks open urgent flags past their escalation time as escalated; returns how many.
    pub async fn escalate_overdue_flags(&self, now: &str) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE red_flag SET escalated_at = $1 WHERE actioned_at IS NULL AND escalated_at IS NULL \
             AND escalate_at IS NOT NULL AND escalate_at <= $1",
        )
        .bind(now.to_owned())
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected())
    }
}

fn item_from_row(row: &sqlx::any::AnyRow, offset: usize) -> Result<ItemStatusRow, StoreError> {
    Ok(ItemStatusRow {
        item: row.try_get(offset)?,
        status: row.try_get(offset + 1)?,
        last_done: row.try_get(offset + 2)?,
        next_due: row.try_get(offset + 3)?,
        interval_months: row.try_get(offset + 4)?,
        performed_by: row.try_get(offset + 5)?,
    })
}
