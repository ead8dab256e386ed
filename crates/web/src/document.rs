//! A document to a person ([`concord_domain::document::Document`]) as HTML view data: the same
//! blocks the PDF draws, with each chart as an inline SVG using the chart's own layout.

use concord_domain::document::{Block, Chart, Document, long_date};

/// One block as the template shows it.
pub(crate) enum BlockView {
    /// Level 1 to 6 (a document shown inside a page starts below the page's own heading).
    Heading(u8, String),
    Paragraph(String),
    Strong(String),
    Bullets(Vec<String>),
    Facts(Vec<(String, String)>),
    Table {
        caption: String,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Chart(ChartView),
    WriteIn(String, u8),
    Callout(String, Vec<String>),
}

/// An inline SVG line chart.
pub(crate) struct ChartView {
    pub alt: String,
    pub width: u32,
    pub height: u32,
    /// "x,y x,y …" of the values.
    pub points: String,
    pub dots: Vec<(String, String)>,
    /// y of the person's target line.
    pub target_y: Option<String>,
    pub plot_left: u32,
    pub plot_right: u32,
    pub plot_top: u32,
    pub plot_bottom: u32,
    pub high_label: String,
    pub low_label: String,
    pub first_date: String,
    pub last_date: String,
    pub unit: String,
    pub target_label: String,
}

pub(crate) struct DocumentView {
    pub blocks: Vec<BlockView>,
}

/// `shift` moves every heading down (1 when the page already has its own `h1`).
pub(crate) fn document_view(document: &Document, shift: u8) -> DocumentView {
    let blocks = document
        .blocks
        .iter()
        .map(|block| match block {
            Block::Heading { level, text } => BlockView::Heading((level + shift).min(6), text.clone()),
            Block::Paragraph(text) => BlockView::Paragraph(text.clone()),
            Block::Strong(text) => BlockView::Strong(text.clone()),
            Block::Bullets(items) => BlockView::Bullets(items.clone()),
            Block::Facts(facts) => BlockView::Facts(facts.clone()),
            Block::Table(table) => BlockView::Table {
                caption: table.caption.clone(),
                header: table.header.clone(),
                rows: table.rows.clone(),
            },
            Block::Chart(chart) => BlockView::Chart(chart_view(chart)),
            Block::WriteIn { prompt, lines } => BlockView::WriteIn(prompt.clone(), *lines),
            Block::Callout { heading, lines } => BlockView::Callout(heading.clone(), lines.clone()),
        })
        .collect();
    DocumentView { blocks }
}

const WIDTH: u32 = 480;
const HEIGHT: u32 = 170;
const LEFT: u32 = 72;
const RIGHT: u32 = 390;
const TOP: u32 = 12;
const BOTTOM: u32 = 132;

fn chart_view(chart: &Chart) -> ChartView {
    let (low, high) = chart.value_range();
    let inset = 14.0;
    let across = |fraction: f64| f64::from(LEFT) + inset + fraction * (f64::from(RIGHT - LEFT) - 2.0 * inset);
    let up = |fraction: f64| f64::from(BOTTOM) - fraction * f64::from(BOTTOM - TOP);
    let placed: Vec<(f64, f64)> = chart.layout().into_iter().map(|(x, y)| (across(x), up(y))).collect();
    let decimals = if high - low < 10.0 { 1 } else { 0 };
    let month_year = |date: time::Date| {
        let long = long_date(date);
        long.split_once(' ').map_or(long.clone(), |(_, rest)| rest.to_owned())
    };
    ChartView {
        alt: chart.alt.clone(),
        width: WIDTH,
        height: HEIGHT,
        points: placed.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" "),
        dots: placed.iter().map(|(x, y)| (format!("{x:.1}"), format!("{y:.1}"))).collect(),
        target_y: chart.target_height().map(|height| format!("{:.1}", up(height))),
        plot_left: LEFT,
        plot_right: RIGHT,
        plot_top: TOP,
        plot_bottom: BOTTOM,
        high_label: format!("{high:.decimals$}"),
        low_label: format!("{low:.decimals$}"),
        first_date: chart.points.first().map(|(date, _)| month_year(*date)).unwrap_or_default(),
        last_date: if chart.points.len() > 1 {
            chart.points.last().map(|(date, _)| month_year(*date)).unwrap_or_default()
        } else {
            String::new()
        },
        unit: chart.unit.trim_matches(|c| c == '{' || c == '}').to_owned(),
        target_label: chart.target_label.clone(),
    }
}
