//! `make bench`, documents: a batch of preparation letters made as PDF by Concord (tagged,
//! fonts embedded, charts), timed per document, beside a warm headless Chromium (one browser kept
//! open, `e2e/bench/chromium-pdf.mjs`) printing the same letters from Concord's print view, in the
//! same run, with the ratio. The letters are varied deterministically: 3 to 9 results each with 1
//! to 6 values, some with personal targets, a tenth in large print and a tenth easy read.
//!
//!   concord-bench-documents --count 1000 --work DIR --assets NHSUK_DIST --peer SCRIPT

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use concord_domain::criterion::Comparison;
use concord_domain::document::Document;
use concord_domain::preparation::{Appointment, LetterInput, LetterResult, Variant, letter};
use concord_domain::result_story::tell;
use concord_domain::target::PersonalTarget;
use concord_pdf::{Made, Print};
use time::macros::{date, datetime};

struct Options {
    count: usize,
    work: PathBuf,
    assets: PathBuf,
    peer: PathBuf,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options { count: 1000, work: PathBuf::new(), assets: PathBuf::new(), peer: PathBuf::new() };
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--count" => options.count = value.parse().context("--count is a number")?,
            "--work" => options.work = value.into(),
            "--assets" => options.assets = value.into(),
            "--peer" => options.peer = value.into(),
            other => bail!("unknown option {other}"),
        }
    }
    if options.work.as_os_str().is_empty() || options.peer.as_os_str().is_empty() {
        bail!("usage: concord-bench-documents --count N --work DIR --assets NHSUK_DIST --peer SCRIPT");
    }
    Ok(options)
}

/// A small deterministic generator (SplitMix64), so every run makes the same letters.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (high - low)
    }
}

/// The `index`th document of the batch and its print size: letters first, then plans.
fn document(index: usize, letters: usize) -> anyhow::Result<(Document, Print)> {
    if index < letters {
        return letter_of(index);
    }
    let plan = index - letters;
    Ok((plan_of(plan)?, if plan % 10 >= 8 { Print::LargePrint } else { Print::Standard }))
}

/// The `index`th plan: one to three goals with actions, a contingency plan, services, charts.
fn plan_of(index: usize) -> anyhow::Result<Document> {
    use concord_domain::plan::{Action, CarePlan, Contingency, Goal, PlanContext, PlanName, Service};
    let mut draw = Draw(index as u64 * 104_729 + 7);
    let goals = (0..1 + draw.below(3))
        .map(|goal| Goal {
            words: ["Walk to the park with my grandson", "Get my sugar down", "Sleep through the night"][goal as usize]
                .into(),
            importance: 5 + draw.below(5) as u8,
            actions: (0..1 + draw.below(2))
                .map(|_| Action {
                    what: "Walk for 15 minutes".into(),
                    when: "After lunch".into(),
                    how_often: "5 days a week".into(),
                    who_supports: "My daughter".into(),
                    barriers: "Bad weather".into(),
                    confidence: 4 + draw.below(6) as u8,
                })
                .collect(),
        })
        .collect();
    let plan = CarePlan {
        name: [PlanName::CarePlan, PlanName::HealthPlan, PlanName::SelfManagementPlan][index % 3],
        goals,
        services: vec![Service {
            service: "pulmonary_rehab".into(),
            name: "Pulmonary rehabilitation".into(),
            note: String::new(),
        }],
        contingencies: vec![Contingency {
            name: "COPD flare-up".into(),
            triggers: "Colds and chest infections".into(),
            early_warning_signs: "More breathless, more phlegm".into(),
            what_to_do: "Start the rescue pack and tell the practice the same day".into(),
            who_to_contact: "The practice; NHS 111 out of hours".into(),
        }],
        medication_plan: "Use the blue inhaler when breathless.".into(),
        review_date: Some(date!(2027 - 06 - 01)),
        review_by: "Practice nurse".into(),
        agreed: true,
        agreed_by: "Grace Okafor".into(),
        ..Default::default()
    };
    let results = letter_results(index)?.into_iter().filter(|result| result.story.against_target.is_some()).collect();
    let context = PlanContext {
        full_name: "Grace Okafor".into(),
        practice_name: "Moorside Medical Centre".into(),
        version: 1 + (index % 3) as i64,
        recorded_on: date!(2026 - 12 - 01),
        recorded_by: "Sister Joan Okoro".into(),
        changes: vec!["Action \"Walk for 15 minutes\": confidence 6 → 8 out of 10".into()],
        results,
        shared_with: vec![],
    };
    Ok(concord_domain::plan::document(&plan, &context))
}

/// The results of the `index`th letter: 3 to 9, each with 1 to 6 values, some with targets.
fn letter_results(index: usize) -> anyhow::Result<Vec<LetterResult>> {
    let catalogue = concord_codelists::Catalogue::shared().map_err(|error| anyhow::anyhow!("{error}"))?;
    let meanings = concord_codelists::result_meanings::result_meanings().map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut draw = Draw(index as u64 * 7919 + 1);
    let today = date!(2026 - 12 - 01);
    let how_many = 3 + draw.below(7) as usize;
    let start = draw.below(meanings.len() as u64) as usize;
    let mut results = Vec::new();
    for offset in 0..how_many.min(meanings.len()) {
        let meaning = &meanings[(start + offset) % meanings.len()];
        let definition = catalogue.observable(&meaning.observable).context("observable")?;
        let (low, high) = definition.plausible_range.unwrap_or((0.0, 100.0));
        let centre = draw.between(low + (high - low) * 0.2, low + (high - low) * 0.5);
        let values = 1 + draw.below(6) as i64;
        let points: Vec<_> = (0..values)
            .map(|step| {
                let days = (values - 1 - step) * 180 + 1;
                (today - time::Duration::days(days), centre + draw.between(-0.1, 0.1) * (high - low))
            })
            .collect();
        let target = (draw.below(3) == 0).then(|| PersonalTarget {
            observable: meaning.observable.clone(),
            comparison: Comparison::LessOrEqual,
            value: centre,
            set_on: today,
            set_by: "Sister Joan Okoro".into(),
        });
        let story = tell(meaning, &points, target.as_ref()).context("a story")?;
        results.push(LetterResult {
            meaning: meaning.clone(),
            unit: definition.canonical_unit.as_ref().map_or_else(String::new, |unit| unit.display()),
            decimals: u8::try_from(definition.decimals).unwrap_or(1),
            story,
        });
    }
    Ok(results)
}

/// The `index`th letter of the batch and its print size.
fn letter_of(index: usize) -> anyhow::Result<(Document, Print)> {
    let results = letter_results(index)?;
    let today = date!(2026 - 12 - 01);
    let input = LetterInput {
        given_name: ["Alex", "Grace", "Tom", "Amira", "Wilfred", "Maud"][index % 6].into(),
        practice_name: "Moorside Medical Centre".into(),
        written_on: today,
        conditions: vec!["diabetes".into(), "high blood pressure".into()],
        results,
        other_checks: vec![("Foot check".into(), "done on 20 November 2026".into())],
        comment: Some((
            "Thank you for coming in. Your blood sugar has come down since last year; your blood pressure is a \
             little higher. Have a think about what matters most to you before we meet."
                .into(),
            "Sister Joan Okoro".into(),
        )),
        appointment: Some(Appointment {
            when: "Tuesday 8 December 2026 at 2:20pm".into(),
            with: "the practice nurse".into(),
            minutes: 20,
        }),
        online: Some(concord_domain::preparation::OnlineAccess {
            address: "http://127.0.0.1:8080/prepare".into(),
            code: "ABCD-EFGH-JKMN".into(),
            until: date!(2026 - 12 - 29),
        }),
    };
    Ok(match index % 10 {
        8 => (letter(&input, Variant::Full), Print::LargePrint),
        9 => (letter(&input, Variant::EasyRead), Print::LargePrint),
        _ => (letter(&input, Variant::Full), Print::Standard),
    })
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

fn summary(milliseconds: &mut [f64]) -> (f64, f64, f64) {
    milliseconds.sort_by(f64::total_cmp);
    let mean = milliseconds.iter().sum::<f64>() / milliseconds.len() as f64;
    (mean, percentile(milliseconds, 0.5), percentile(milliseconds, 0.95))
}

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let html = options.work.join("documents-html");
    std::fs::create_dir_all(&html)?;
    // `count` letters, then `count` plans.
    let total = options.count * 2;
    let documents: Vec<(Document, Print)> =
        (0..total).map(|index| document(index, options.count)).collect::<anyhow::Result<_>>()?;
    let made = Made::from(datetime!(2026-12-01 09:00 UTC));

    // Concord: warm up (font tables, first allocations), then every document timed.
    for (document, print) in documents.iter().take(10) {
        concord_pdf::render(document, *print, "Moorside Medical Centre", made)?;
    }
    let mut concord_ms = Vec::with_capacity(documents.len());
    let mut concord_bytes = 0;
    let batch = Instant::now();
    for (index, (document, print)) in documents.iter().enumerate() {
        let started = Instant::now();
        let pdf = concord_pdf::render(document, *print, "Moorside Medical Centre", made)?;
        concord_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        concord_bytes += pdf.len();
        if index == 0 {
            std::fs::write(html.join("concord-sample.pdf"), &pdf)?;
        }
    }
    let concord_batch = batch.elapsed().as_secs_f64();

    // The same documents as Concord's print view, for the browser.
    let assets = std::path::absolute(&options.assets)?;
    std::fs::write(html.join("print.css"), concord_web::PRINT_STYLESHEET)?;
    for (index, (document, print)) in documents.iter().enumerate() {
        let page =
            concord_web::print_page(document, *print == Print::LargePrint, &assets.display().to_string(), "print.css")?;
        std::fs::write(html.join(format!("{index}.html")), page)?;
    }
    let output = Command::new("node")
        .arg(&options.peer)
        .arg(&html)
        .arg(total.to_string())
        .output()
        .context("running node for the Chromium peer")?;
    if !output.status.success() {
        bail!("the Chromium peer failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let peer: serde_json::Value = serde_json::from_slice(&output.stdout).context("the peer's JSON")?;
    let chromium_ms: Vec<f64> =
        peer["milliseconds"].as_array().context("milliseconds")?.iter().filter_map(serde_json::Value::as_f64).collect();
    let chromium_bytes = peer["bytes"].as_u64().unwrap_or_default();

    let letters = options.count;
    println!(
        "== documents: {letters} preparation letters and {letters} care and support plans to PDF (tagged, fonts embedded, charts)"
    );
    let mut overall = (0.0, 0.0);
    for (kind, range) in [("letters", 0..letters), ("plans", letters..total)] {
        let mut ours: Vec<f64> = concord_ms[range.clone()].to_vec();
        let mut theirs: Vec<f64> = chromium_ms[range].to_vec();
        let (ours_mean, ours_p50, ours_p95) = summary(&mut ours);
        let (theirs_mean, theirs_p50, theirs_p95) = summary(&mut theirs);
        overall.0 += ours_mean;
        overall.1 += theirs_mean;
        println!(
            "   {kind:<8} Concord (concord-pdf, one thread) mean {ours_mean:.2} ms, p50 {ours_p50:.2}, p95 {ours_p95:.2}; \
             warm headless Chromium (page.pdf) mean {theirs_mean:.2} ms, p50 {theirs_p50:.2}, p95 {theirs_p95:.2}; \
             ratio {:.1}x",
            theirs_mean / ours_mean
        );
    }
    println!(
        "   all {total}: Concord batch {concord_batch:.1} s, {:.1} KB per document; Chromium {:.1} KB per document",
        concord_bytes as f64 / total as f64 / 1024.0,
        chromium_bytes as f64 / total as f64 / 1024.0
    );
    println!(
        "   ratio (Chromium mean / Concord mean, all documents): {:.1}x (goal: at least 10x)",
        overall.1 / overall.0
    );
    println!("   samples: {} and chromium-sample.pdf", html.join("concord-sample.pdf").display());
    Ok(())
}
