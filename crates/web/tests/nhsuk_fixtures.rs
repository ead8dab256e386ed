//! Our askama components against nhsuk-frontend's own fixtures (`fixtures.json` of each component in
//! the installed package), compared after normalising whitespace and HTML entities. A difference
//! means our markup has drifted from the design system's.

mod support;

use askama::Template;
use support::nhsuk::{fixture, normalise};

fn assert_matches(component: &str, name: &str, ours: &impl Template) {
    let ours = normalise(&ours.render().unwrap());
    let upstream = normalise(&fixture(component, name));
    assert_eq!(ours, upstream, "{component} / {name}");
}

struct ErrorLink {
    href: &'static str,
    text: &'static str,
}

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::error_summary(errors) %}{% endcall %}"#,
    ext = "html"
)]
struct ErrorSummary {
    errors: Vec<ErrorLink>,
}

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::skip_link() %}{% endcall %}"#,
    ext = "html"
)]
struct SkipLink;

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::text_input(id = "with-hint-error", name = "example", label = "What is your NHS number?", hint = "This is a 10 digit number (like 999 123 4567) that you can find on an NHS letter, prescription or in the NHS App", error = "Enter NHS number", width = "10", code = true, spellcheck = "false", inputmode = "numeric") %}{% endcall %}"#,
    ext = "html"
)]
struct InputWithErrorAndHint;

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::text_input(id = "without-heading", name = "example", label = "What is your NHS number?", width = "10", code = true, spellcheck = "false", inputmode = "numeric") %}{% endcall %}"#,
    ext = "html"
)]
struct InputWithoutHeading;

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::date_input(id = "example", legend = "What is your date of birth?", hint = "For example, 31 3 1980", error = "Enter your date of birth", day_error = true, month_error = true, year_error = true) %}{% endcall %}"#,
    ext = "html"
)]
struct DateInputWithError;

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::button("Save and continue") %}{% endcall %}"#,
    ext = "html"
)]
struct Button;

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::tag("Active") %}{% endcall %}"#,
    ext = "html"
)]
struct Tag;

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::tag("Green", "nhsuk-tag--green") %}{% endcall %}"#,
    ext = "html"
)]
struct TagColour;

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::warning_callout(heading = "Important", text = text) %}{% endcall %}"#,
    ext = "html"
)]
struct WarningCallout {
    text: &'static str,
}

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::warning_callout(heading = "School, nursery or work", text = text) %}{% endcall %}"#,
    ext = "html"
)]
struct WarningCalloutCustomHeading {
    text: &'static str,
}

#[derive(Template)]
#[template(
    source = r#"{% import "components.html" as nhsuk %}{% call nhsuk::notification_banner("Important", "The patient record was updated.") %}{% endcall %}"#,
    ext = "html"
)]
struct NotificationBanner;

#[test]
fn error_summary_matches_upstream() {
    assert_matches(
        "error-summary",
        "with multiple errors",
        &ErrorSummary {
            errors: vec![
                ErrorLink { href: "#example-first-name", text: "Enter your first name" },
                ErrorLink { href: "#example-last-name", text: "Enter your last name" },
            ],
        },
    );
}

#[test]
fn skip_link_matches_upstream() {
    assert_matches("skip-link", "default", &SkipLink);
}

#[test]
fn text_input_matches_upstream() {
    // Upstream's hint is HTML with a no-wrap span; ours is text, so compare with the span removed.
    let ours = normalise(&InputWithErrorAndHint.render().unwrap());
    let upstream = normalise(
        &fixture("input", "with error message and hint, without heading")
            .replace("<span class=\"nhsuk-u-nowrap\">999 123 4567</span>", "999 123 4567"),
    );
    assert_eq!(ours, upstream);
    assert_matches("input", "without heading", &InputWithoutHeading);
}

#[test]
fn date_input_matches_upstream() {
    assert_matches("date-input", "with error message and hint, without heading", &DateInputWithError);
}

#[test]
fn button_and_tags_match_upstream() {
    assert_matches("button", "default", &Button);
    assert_matches("tag", "default", &Tag);
    assert_matches("tag", "colour class", &TagColour);
}

#[test]
fn warning_callout_matches_upstream() {
    assert_matches(
        "warning-callout",
        "default",
        &WarningCallout {
            text: "For safety, tell your doctor or pharmacist if you're taking any other medicines, including herbal medicines, vitamins or supplements.",
        },
    );
    assert_matches(
        "warning-callout",
        "with custom heading",
        &WarningCalloutCustomHeading {
            text: "Stay away from school, nursery or work until all the spots have crusted over. This is usually 5 days after the spots first appeared.",
        },
    );
}

#[test]
fn notification_banner_matches_upstream() {
    assert_matches("notification-banner", "default", &NotificationBanner);
}

#[test]
fn normalising_ignores_layout_but_not_markup() {
    assert_eq!(normalise("<p>\n  a  b\n</p>"), normalise("<p>a b</p>"));
    assert_ne!(normalise("<p class=\"x\">a</p>"), normalise("<p class=\"y\">a</p>"));
}
