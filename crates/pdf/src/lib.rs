//! Concord's documents to people ([`concord_domain::document::Document`]) as accessible PDF:
//! tagged (PDF/UA-1, checked by krilla as it writes), fonts embedded and subset, charts drawn as
//! vector graphics with their text alternative, an outline from the headings, A4 pages numbered.
//!
//! Two steps: [`layout`] places every block on pages as drawing operations and builds the logical
//! structure (headings, paragraphs, lists, tables, figures) that refers to them; [`paint`] draws
//! the operations with krilla and attaches the structure. Pure: no IO, no clock (the caller gives
//! the creation time).
//!
//! Invariants: every piece of real content is in the structure tree exactly once, in reading
//! order; decoration (rules, boxes, page numbers) is marked as artifact; a heading is never left
//! alone at the foot of a page.

mod fonts;
mod layout;
mod paint;

use concord_domain::document::Document;

pub use fonts::text_width;

/// How large the text is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Print {
    /// 12 point body text.
    Standard,
    /// 18 point body text (RNIB clear print: large print is 16 point or more).
    LargePrint,
}

impl Print {
    /// Body text size in points.
    pub fn body_size(self) -> f32 {
        match self {
            Print::Standard => 12.0,
            Print::LargePrint => 18.0,
        }
    }
}

/// When the document was made (UTC), written to the PDF's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Made {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl From<time::OffsetDateTime> for Made {
    fn from(at: time::OffsetDateTime) -> Self {
        let at = at.to_offset(time::UtcOffset::UTC);
        Made {
            year: u16::try_from(at.year()).unwrap_or(2000),
            month: u8::from(at.month()),
            day: at.day(),
            hour: at.hour(),
            minute: at.minute(),
            second: at.second(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the document's headings skip a level, so it cannot be tagged as an accessible PDF")]
    Outline,
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// Renders `document` as a tagged A4 PDF.
pub fn render(document: &Document, print: Print, author: &str, made: Made) -> Result<Vec<u8>, PdfError> {
    if !document.outline_is_sound() {
        return Err(PdfError::Outline);
    }
    let laid_out = layout::layout(document, print);
    paint::paint(document, &laid_out, author, made)
}
