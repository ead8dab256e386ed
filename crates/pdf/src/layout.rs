//! Places a document's blocks on A4 pages as drawing operations, and builds the logical structure
//! that refers to them by index.

use concord_domain::document::{Block, Chart, Document, Table};

use crate::Print;
use crate::fonts::{Weight, text_width};

pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.7;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// Room kept at the foot of each page for the page number.
const FOOTER: f32 = 28.0;
const BOTTOM: f32 = PAGE_HEIGHT - MARGIN - FOOTER;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Colour(pub u8, pub u8, pub u8);

/// NHS.UK design system colours: text, NHS blue, secondary text, borders, pale grey.
pub(crate) const TEXT: Colour = Colour(0x21, 0x2b, 0x32);
pub(crate) const BLUE: Colour = Colour(0x00, 0x5e, 0xb8);
pub(crate) const SECONDARY: Colour = Colour(0x4c, 0x62, 0x72);
pub(crate) const BORDER: Colour = Colour(0xd8, 0xdd, 0xe0);
pub(crate) const PANEL: Colour = Colour(0xf0, 0xf4, 0xf5);

/// One drawing operation, in points from the page's top left corner (y grows downwards).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        text: String,
        colour: Colour,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        colour: Colour,
        dashed: bool,
    },
    Rect {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        colour: Colour,
    },
    Dot {
        x: f32,
        y: f32,
        radius: f32,
        colour: Colour,
    },
    Polyline {
        points: Vec<(f32, f32)>,
        width: f32,
        colour: Colour,
    },
}

/// Whether an operation is real content (in the structure tree) or decoration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Content,
    Decoration,
    PageNumber,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub page: usize,
    pub op: Op,
    pub mark: Mark,
}

/// A node of the logical structure: a group, or the operation at an index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Group(Kind, Vec<Node>),
    Op(usize),
}

/// The structure types Concord's documents use.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Heading(u8, String),
    Paragraph,
    List,
    Item,
    Label,
    Body,
    Table,
    Row,
    HeaderCell,
    Cell,
    Caption,
    /// Alternative text, the page it is on and its box (left, top, right, bottom).
    Figure(String, usize, [f32; 4]),
    Division,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LaidOut {
    pub pages: usize,
    pub ops: Vec<Placed>,
    pub tree: Vec<Node>,
    /// Headings for the PDF outline: level, text, page, y.
    pub outline: Vec<(u8, String, usize, f32)>,
}

struct Layout {
    body: f32,
    page: usize,
    y: f32,
    ops: Vec<Placed>,
    outline: Vec<(u8, String, usize, f32)>,
}

impl Layout {
    fn line_height(&self, size: f32) -> f32 {
        size * 1.45
    }

    /// Starts a new page unless `height` still fits on this one.
    fn room_for(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > MARGIN {
            self.page += 1;
            self.y = MARGIN;
        }
    }

    fn push(&mut self, op: Op, mark: Mark) -> usize {
        self.ops.push(Placed { page: self.page, op, mark });
        self.ops.len() - 1
    }

    fn text(&mut self, x: f32, baseline: f32, size: f32, weight: Weight, text: String, colour: Colour) -> usize {
        self.push(Op::Text { x, y: baseline, size, weight, text, colour }, Mark::Content)
    }

    /// Sets `text` as wrapped lines from `x` across `width`, each line a leaf.
    fn lines(&mut self, text: &str, x: f32, width: f32, size: f32, weight: Weight, colour: Colour) -> Vec<Node> {
        let mut nodes = Vec::new();
        let height = self.line_height(size);
        for line in wrap(text, weight == Weight::Bold, size, width) {
            self.room_for(height);
            let baseline = self.y + size * 1.05;
            nodes.push(Node::Op(self.text(x, baseline, size, weight, line, colour)));
            self.y += height;
        }
        nodes
    }

    fn gap(&mut self, ems: f32) {
        self.y += self.body * ems;
    }

    fn heading(&mut self, level: u8, text: &str) -> Node {
        let size = self.body
            * match level {
                1 => 1.75,
                2 => 1.4,
                _ => 1.15,
            };
        self.gap(if level == 1 { 0.0 } else { 0.8 });
        // Keep the heading with at least three lines of what follows.
        let lines = wrap(text, true, size, CONTENT_WIDTH).len() as f32;
        self.room_for(lines * self.line_height(size) + 3.0 * self.line_height(self.body));
        self.outline.push((level, text.to_owned(), self.page, self.y));
        let colour = if level == 1 { BLUE } else { TEXT };
        let leaves = self.lines(text, MARGIN, CONTENT_WIDTH, size, Weight::Bold, colour);
        self.gap(0.35);
        Node::Group(Kind::Heading(level, text.to_owned()), leaves)
    }

    fn paragraph(&mut self, text: &str, weight: Weight) -> Node {
        let leaves = self.lines(text, MARGIN, CONTENT_WIDTH, self.body, weight, TEXT);
        self.gap(0.6);
        Node::Group(Kind::Paragraph, leaves)
    }

    fn bullets(&mut self, items: &[String]) -> Node {
        let indent = self.body * 1.4;
        let mut children = Vec::new();
        for item in items {
            let height = self.line_height(self.body);
            self.room_for(height);
            let baseline = self.y + self.body * 1.05;
            let bullet = self.text(MARGIN + self.body * 0.3, baseline, self.body, Weight::Regular, "•".into(), TEXT);
            let body = self.lines(item, MARGIN + indent, CONTENT_WIDTH - indent, self.body, Weight::Regular, TEXT);
            self.gap(0.3);
            children.push(Node::Group(
                Kind::Item,
                vec![Node::Group(Kind::Label, vec![Node::Op(bullet)]), Node::Group(Kind::Body, body)],
            ));
        }
        self.gap(0.4);
        Node::Group(Kind::List, children)
    }

    /// Label and value pairs as a two-column table with row headers.
    fn facts(&mut self, facts: &[(String, String)]) -> Node {
        let label_width = CONTENT_WIDTH * 0.32;
        let value_x = MARGIN + label_width + self.body;
        let value_width = CONTENT_WIDTH - label_width - self.body;
        let pad = self.body * 0.4;
        let mut rows = Vec::new();
        for (label, value) in facts {
            let label_lines = wrap(label, true, self.body, label_width).len();
            let value_lines = wrap(value, false, self.body, value_width).len();
            let height = label_lines.max(value_lines) as f32 * self.line_height(self.body) + 2.0 * pad;
            self.room_for(height);
            let top = self.y;
            self.push(rule(top, MARGIN, MARGIN + CONTENT_WIDTH), Mark::Decoration);
            self.y = top + pad;
            let label_nodes = self.lines(label, MARGIN, label_width, self.body, Weight::Bold, TEXT);
            self.y = top + pad;
            let value_nodes = self.lines(value, value_x, value_width, self.body, Weight::Regular, TEXT);
            self.y = top + height;
            rows.push(Node::Group(
                Kind::Row,
                vec![Node::Group(Kind::HeaderCell, label_nodes), Node::Group(Kind::Cell, value_nodes)],
            ));
        }
        self.push(rule(self.y, MARGIN, MARGIN + CONTENT_WIDTH), Mark::Decoration);
        self.gap(0.8);
        Node::Group(Kind::Table, rows)
    }

    fn table(&mut self, table: &Table) -> Node {
        let columns = table.header.len().max(1);
        let column_width = CONTENT_WIDTH / columns as f32;
        let pad = self.body * 0.4;
        let mut children = vec![Node::Group(
            Kind::Caption,
            self.lines(&table.caption, MARGIN, CONTENT_WIDTH, self.body, Weight::Bold, TEXT),
        )];
        let rows = std::iter::once((true, &table.header)).chain(table.rows.iter().map(|row| (false, row)));
        for (header, row) in rows {
            let weight = if header { Weight::Bold } else { Weight::Regular };
            let height =
                row.iter().map(|cell| wrap(cell, header, self.body, column_width - self.body).len()).max().unwrap_or(1)
                    as f32
                    * self.line_height(self.body)
                    + 2.0 * pad;
            self.room_for(height);
            let top = self.y;
            self.push(rule(top, MARGIN, MARGIN + CONTENT_WIDTH), Mark::Decoration);
            let mut cells = Vec::new();
            for (index, cell) in row.iter().enumerate() {
                self.y = top + pad;
                let x = MARGIN + index as f32 * column_width;
                let nodes = self.lines(cell, x, column_width - self.body, self.body, weight, TEXT);
                cells.push(Node::Group(if header { Kind::HeaderCell } else { Kind::Cell }, nodes));
            }
            self.y = top + height;
            children.push(Node::Group(Kind::Row, cells));
        }
        self.push(rule(self.y, MARGIN, MARGIN + CONTENT_WIDTH), Mark::Decoration);
        self.gap(0.8);
        Node::Group(Kind::Table, children)
    }

    /// A line chart: the values over time in NHS blue, the person's target dashed, with the first
    /// and last dates and the value range labelled.
    fn chart(&mut self, chart: &Chart) -> Node {
        let small = self.body * 0.8;
        let plot_height = self.body * 8.0;
        let label_room = self.body * 4.5;
        let plot_width = (CONTENT_WIDTH * 0.75).min(self.body * 34.0) - label_room;
        let total = plot_height + small * 3.5;
        self.room_for(total);
        let top = self.y + small * 0.5;
        let left = MARGIN + label_room;
        let bottom = top + plot_height;
        let (low, high) = chart.value_range();
        let mut leaves = Vec::new();
        let mut add = |layout: &mut Layout, op: Op| leaves.push(Node::Op(layout.push(op, Mark::Content)));
        add(self, Op::Line { from: (left, top), to: (left, bottom), width: 0.75, colour: SECONDARY, dashed: false });
        add(
            self,
            Op::Line {
                from: (left, bottom),
                to: (left + plot_width, bottom),
                width: 0.75,
                colour: SECONDARY,
                dashed: false,
            },
        );
        let decimals = if high - low < 10.0 { 1 } else { 0 };
        for (value, y) in [(high, top), (low, bottom)] {
            let label = format!("{value:.decimals$}");
            let x = left - self.body * 0.4 - text_width(&label, false, small);
            add(
                self,
                Op::Text {
                    x,
                    y: y + small * 0.35,
                    size: small,
                    weight: Weight::Regular,
                    text: label,
                    colour: SECONDARY,
                },
            );
        }
        let unit = chart.unit.trim_matches(|c| c == '{' || c == '}').to_owned();
        add(
            self,
            Op::Text {
                x: MARGIN,
                y: top + plot_height / 2.0,
                size: small,
                weight: Weight::Regular,
                text: unit,
                colour: SECONDARY,
            },
        );
        let inset = self.body * 0.8;
        let points: Vec<(f32, f32)> = chart
            .layout()
            .into_iter()
            .map(|(across, up)| {
                (left + inset + across as f32 * (plot_width - 2.0 * inset), bottom - up as f32 * plot_height)
            })
            .collect();
        if let Some(up) = chart.target_height() {
            let y = bottom - up as f32 * plot_height;
            add(self, Op::Line { from: (left, y), to: (left + plot_width, y), width: 1.0, colour: TEXT, dashed: true });
            add(
                self,
                Op::Text {
                    x: left + plot_width + self.body * 0.4,
                    y: y + small * 0.35,
                    size: small,
                    weight: Weight::Regular,
                    text: chart.target_label.clone(),
                    colour: TEXT,
                },
            );
        }
        if points.len() > 1 {
            add(self, Op::Polyline { points: points.clone(), width: 2.0, colour: BLUE });
        }
        for &(x, y) in &points {
            add(self, Op::Dot { x, y, radius: self.body * 0.25, colour: BLUE });
        }
        if let (Some(first), Some(last)) = (chart.points.first(), chart.points.last()) {
            let first_label = month_year(first.0);
            add(
                self,
                Op::Text {
                    x: left,
                    y: bottom + small * 1.5,
                    size: small,
                    weight: Weight::Regular,
                    text: first_label,
                    colour: SECONDARY,
                },
            );
            if chart.points.len() > 1 {
                let last_label = month_year(last.0);
                let x = left + plot_width - text_width(&last_label, false, small);
                add(
                    self,
                    Op::Text {
                        x,
                        y: bottom + small * 1.5,
                        size: small,
                        weight: Weight::Regular,
                        text: last_label,
                        colour: SECONDARY,
                    },
                );
            }
        }
        let rect = [MARGIN, top, left + plot_width + self.body * 6.0, bottom + small * 2.0];
        self.y = top + total;
        Node::Group(Kind::Figure(chart.alt.clone(), self.page, rect), leaves)
    }

    /// A prompt with ruled lines to write on.
    fn write_in(&mut self, prompt: &str, lines: u8) -> Node {
        let gap = self.body * 2.0;
        let prompt_height = wrap(prompt, true, self.body, CONTENT_WIDTH).len() as f32 * self.line_height(self.body);
        self.room_for(prompt_height + f32::from(lines) * gap);
        let leaves = self.lines(prompt, MARGIN, CONTENT_WIDTH, self.body, Weight::Bold, TEXT);
        for _ in 0..lines {
            self.y += gap;
            self.push(
                Op::Line {
                    from: (MARGIN, self.y),
                    to: (MARGIN + CONTENT_WIDTH, self.y),
                    width: 0.75,
                    colour: SECONDARY,
                    dashed: false,
                },
                Mark::Decoration,
            );
        }
        self.gap(1.0);
        Node::Group(Kind::Paragraph, leaves)
    }

    /// Safety information in a pale box with an NHS blue bar, kept on one page.
    fn callout(&mut self, heading: &str, lines: &[String]) -> Node {
        let pad = self.body;
        let width = CONTENT_WIDTH - 2.0 * pad - self.body * 0.4;
        let x = MARGIN + pad + self.body * 0.4;
        let count = wrap(heading, true, self.body, width).len()
            + lines.iter().map(|line| wrap(line, false, self.body, width).len()).sum::<usize>();
        let height = count as f32 * self.line_height(self.body) + 2.0 * pad + lines.len() as f32 * self.body * 0.3;
        self.gap(0.4);
        self.room_for(height);
        let top = self.y;
        self.push(Op::Rect { x: MARGIN, y: top, width: CONTENT_WIDTH, height, colour: PANEL }, Mark::Decoration);
        self.push(Op::Rect { x: MARGIN, y: top, width: self.body * 0.4, height, colour: BLUE }, Mark::Decoration);
        self.y = top + pad;
        let mut children =
            vec![Node::Group(Kind::Paragraph, self.lines(heading, x, width, self.body, Weight::Bold, TEXT))];
        for line in lines {
            children.push(Node::Group(Kind::Paragraph, self.lines(line, x, width, self.body, Weight::Regular, TEXT)));
            self.y += self.body * 0.3;
        }
        self.y = top + height;
        self.gap(1.0);
        Node::Group(Kind::Division, children)
    }
}

fn rule(y: f32, from: f32, to: f32) -> Op {
    Op::Line { from: (from, y), to: (to, y), width: 0.75, colour: BORDER, dashed: false }
}

fn month_year(date: time::Date) -> String {
    let long = concord_domain::document::long_date(date);
    long.split_once(' ').map_or(long.clone(), |(_, rest)| rest.to_owned())
}

/// Greedy line breaking at spaces; a word wider than the line is broken between characters.
pub(crate) fn wrap(text: &str, bold: bool, size: f32, width: f32) -> Vec<String> {
    let space = text_width(" ", bold, size);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0.0;
    for word in text.split_whitespace() {
        let word_width = text_width(word, bold, size);
        if !line.is_empty() && line_width + space + word_width <= width {
            line.push(' ');
            line.push_str(word);
            line_width += space + word_width;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if word_width <= width {
            line.push_str(word);
            line_width = word_width;
            continue;
        }
        let mut piece = String::new();
        for ch in word.chars() {
            let mut longer = piece.clone();
            longer.push(ch);
            if !piece.is_empty() && text_width(&longer, bold, size) > width {
                lines.push(std::mem::take(&mut piece));
                longer = ch.to_string();
            }
            piece = longer;
        }
        line_width = text_width(&piece, bold, size);
        line = piece;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Lays out the whole document.
pub(crate) fn layout(document: &Document, print: Print) -> LaidOut {
    let mut layout = Layout { body: print.body_size(), page: 0, y: MARGIN, ops: Vec::new(), outline: Vec::new() };
    let mut tree = Vec::new();
    for block in &document.blocks {
        let node = match block {
            Block::Heading { level, text } => layout.heading(*level, text),
            Block::Paragraph(text) => layout.paragraph(text, Weight::Regular),
            Block::Strong(text) => layout.paragraph(text, Weight::Bold),
            Block::Bullets(items) => layout.bullets(items),
            Block::Facts(facts) => layout.facts(facts),
            Block::Table(table) => layout.table(table),
            Block::Chart(chart) => layout.chart(chart),
            Block::WriteIn { prompt, lines } => layout.write_in(prompt, *lines),
            Block::Callout { heading, lines } => layout.callout(heading, lines),
        };
        tree.push(node);
    }
    let pages = layout.page + 1;
    let size = print.body_size() * 0.8;
    for page in 0..pages {
        let text = format!("Page {} of {pages}", page + 1);
        let x = (PAGE_WIDTH - text_width(&text, false, size)) / 2.0;
        layout.ops.push(Placed {
            page,
            op: Op::Text { x, y: PAGE_HEIGHT - MARGIN, size, weight: Weight::Regular, text, colour: SECONDARY },
            mark: Mark::PageNumber,
        });
    }
    LaidOut { pages, ops: layout.ops, tree, outline: layout.outline }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_in_order_within_the_width() {
        let text = "Your average blood sugar level over the past 2 to 3 months, measured in millimoles per mole.";
        let lines = wrap(text, false, 12.0, 150.0);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|line| text_width(line, false, 12.0) <= 150.0));
        assert_eq!(lines.join(" "), text);
        let long = wrap("https://concord.example/prepare/with/a/very/long/address", false, 12.0, 60.0);
        assert!(long.len() > 2 && long.iter().all(|line| text_width(line, false, 12.0) <= 60.0));
        assert_eq!(long.concat(), "https://concord.example/prepare/with/a/very/long/address");
        assert_eq!(wrap("", false, 12.0, 100.0), vec![String::new()]);
    }

    #[test]
    fn long_documents_flow_onto_more_pages_and_nothing_runs_off_a_page() {
        let blocks = (0..80).map(|n| Block::Paragraph(format!("Paragraph {n} with a few words in it."))).collect();
        let document = Document { title: "t".into(), language: "en-GB", blocks };
        let laid_out = layout(&document, Print::LargePrint);
        assert!(laid_out.pages > 2);
        for placed in &laid_out.ops {
            if let Op::Text { y, .. } = placed.op {
                assert!(y <= PAGE_HEIGHT - MARGIN + 0.01, "text at {y} is inside the page");
            }
        }
        let standard = layout(&document, Print::Standard);
        assert!(standard.pages < laid_out.pages, "large print takes more pages");
    }
}
