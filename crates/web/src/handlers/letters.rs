//! The print list: letters waiting to be printed and posted, each printable on its own page.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use concord_app::cycle::TWO_APPOINTMENTS_LEAFLET;
use concord_app::preparation::PREPARATION_ATTACHMENT;
use time::OffsetDateTime;

use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{SessionPairs, SignedIn};
use crate::state::AppState;
use crate::templates::{Layout, LetterRowView, LetterTemplate, LettersTemplate, page};
use crate::views;

/// The invitation's leaflet, as the outbox names it.
const TWO_APPOINTMENTS_ATTACHMENT: &str = "two-appointments-leaflet";

pub(crate) async fn letters(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    render(&state, &context, &signed_in, None).await
}

async fn render(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    done: Option<String>,
) -> Result<Response, PageError> {
    let letters = state.concord.letters_to_print(&signed_in.staff, OffsetDateTime::now_utc()).await?;
    let rows = letters
        .iter()
        .map(|letter| {
            let attachment = letter.message.attachment.as_deref().unwrap_or_default();
            let preparation = attachment.strip_prefix(PREPARATION_ATTACHMENT);
            LetterRowView {
                id: letter.message.id.clone(),
                name: views::clinical_name(&letter.family_name, &letter.given_name),
                purpose: letter.message.purpose.replace('_', " "),
                created: views::stored_time(&letter.message.created_at),
                leaflet: attachment == TWO_APPOINTMENTS_ATTACHMENT,
                href: preparation.map_or_else(
                    || format!("/letters/{}", letter.message.id),
                    |letter_id| format!("/preparation-letters/{letter_id}"),
                ),
                pdf: preparation.is_some(),
            }
        })
        .collect();
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Letters to print").current("/letters");
    page(&LettersTemplate { layout, csrf_token: signed_in.csrf_token.clone(), rows, done })
}

pub(crate) async fn mark_printed(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let ids: Vec<String> = pairs.into_iter().filter(|(name, _)| name == "printed").map(|(_, value)| value).collect();
    let count = state.concord.mark_letters_printed(&signed_in.staff, &ids, OffsetDateTime::now_utc()).await?;
    let message = match count {
        0 => "No letters were marked as printed: select the ones you have printed.".to_owned(),
        1 => "1 letter marked as printed.".to_owned(),
        count => format!("{count} letters marked as printed."),
    };
    render(&state, &context, &signed_in, Some(message)).await
}

pub(crate) async fn letter(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let message = state.concord.letter(&signed_in.staff, &id).await?;
    let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), "Letter");
    page(&LetterTemplate {
        layout,
        subject: message.subject.clone(),
        paragraphs: message.body.split("\n\n").map(str::to_owned).collect(),
        leaflet: message
            .attachment
            .as_deref()
            .filter(|attachment| *attachment == TWO_APPOINTMENTS_ATTACHMENT)
            .map(|_| TWO_APPOINTMENTS_LEAFLET.split("\n\n").map(|part| part.replace('\n', " ")).collect())
            .unwrap_or_default(),
    })
}

/// Messages that could not be delivered, for staff to send another way.
pub(crate) async fn failed(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    render_failed(&state, &context, &signed_in, None).await
}

async fn render_failed(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    done: Option<String>,
) -> Result<Response, PageError> {
    let messages = state.concord.failed_messages(&signed_in.staff).await?;
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Messages that could not be delivered");
    page(&crate::templates::FailedMessagesTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        can_act: signed_in.staff.require(concord_domain::access::Permission::ManageCycle).is_ok(),
        messages: messages
            .into_iter()
            .map(|failed| crate::templates::FailedMessageView {
                name: crate::views::clinical_name(&failed.family_name, &failed.given_name),
                nhs_number: failed.nhs_number.as_deref().map(crate::views::nhs_number).unwrap_or_default(),
                subject: failed.message.subject,
                channel: if failed.message.channel == "sms" { "Text message" } else { "Email" },
                created: crate::views::stored_time(&failed.message.created_at),
                reason: failed.message.last_error.unwrap_or_else(|| "Not delivered".into()),
                id: failed.message.id,
            })
            .collect(),
        done,
    })
}

pub(crate) async fn resolve_failed(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let field =
        |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    let action = field("action");
    let done = state
        .concord
        .resolve_failed_message(&signed_in.staff, &field("message"), &action, time::OffsetDateTime::now_utc())
        .await?;
    let message = match (done, action.as_str()) {
        (false, _) => "That message was already dealt with.",
        (true, "letter") => "The message is on the letters to print.",
        (true, _) => "Recorded as handled.",
    };
    render_failed(&state, &context, &signed_in, Some(message.into())).await
}
