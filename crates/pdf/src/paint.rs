//! Draws laid-out operations with krilla and attaches the logical structure and outline.

use std::num::NonZeroU16;

use concord_domain::document::Document;
use krilla::color::rgb;
use krilla::configure::{Accessibility, Configuration, ConfigurationBuilder, Validator};
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::tagging::{
    Artifact, ArtifactType, BBox, ContentTag, Identifier, ListNumbering, SpanTag, TableHeaderScope, Tag, TagGroup,
    TagKind, TagTree,
};
use krilla::text::{Font, TextDirection};
use krilla::{Document as Pdf, SerializeSettings};

use crate::fonts::{Weight, data};
use crate::layout::{Colour, Kind, LaidOut, Mark, Node, Op, PAGE_HEIGHT, PAGE_WIDTH};
use crate::{Made, PdfError};

fn colour(Colour(red, green, blue): Colour) -> krilla::paint::Paint {
    rgb::Color::new(red, green, blue).into()
}

fn settings() -> Result<SerializeSettings, PdfError> {
    let configuration: Configuration = ConfigurationBuilder::new()
        .set_validator(Validator::Ua(Accessibility::UA1))
        .finish()
        .map_err(|error| PdfError::Write(format!("{error:?}")))?;
    Ok(SerializeSettings { configuration, enable_tagging: true, ..SerializeSettings::default() })
}

pub(crate) fn paint(document: &Document, laid_out: &LaidOut, author: &str, made: Made) -> Result<Vec<u8>, PdfError> {
    let mut pdf = Pdf::new_with(settings()?);
    let regular = Font::new(data(Weight::Regular).to_vec().into(), 0)
        .ok_or_else(|| PdfError::Write("the regular font did not load".into()))?;
    let bold = Font::new(data(Weight::Bold).to_vec().into(), 0)
        .ok_or_else(|| PdfError::Write("the bold font did not load".into()))?;
    let mut identifiers: Vec<Option<Identifier>> = vec![None; laid_out.ops.len()];
    for page_index in 0..laid_out.pages {
        let size = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| PdfError::Write("the page size is invalid".into()))?;
        let mut page = pdf.start_page_with(size);
        let mut surface = page.surface();
        for (index, placed) in laid_out.ops.iter().enumerate().filter(|(_, placed)| placed.page == page_index) {
            let tag = match (placed.mark, &placed.op) {
                (Mark::Content, Op::Text { .. }) => ContentTag::Span(SpanTag::empty()),
                (Mark::Content, _) => ContentTag::Other,
                (Mark::Decoration, _) => ContentTag::Artifact(Artifact::with_kind(ArtifactType::Other)),
                (Mark::PageNumber, _) => ContentTag::Artifact(Artifact::with_kind(ArtifactType::PageNumber)),
            };
            let identifier = surface.start_tagged(tag);
            draw(&mut surface, &placed.op, &regular, &bold);
            surface.end_tagged();
            if placed.mark == Mark::Content {
                identifiers[index] = Some(identifier);
            }
        }
        surface.finish();
        page.finish();
    }
    let mut tree = TagTree::new().with_lang(Some(document.language.to_owned()));
    for node in &laid_out.tree {
        if let Some(node) = structure(node, &mut identifiers)? {
            tree.push(node);
        }
    }
    pdf.set_tag_tree(tree);
    pdf.set_outline(outline(laid_out));
    let date = DateTime::new(made.year)
        .month(made.month)
        .day(made.day)
        .hour(made.hour)
        .minute(made.minute)
        .second(made.second)
        .utc_offset_hour(0)
        .utc_offset_minute(0);
    pdf.set_metadata(
        Metadata::new()
            .title(document.title.clone())
            .language(document.language.to_owned())
            .authors(vec![author.to_owned()])
            .creator("Concord".to_owned())
            .creation_date(date),
    );
    pdf.finish().map_err(|error| PdfError::Write(format!("{error:?}")))
}

fn draw(surface: &mut Surface<'_>, op: &Op, regular: &Font, bold: &Font) {
    match op {
        Op::Text { x, y, size, weight, text, colour: text_colour } => {
            surface.set_fill(Some(Fill { paint: colour(*text_colour), ..Fill::default() }));
            surface.set_stroke(None);
            let font = if *weight == Weight::Bold { bold } else { regular };
            surface.draw_text(Point::from_xy(*x, *y), font.clone(), *size, text, false, TextDirection::Auto);
        }
        Op::Line { from, to, width, colour: line_colour, dashed } => {
            let mut builder = PathBuilder::new();
            builder.move_to(from.0, from.1);
            builder.line_to(to.0, to.1);
            stroke(surface, builder, *width, *line_colour, *dashed);
        }
        Op::Polyline { points, width, colour: line_colour } => {
            let mut builder = PathBuilder::new();
            for (index, (x, y)) in points.iter().enumerate() {
                if index == 0 { builder.move_to(*x, *y) } else { builder.line_to(*x, *y) }
            }
            stroke(surface, builder, *width, *line_colour, false);
        }
        Op::Rect { x, y, width, height, colour: fill_colour } => {
            let mut builder = PathBuilder::new();
            if let Some(rect) = Rect::from_xywh(*x, *y, *width, *height) {
                builder.push_rect(rect);
            }
            fill(surface, builder, *fill_colour);
        }
        Op::Dot { x, y, radius, colour: fill_colour } => {
            // A circle from four cubic Béziers.
            let k = 0.552_284_8 * radius;
            let mut builder = PathBuilder::new();
            builder.move_to(x + radius, *y);
            builder.cubic_to(x + radius, y + k, x + k, y + radius, *x, y + radius);
            builder.cubic_to(x - k, y + radius, x - radius, y + k, x - radius, *y);
            builder.cubic_to(x - radius, y - k, x - k, y - radius, *x, y - radius);
            builder.cubic_to(x + k, y - radius, x + radius, y - k, x + radius, *y);
            builder.close();
            fill(surface, builder, *fill_colour);
        }
    }
}

fn stroke(surface: &mut Surface<'_>, builder: PathBuilder, width: f32, line_colour: Colour, dashed: bool) {
    let Some(path) = builder.finish() else { return };
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        paint: colour(line_colour),
        width,
        line_cap: LineCap::Round,
        dash: dashed.then(|| StrokeDash { array: vec![5.0, 4.0], offset: 0.0 }),
        opacity: NormalizedF32::ONE,
        ..Stroke::default()
    }));
    surface.draw_path(&path);
    surface.set_stroke(None);
}

fn fill(surface: &mut Surface<'_>, builder: PathBuilder, fill_colour: Colour) {
    let Some(path) = builder.finish() else { return };
    surface.set_stroke(None);
    surface.set_fill(Some(Fill { paint: colour(fill_colour), ..Fill::default() }));
    surface.draw_path(&path);
}

/// The logical structure, with each operation's identifier used exactly once.
fn structure(node: &Node, identifiers: &mut [Option<Identifier>]) -> Result<Option<krilla::tagging::Node>, PdfError> {
    match node {
        Node::Op(index) => Ok(Some(
            identifiers
                .get_mut(*index)
                .and_then(Option::take)
                .ok_or_else(|| PdfError::Write(format!("operation {index} is in the structure twice or not drawn")))?
                .into(),
        )),
        Node::Group(kind, children) => {
            let mut group = TagGroup::new(tag(kind));
            for child in children {
                if let Some(child) = structure(child, identifiers)? {
                    group.push(child);
                }
            }
            Ok(Some(group.into()))
        }
    }
}

fn tag(kind: &Kind) -> TagKind {
    match kind {
        Kind::Heading(level, title) => {
            Tag::Hn(NonZeroU16::new(u16::from(*level)).unwrap_or(NonZeroU16::MIN), Some(title.clone())).into()
        }
        Kind::Paragraph => Tag::P.into(),
        Kind::List => Tag::L(ListNumbering::Disc).into(),
        Kind::Item => Tag::LI.into(),
        Kind::Label => Tag::Lbl.into(),
        Kind::Body => Tag::LBody.into(),
        Kind::Table => Tag::Table.into(),
        Kind::Row => Tag::TR.into(),
        Kind::HeaderCell => Tag::TH(TableHeaderScope::Row).into(),
        Kind::Cell => Tag::TD.into(),
        Kind::Caption => Tag::Caption.into(),
        Kind::Figure(alt, page, [left, top, right, bottom]) => {
            let bbox = Rect::from_ltrb(*left, *top, *right, *bottom).map(|rect| BBox::new(*page, rect));
            Tag::Figure(Some(alt.clone())).with_bbox(bbox).into()
        }
        Kind::Division => Tag::Div.into(),
    }
}

/// The outline (bookmarks) from the headings, nested by level.
fn outline(laid_out: &LaidOut) -> Outline {
    let mut outline = Outline::new();
    let mut stack: Vec<(u8, OutlineNode)> = Vec::new();
    let close = |stack: &mut Vec<(u8, OutlineNode)>, outline: &mut Outline, down_to: u8| {
        while stack.last().is_some_and(|(level, _)| *level >= down_to) {
            let (_, node) = stack.pop().expect("checked non-empty");
            match stack.last_mut() {
                Some((_, parent)) => parent.push_child(node),
                None => outline.push_child(node),
            }
        }
    };
    for (level, text, page, y) in &laid_out.outline {
        close(&mut stack, &mut outline, *level);
        let node = OutlineNode::new(text.clone(), XyzDestination::new(*page, Point::from_xy(0.0, *y)));
        stack.push((*level, node));
    }
    close(&mut stack, &mut outline, 0);
    outline
}
