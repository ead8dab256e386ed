//! The cycle's questions, timed through Concord and through DuckDB over the same rows.
//!
//! For each engine: the status upkeep the import paid (everyone, on a fresh database) and again when
//! a batch of new results arrives for some people (only they are recomputed); then the practice
//! worklist (all rows, and the first page of 50) through `Concord::worklist` as the console calls
//! it (statuses brought up to date and the read audited, as in use), and the NDA "all eight care
//! processes" completeness through `Store::care_process_completeness`. The tables those questions
//! read are exported to CSV, converted to Parquet by DuckDB (PyPI), and DuckDB answers the same
//! questions (`duckdb_peer.py`). Both answers must agree; the run fails loudly when they do not.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use concord_app::Concord;
use concord_app::cycle::{Caller, WorklistEntry};
use concord_domain::audit::{Actor, AuditAction};
use concord_store::{Completeness, NewAuditEvent, WorklistFilter};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{ImportRun, Options, engine_name, floor, import, population, remove_sqlite};

/// The National Diabetes Audit's eight care processes, by checklist item id (data/care-processes.csv).
const EIGHT_CARE_PROCESSES: [&str; 8] =
    ["hba1c", "blood_pressure", "cholesterol", "kidney_function", "urine_acr", "foot_check", "bmi", "smoking"];
const REGISTER: &str = "diabetes";
const PAGE: i64 = 50;
/// Concord's worklist clamps its limit to this; a practice list is far shorter.
const ALL_ROWS: i64 = 100_000;
/// Every this-many'th result in the extract arrives again as a new result (about 1 in 100).
const ARRIVAL_EVERY: usize = 100;
const DUCKDB_PEER: &str = include_str!("duckdb_peer.py");
/// The goal: Concord answers at least this many times faster than DuckDB.
const GOAL: f64 = 5.0;

/// A question's timings, in seconds.
#[derive(Debug, Clone)]
struct Timing {
    median: f64,
    min: f64,
    max: f64,
}

impl Timing {
    fn of(times: &[f64]) -> Self {
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 { sorted[middle] } else { (sorted[middle - 1] + sorted[middle]) / 2.0 };
        Self { median, min: sorted[0], max: sorted[sorted.len() - 1] }
    }
}

fn ms(seconds: f64) -> String {
    format!("{:.2} ms", seconds * 1e3)
}

/// One engine's figures.
struct EngineFigures {
    engine: &'static str,
    practice: String,
    people_in_database: i64,
    worklist_rows: usize,
    completeness_scope: String,
    completeness: Completeness,
    /// (question, Concord, DuckDB over Parquet, DuckDB in memory)
    questions: Vec<(String, Timing, Timing, Timing)>,
    /// Where the worklist's time goes: the store's query alone (all rows, first page), and the
    /// status check every read makes first (`refresh_statuses` with nobody stale).
    store_worklist: Timing,
    store_page: Timing,
    status_check: Timing,
    /// The audit event each read writes.
    audit: Timing,
    /// The dashboard's counts (`dashboard::answer_line`), the time to recompute every practice's
    /// kept figures after a change, and the planned-contact types found in the data.
    dashboard: String,
    dashboard_recompute: f64,
    planned_kinds: usize,
    mismatches: Vec<String>,
}

/// `region_database`: the region's PostgreSQL database the import part filled, the import, and the
/// arrivals extract made from its slices (the region's extract is never on disk whole).
pub async fn run(options: &Options, region_database: Option<(String, ImportRun, PathBuf)>) -> anyhow::Result<()> {
    let region = options.skip_sqlite;
    println!(
        "Cycle questions: {} (load average at start: {})",
        if region {
            format!("the region's {} people on PostgreSQL", options.patients)
        } else {
            format!("one practice of {} people", options.practice_patients)
        },
        load_average()
    );
    if !options.duckdb_python.exists() {
        bail!(
            "DuckDB's python {} is missing: scripts/bench.sh makes the venv (pip install duckdb)",
            options.duckdb_python.display()
        );
    }
    // The databases to ask, each with the import that filled it.
    let mut databases: Vec<(String, ImportRun)> = Vec::new();
    let arrivals_folder;
    if region {
        let base = options.postgres.as_deref().context("region mode needs --postgres URL")?;
        match region_database {
            Some((url, run, arrivals)) => {
                databases.push((url, run));
                arrivals_folder = arrivals;
            }
            None => {
                let url = floor::fresh_postgres_database(base, "bench_cycle").await?;
                let (run, arrivals, _) = crate::sliced_import(&url, options, None).await?;
                databases.push((url, run));
                arrivals_folder = arrivals;
            }
        }
    } else {
        let extract = population(&options.work, options.practice_patients, 1).await?;
        arrivals_folder = arrivals(&extract, &options.work)?;
        let database = options.work.join("bench-cycle.db");
        remove_sqlite(&database);
        let url = format!("sqlite://{}", database.display());
        let run = import(&url, &extract).await?;
        databases.push((url, run));
        if let Some(base) = &options.postgres {
            let url = floor::fresh_postgres_database(base, "bench_cycle").await?;
            let run = import(&url, &extract).await?;
            databases.push((url, run));
        }
    }

    let arrivals = arrivals_folder;
    let mut arrival_runs = Vec::new();
    let mut figures = Vec::new();
    for (url, _) in &databases {
        let run = import(url, &arrivals).await?;
        arrival_runs.push(run);
        figures.push(questions(url, options, region).await?);
    }

    println!();
    println!("Status upkeep (kept current as results arrive rather than recomputed when read):");
    for ((_, first), arrived) in databases.iter().zip(&arrival_runs) {
        println!("  first import (everyone computed):");
        print!("    ");
        first.print_upkeep();
        println!("  new results arriving for some people ({} results, 1 in {ARRIVAL_EVERY}):", arrived.observations);
        print!("    ");
        arrived.print_upkeep();
    }
    println!();
    println!(
        "Cycle questions (median of {} rounds after one untimed round; ratio = DuckDB time ÷ Concord time, goal ≥ {GOAL})",
        options.repetitions
    );
    let mut failures = Vec::new();
    let mut below_goal = Vec::new();
    for figure in &figures {
        println!(
            "{}: practice {} ({} people in the database), worklist {} rows; completeness over {}: {} people on the {REGISTER} register in the cycle, all eight done {}, per item {}",
            figure.engine,
            figure.practice,
            figure.people_in_database,
            figure.worklist_rows,
            figure.completeness_scope,
            figure.completeness.people,
            figure.completeness.all_done,
            figure
                .completeness
                .items
                .iter()
                .map(|(item, count)| format!("{item} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "  {:<28} {:>12} {:>16} {:>8} {:>16} {:>8}",
            "question", "Concord", "DuckDB parquet", "ratio", "DuckDB memory", "ratio"
        );
        for (question, concord, parquet, memory) in &figure.questions {
            let ratio = parquet.median / concord.median;
            println!(
                "  {:<28} {:>12} {:>16} {:>8.2} {:>16} {:>8.2}   (Concord min {} max {})",
                question,
                ms(concord.median),
                ms(parquet.median),
                ratio,
                ms(memory.median),
                memory.median / concord.median,
                ms(concord.min),
                ms(concord.max)
            );
            if ratio < GOAL {
                below_goal.push(format!("{} {question}: {ratio:.2}", figure.engine));
            }
        }
        println!(
            "  where the worklist's time goes: the store's query alone {} (all rows), {} (first {PAGE}); \
             the status check each read makes first {}; the read's audit event {}",
            ms(figure.store_worklist.median),
            ms(figure.store_page.median),
            ms(figure.status_check.median),
            ms(figure.audit.median)
        );
        println!(
            "  the dashboard's counts ({} planned-contact types in the data): {}",
            figure.planned_kinds,
            figure.dashboard.replace('\t', ", ")
        );
        println!(
            "  keeping the dashboard: every practice's figures recomputed after a change in {:.1} ms \
             (paid once per change, not per read)",
            figure.dashboard_recompute * 1e3
        );
        failures.extend(figure.mismatches.iter().map(|mismatch| format!("{}: {mismatch}", figure.engine)));
    }
    if figures.len() == 2 && figures[0].completeness != figures[1].completeness {
        failures.push(format!(
            "SQLite and PostgreSQL disagree on completeness: {:?} vs {:?}",
            figures[0].completeness, figures[1].completeness
        ));
    }
    if below_goal.is_empty() {
        println!("Goal met: Concord answered every question at least {GOAL}× faster than DuckDB over Parquet.");
    } else {
        println!("Goal (≥ {GOAL}× DuckDB over Parquet) not met for: {}", below_goal.join("; "));
    }
    println!("Load average at the end: {}", load_average());
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("MISMATCH {failure}");
        }
        bail!("Concord and DuckDB gave different answers ({} mismatch(es))", failures.len());
    }
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// An extract of new results: every `ARRIVAL_EVERY`th observation of the population again under a
/// new id, as if the GP system had sent results recorded since the last extract.
pub fn arrivals(population: &Path, work: &Path) -> anyhow::Result<PathBuf> {
    let name = population.file_name().context("population folder")?.to_string_lossy().into_owned();
    let folder = work.join(format!("arrivals-{name}"));
    if folder.join("complete").exists() {
        return Ok(folder);
    }
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder)?;
    let mut output = BufWriter::new(std::fs::File::create(folder.join("Observation.ndjson"))?);
    append_arrivals(population, &mut output)?;
    output.flush()?;
    std::fs::write(folder.join("complete"), b"")?;
    Ok(folder)
}

/// Appends every `ARRIVAL_EVERY`th observation of an extract, under a new id, to `output`.
pub fn append_arrivals(extract: &Path, output: &mut impl Write) -> anyhow::Result<()> {
    let input = std::io::BufReader::new(std::fs::File::open(extract.join("Observation.ndjson"))?);
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        if index % ARRIVAL_EVERY != 0 {
            continue;
        }
        let at = line.find("\"id\":\"").context("an observation without an id")? + 6;
        writeln!(output, "{}arrival-{}", &line[..at], &line[at..])?;
    }
    Ok(())
}

/// Runs `question`, adding the seconds it took to `times`.
async fn lap<T, E: Into<anyhow::Error>>(
    times: &mut Vec<f64>,
    question: impl std::future::Future<Output = Result<T, E>>,
) -> anyhow::Result<T> {
    let started = Instant::now();
    let answer = question.await.map_err(Into::into)?;
    times.push(started.elapsed().as_secs_f64());
    Ok(answer)
}

async fn questions(url: &str, options: &Options, region: bool) -> anyhow::Result<EngineFigures> {
    let engine = engine_name(url);
    let concord = Concord::open(url).await?;
    let pool = sqlx::AnyPool::connect(url).await?;
    // The practice with the most people (the only one, for the one-practice population).
    let row = sqlx::query(
        "SELECT practice_ods_code, COUNT(*) FROM patient_status WHERE practice_ods_code IS NOT NULL \
         GROUP BY practice_ods_code ORDER BY COUNT(*) DESC, practice_ods_code LIMIT 1",
    )
    .fetch_one(&pool)
    .await?;
    let practice: String = row.try_get(0)?;
    let people_in_database: i64 = sqlx::query("SELECT COUNT(*) FROM patient").fetch_one(&pool).await?.try_get(0)?;
    let now = OffsetDateTime::now_utc();
    let today = now.date();
    let filter = WorklistFilter { practice: Some(practice.clone()), ..WorklistFilter::default() };
    let completeness_practice = (!region).then_some(practice.as_str());
    // A year of the cycle's work for the dashboard (written straight into the tables).
    let started = Instant::now();
    let (plans, actioned) = crate::dashboard::seed_activity(url, completeness_practice, today).await?;
    println!(
        "{engine}: a year of care-planning activity written for the dashboard: {plans} plans agreed, \
         {actioned} red flags actioned, in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let dashboard_level = if region { "region" } else { "practice" };
    let directory = options.work.join(format!("cycle-export-{engine}"));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory)?;
    let planned_kinds =
        crate::dashboard::write_planned_kinds(&concord, url, &directory.join("planned_kinds.tsv")).await?;

    // Brings everyone up to date first (the import did; this only checks), untimed.
    let started = Instant::now();
    let refreshed = concord.refresh_statuses(today, now).await?;
    println!(
        "{engine}: statuses checked before the questions: {} recomputed in {:.2}s",
        refreshed.people,
        started.elapsed().as_secs_f64()
    );
    // Rounds of every question in turn, so background work (a checkpoint, autovacuum, another
    // process) falls on all of them alike; round 0 is untimed.
    let (year, month) = (i64::from(today.year()), i64::from(today.month() as u8));
    let audit_event = NewAuditEvent {
        actor: Actor::System("bench".into()),
        organisation: None,
        patient_id: None,
        action: AuditAction::Read,
        entity: "Worklist".into(),
        detail: "bench: the audit write alone".into(),
        request_id: None,
        purpose: None,
    };
    let mut laps: [Vec<f64>; 8] = Default::default();
    let mut answers = None;
    for round in 0..=options.repetitions {
        let all = lap(&mut laps[0], concord.worklist(Caller::Console, &filter, today, now, ALL_ROWS, 0)).await?;
        let page = lap(&mut laps[1], concord.worklist(Caller::Console, &filter, today, now, PAGE, 0)).await?;
        let completeness = lap(
            &mut laps[2],
            // Kept per practice as statuses change (data/measures.csv `nda_eight`), summed for a region.
            concord.measure(Caller::Console, completeness_practice, "nda_eight", today, now),
        )
        .await?;
        lap(&mut laps[3], concord.store.worklist(&filter, year, month, ALL_ROWS, 0)).await?;
        lap(&mut laps[4], concord.store.worklist(&filter, year, month, PAGE, 0)).await?;
        lap(&mut laps[5], concord.refresh_statuses(today, now)).await?;
        lap(&mut laps[6], concord.store.record_audit(std::slice::from_ref(&audit_event))).await?;
        // The dashboard as the page asks for it (kept figures; round 0 computes them).
        let dashboard = lap(&mut laps[7], concord.outcomes(Caller::Console, dashboard_level, today, now)).await?;
        if round == 0 {
            laps.iter_mut().for_each(Vec::clear);
        }
        answers = Some((all, page, completeness, dashboard));
    }
    let (all, page, completeness, dashboard) = answers.context("at least one round")?;
    let [
        worklist_all,
        worklist_page,
        completeness_time,
        store_worklist,
        store_page,
        status_check,
        audit,
        dashboard_time,
    ] = laps.map(|times| Timing::of(&times));
    // What keeping the figures costs: every practice recomputed after a change, once.
    let pool_for_upkeep = sqlx::AnyPool::connect(url).await?;
    sqlx::query("UPDATE kept_outcome SET generation = generation + 1").execute(&pool_for_upkeep).await?;
    pool_for_upkeep.close().await;
    let started = Instant::now();
    let recomputed = concord.outcomes(Caller::Console, dashboard_level, today, now).await?;
    let dashboard_recompute = started.elapsed().as_secs_f64();
    let dashboard_line = crate::dashboard::answer_line(&dashboard);
    if crate::dashboard::answer_line(&recomputed) != dashboard_line {
        bail!("{engine}: the kept dashboard differs from the same figures recomputed");
    }
    concord.store.close().await;

    // The same rows for DuckDB.
    let started = Instant::now();
    let exported = export(&pool, &directory).await?;
    pool.close().await;
    println!(
        "{engine}: exported {} to {} in {:.1}s",
        exported.iter().map(|(table, rows)| format!("{rows} {table}")).collect::<Vec<_>>().join(", "),
        directory.display(),
        started.elapsed().as_secs_f64()
    );
    let script = options.work.join("duckdb_peer.py");
    std::fs::write(&script, DUCKDB_PEER)?;
    let output = std::process::Command::new(&options.duckdb_python)
        .arg(&script)
        .arg(&directory)
        .arg(&practice)
        .arg(if region { "all" } else { "practice" })
        .arg(today.year().to_string())
        .arg((today.month() as u8).to_string())
        .arg(REGISTER)
        .arg(EIGHT_CARE_PROCESSES.join(","))
        .arg(options.repetitions.to_string())
        .args(dashboard_arguments(today))
        .output()
        .context("running DuckDB")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("DuckDB failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    }
    let mut duckdb = std::collections::HashMap::new();
    for line in stdout.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["timing", source, question, median, min, max] => {
                duckdb.insert(
                    (source.to_string(), question.to_string()),
                    Timing { median: median.parse()?, min: min.parse()?, max: max.parse()? },
                );
            }
            _ => println!("{engine}: {line}"),
        }
    }
    let duck = |source: &str, question: &str| {
        duckdb
            .get(&(source.to_owned(), question.to_owned()))
            .cloned()
            .with_context(|| format!("DuckDB printed no timing for {source} {question}"))
    };

    // Both must give the same answers.
    let mut mismatches = Vec::new();
    let concord_all: Vec<String> = all.iter().map(worklist_line).collect();
    let concord_page: Vec<String> = page.iter().map(worklist_line).collect();
    compare_lines(
        "worklist (all rows)",
        &concord_all,
        &read_lines(&directory.join("duckdb-worklist.tsv"))?,
        &mut mismatches,
    );
    compare_lines(
        "worklist (first page)",
        &concord_page,
        &read_lines(&directory.join("duckdb-page.tsv"))?,
        &mut mismatches,
    );
    let first_page = &concord_all[..concord_all.len().min(PAGE as usize)];
    compare_lines("Concord's first page and its full list", &concord_page, first_page, &mut mismatches);
    let mut completeness_line = vec![completeness.people.to_string(), completeness.all_done.to_string()];
    completeness_line.extend(completeness.items.iter().map(|(_, count)| count.to_string()));
    compare_lines(
        "completeness",
        &[completeness_line.join("\t")],
        &read_lines(&directory.join("duckdb-completeness.tsv"))?,
        &mut mismatches,
    );

    compare_lines(
        "dashboard",
        std::slice::from_ref(&dashboard_line),
        &read_lines(&directory.join("duckdb-dashboard.tsv"))?,
        &mut mismatches,
    );
    let scope = if region { "the region".to_owned() } else { format!("practice {practice}") };
    Ok(EngineFigures {
        engine,
        practice,
        people_in_database,
        worklist_rows: all.len(),
        completeness_scope: scope,
        completeness,
        questions: vec![
            (
                format!("worklist, all {} rows", all.len()),
                worklist_all,
                duck("parquet", "worklist_all")?,
                duck("memory", "worklist_all")?,
            ),
            (
                format!("worklist, first {PAGE}"),
                worklist_page,
                duck("parquet", "worklist_page")?,
                duck("memory", "worklist_page")?,
            ),
            (
                "completeness (all eight)".to_owned(),
                completeness_time,
                duck("parquet", "completeness")?,
                duck("memory", "completeness")?,
            ),
            (
                format!("outcomes dashboard ({dashboard_level})"),
                dashboard_time,
                duck("parquet", "dashboard")?,
                duck("memory", "dashboard")?,
            ),
        ],
        dashboard: dashboard_line,
        dashboard_recompute,
        planned_kinds,
        store_worklist,
        store_page,
        status_check,
        audit,
        mismatches,
    })
}

/// The dashboard's arguments for `duckdb_peer.py`: today, the first day counted, the financial
/// year's start, the trend months and series, the cycle steps, the paid activities, and the COPD
/// measure (as Concord's `practice_figures` counts them).
fn dashboard_arguments(today: time::Date) -> Vec<String> {
    use concord_app::outcomes::{CYCLE_STEPS, TREND_MONTHS, TRENDS};
    use concord_domain::outcomes::{financial_year_start, last_months};
    let text = |date: time::Date| format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day());
    let year_ago = time::Date::from_calendar_date(today.year() - 1, today.month(), 1).unwrap_or(today);
    let since = std::cmp::min(financial_year_start(today), year_ago);
    let rules = concord_codelists::cycle_rules::CycleRules::shared().ok();
    let copd = rules.and_then(|rules| rules.measures.iter().find(|measure| measure.id == "copd_review"));
    let activities = concord_codelists::lcs_activity::lcs_activities()
        .map(|activities| {
            activities.iter().map(|activity| format!("{}:{}", activity.activity, activity.event)).collect::<Vec<_>>()
        })
        .unwrap_or_default();
    vec![
        text(today),
        text(since),
        text(financial_year_start(today)),
        last_months(today, TREND_MONTHS).join(","),
        TRENDS.iter().map(|(series, _)| *series).collect::<Vec<_>>().join(","),
        CYCLE_STEPS.iter().map(|(step, _)| *step).collect::<Vec<_>>().join(","),
        activities.join(","),
        copd.map_or_else(|| "copd".to_owned(), |measure| measure.register.clone()),
        copd.map(|measure| measure.items.join(",")).unwrap_or_default(),
    ]
}

fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?.lines().map(str::to_owned).collect())
}

fn compare_lines(what: &str, concord: &[String], duckdb: &[String], mismatches: &mut Vec<String>) {
    if concord.len() != duckdb.len() {
        mismatches.push(format!("{what}: Concord gave {} row(s), the other {}", concord.len(), duckdb.len()));
        return;
    }
    if let Some(at) = concord.iter().zip(duckdb).position(|(a, b)| a != b) {
        mismatches.push(format!(
            "{what}: row {} differs:\n    Concord: {}\n    other:   {}",
            at + 1,
            concord[at],
            duckdb[at]
        ));
    }
}

/// A field as `duckdb_peer.py` writes it.
fn field(value: Option<&str>) -> String {
    match value {
        None => "\\N".into(),
        Some(text) => text.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n"),
    }
}

/// A worklist row in the peer's column order.
fn worklist_line(entry: &WorklistEntry) -> String {
    let row = &entry.row;
    // Concord keeps due items in checklist order; DuckDB's query lists them by item id.
    let mut due: Vec<String> = row.due.iter().map(|(item, status)| format!("{item}:{status}")).collect();
    due.sort();
    [
        field(Some(&row.patient_id)),
        field(row.nhs_number.as_deref()),
        field(Some(&row.given_name)),
        field(Some(&row.family_name)),
        field(Some(&row.birth_date)),
        field(row.practice_ods_code.as_deref()),
        field(Some(&row.stage)),
        row.risk_score.to_string(),
        field(Some(&row.risk_factors.join(" "))),
        field(Some(&row.registers.join(" "))),
        field(Some(&row.care_planning.join(" "))),
        row.recall_month.to_string(),
        field(row.assigned_to.as_deref()),
        row.invitations.to_string(),
        row.open_flags.to_string(),
        field((!due.is_empty()).then(|| due.join(" ")).as_deref()),
    ]
    .join("\t")
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
}

use Kind::{Integer, Text};

/// A table the questions read: its name for the peer, the FROM clause, the column naming the
/// person (tables without one are joined to one), and the columns the peer reads (same order as
/// its TABLES; a column's header is the expression after its last dot).
struct Exported {
    name: &'static str,
    from: &'static str,
    person: &'static str,
    columns: &'static [(&'static str, Kind)],
}

const EXPORTED: [Exported; 12] = [
    Exported {
        name: "patient",
        from: "patient",
        person: "id",
        columns: &[
            ("id", Text),
            ("nhs_number", Text),
            ("given_name", Text),
            ("family_name", Text),
            ("birth_date", Text),
            ("practice_ods_code", Text),
            ("registration_start", Text),
            ("registration_end", Text),
            ("death_date", Text),
        ],
    },
    Exported {
        name: "patient_status",
        from: "patient_status",
        person: "patient_id",
        columns: &[
            ("patient_id", Text),
            ("practice_ods_code", Text),
            ("registers", Text),
            ("risk_score", Integer),
            ("risk_factors", Text),
            ("enters_cycle", Integer),
            ("care_planning", Text),
            ("recall_month", Integer),
            ("outstanding_items", Integer),
        ],
    },
    Exported {
        name: "care_process_status",
        from: "care_process_status",
        person: "patient_id",
        columns: &[
            ("patient_id", Text),
            ("item", Text),
            ("status", Text),
            ("last_done", Text),
            ("next_due", Text),
            ("interval_months", Integer),
            ("performed_by", Text),
        ],
    },
    Exported {
        name: "red_flag",
        from: "red_flag",
        person: "patient_id",
        columns: &[
            ("id", Text),
            ("patient_id", Text),
            ("rule_id", Text),
            ("severity", Text),
            ("raised_at", Text),
            ("actioned_at", Text),
        ],
    },
    Exported {
        name: "care_cycle",
        from: "care_cycle",
        person: "patient_id",
        columns: &[
            ("id", Text),
            ("patient_id", Text),
            ("cycle_year", Integer),
            ("stage", Text),
            ("invitations", Integer),
            ("assigned_to", Text),
        ],
    },
    Exported {
        name: "care_cycle_event",
        from: "care_cycle_event",
        person: "patient_id",
        columns: &[("id", Text), ("cycle_id", Text), ("patient_id", Text), ("event", Text), ("on_date", Text)],
    },
    Exported {
        name: "care_plan",
        from: "care_plan",
        person: "patient_id",
        columns: &[("id", Text), ("patient_id", Text), ("current_version", Integer)],
    },
    Exported {
        name: "care_plan_version",
        from: "care_plan_version v JOIN care_plan cp ON cp.id = v.plan_id",
        person: "cp.patient_id",
        columns: &[
            ("v.id", Text),
            ("v.plan_id", Text),
            ("v.version", Integer),
            ("v.status", Text),
            ("v.recorded_at", Text),
        ],
    },
    Exported {
        name: "care_plan_entry",
        from: "care_plan_entry e JOIN care_plan_version v ON v.id = e.version_id JOIN care_plan cp ON cp.id = v.plan_id",
        person: "cp.patient_id",
        columns: &[
            ("e.version_id", Text),
            ("e.section", Text),
            ("e.item", Integer),
            ("e.field", Text),
            ("e.value", Text),
        ],
    },
    Exported {
        name: "goal_progress",
        from: "goal_progress",
        person: "patient_id",
        columns: &[
            ("id", Text),
            ("patient_id", Text),
            ("plan_id", Text),
            ("goal", Text),
            ("status", Text),
            ("written_at", Text),
        ],
    },
    Exported {
        name: "survey_response",
        from: "survey_response",
        person: "patient_id",
        columns: &[("id", Text), ("patient_id", Text), ("support", Text), ("submitted_at", Text)],
    },
    Exported {
        name: "encounter",
        from: "encounter",
        person: "patient_id",
        columns: &[
            ("patient_id", Text),
            ("start_at", Text),
            ("setting", Text),
            ("clinician", Text),
            ("status", Text),
            ("kind_code_system", Text),
            ("kind_code", Text),
            ("planned", Integer),
            ("booked_at", Text),
            ("year_of_care_contact", Integer),
        ],
    },
];

/// Patients per export page; every other table is read for the same range of patient ids.
const EXPORT_PAGE: i64 = 50_000;

/// Writes each table to `DIR/TABLE.csv` (text quoted, NULL as `\N`), a page of patients at a time.
async fn export(pool: &sqlx::AnyPool, directory: &Path) -> anyhow::Result<Vec<(&'static str, u64)>> {
    let header = |expression: &str| expression.rsplit('.').next().unwrap_or(expression).to_owned();
    let mut writers = Vec::new();
    for table in &EXPORTED {
        let mut writer = BufWriter::new(std::fs::File::create(directory.join(format!("{}.csv", table.name)))?);
        writeln!(writer, "{}", table.columns.iter().map(|(name, _)| header(name)).collect::<Vec<_>>().join(","))?;
        writers.push((table, writer, 0_u64));
    }
    let mut after = String::new();
    loop {
        let table = writers[0].0;
        let list = table.columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
        let patients = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {list} FROM {} WHERE {} > $1 ORDER BY {} LIMIT $2",
            table.from, table.person, table.person
        )))
        .bind(after.clone())
        .bind(EXPORT_PAGE)
        .fetch_all(pool)
        .await?;
        let (Some(first), Some(last)) = (patients.first(), patients.last()) else { break };
        let first: String = first.try_get(0)?;
        let last: String = last.try_get(0)?;
        for (index, (table, writer, count)) in writers.iter_mut().enumerate() {
            let rows = if index == 0 {
                write_rows(writer, table.columns, &patients)?;
                patients.len()
            } else {
                let list = table.columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {list} FROM {} WHERE {} >= $1 AND {} <= $2",
                    table.from, table.person, table.person
                )))
                .bind(first.clone())
                .bind(last.clone())
                .fetch_all(pool)
                .await?;
                write_rows(writer, table.columns, &rows)?;
                rows.len()
            };
            *count += rows as u64;
        }
        after = last;
    }
    let mut counts = Vec::new();
    for (table, mut writer, count) in writers {
        writer.flush()?;
        counts.push((table.name, count));
    }
    Ok(counts)
}

fn write_rows(writer: &mut impl Write, columns: &[(&str, Kind)], rows: &[sqlx::any::AnyRow]) -> anyhow::Result<()> {
    for row in rows {
        for (index, (_, kind)) in columns.iter().enumerate() {
            if index > 0 {
                writer.write_all(b",")?;
            }
            match kind {
                Text => match row.try_get::<Option<String>, _>(index)? {
                    None => writer.write_all(b"\\N")?,
                    Some(text) => write!(writer, "\"{}\"", text.replace('"', "\"\""))?,
                },
                Integer => match row.try_get::<Option<i64>, _>(index)? {
                    None => writer.write_all(b"\\N")?,
                    Some(number) => write!(writer, "{number}")?,
                },
            }
        }
        writer.write_all(b"\n")?;
    }
    Ok(())
}
