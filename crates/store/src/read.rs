//! Reading the record back: search, a patient's record, and population scans for registers.

use concord_domain::code::{Code, CodeSystem, CodedConcept};
use concord_domain::nhs_number::{NhsNumber, NhsNumberVerification};
use concord_domain::organisation::OdsCode;
use concord_domain::patient::{
    Address, CommunicationNeeds, ContactChannel, ContactDetails, LocalIdentifier, Patient, PersonName, Registration,
    Sex,
};
use concord_domain::record::{Condition, ConditionStatus};
use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;
use time::Date;

use crate::sql::{self, Value, bind_owned, bind_values, generated};
use crate::{Store, StoreError};

/// What staff search by. Any combination; at least one field must be given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientSearch {
    /// Family name prefix, optionally followed by a given-name prefix ("smith jo").
    pub name: Option<String>,
    pub nhs_number: Option<NhsNumber>,
    pub birth_date: Option<Date>,
    /// Restrict to one practice's registered list.
    pub practice: Option<String>,
}

/// One line of search results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientListing {
    pub id: String,
    pub nhs_number: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: String,
    pub sex: String,
    pub postcode: Option<String>,
    pub practice_ods_code: Option<String>,
    pub death_date: Option<String>,
}

/// A patient as stored, with its internal id.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientRow {
    pub id: String,
    pub patient: Patient,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConditionRow {
    /// Concord's own id of the row (the FHIR logical id).
    pub id: String,
    pub condition: Condition,
    pub source_key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservationRow {
    /// Concord's own id of the row (the FHIR logical id).
    pub id: String,
    /// The record's key in its source (for Concord's own results, `concord/visit/…`).
    pub source_key: String,
    pub code: Code,
    pub term: String,
    pub observable: Option<String>,
    /// `quantity`, `coded`, `text`, `none` or `unreadable`.
    pub value_kind: String,
    pub value_text: Option<String>,
    pub value_number: Option<f64>,
    pub unit: Option<String>,
    pub value_code: Option<Code>,
    pub effective: String,
    pub status: String,
    pub source: String,
    pub unreadable_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicationRow {
    pub code: Code,
    pub term: String,
    pub dosage: Option<String>,
    pub status: String,
    pub authored: Option<String>,
    pub as_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncounterRow {
    pub start_at: String,
    pub setting: String,
    pub clinician: String,
    pub status: String,
    pub kind: Option<CodedConcept>,
    pub planned: Option<bool>,
    pub booked_at: Option<String>,
    pub year_of_care_contact: bool,
}

/// A patient and their conditions, for register evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterPatient {
    pub id: String,
    pub patient: Patient,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectionRow {
    pub id: String,
    pub run_id: String,
    pub at: String,
    pub location: String,
    pub resource_type: Option<String>,
    pub source_key: Option<String>,
    pub reason: String,
    pub red_flag: Option<CodedConcept>,
}

pub(crate) const PATIENT_SELECT: &str = "SELECT id, nhs_number, nhs_number_verification, name_prefix, given_name, family_name, \
     birth_date, sex, address_lines, city, postcode, death_date, practice_ods_code, registration_start, \
     registration_end, phone, mobile, email, preferred_channel, language, interpreter_needed, communication_needs, \
     updated_at FROM patient";

pub(crate) fn patient_from_row(row: &AnyRow) -> Result<PatientRow, StoreError> {
    let corrupt = |column: &'static str, reason: String| StoreError::Corrupt { table: "patient", column, reason };
    let nhs_number = row
        .try_get::<Option<String>, _>(1)?
        .map(|text| NhsNumber::parse(&text).map_err(|error| corrupt("nhs_number", error.to_string())))
        .transpose()?;
    let verification = row.try_get::<Option<String>, _>(2)?.and_then(|code| NhsNumberVerification::from_code(&code));
    let sex_text: String = row.try_get(7)?;
    let sex = Sex::parse(&sex_text).ok_or_else(|| corrupt("sex", sex_text.clone()))?;
    let practice = row
        .try_get::<Option<String>, _>(12)?
        .map(|code| OdsCode::parse(&code).map_err(|error| corrupt("practice_ods_code", error.to_string())))
        .transpose()?;
    let registration = match practice {
        Some(practice) => Some(Registration {
            practice,
            start: sql::parse_optional_date("patient", "registration_start", row.try_get(13)?)?,
            end: sql::parse_optional_date("patient", "registration_end", row.try_get(14)?)?,
        }),
        None => None,
    };
    let lines: Option<String> = row.try_get(8)?;
    let needs: Option<String> = row.try_get(21)?;
    let interpreter: i64 = row.try_get(20)?;
    Ok(PatientRow {
        id: row.try_get(0)?,
        patient: Patient {
            nhs_number,
            nhs_number_verification: verification,
            local_identifiers: Vec::new(),
            name: PersonName { prefix: row.try_get(3)?, given: row.try_get(4)?, family: row.try_get(5)? },
            birth_date: sql::parse_date("patient", "birth_date", &row.try_get::<String, _>(6)?)?,
            sex,
            address: Address {
                lines: lines.map(|lines| lines.split('\n').map(str::to_owned).collect()).unwrap_or_default(),
                city: row.try_get(9)?,
                postcode: row.try_get(10)?,
            },
            death_date: sql::parse_optional_date("patient", "death_date", row.try_get(11)?)?,
            registration,
            contact: ContactDetails {
                phone: row.try_get(15)?,
                mobile: row.try_get(16)?,
                email: row.try_get(17)?,
                preferred_channel: row.try_get::<Option<String>, _>(18)?.and_then(|text| ContactChannel::parse(&text)),
            },
            communication: CommunicationNeeds {
                language: row.try_get(19)?,
                interpreter_needed: interpreter != 0,
                needs: needs.map(|needs| needs.split('\n').map(str::to_owned).collect()).unwrap_or_default(),
            },
        },
        updated_at: row.try_get(22)?,
    })
}

pub(crate) fn condition_from_row(row: &AnyRow, offset: usize) -> Result<Condition, StoreError> {
    let status_text: String = row.try_get(offset + 6)?;
    Ok(Condition {
        concept: CodedConcept {
            code: Code::new(
                CodeSystem::from_uri(&row.try_get::<String, _>(offset)?),
                row.try_get::<String, _>(offset + 1)?,
            ),
            term: row.try_get(offset + 2)?,
        },
        onset: sql::parse_optional_date("condition", "onset", row.try_get(offset + 3)?)?,
        resolved: sql::parse_optional_date("condition", "resolved", row.try_get(offset + 4)?)?,
        recorded: sql::parse_optional_date("condition", "recorded", row.try_get(offset + 5)?)?,
        status: ConditionStatus::parse(&status_text).ok_or(StoreError::Corrupt {
            table: "condition",
            column: "status",
            reason: status_text.clone(),
        })?,
    })
}

impl Store {
    /// Finds patients by any combination of name, NHS number and date of birth (at most `limit`).
    pub async fn search_patients(&self, search: &PatientSearch, limit: i64) -> Result<Vec<PatientListing>, StoreError> {
        let mut sql = "SELECT id, nhs_number, given_name, family_name, birth_date, sex, postcode, practice_ods_code, \
                       death_date FROM patient WHERE 1 = 1"
            .to_owned();
        let mut values = Vec::new();
        if let Some(number) = &search.nhs_number {
            values.push(Value::text(number.as_str()));
            sql.push_str(&format!(" AND nhs_number = ${}", values.len()));
        }
        if let Some(birth_date) = search.birth_date {
            values.push(Value::text(sql::date_text(birth_date)));
            sql.push_str(&format!(" AND birth_date = ${}", values.len()));
        }
        if let Some(practice) = &search.practice {
            values.push(Value::text(practice.clone()));
            sql.push_str(&format!(" AND practice_ods_code = ${}", values.len()));
        }
        if let Some(name) = &search.name {
            let mut words = name.split_whitespace().map(str::to_lowercase);
            if let Some(family) = words.next() {
                // Prefix range on the indexed search name: "smi" matches "smi" <= name < "smj".
                let mut upper = family.clone();
                upper.push(char::MAX);
                values.push(Value::text(family.clone()));
                sql.push_str(&format!(" AND search_name >= ${}", values.len()));
                values.push(Value::text(upper));
                sql.push_str(&format!(" AND search_name < ${}", values.len()));
            }
            for given in words {
                values.push(Value::text(format!("% {}%", given.replace(['%', '_'], ""))));
                sql.push_str(&format!(" AND search_name LIKE ${}", values.len()));
            }
        }
        values.push(Value::Integer(Some(limit)));
        sql.push_str(&format!(" ORDER BY search_name, birth_date, id LIMIT ${}", values.len()));
        let rows = bind_values(generated(sql), &values).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(PatientListing {
                    id: row.try_get(0)?,
                    nhs_number: row.try_get(1)?,
                    given_name: row.try_get(2)?,
                    family_name: row.try_get(3)?,
                    birth_date: row.try_get(4)?,
                    sex: row.try_get(5)?,
                    postcode: row.try_get(6)?,
                    practice_ods_code: row.try_get(7)?,
                    death_date: row.try_get(8)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn patient(&self, id: &str) -> Result<Option<PatientRow>, StoreError> {
        let row = generated(format!("{PATIENT_SELECT} WHERE id = $1"))
            .bind(id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut patient = patient_from_row(&row)?;
        let identifiers =
            sqlx::query("SELECT system, value FROM patient_identifier WHERE patient_id = $1 ORDER BY system, value")
                .bind(id.to_owned())
                .fetch_all(self.pool())
                .await?;
        for identifier in identifiers {
            patient
                .patient
                .local_identifiers
                .push(LocalIdentifier { system: identifier.try_get(0)?, value: identifier.try_get(1)? });
        }
        Ok(Some(patient))
    }

    pub async fn patient_count(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM patient").fetch_one(self.pool()).await?;
        Ok(count)
    }

    /// Row counts of every record table, for import summaries and idempotency tests.
    pub async fn table_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut counts = Vec::new();
        for table in
            ["organisation", "patient", "patient_identifier", "condition", "observation", "medication", "encounter"]
        {
            let (count,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(self.pool())
                .await?;
            counts.push((table.to_owned(), count));
        }
        Ok(counts)
    }

    /// The patient's conditions, most recent onset first, excluding those recorded in error.
    pub async fn conditions(&self, patient_id: &str) -> Result<Vec<ConditionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT code_system, code, term, onset, resolved, recorded, status, source_key, id FROM condition \
             WHERE patient_id = $1 AND status <> 'entered-in-error' ORDER BY onset DESC, term",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ConditionRow {
                    id: row.try_get(8)?,
                    condition: condition_from_row(row, 0)?,
                    source_key: row.try_get(7)?,
                })
            })
            .collect()
    }

    /// The patient's results, newest first. Entered-in-error and cancelled results are left out;
    /// unreadable ones are included so a clinician sees them.
    pub async fn observations(&self, patient_id: &str) -> Result<Vec<ObservationRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT code_system, code, term, observable, value_kind, value_text, value_number, unit, \
             value_code_system, value_code, effective, status, source, unreadable_reason, id, source_key FROM observation \
             WHERE patient_id = $1 AND status NOT IN ('entered-in-error', 'cancelled') ORDER BY effective DESC, id",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let value_system: Option<String> = row.try_get(8)?;
                let value_code: Option<String> = row.try_get(9)?;
                Ok(ObservationRow {
                    id: row.try_get(14)?,
                    source_key: row.try_get(15)?,
                    code: Code::new(CodeSystem::from_uri(&row.try_get::<String, _>(0)?), row.try_get::<String, _>(1)?),
                    term: row.try_get(2)?,
                    observable: row.try_get(3)?,
                    value_kind: row.try_get(4)?,
                    value_text: row.try_get(5)?,
                    value_number: row.try_get(6)?,
                    unit: row.try_get(7)?,
                    value_code: value_system
                        .zip(value_code)
                        .map(|(system, code)| Code::new(CodeSystem::from_uri(&system), code)),
                    effective: row.try_get(10)?,
                    status: row.try_get(11)?,
                    source: row.try_get(12)?,
                    unreadable_reason: row.try_get(13)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The medication list as at its extract date, active first.
    pub async fn medications(&self, patient_id: &str) -> Result<Vec<MedicationRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT code_system, code, term, dosage, status, authored, as_at FROM medication WHERE patient_id = $1 \
             ORDER BY CASE status WHEN 'active' THEN 0 ELSE 1 END, term",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MedicationRow {
                    code: Code::new(CodeSystem::from_uri(&row.try_get::<String, _>(0)?), row.try_get::<String, _>(1)?),
                    term: row.try_get(2)?,
                    dosage: row.try_get(3)?,
                    status: row.try_get(4)?,
                    authored: row.try_get(5)?,
                    as_at: row.try_get(6)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn encounters(&self, patient_id: &str) -> Result<Vec<EncounterRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT start_at, setting, clinician, status, kind_code_system, kind_code, kind_term, planned, booked_at, \
             year_of_care_contact FROM encounter WHERE patient_id = $1 ORDER BY start_at DESC",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| encounter_from_row(row, 0)).collect()
    }

    /// NHS number and names (family, given) of these people, by person id, in a few statements.
    pub async fn patient_names(
        &self,
        patient_ids: &[String],
    ) -> Result<HashMap<String, (Option<String>, String, String)>, StoreError> {
        let mut names = HashMap::new();
        for chunk in patient_ids.chunks(500) {
            let list: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT id, nhs_number, family_name, given_name FROM patient WHERE id IN ({})",
                list.join(", ")
            );
            let rows = bind_owned(generated(sql), chunk.iter().map(|id| Value::text(id.clone())))
                .fetch_all(self.pool())
                .await?;
            for row in rows {
                names.insert(
                    row.try_get(0)?,
                    (
                        row.try_get(1)?,
                        row.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                        row.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                    ),
                );
            }
        }
        Ok(names)
    }

    /// Laboratory samples sent for these people, by person id.
    pub async fn laboratory_samples_of(
        &self,
        patient_ids: &[String],
    ) -> Result<HashMap<String, Vec<SampleRow>>, StoreError> {
        let mut samples: HashMap<String, Vec<SampleRow>> = HashMap::new();
        for chunk in patient_ids.chunks(500) {
            let list: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT patient_id, visit_key, item, sent_at FROM laboratory_sample WHERE patient_id IN ({}) \
                 ORDER BY sent_at DESC, item",
                list.join(", ")
            );
            let rows = bind_owned(generated(sql), chunk.iter().map(|id| Value::text(id.clone())))
                .fetch_all(self.pool())
                .await?;
            for row in rows {
                samples.entry(row.try_get(0)?).or_default().push(SampleRow {
                    visit_key: row.try_get(1)?,
                    item: row.try_get(2)?,
                    sent_at: row.try_get(3)?,
                });
            }
        }
        Ok(samples)
    }

    /// Laboratory samples sent for a person from information-gathering visits, newest first.
    pub async fn laboratory_samples(&self, patient_id: &str) -> Result<Vec<SampleRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT visit_key, item, sent_at FROM laboratory_sample WHERE patient_id = $1 \
             ORDER BY sent_at DESC, item",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok(SampleRow { visit_key: row.try_get(0)?, item: row.try_get(1)?, sent_at: row.try_get(2)? }))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Walks every patient (optionally one practice's) with their conditions, a page at a time, so
    /// memory stays flat however large the population.
    pub async fn for_each_register_patient(
        &self,
        practice: Option<&str>,
        mut visit: impl FnMut(RegisterPatient),
    ) -> Result<u64, StoreError> {
        const PAGE: i64 = 5000;
        let mut after = String::new();
        let mut visited = 0;
        loop {
            let mut sql = format!("{PATIENT_SELECT} WHERE id > $1");
            let mut values = vec![Value::text(after.clone())];
            if let Some(practice) = practice {
                values.push(Value::text(practice));
                sql.push_str(&format!(" AND practice_ods_code = ${}", values.len()));
            }
            values.push(Value::Integer(Some(PAGE)));
            sql.push_str(&format!(" ORDER BY id LIMIT ${}", values.len()));
            let rows = bind_values(generated(sql), &values).fetch_all(self.pool()).await?;
            let Some(last) = rows.last() else { break };
            let last_id: String = last.try_get(0)?;
            let first_id: String = rows[0].try_get(0)?;
            let condition_rows = sqlx::query(
                "SELECT patient_id, code_system, code, term, onset, resolved, recorded, status FROM condition \
                 WHERE patient_id >= $1 AND patient_id <= $2 ORDER BY patient_id",
            )
            .bind(first_id)
            .bind(last_id.clone())
            .fetch_all(self.pool())
            .await?;
            let mut conditions = condition_rows.iter().peekable();
            for row in &rows {
                let patient = patient_from_row(row)?;
                let mut own = Vec::new();
                while let Some(condition) = conditions.peek() {
                    let owner: String = condition.try_get(0)?;
                    if owner < patient.id {
                        conditions.next();
                        continue;
                    }
                    if owner > patient.id {
                        break;
                    }
                    own.push(condition_from_row(condition, 1)?);
                    conditions.next();
                }
                visited += 1;
                visit(RegisterPatient { id: patient.id, patient: patient.patient, conditions: own });
            }
            after = last_id;
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
        Ok(visited)
    }

    /// Records import rejections (all of them, so the rejects report can be re-read later).
    pub async fn record_rejections(&self, run_id: &str, rejections: &[RejectionRow]) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        for rejection in rejections {
            sqlx::query(
                "INSERT INTO import_rejection (id, run_id, at, location, resource_type, source_key, reason, \
                 red_flag_system, red_flag_code, red_flag_term) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(sql::new_id())
            .bind(run_id.to_owned())
            .bind(rejection.at.clone())
            .bind(rejection.location.clone())
            .bind(rejection.resource_type.clone())
            .bind(rejection.source_key.clone())
            .bind(rejection.reason.clone())
            .bind(rejection.red_flag.as_ref().map(|concept| concept.code.system.short_name().to_owned()))
            .bind(rejection.red_flag.as_ref().map(|concept| concept.code.code.clone()))
            .bind(rejection.red_flag.as_ref().map(|concept| concept.term.clone()))
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Rejected results that could raise a red flag and that no clinician has yet marked as seen.
    pub async fn unreviewed_red_flag_rejections(&self) -> Result<Vec<RejectionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, run_id, at, location, resource_type, source_key, reason, red_flag_system, red_flag_code, \
             red_flag_term FROM import_rejection WHERE red_flag_code IS NOT NULL AND reviewed_at IS NULL ORDER BY at, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let system: Option<String> = row.try_get(7)?;
                let code: Option<String> = row.try_get(8)?;
                let term: Option<String> = row.try_get(9)?;
                Ok(RejectionRow {
                    id: row.try_get(0)?,
                    run_id: row.try_get(1)?,
                    at: row.try_get(2)?,
                    location: row.try_get(3)?,
                    resource_type: row.try_get(4)?,
                    source_key: row.try_get(5)?,
                    reason: row.try_get(6)?,
                    red_flag: system.zip(code).map(|(system, code)| CodedConcept {
                        code: Code::new(CodeSystem::from_uri(&system), code),
                        term: term.unwrap_or_default(),
                    }),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Organisations as (ods_code, name, kind, parent), ordered by kind then code.
    pub async fn organisations(&self) -> Result<Vec<(String, String, String, Option<String>)>, StoreError> {
        let rows = sqlx::query_as::<_, (String, String, String, Option<String>)>(
            "SELECT ods_code, name, kind, parent_ods_code FROM organisation ORDER BY kind, ods_code",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }
}

pub(crate) fn encounter_from_row(row: &AnyRow, offset: usize) -> Result<EncounterRow, StoreError> {
    let system: Option<String> = row.try_get(offset + 4)?;
    let code: Option<String> = row.try_get(offset + 5)?;
    let term: Option<String> = row.try_get(offset + 6)?;
    let planned: Option<i64> = row.try_get(offset + 7)?;
    let year_of_care: i64 = row.try_get(offset + 9)?;
    Ok(EncounterRow {
        start_at: row.try_get(offset)?,
        setting: row.try_get(offset + 1)?,
        clinician: row.try_get(offset + 2)?,
        status: row.try_get(offset + 3)?,
        kind: system.zip(code).map(|(system, code)| CodedConcept {
            code: Code::new(CodeSystem::from_uri(&system), code),
            term: term.unwrap_or_default(),
        }),
        planned: planned.map(|planned| planned != 0),
        booked_at: row.try_get(offset + 8)?,
        year_of_care_contact: year_of_care != 0,
    })
}

/// A laboratory sample sent from a visit, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRow {
    pub visit_key: String,
    pub item: String,
    /// RFC 3339 UTC.
    pub sent_at: String,
}
