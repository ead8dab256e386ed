//! The PDF as an independent reader sees it: poppler's pdftotext, pdfinfo and pdffonts (Debian's
//! poppler-utils, installed by `make test`) read the text back, report the tagging and list the
//! embedded fonts.

use std::process::Command;

use concord_domain::criterion::Comparison;
use concord_domain::preparation::{Appointment, LetterInput, LetterResult, Variant, letter};
use concord_domain::result_story::{Better, ResultMeaning, tell};
use concord_domain::target::PersonalTarget;
use concord_pdf::{Made, Print, render};
use time::macros::{date, datetime};

fn input() -> LetterInput {
    let meaning = ResultMeaning {
        observable: "hba1c".into(),
        plain_name: "HbA1c (average blood sugar)".into(),
        meaning: "Your average blood sugar level over the past 2 to 3 months.".into(),
        unit_words: "mmol/mol means millimoles per mole".into(),
        better: Better::Lower,
        steady_within: 2.0,
        source: "test".into(),
    };
    let target = PersonalTarget {
        observable: "hba1c".into(),
        comparison: Comparison::LessOrEqual,
        value: 53.0,
        set_on: date!(2026 - 11 - 10),
        set_by: "Nurse Patel".into(),
    };
    let points = [(date!(2025 - 11 - 01), 64.0), (date!(2026 - 05 - 01), 61.0), (date!(2026 - 11 - 02), 58.0)];
    let story = tell(&meaning, &points, Some(&target)).unwrap();
    LetterInput {
        given_name: "Alex".into(),
        practice_name: "Riverside Surgery".into(),
        written_on: date!(2026 - 11 - 12),
        conditions: vec!["type 2 diabetes".into()],
        results: vec![LetterResult { meaning, unit: "mmol/mol".into(), decimals: 0, story }],
        other_checks: vec![("Foot check".into(), "done on 2 November 2026".into())],
        comment: Some(("Your sugar is coming down well. Keep going with the walking.".into(), "Nurse Patel".into())),
        appointment: Some(Appointment {
            when: "Tuesday 8 December 2026 at 10:20am".into(),
            with: "the practice nurse".into(),
            minutes: 20,
        }),
        online: None,
    }
}

fn poppler(tool: &str, pdf: &[u8], extra: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("concord-pdf-{}-{tool}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("document.pdf");
    std::fs::write(&path, pdf).unwrap();
    let mut command = Command::new(tool);
    command.args(extra).arg(&path);
    if tool == "pdftotext" {
        command.arg("-");
    }
    let output = command.output().unwrap_or_else(|error| panic!("{tool} (poppler-utils) must be installed: {error}"));
    assert!(output.status.success(), "{tool}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_letter_reads_back_with_its_results_target_and_prompts() {
    let pdf = render(
        &letter(&input(), Variant::Full),
        Print::Standard,
        "Riverside Surgery",
        Made::from(datetime!(2026-11-12 09:00 UTC)),
    )
    .unwrap();
    let text = poppler("pdftotext", &pdf, &["-layout"]);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Dear Alex,",
        "58 mmol/mol on 2 November 2026",
        "53 mmol/mol or below",
        "mmol/mol means millimoles per mole",
        "Your sugar is coming down well.",
        "What matters most to you at the moment?",
        "call 999",
        "Your target",
        "Page 1 of",
    ] {
        assert!(flat.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn the_pdf_is_tagged_titled_and_embeds_its_fonts() {
    for print in [Print::Standard, Print::LargePrint] {
        let pdf = render(
            &letter(&input(), Variant::Full),
            print,
            "Riverside Surgery",
            Made::from(datetime!(2026-11-12 09:00 UTC)),
        )
        .unwrap();
        let info = poppler("pdfinfo", &pdf, &[]);
        assert!(info.contains("Tagged:          yes"), "{info}");
        assert!(
            info.contains("Title:           Getting ready for your care and support planning appointment"),
            "{info}"
        );
        assert!(info.contains("Page size:       595.28 x 841.89 pts (A4)"), "{info}");
        let fonts = poppler("pdffonts", &pdf, &[]);
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert!(rows.len() >= 2, "regular and bold: {fonts}");
        for row in rows {
            assert!(row.contains("DejaVuSans"), "{row}");
            let columns: Vec<&str> = row.split_whitespace().collect();
            // name type encoding emb sub uni object ID: emb, sub and uni are all "yes".
            let flags = &columns[columns.len() - 5..columns.len() - 2];
            assert_eq!(flags, ["yes", "yes", "yes"], "embedded, subset, with a Unicode map: {row}");
        }
    }
}

#[test]
fn large_print_sets_bigger_text_on_more_pages() {
    let document = letter(&input(), Variant::Full);
    let made = Made::from(datetime!(2026-11-12 09:00 UTC));
    let pages = |print| {
        let info = poppler("pdfinfo", &render(&document, print, "R", made).unwrap(), &[]);
        info.lines().find_map(|line| line.strip_prefix("Pages:")).unwrap().trim().parse::<u32>().unwrap()
    };
    assert!(pages(Print::LargePrint) > pages(Print::Standard));
}

#[test]
fn a_document_whose_headings_skip_a_level_is_refused() {
    use concord_domain::document::{Block, Document};
    let document =
        Document { title: "t".into(), language: "en-GB", blocks: vec![Block::Heading { level: 2, text: "x".into() }] };
    assert!(matches!(
        render(&document, Print::Standard, "R", Made::from(datetime!(2026-11-12 09:00 UTC))),
        Err(concord_pdf::PdfError::Outline)
    ));
}

#[test]
fn easy_read_renders_too() {
    let pdf = render(
        &letter(&input(), Variant::EasyRead),
        Print::LargePrint,
        "R",
        Made::from(datetime!(2026-11-12 09:00 UTC)),
    )
    .unwrap();
    let text = poppler("pdftotext", &pdf, &[]);
    assert!(text.contains("It has got better since last time."), "{text}");
    if let Ok(dir) = std::env::var("CONCORD_PDF_SAMPLES") {
        std::fs::write(format!("{dir}/easy-read.pdf"), &pdf).unwrap();
        let full =
            render(&letter(&input(), Variant::Full), Print::Standard, "R", Made::from(datetime!(2026-11-12 09:00 UTC)))
                .unwrap();
        std::fs::write(format!("{dir}/letter.pdf"), full).unwrap();
    }
}
