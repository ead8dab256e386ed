//! The dashboard's figures kept per practice (`kept_outcome`, migration 0023), and the set-based
//! reads they are computed from: a few statements per practice, never one per person.
//!
//! Invariant: every write that changes something a figure counts calls [`outcomes_changed`] in
//! its own transaction (plans, survey answers, red-flag actions, goal progress, cycle events), and
//! the status refresh marks the practices it touched; figures saved from a read taken before such
//! a change stay stale (`computed_generation < generation`).

use sqlx::Row;

use crate::read::encounter_from_row;
use crate::{EncounterRow, Store, StoreError};

/// A practice's kept figures, as stored (the figures are the application's JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptOutcomeRow {
    pub practice_ods_code: String,
    pub generation: i64,
    pub computed_generation: i64,
    pub as_of: String,
    pub figures: String,
}

impl KeptOutcomeRow {
    /// Whether these figures can be shown for `today` as they are.
    pub fn current(&self, today: &str) -> bool {
        self.computed_generation >= self.generation && self.as_of == today && !self.figures.is_empty()
    }
}

/// One practice's plans: the person, the current version's status, when a version was first
/// agreed (care planning began then), and whether the person is in this year's eligible cohort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOutcomeRow {
    pub patient_id: String,
    pub current_status: String,
    pub first_agreed: Option<String>,
    pub in_cohort: bool,
    /// Registered from, and left (died or registration ended; the earlier), as `YYYY-MM-DD`.
    pub registered: Option<String>,
    pub left: Option<String>,
}

/// A red flag's severity, when it was raised, and when it was actioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagTimingRow {
    pub severity: String,
    pub raised_at: String,
    pub actioned_at: Option<String>,
}

/// Everything one practice's figures are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutcomeInputs {
    /// People entering this year's cycle.
    pub eligible: i64,
    /// For the cycle year asked about: each event and how many people had it.
    pub cycle_people: Vec<(String, i64)>,
    /// Cycle events since the date asked about: (event, `YYYY-MM`, count).
    pub events_by_month: Vec<(String, String, i64)>,
    pub plans: Vec<PlanOutcomeRow>,
    /// Encounters of people who have had a plan agreed, by person.
    pub encounters: Vec<(String, EncounterRow)>,
    /// Red flags raised since the date asked about.
    pub flags: Vec<FlagTimingRow>,
    /// Each person's answers to the support question, oldest first: (person, support, submitted at).
    pub support_answers: Vec<(String, String, String)>,
    /// Goals in current agreed plans: (plan id, the goal's words).
    pub goals: Vec<(String, String)>,
    /// Progress on goals, oldest first: (plan id, goal, status).
    pub goal_progress: Vec<(String, String, String)>,
}

/// Adds one to the generation of the person's practice's kept figures; called in the transaction
/// of every change that a figure counts.
pub(crate) async fn outcomes_changed(connection: &mut sqlx::AnyConnection, patient_id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE kept_outcome SET generation = generation + 1 \
         WHERE practice_ods_code = (SELECT practice_ods_code FROM patient WHERE id = $1)",
    )
    .bind(patient_id.to_owned())
    .execute(connection)
    .await?;
    Ok(())
}

impl Store {
    /// Every practice's kept figures, in ODS code order.
    pub async fn kept_outcomes(&self) -> Result<Vec<KeptOutcomeRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT practice_ods_code, generation, computed_generation, as_of, figures FROM kept_outcome \
             ORDER BY practice_ods_code",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeptOutcomeRow {
                    practice_ods_code: row.try_get(0)?,
                    generation: row.try_get(1)?,
                    computed_generation: row.try_get(2)?,
                    as_of: row.try_get(3)?,
                    figures: row.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Makes sure each practice has a row (stale, with no figures), so that changes from now on are
    /// counted against it.
    pub async fn ensure_kept_outcomes(&self, practices: &[String], now: &str) -> Result<(), StoreError> {
        for practice in practices {
            sqlx::query(
                "INSERT INTO kept_outcome (practice_ods_code, generation, computed_generation, as_of, figures, updated_at) \
                 VALUES ($1, 1, 0, '', '', $2) ON CONFLICT (practice_ods_code) DO NOTHING",
            )
            .bind(practice.clone())
            .bind(now.to_owned())
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    /// Marks these practices' figures stale (their statuses were refreshed).
    pub async fn mark_outcomes_changed(&self, practices: &[String]) -> Result<(), StoreError> {
        for practice in practices {
            sqlx::query("UPDATE kept_outcome SET generation = generation + 1 WHERE practice_ods_code = $1")
                .bind(practice.clone())
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Saves figures computed from a read taken when the row's generation was `seen`; a change
    /// since leaves the row stale.
    pub async fn save_kept_outcome(
        &self,
        practice: &str,
        seen: i64,
        as_of: &str,
        figures: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE kept_outcome SET computed_generation = $2, as_of = $3, figures = $4, updated_at = $5 \
             WHERE practice_ods_code = $1",
        )
        .bind(practice.to_owned())
        .bind(seen)
        .bind(as_of.to_owned())
        .bind(figures.to_owned())
        .bind(now.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// What one practice's figures are computed from: `cycle_year` for the cycle's progress,
    /// `since` (a date) for monthly counts and red flags.
    pub async fn outcome_inputs(
        &self,
        practice: &str,
        cycle_year: i64,
        since: &str,
    ) -> Result<OutcomeInputs, StoreError> {
        let pool = self.pool();
        let practice = practice.to_owned();
        let eligible: i64 =
            sqlx::query("SELECT COUNT(*) FROM patient_status WHERE practice_ods_code = $1 AND enters_cycle = 1")
                .bind(practice.clone())
                .fetch_one(pool)
                .await?
                .try_get(0)?;
        let cycle_people: Vec<(String, i64)> = sqlx::query_as(
            "SELECT e.event, COUNT(DISTINCT e.patient_id) FROM patient p \
             JOIN care_cycle c ON c.patient_id = p.id AND c.cycle_year = $2 \
             JOIN care_cycle_event e ON e.cycle_id = c.id \
             WHERE p.practice_ods_code = $1 GROUP BY e.event",
        )
        .bind(practice.clone())
        .bind(cycle_year)
        .fetch_all(pool)
        .await?;
        let events_by_month: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT e.event, substr(e.on_date, 1, 7) AS month, COUNT(*) FROM patient p \
             JOIN care_cycle_event e ON e.patient_id = p.id AND e.on_date >= $2 \
             WHERE p.practice_ods_code = $1 GROUP BY e.event, substr(e.on_date, 1, 7)",
        )
        .bind(practice.clone())
        .bind(since.to_owned())
        .fetch_all(pool)
        .await?;
        let plans = sqlx::query(
            "SELECT cp.patient_id, cur.status, \
             (SELECT MIN(v.recorded_at) FROM care_plan_version v WHERE v.plan_id = cp.id AND v.status = 'agreed'), \
             COALESCE(s.enters_cycle, 0), p.registration_start, p.death_date, p.registration_end \
             FROM patient p JOIN care_plan cp ON cp.patient_id = p.id \
             JOIN care_plan_version cur ON cur.plan_id = cp.id AND cur.version = cp.current_version \
             LEFT JOIN patient_status s ON s.patient_id = p.id \
             WHERE p.practice_ods_code = $1 ORDER BY cp.patient_id",
        )
        .bind(practice.clone())
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            Ok(PlanOutcomeRow {
                patient_id: row.try_get(0)?,
                current_status: row.try_get(1)?,
                first_agreed: row.try_get(2)?,
                in_cohort: row.try_get::<i64, _>(3)? == 1,
                registered: row.try_get(4)?,
                left: [row.try_get::<Option<String>, _>(5)?, row.try_get::<Option<String>, _>(6)?]
                    .into_iter()
                    .flatten()
                    .min(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let encounters = sqlx::query(
            "SELECT e.patient_id, e.start_at, e.setting, e.clinician, e.status, e.kind_code_system, e.kind_code, \
             e.kind_term, e.planned, e.booked_at, e.year_of_care_contact FROM patient p \
             JOIN care_plan cp ON cp.patient_id = p.id \
             JOIN encounter e ON e.patient_id = p.id \
             WHERE p.practice_ods_code = $1 \
             AND EXISTS (SELECT 1 FROM care_plan_version v WHERE v.plan_id = cp.id AND v.status = 'agreed')",
        )
        .bind(practice.clone())
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<String, _>(0)?, encounter_from_row(row, 1)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
        let flags = sqlx::query(
            "SELECT f.severity, f.raised_at, f.actioned_at FROM patient p \
             JOIN red_flag f ON f.patient_id = p.id AND f.raised_at >= $2 WHERE p.practice_ods_code = $1",
        )
        .bind(practice.clone())
        .bind(since.to_owned())
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            Ok(FlagTimingRow { severity: row.try_get(0)?, raised_at: row.try_get(1)?, actioned_at: row.try_get(2)? })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let support_answers: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT s.patient_id, s.support, s.submitted_at FROM patient p JOIN survey_response s ON s.patient_id = p.id \
             WHERE p.practice_ods_code = $1 AND s.support <> '' ORDER BY s.submitted_at, s.id",
        )
        .bind(practice.clone())
        .fetch_all(pool)
        .await?;
        let goals: Vec<(String, String)> = sqlx::query_as(
            "SELECT cp.id, e.value FROM patient p JOIN care_plan cp ON cp.patient_id = p.id \
             JOIN care_plan_version v ON v.plan_id = cp.id AND v.version = cp.current_version AND v.status = 'agreed' \
             JOIN care_plan_entry e ON e.version_id = v.id AND e.section = 'goal' AND e.field = 'words' \
             WHERE p.practice_ods_code = $1",
        )
        .bind(practice.clone())
        .fetch_all(pool)
        .await?;
        let goal_progress: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT g.plan_id, g.goal, g.status FROM patient p JOIN goal_progress g ON g.patient_id = p.id \
             WHERE p.practice_ods_code = $1 ORDER BY g.written_at, g.id",
        )
        .bind(practice)
        .fetch_all(pool)
        .await?;
        Ok(OutcomeInputs {
            eligible,
            cycle_people,
            events_by_month,
            plans,
            encounters,
            flags,
            support_answers,
            goals,
            goal_progress,
        })
    }
}
