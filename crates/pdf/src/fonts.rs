//! The embedded font (DejaVu Sans, regular and bold) and its advances for line breaking.

use std::sync::OnceLock;

use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

pub(crate) fn data(weight: Weight) -> &'static [u8] {
    match weight {
        Weight::Regular => dejavu::sans::regular(),
        Weight::Bold => dejavu::sans::bold(),
    }
}

/// Advances in em for the characters most text uses, read once per weight.
struct Advances {
    table: Vec<f32>,
    missing: f32,
}

const TABLE_SIZE: usize = 0x2200;

fn advances(weight: Weight) -> &'static Advances {
    static REGULAR: OnceLock<Advances> = OnceLock::new();
    static BOLD: OnceLock<Advances> = OnceLock::new();
    let cell = match weight {
        Weight::Regular => &REGULAR,
        Weight::Bold => &BOLD,
    };
    cell.get_or_init(|| {
        let font = skrifa::FontRef::new(data(weight)).expect("the embedded DejaVu Sans parses");
        let units = f32::from(font.metrics(Size::unscaled(), LocationRef::default()).units_per_em);
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let charmap = font.charmap();
        let advance =
            |ch: char| charmap.map(ch).and_then(|glyph| metrics.advance_width(glyph)).map(|width| width / units);
        let missing = advance('?').unwrap_or(0.6);
        let table =
            (0..TABLE_SIZE).map(|code| char::from_u32(code as u32).and_then(advance).unwrap_or(missing)).collect();
        Advances { table, missing }
    })
}

/// The width of `text` in points at `size`, without kerning (so never narrower than drawn).
pub fn text_width(text: &str, bold: bool, size: f32) -> f32 {
    let advances = advances(if bold { Weight::Bold } else { Weight::Regular });
    let ems: f32 = text.chars().map(|ch| advances.table.get(ch as usize).copied().unwrap_or(advances.missing)).sum();
    ems * size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_grow_with_text_size_and_weight() {
        let regular = text_width("Your results", false, 12.0);
        assert!(regular > 50.0 && regular < 100.0, "{regular}");
        assert!((text_width("Your results", false, 24.0) - 2.0 * regular).abs() < 0.01);
        assert!(text_width("Your results", true, 12.0) > regular);
        assert_eq!(text_width("", false, 12.0), 0.0);
    }
}
