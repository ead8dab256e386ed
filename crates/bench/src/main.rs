//! `concord-bench`: Concord's benchmarks, printed, never asserted.
//!
//! 1. Import throughput (observations per second) into SQLite and PostgreSQL for a generated
//!    population, beside the floor for the same rows and indexes measured in the same run: a
//!    minimal prepared-statement loop in one transaction for SQLite, `COPY` for PostgreSQL
//!    (`floor`). Each import also reports what keeping every person's cycle status current cost.
//! 2. The cycle's questions (`cycle`): the practice worklist and care-process completeness, timed
//!    through Concord and through DuckDB over the same rows exported to Parquet, with the ratio
//!    and a check that both gave the same answers. For `make bench` this runs on a practice of
//!    20,000 generated people on both engines; for `make bench-region` on the region's own
//!    database on PostgreSQL.
//!
//! Usage: `concord-bench --patients N [--postgres URL] [--skip-sqlite] [--work DIR]
//!         [--cycle-only] [--practice-patients N] [--repetitions N] [--duckdb-python PATH]`
//! (`make bench` and `make bench-region` run it; see scripts/bench.sh).

mod cycle;
mod dashboard;
mod floor;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use concord_app::Concord;
use concord_app::import::ImportOptions;
use concord_domain::audit::Actor;
use time::macros::date;

pub struct Options {
    pub patients: u64,
    pub postgres: Option<String>,
    pub skip_sqlite: bool,
    pub work: PathBuf,
    /// Skip the import-throughput part (and its floors).
    pub cycle_only: bool,
    /// The size of the one-practice population the cycle questions are asked of (not in region mode).
    pub practice_patients: u64,
    pub repetitions: usize,
    pub duckdb_python: PathBuf,
}

fn parse_options() -> anyhow::Result<Options> {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let mut options = Options {
        patients: 100_000,
        postgres: None,
        skip_sqlite: false,
        work: std::env::temp_dir().join("concord-bench"),
        cycle_only: false,
        practice_patients: 20_000,
        repetitions: 7,
        duckdb_python: home.join(".cache/concord-duckdb-venv/bin/python"),
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--patients" => options.patients = arguments.next().context("--patients N")?.parse()?,
            "--postgres" => options.postgres = Some(arguments.next().context("--postgres URL")?),
            "--skip-sqlite" => options.skip_sqlite = true,
            "--work" => options.work = PathBuf::from(arguments.next().context("--work DIR")?),
            "--cycle-only" => options.cycle_only = true,
            "--practice-patients" => {
                options.practice_patients = arguments.next().context("--practice-patients N")?.parse()?;
            }
            "--repetitions" => {
                options.repetitions = arguments.next().context("--repetitions N")?.parse()?;
                if options.repetitions == 0 {
                    bail!("--repetitions must be at least 1");
                }
            }
            "--duckdb-python" => {
                options.duckdb_python = PathBuf::from(arguments.next().context("--duckdb-python PATH")?);
            }
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

/// What one import did and cost, the status upkeep included.
#[derive(Debug, Clone)]
pub struct ImportRun {
    pub engine: &'static str,
    pub patients: u64,
    pub observations: i64,
    pub rejected: usize,
    /// Wall time of the whole import, status upkeep included.
    pub seconds: f64,
    /// People whose status was recomputed after the import, and the time that took.
    pub status_people: u64,
    pub status_seconds: f64,
    pub flags_raised: u64,
}

impl ImportRun {
    pub fn print_upkeep(&self) {
        let rate = if self.status_seconds > 0.0 { self.status_people as f64 / self.status_seconds } else { 0.0 };
        println!(
            "{:<10} status upkeep: {} people in {:.2}s ({:.0} people/s), {:.1}% of the import's {:.2}s; {} red flags raised",
            self.engine,
            self.status_people,
            self.status_seconds,
            rate,
            100.0 * self.status_seconds / self.seconds,
            self.seconds,
            self.flags_raised
        );
    }
}

pub fn engine_name(url: &str) -> &'static str {
    if url.starts_with("sqlite") { "sqlite" } else { "postgresql" }
}

/// Generates the population once (cached in the work folder by size and practices).
pub async fn population(work: &Path, patients: u64, practices: u32) -> anyhow::Result<PathBuf> {
    let revision = concord_synth::GENERATOR_REVISION;
    let folder = if practices == (patients / 10_000).max(1) as u32 {
        work.join(format!("population-{patients}-r{revision}"))
    } else {
        work.join(format!("population-{patients}-p{practices}-r{revision}"))
    };
    if !folder.join("complete").exists() {
        println!("generating {patients} patients in {practices} practice(s) into {}", folder.display());
        let started = Instant::now();
        let generate = concord_synth::GenerateOptions {
            patients,
            practices,
            seed: 1,
            format: concord_synth::OutputFormat::Ndjson,
            today: AS_AT,
        };
        let out = folder.clone();
        tokio::task::spawn_blocking(move || concord_synth::generate(&generate, &out)).await??;
        std::fs::write(folder.join("complete"), b"")?;
        println!("generated in {:.1}s", started.elapsed().as_secs_f64());
    }
    let size: u64 =
        std::fs::read_dir(&folder)?.flatten().filter_map(|entry| entry.metadata().ok()).map(|m| m.len()).sum();
    println!("extract {}: {:.0} MB of NDJSON", folder.display(), size as f64 / 1e6);
    Ok(folder)
}

/// Removes an SQLite database and its WAL files.
pub fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = parse_options()?;
    std::fs::create_dir_all(&options.work)?;
    // The region database the import part made, for the cycle part to reuse in region mode.
    let mut region_database = None;
    if !options.cycle_only {
        region_database = import_throughput(&options).await?;
    }
    cycle::run(&options, region_database).await
}

/// Above this many patients on PostgreSQL alone (`make bench-region`), the population is
/// generated and imported in slices of [`SLICE_PATIENTS`], so its extract (about 19 KB of NDJSON
/// per person: 30 GB for 1.6M) is never on disk whole.
const SLICE_PATIENTS: u64 = 100_000;

/// `CONCORD_BENCH_SLICE_PATIENTS` overrides the slice size (to try the sliced path on a small run).
fn slice_patients() -> u64 {
    std::env::var("CONCORD_BENCH_SLICE_PATIENTS").ok().and_then(|text| text.parse().ok()).unwrap_or(SLICE_PATIENTS)
}

fn sliced(options: &Options) -> bool {
    options.skip_sqlite && options.patients > slice_patients()
}

/// Imports the population slice by slice into `url` (generation untimed, each slice's import
/// timed and summed), keeping the arrivals extract for the cycle part. With `floor`, each slice's
/// observations are also copied into the floor database after its import (timed and summed), so
/// the floor loads the same rows into indexes of the same size without a second copy of the
/// region's rows on disk. Returns the summed import, the arrivals folder and the floor's seconds.
pub async fn sliced_import(
    url: &str,
    options: &Options,
    floor: Option<&str>,
) -> anyhow::Result<(ImportRun, PathBuf, f64)> {
    let mut floor_seconds = 0.0;
    // Both databases get Concord's schema first, through the real migrations.
    floor::migrate(url).await?;
    if let Some(floor) = floor {
        floor::migrate(floor).await?;
    }
    use std::io::Write;
    let practices = (options.patients / 10_000).max(1) as u32;
    let arrivals = options.work.join(format!("arrivals-region-{}", options.patients));
    let _ = std::fs::remove_dir_all(&arrivals);
    std::fs::create_dir_all(&arrivals)?;
    let mut arrivals_file = std::io::BufWriter::new(std::fs::File::create(arrivals.join("Observation.ndjson"))?);
    let mut total = ImportRun {
        engine: engine_name(url),
        patients: 0,
        observations: 0,
        rejected: 0,
        seconds: 0.0,
        status_people: 0,
        status_seconds: 0.0,
        flags_raised: 0,
    };
    let mut extract_bytes = 0u64;
    let slice_folder = options.work.join("region-slice");
    let mut start = 0;
    while start < options.patients {
        let end = (start + slice_patients()).min(options.patients);
        let _ = std::fs::remove_dir_all(&slice_folder);
        let generate = concord_synth::GenerateOptions {
            patients: options.patients,
            practices,
            seed: 1,
            format: concord_synth::OutputFormat::Ndjson,
            today: AS_AT,
        };
        let out = slice_folder.clone();
        let summary = tokio::task::spawn_blocking(move || {
            concord_synth::generate_range(&generate, &concord_synth::Tuning::default(), &out, start..end)
        })
        .await??;
        extract_bytes += summary.bytes_written;
        print!("slice {start}..{end} of {} ({:.0} MB): ", options.patients, summary.bytes_written as f64 / 1e6);
        let before = match floor {
            Some(_) => Some(floor::last_ids(url).await?),
            None => None,
        };
        let run = import(url, &slice_folder).await?;
        if let Some(floor) = floor {
            floor_seconds += floor::postgres_floor(url, floor, &options.work, before.as_ref()).await?;
        }
        cycle::append_arrivals(&slice_folder, &mut arrivals_file)?;
        total.patients += run.patients;
        total.observations += run.observations;
        total.rejected += run.rejected;
        total.seconds += run.seconds;
        total.status_people += run.status_people;
        total.status_seconds += run.status_seconds;
        total.flags_raised += run.flags_raised;
        start = end;
    }
    let _ = std::fs::remove_dir_all(&slice_folder);
    arrivals_file.flush()?;
    std::fs::write(arrivals.join("complete"), b"")?;
    println!(
        "{}: imported {} patients, {} observations, {} rejected in {:.1}s of import time (status upkeep {:.1}s); \
         the whole extract was {:.1} GB of NDJSON, written and removed slice by slice",
        total.engine,
        total.patients,
        total.observations,
        total.rejected,
        total.seconds,
        total.status_seconds,
        extract_bytes as f64 / 1e9
    );
    Ok((total, arrivals, floor_seconds))
}

/// Part 1: import throughput against the floors. Returns the PostgreSQL database it imported into,
/// with the import and the arrivals extract for the cycle part.
async fn import_throughput(options: &Options) -> anyhow::Result<Option<(String, ImportRun, PathBuf)>> {
    let population = if sliced(options) {
        None
    } else {
        Some(population(&options.work, options.patients, (options.patients / 10_000).max(1) as u32).await?)
    };
    let mut results = Vec::new();
    let mut runs = Vec::new();
    let mut postgres_database = None;
    if !options.skip_sqlite {
        let database = options.work.join("bench-import.db");
        let floor_database = options.work.join("bench-floor.db");
        remove_sqlite(&database);
        remove_sqlite(&floor_database);
        let url = format!("sqlite://{}", database.display());
        let run = import(&url, population.as_deref().context("an extract")?).await?;
        let floor_seconds = floor::sqlite_floor(&database, &floor_database).await?;
        results.push(Measurement {
            engine: "sqlite",
            observations: run.observations,
            import_seconds: run.seconds,
            floor_seconds,
        });
        results.last().expect("pushed").print();
        runs.push(run);
    }
    if let Some(base) = &options.postgres {
        let import_url = floor::fresh_postgres_database(base, "bench_import").await?;
        let floor_url = floor::fresh_postgres_database(base, "bench_floor").await?;
        let (run, arrivals, floor_seconds) = match &population {
            Some(population) => {
                let run = import(&import_url, population).await?;
                floor::migrate(&floor_url).await?;
                let floor_seconds = floor::postgres_floor(&import_url, &floor_url, &options.work, None).await?;
                (run, cycle::arrivals(population, &options.work)?, floor_seconds)
            }
            None => sliced_import(&import_url, options, Some(&floor_url)).await?,
        };
        println!(
            "postgresql database sizes: import {:.1} GB (everything Concord keeps), floor {:.1} GB (patients and observations only)",
            floor::postgres_size_gb(&import_url).await?,
            floor::postgres_size_gb(&floor_url).await?
        );
        floor::drop_postgres_database(base, "bench_floor").await?;
        results.push(Measurement {
            engine: "postgresql",
            observations: run.observations,
            import_seconds: run.seconds,
            floor_seconds,
        });
        results.last().expect("pushed").print();
        postgres_database = Some((import_url, run.clone(), arrivals));
        runs.push(run);
    }
    println!();
    println!("Summary ({} patients; ratio = import obs/s ÷ floor rows/s, goal ≥ 0.5)", options.patients);
    for result in &results {
        result.print();
    }
    println!("Status upkeep during the import (kept current as results arrive; included in the import time):");
    for run in &runs {
        run.print_upkeep();
    }
    println!();
    Ok(postgres_database)
}

/// Imports the population (or any extract) through the real use case.
pub async fn import(url: &str, population: &Path) -> anyhow::Result<ImportRun> {
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
    let run = ImportRun {
        engine: engine_name(url),
        patients: report.changed.patients,
        observations: report.changed.observations as i64,
        rejected: report.rejected.len(),
        seconds,
        status_people: report.status.people,
        status_seconds: report.status_seconds,
        flags_raised: report.status.flags_raised,
    };
    println!(
        "{}: imported {} patients, {} observations, {} rejected in {:.1}s (status upkeep {:.1}s for {} people)",
        run.engine, run.patients, run.observations, run.rejected, run.seconds, run.status_seconds, run.status_people
    );
    concord.store.close().await;
    Ok(run)
}
