//! nhsuk-frontend's own fixtures (the rendered HTML of each component example), and a comparison
//! that ignores layout: whitespace and the spelling of HTML entities.

use serde_json::Value;

/// Collapses whitespace, drops it next to tags, and writes entities as the characters they stand for
/// (askama writes numeric entities such as `&#38;` where Nunjucks writes `&amp;`; both mean the same).
pub fn normalise(html: &str) -> String {
    let mut text = html.to_owned();
    for (entity, character) in [
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&#60;", "<"),
        ("&lt;", "<"),
        ("&#62;", ">"),
        ("&gt;", ">"),
        ("&#38;", "&"),
        ("&amp;", "&"),
    ] {
        text = text.replace(entity, character);
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.replace("> ", ">").replace(" <", "<").replace(" >", ">")
}

pub fn fixture(component: &str, name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/node_modules/nhsuk-frontend/dist/nhsuk/components")
        .join(component)
        .join("fixtures.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (run scripts/assets.sh)", path.display()));
    let fixtures: Value = serde_json::from_str(&text).unwrap();
    fixtures["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|fixture| fixture["name"] == name)
        .unwrap_or_else(|| panic!("no fixture {name:?} for {component}"))["html"]
        .as_str()
        .unwrap()
        .to_owned()
}
