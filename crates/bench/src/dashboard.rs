//! The outcomes dashboard in the benchmark: a year of care-planning activity written into the
//! benchmark's database (the population extract has records, not the cycle's work), Concord's
//! answer as one comparable line, and the planned-contact types DuckDB needs as data.
//!
//! The activity, for every third person entering the cycle (in id order): invited, tested, sent
//! their letter and agreed a plan with two goals on dates spread over the last ten months;
//! progress on the first goal for half of them; a survey answer for two in three; and four in
//! five of the red flags in scope actioned from 1 hour to 20 days after they were raised.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use concord_app::Concord;
use concord_app::outcomes::OutcomeUnit;
use sqlx::Row;
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime};

/// Support answers cycled through (the GP Patient Survey's options, as Concord stores them).
const SUPPORT: [&str; 5] = ["yes_definitely", "yes_some_extent", "no", "not_needed", "yes_definitely"];
/// Hours after raising at which actioned flags were actioned, cycled through.
const ACTION_HOURS: [i64; 6] = [1, 3, 20, 30, 100, 480];

fn day(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Writes the activity for people in `practice` (or everywhere). Returns (plans, flags actioned).
pub async fn seed_activity(url: &str, practice: Option<&str>, today: Date) -> anyhow::Result<(u64, u64)> {
    let pool = sqlx::AnyPool::connect(url).await?;
    let people: Vec<String> = sqlx::query(
        "SELECT patient_id FROM patient_status WHERE enters_cycle = 1 AND ($1 = '' OR practice_ods_code = $1) \
         ORDER BY patient_id",
    )
    .bind(practice.unwrap_or_default().to_owned())
    .fetch_all(&pool)
    .await?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()?;
    let mut plans = 0;
    let mut transaction = pool.begin().await?;
    for (index, patient) in people.iter().enumerate().filter(|(index, _)| index % 3 == 0) {
        let agreed = today - Duration::days((index as i64 * 7) % 300);
        let cycle_id = concord_store::new_id();
        let plan_id = concord_store::new_id();
        let version_id = concord_store::new_id();
        let at = format!("{}T10:00:00Z", day(agreed));
        sqlx::query(
            "INSERT INTO care_cycle (id, patient_id, cycle_year, stage, stage_since, invitations, last_invited, version, \
             updated_at) VALUES ($1, $2, $3, 'plan_agreed', $4, 1, $5, 1, $6)",
        )
        .bind(cycle_id.clone())
        .bind(patient.clone())
        .bind(i64::from(agreed.year()))
        .bind(day(agreed))
        .bind(day(agreed - Duration::days(28)))
        .bind(at.clone())
        .execute(&mut *transaction)
        .await?;
        let steps = [
            ("invite", "due", "invited", 28),
            ("record_tests_done", "invited", "tests_done", 14),
            ("send_preparation", "results_reviewed", "preparation_sent", 7),
            ("agree_plan", "conversation_booked", "plan_agreed", 0),
        ];
        for (event, from, to, days_before) in steps {
            let on = agreed - Duration::days(days_before);
            sqlx::query(
                "INSERT INTO care_cycle_event (id, cycle_id, patient_id, event, from_stage, to_stage, on_date, at, actor) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'bench')",
            )
            .bind(concord_store::new_id())
            .bind(cycle_id.clone())
            .bind(patient.clone())
            .bind(event)
            .bind(from)
            .bind(to)
            .bind(day(on))
            .bind(format!("{}T10:00:00Z", day(on)))
            .execute(&mut *transaction)
            .await?;
        }
        sqlx::query(
            "INSERT INTO care_plan (id, patient_id, current_version, created_at, updated_at) VALUES ($1, $2, 1, $3, $3)",
        )
        .bind(plan_id.clone())
        .bind(patient.clone())
        .bind(at.clone())
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "INSERT INTO care_plan_version (id, plan_id, version, status, cycle_id, recorded_by, recorded_at, changes) \
             VALUES ($1, $2, 1, 'agreed', $3, 'bench', $4, '')",
        )
        .bind(version_id.clone())
        .bind(plan_id.clone())
        .bind(cycle_id)
        .bind(at.clone())
        .execute(&mut *transaction)
        .await?;
        for (item, words) in ["Walk more", "Eat well"].iter().enumerate() {
            sqlx::query(
                "INSERT INTO care_plan_entry (version_id, section, item, field, value) VALUES ($1, 'goal', $2, 'words', $3)",
            )
            .bind(version_id.clone())
            .bind(item as i64)
            .bind(*words)
            .execute(&mut *transaction)
            .await?;
        }
        if index % 2 == 0 {
            let status = if index % 4 == 0 { "achieved" } else { "going_well" };
            sqlx::query(
                "INSERT INTO goal_progress (id, patient_id, plan_id, goal, status, note, written_by, written_at) \
                 VALUES ($1, $2, $3, 'Walk more', $4, '', 'the person', $5)",
            )
            .bind(concord_store::new_id())
            .bind(patient.clone())
            .bind(plan_id)
            .bind(status)
            .bind(format!("{}T12:00:00Z", day(std::cmp::min(today, agreed + Duration::days(28)))))
            .execute(&mut *transaction)
            .await?;
        }
        if index % 9 != 6 {
            sqlx::query(
                "INSERT INTO survey_response (id, patient_id, occasion, cycle_year, support, confidence, goals, \
                 submitted_by, submitted_at) VALUES ($1, $2, 'after_conversation', $3, $4, '', '', 'the person', $5)",
            )
            .bind(concord_store::new_id())
            .bind(patient.clone())
            .bind(i64::from(agreed.year()))
            .bind(SUPPORT[(index / 3) % SUPPORT.len()])
            .bind(format!("{}T11:00:00Z", day(agreed)))
            .execute(&mut *transaction)
            .await?;
        }
        plans += 1;
    }
    transaction.commit().await?;
    // Four in five red flags in scope actioned.
    let flags: Vec<(String, String)> = sqlx::query_as(
        "SELECT f.id, f.raised_at FROM red_flag f JOIN patient p ON p.id = f.patient_id \
         WHERE f.actioned_at IS NULL AND ($1 = '' OR p.practice_ods_code = $1) ORDER BY f.id",
    )
    .bind(practice.unwrap_or_default().to_owned())
    .fetch_all(&pool)
    .await?;
    let mut actioned = 0;
    let mut transaction = pool.begin().await?;
    for (index, (id, raised)) in flags.iter().enumerate().filter(|(index, _)| index % 5 != 4) {
        let raised = OffsetDateTime::parse(raised, &Rfc3339)?;
        let at = (raised + Duration::hours(ACTION_HOURS[index % ACTION_HOURS.len()])).format(&Rfc3339)?;
        sqlx::query(
            "UPDATE red_flag SET actioned_at = $1, actioned_by = 'bench', action_taken = 'bench' WHERE id = $2",
        )
        .bind(at)
        .bind(id.clone())
        .execute(&mut *transaction)
        .await?;
        actioned += 1;
    }
    // Each person's kept count of open flags, as recording an action keeps it (the worklist shows it).
    sqlx::query(
        "UPDATE patient_status SET open_flags = (SELECT COUNT(*) FROM red_flag \
         WHERE red_flag.patient_id = patient_status.patient_id AND red_flag.actioned_at IS NULL)",
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    // The activity was written around Concord's own writes: its practices' figures are stale.
    sqlx::query("UPDATE kept_outcome SET generation = generation + 1").execute(&pool).await?;
    pool.close().await;
    Ok((plans, actioned))
}

/// The encounter types in the data that Concord's planned-contact codelist names, as
/// `system<TAB>code` lines for DuckDB (the codelist as data).
pub async fn write_planned_kinds(concord: &Concord, url: &str, path: &Path) -> anyhow::Result<usize> {
    let pool = sqlx::AnyPool::connect(url).await?;
    let kinds: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT DISTINCT kind_code_system, kind_code FROM encounter").fetch_all(&pool).await?;
    pool.close().await;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(file, "system\tcode")?;
    let mut planned = 0;
    for (system, code) in kinds {
        let (Some(system), Some(code)) = (system, code) else { continue };
        let concept = concord_domain::CodedConcept {
            code: concord_domain::Code::new(concord_domain::CodeSystem::from_uri(&system), code.clone()),
            term: String::new(),
        };
        if concord.catalogue.is_planned_contact_type(&concept) {
            writeln!(file, "{system}\t{code}")?;
            planned += 1;
        }
    }
    file.flush()?;
    Ok(planned)
}

/// Concord's dashboard counts, added up over the units, as `name=value` fields in name order
/// (the form `duckdb_peer.py` writes).
pub fn answer_line(units: &[OutcomeUnit]) -> String {
    let mut total = concord_app::outcomes::OutcomeCounts::default();
    for unit in units {
        total.add(&unit.counts);
    }
    let mut fields: BTreeMap<String, i64> = BTreeMap::new();
    let mut put = |name: &str, value: i64| {
        fields.insert(name.to_owned(), value);
    };
    put("eligible", total.eligible);
    for (event, _) in concord_app::outcomes::CYCLE_STEPS {
        put(&format!("cycle_{event}"), total.step(event));
    }
    put("plans_shared", total.plans_shared);
    put("nda_people", total.completeness_people);
    put("nda_done", total.completeness_done);
    put("copd_people", total.copd_people);
    put("copd_done", total.copd_done);
    put("planned_people", total.planned_people);
    put("unscheduled_before", total.unscheduled_before);
    put("days_before", total.days_before);
    put("unscheduled_after", total.unscheduled_after);
    put("days_after", total.days_after);
    put("supported_yes", total.supported_yes);
    put("supported_answered", total.supported_answered);
    put("goals", total.goals);
    put("goals_with_progress", total.goals_with_progress);
    put("goals_attained", total.goals_attained);
    for (band, count) in total.flag_bands.iter().enumerate() {
        put(&format!("band{band}"), *count);
    }
    put("urgent_actioned", total.urgent_actioned);
    put("urgent_within", total.urgent_within_standard);
    put("soon_actioned", total.soon_actioned);
    put("soon_within", total.soon_within_standard);
    put("flags_open", total.flags_open);
    for (activity, count) in &total.lcs {
        put(&format!("lcs_{activity}"), *count);
    }
    for (series, months) in &total.monthly {
        for (month, count) in months {
            put(&format!("month_{series}_{month}"), *count);
        }
    }
    fields.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("\t")
}
