//! A document Concord writes to a person (the preparation letter, the care and support plan) as
//! structure, not layout: one model that the web renders as a page and the PDF renderer as a
//! tagged PDF, so the two can never say different things.
//!
//! Invariants: headings nest without skipping a level (checked by [`Document::outline_is_sound`]);
//! every chart carries a text alternative that says what it shows; nothing here knows about pages,
//! fonts or HTML.

use time::Date;

/// A document to a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Title, also the PDF's metadata title and the page's `<title>`.
    pub title: String,
    /// BCP 47 language of the text.
    pub language: &'static str,
    pub blocks: Vec<Block>,
}

/// One block of a document, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Levels 1 to 3.
    Heading {
        level: u8,
        text: String,
    },
    Paragraph(String),
    /// A paragraph set in bold, for what must not be missed.
    Strong(String),
    Bullets(Vec<String>),
    /// Label and value pairs ("Your latest result" → "53 mmol/mol on 3 November 2026").
    Facts(Vec<(String, String)>),
    Table(Table),
    Chart(Chart),
    /// Room for the person to write, on paper; `lines` ruled lines.
    WriteIn {
        prompt: String,
        lines: u8,
    },
    /// Set apart in a box: safety information the person must see.
    Callout {
        heading: String,
        lines: Vec<String>,
    },
}

/// A table with a caption and column headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A small line chart of one result over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The text alternative: what the chart shows, in words.
    pub alt: String,
    /// Unit label for the value axis.
    pub unit: String,
    /// Oldest first.
    pub points: Vec<(Date, f64)>,
    /// The person's own target, drawn as a dashed line.
    pub target: Option<f64>,
    /// The target line's label ("Your target" in a letter, "My target" in the person's plan).
    pub target_label: String,
}

impl Chart {
    /// The value axis range: every point and the target, with a little room.
    pub fn value_range(&self) -> (f64, f64) {
        let values = self.points.iter().map(|(_, value)| *value).chain(self.target);
        let (low, high) =
            values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(value), high.max(value)));
        if !low.is_finite() {
            return (0.0, 1.0);
        }
        let room = ((high - low) * 0.15).max(high.abs() * 0.05).max(0.5);
        ((low - room).max(if low >= 0.0 { 0.0 } else { f64::NEG_INFINITY }), high + room)
    }

    /// Each point as a fraction (0..=1) across and up the plotting area; points on one day share
    /// a column, and a single point sits in the middle.
    pub fn layout(&self) -> Vec<(f64, f64)> {
        let (low, high) = self.value_range();
        let first = self.points.first().map(|(date, _)| *date);
        let last = self.points.last().map(|(date, _)| *date);
        let span = match (first, last) {
            (Some(first), Some(last)) => (last - first).whole_days() as f64,
            _ => 0.0,
        };
        self.points
            .iter()
            .map(|(date, value)| {
                let across = match first {
                    Some(first) if span > 0.0 => (*date - first).whole_days() as f64 / span,
                    _ => 0.5,
                };
                (across, (value - low) / (high - low))
            })
            .collect()
    }

    /// Where the target line sits, as a fraction up the plotting area.
    pub fn target_height(&self) -> Option<f64> {
        let (low, high) = self.value_range();
        self.target.map(|target| (target - low) / (high - low))
    }
}

impl Document {
    /// Headings start at level 1 and never skip a level on the way down (accessible structure).
    pub fn outline_is_sound(&self) -> bool {
        let mut last = 0u8;
        for block in &self.blocks {
            if let Block::Heading { level, .. } = block {
                if *level == 0 || *level > 3 || *level > last + 1 {
                    return false;
                }
                last = *level;
            }
        }
        true
    }

    /// Every word of the document in reading order, one block per line (for search and tests).
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        let mut line = |text: &str| {
            out.push_str(text);
            out.push('\n');
        };
        line(&self.title);
        for block in &self.blocks {
            match block {
                Block::Heading { text, .. } | Block::Paragraph(text) | Block::Strong(text) => line(text),
                Block::Bullets(items) => items.iter().for_each(|item| line(item)),
                Block::Facts(facts) => facts.iter().for_each(|(label, value)| line(&format!("{label}: {value}"))),
                Block::Table(table) => {
                    line(&table.caption);
                    line(&table.header.join(" | "));
                    table.rows.iter().for_each(|row| line(&row.join(" | ")));
                }
                Block::Chart(chart) => line(&chart.alt),
                Block::WriteIn { prompt, .. } => line(prompt),
                Block::Callout { heading, lines } => {
                    line(heading);
                    lines.iter().for_each(|text| line(text));
                }
            }
        }
        out
    }
}

/// "3 November 2026": dates written out in full, as GOV.UK and NHS.UK style asks.
pub fn long_date(date: Date) -> String {
    format!("{} {} {}", date.day(), month_name(date.month()), date.year())
}

fn month_name(month: time::Month) -> &'static str {
    use time::Month::*;
    match month {
        January => "January",
        February => "February",
        March => "March",
        April => "April",
        May => "May",
        June => "June",
        July => "July",
        August => "August",
        September => "September",
        October => "October",
        November => "November",
        December => "December",
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn outline_must_not_skip_levels() {
        let heading = |level| Block::Heading { level, text: "x".into() };
        let document = |blocks| Document { title: "t".into(), language: "en-GB", blocks };
        assert!(document(vec![heading(1), heading(2), heading(2), heading(3), heading(2)]).outline_is_sound());
        assert!(!document(vec![heading(1), heading(3)]).outline_is_sound());
        assert!(!document(vec![heading(2)]).outline_is_sound());
    }

    #[test]
    fn chart_layout_spans_the_dates_and_keeps_the_target_in_view() {
        let chart = Chart {
            alt: "a".into(),
            unit: "mmol/mol".into(),
            points: vec![(date!(2025 - 11 - 01), 60.0), (date!(2026 - 11 - 01), 50.0)],
            target: Some(48.0),
            target_label: "Your target".into(),
        };
        let layout = chart.layout();
        assert_eq!(layout[0].0, 0.0);
        assert_eq!(layout[1].0, 1.0);
        assert!(layout[0].1 > layout[1].1, "60 is drawn above 50");
        let target = chart.target_height().unwrap();
        assert!((0.0..layout[1].1).contains(&target), "the target 48 is below 50 and inside the chart");
        let single = Chart { points: vec![(date!(2026 - 11 - 01), 5.0)], target: None, ..chart };
        assert_eq!(single.layout()[0].0, 0.5);
        assert!((0.0..=1.0).contains(&single.layout()[0].1));
    }

    #[test]
    fn dates_are_written_out() {
        assert_eq!(long_date(date!(2026 - 11 - 03)), "3 November 2026");
    }
}
