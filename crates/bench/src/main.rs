//! `concord-bench`: import throughput (observations per second) into SQLite and PostgreSQL for a
//! generated population, beside the floor for the same rows and indexes measured in the same run:
//! a minimal prepared-statement loop in one transaction for SQLite, `COPY` for PostgreSQL.
//!
//! Usage: `concord-bench --patients N [--postgres URL] [--skip-sqlite] [--work DIR]`
//! (`make bench` and `make bench-region` run it; see scripts/bench.sh).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use concord_app::Concord;
use concord_app::import::ImportOptions;
use concord_domain::audit::Actor;
use sqlx::{Connection, Executor, Row};
use time::macros::date;

struct Options {
    patients: u64,
    postgres: Option<String>,
    skip_sqlite: bool,
    work: PathBuf,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        patients: 100_000,
        postgres: None,
        skip_sqlite: false,
        work: std::env::temp_dir().join("concord-bench"),
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--patients" => options.patients = arguments.next().context("--patients N")?.parse()?,
            "--postgres" => options.postgres = Some(arguments.next().context("--postgres URL")?),
            "--skip-sqlite" => options.skip_sqlite = true,
            "--work" => options.work = PathBuf::from(arguments.next().context("--work DIR")?),
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(options)
}

/// The date every benchmark population is generated "as at", so runs are comparable.
const AS_AT: time::Date = date!(2026 - 11 - 23);

struct Measurement {
    engine: &'static str,
    observations: i64,
    import_seconds: f64,
    floor_seconds: f64,
}

impl Measurement {
    fn print(&self) {
        let import_rate = self.observations as f64 / self.import_seconds;
        let floor_rate = self.observations as f64 / self.floor_seconds;
        println!(
            "{:<10} {:>11} observations | import {:>8.1}s {:>9.0} obs/s | floor {:>7.1}s {:>9.0} rows/s | ratio {:.2}",
            self.engine,
            self.observations,
            self.import_seconds,
            import_rate,
            self.floor_seconds,
            floor_rate,
            import_rate / floor_rate
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = parse_options()?;
    std::fs::create_dir_all(&options.work)?;
    let population = options.work.join(format!("population-{}", options.patients));
    if !population.join("complete").exists() {
        println!("generating {} patients into {}", options.patients, population.display());
        let started = Instant::now();
        let generate = concord_synth::GenerateOptions {
            patients: options.patients,
            practices: (options.patients / 10_000).max(1) as u32,
            seed: 1,
            format: concord_synth::OutputFormat::Ndjson,
            today: AS_AT,
        };
        let out = population.clone();
        tokio::task::spawn_blocking(move || concord_synth::generate(&generate, &out)).await??;
        std::fs::write(population.join("complete"), b"")?;
        println!("generated in {:.1}s", started.elapsed().as_secs_f64());
    }
    let size: u64 =
        std::fs::read_dir(&population)?.flatten().filter_map(|entry| entry.metadata().ok()).map(|m| m.len()).sum();
    println!("extract: {:.0} MB of NDJSON", size as f64 / 1e6);

    let mut results = Vec::new();
    if !options.skip_sqlite {
        let database = options.work.join("bench-import.db");
        let floor_database = options.work.join("bench-floor.db");
        for path in [&database, &floor_database] {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        let url = format!("sqlite://{}", database.display());
        let (observations, import_seconds) = import(&url, &population).await?;
        let floor_seconds = sqlite_floor(&database, &floor_database).await?;
        results.push(Measurement { engine: "sqlite", observations, import_seconds, floor_seconds });
        results.last().expect("pushed").print();
    }
    if let Some(base) = &options.postgres {
        let import_url = fresh_postgres_database(base, "bench_import").await?;
        let floor_url = fresh_postgres_database(base, "bench_floor").await?;
        let (observations, import_seconds) = import(&import_url, &population).await?;
        let floor_seconds = postgres_floor(&import_url, &floor_url).await?;
        results.push(Measurement { engine: "postgresql", observations, import_seconds, floor_seconds });
        results.last().expect("pushed").print();
    }
    println!();
    println!("Summary ({} patients; ratio = import obs/s ÷ floor rows/s, goal ≥ 0.5)", options.patients);
    for result in &results {
        result.print();
    }
    Ok(())
}

/// Imports the population through the real use case; returns observations stored and seconds taken.
async fn import(url: &str, population: &Path) -> anyhow::Result<(i64, f64)> {
    let concord = Concord::open(url).await?;
    let started = Instant::now();
    let report = concord
        .import(
            ImportOptions {
                paths: vec![population.to_owned()],
                extract_date: AS_AT,
                source_system: "bench".into(),
                synthetic: true,
                default_practice: None,
                actor: Actor::System("bench".into()),
            },
            |_| {},
        )
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let observations = report.changed.observations as i64;
    println!(
        "{}: imported {} patients, {} observations, {} rejected in {:.1}s",
        if url.starts_with("sqlite") { "sqlite" } else { "postgresql" },
        report.changed.patients,
        observations,
        report.rejected.len(),
        seconds
    );
    concord.store.close().await;
    Ok((observations, seconds))
}

const OBSERVATION_COLUMNS: &str = "id, patient_id, source_key, code_system, code, term, observable, value_kind, value_text, \
     value_number, unit, value_code_system, value_code, effective, status, source, unreadable_reason, updated_at";

/// The SQLite floor: the same observation rows, into the same schema and indexes, by one prepared
/// INSERT in a loop inside one transaction, with the same durability settings.
async fn sqlite_floor(imported: &Path, floor: &Path) -> anyhow::Result<f64> {
    // Same schema and indexes, made by the real migrations.
    let floor_url = format!("sqlite://{}", floor.display());
    Concord::open(&floor_url).await?.store.close().await;
    let mut connection = sqlx::SqliteConnection::connect(&format!("{floor_url}?mode=rwc")).await?;
    connection.execute("PRAGMA journal_mode = WAL").await?;
    connection.execute("PRAGMA synchronous = FULL").await?;
    connection.execute("PRAGMA foreign_keys = ON").await?;
    connection.execute(sqlx::AssertSqlSafe(format!("ATTACH DATABASE '{}' AS source", imported.display()))).await?;
    connection.execute("INSERT INTO patient SELECT * FROM source.patient").await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {OBSERVATION_COLUMNS} FROM source.observation")))
        .fetch_all(&mut connection)
        .await?;
    let insert = format!(
        "INSERT INTO observation ({OBSERVATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    );
    let started = Instant::now();
    let mut transaction = connection.begin().await?;
    for row in &rows {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert.as_str()));
        for index in 0..18 {
            query = if index == 9 {
                query.bind(row.try_get::<Option<f64>, _>(index)?)
            } else {
                query.bind(row.try_get::<Option<String>, _>(index)?)
            };
        }
        query.execute(&mut *transaction).await?;
    }
    transaction.commit().await?;
    Ok(started.elapsed().as_secs_f64())
}

async fn fresh_postgres_database(base: &str, name: &str) -> anyhow::Result<String> {
    let mut admin = sqlx::PgConnection::connect(base).await?;
    admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await?;
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
    let (prefix, _) = base.rsplit_once('/').context("postgres URL has a database name")?;
    Ok(format!("{prefix}/{name}"))
}

/// Escapes a value for COPY's text format.
fn copy_text(value: Option<String>) -> String {
    match value {
        None => "\\N".into(),
        Some(text) => text.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r"),
    }
}

/// The PostgreSQL floor: the same observation rows, into the same schema and indexes, by `COPY`.
async fn postgres_floor(imported: &str, floor: &str) -> anyhow::Result<f64> {
    Concord::open(floor).await?.store.close().await;
    let mut source = sqlx::PgConnection::connect(imported).await?;
    let mut target = sqlx::PgConnection::connect(floor).await?;
    // Patients first (untimed), for the foreign key.
    let patients =
        sqlx::query("SELECT id, given_name, family_name, search_name, birth_date, sex, updated_at FROM patient")
            .fetch_all(&mut source)
            .await?;
    let mut buffer = String::new();
    for row in &patients {
        let fields: Vec<String> = (0..7).map(|index| copy_text(row.try_get(index).ok())).collect();
        buffer.push_str(&fields.join("\t"));
        buffer.push('\n');
    }
    let mut copy = target
        .copy_in_raw("COPY patient (id, given_name, family_name, search_name, birth_date, sex, updated_at) FROM STDIN")
        .await?;
    copy.send(buffer.into_bytes()).await?;
    copy.finish().await?;

    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {OBSERVATION_COLUMNS} FROM observation")))
        .fetch_all(&mut source)
        .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut fields = Vec::with_capacity(18);
        for index in 0..18 {
            fields.push(if index == 9 {
                copy_text(row.try_get::<Option<f64>, _>(index)?.map(|value| value.to_string()))
            } else {
                copy_text(row.try_get::<Option<String>, _>(index)?)
            });
        }
        lines.push(fields.join("\t"));
    }
    let started = Instant::now();
    let mut copy = target.copy_in_raw(&format!("COPY observation ({OBSERVATION_COLUMNS}) FROM STDIN")).await?;
    for chunk in lines.chunks(10_000) {
        let mut block = chunk.join("\n");
        block.push('\n');
        copy.send(block.into_bytes()).await?;
    }
    copy.finish().await?;
    Ok(started.elapsed().as_secs_f64())
}
