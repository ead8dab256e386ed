//! Generates a population and prints what was written and how fast.
//!
//! `cargo run --release -p concord-synth --example generate -- <patients> <out-dir> [threads] [ndjson|bundles]`

use std::path::PathBuf;
use std::time::Instant;

use concord_synth::{GenerateOptions, OutputFormat, Tuning, generate_with};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let patients: u64 = args.next().as_deref().unwrap_or("20000").parse()?;
    let out_dir = PathBuf::from(args.next().unwrap_or_else(|| "synth-out".into()));
    let threads: usize = args.next().as_deref().unwrap_or("0").parse()?;
    let format = match args.next().as_deref() {
        Some("bundles") => OutputFormat::Bundles,
        _ => OutputFormat::Ndjson,
    };
    let mut options = GenerateOptions::new(patients, 20_260_301, time::macros::date!(2026 - 03 - 01));
    options.format = format;
    let tuning = Tuning { threads, ..Tuning::default() };
    let started = Instant::now();
    let summary = generate_with(&options, &tuning, &out_dir)?;
    let seconds = started.elapsed().as_secs_f64();
    println!("{summary:#?}");
    for target in concord_synth::PREVALENCE_TARGETS {
        println!(
            "{:<14} target {:>5.1}%  generated {:>6.2}%",
            target.register,
            target.percent,
            summary.prevalence_percent(target.register).unwrap_or(0.0)
        );
    }
    let resources: u64 = summary.resources_by_type.values().sum();
    println!(
        "{patients} patients in {seconds:.2} s: {:.0} patients/s, {:.0} resources/s, {:.1} MB ({:.1} KB/patient)",
        patients as f64 / seconds,
        resources as f64 / seconds,
        summary.bytes_written as f64 / 1e6,
        summary.bytes_written as f64 / 1e3 / patients.max(1) as f64
    );
    Ok(())
}
