//! Concord's web shell: server-rendered pages in the NHS.UK design system over the application layer.
//!
//! Architecture invariants:
//! - Handlers are thin: they call [`concord_app::Concord`] (which checks permissions and writes the
//!   audit trail) and turn [`concord_app::AppError`] into a page in one place ([`error::PageError`]).
//!   Handlers also check the permission themselves, so a page never relies on hidden links.
//! - No patient identifier (NHS number, name, date of birth, database id) ever appears in a URL:
//!   searches are POSTed and results link through opaque per-session references ([`refs`]).
//! - Every unsafe request passes two CSRF defences: an origin check ([`security::reject_cross_origin`])
//!   and a synchronizer token in the form ([`session::SessionForm`], [`csrf`] before sign-in).
//! - Every response carries a fresh CSP nonce and the security headers; pages are never cached.
//! - Request logs carry method, path (never the query string), status, latency and a request id,
//!   and that request id is handed to the application for the audit trail.

mod csrf;
mod document;
mod error;
mod handlers;
mod rate_limit;
mod refs;
mod security;
mod session;
mod state;
mod templates;
mod views;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use concord_app::Concord;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;

use crate::state::AppState;

/// Largest request body accepted: the forms are a few short fields.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// How the web shell is set up by the `concord serve` and `concord demo` commands.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The nhsuk-frontend `dist/nhsuk` folder, served at `/assets/`.
    pub assets_dir: PathBuf,
    /// True behind HTTPS: cookies get `Secure` and the `__Host-` prefix, and HSTS is sent.
    pub secure_cookies: bool,
}

/// The print view's stylesheet (served at `/static/print.css`).
pub const PRINT_STYLESHEET: &str = handlers::system::PRINT_CSS;

/// A document to a person alone on a printable HTML page: the print view. `assets` is where the
/// NHS.UK frontend's `dist/nhsuk` folder is served, `print_css` the print stylesheet's address.
pub fn print_page(
    document: &concord_domain::document::Document,
    large_print: bool,
    assets: &str,
    print_css: &str,
) -> Result<String, askama::Error> {
    templates::render(&templates::PrintTemplate {
        title: document.title.clone(),
        language: document.language,
        assets: assets.to_owned(),
        print_css: print_css.to_owned(),
        nhsuk_version: templates::NHSUK_FRONTEND_VERSION,
        large: large_print,
        doc: document::document_view(document, 0),
    })
}

/// Every route of the web shell, with its middleware.
pub fn router(concord: Concord, config: WebConfig) -> Router {
    let state = AppState::new(concord, config.secure_cookies);
    // `/assets/` serves the package's `dist/nhsuk` folder (CSS, JavaScript) and, as upstream's page
    // template and stylesheet expect, its `assets/` subfolder (`/assets/images/…`, the manifest).
    let files = ServeDir::new(&config.assets_dir).fallback(ServeDir::new(config.assets_dir.join("assets")));
    let assets = Router::new().nest_service("/assets", files).layer(from_fn(security::cache_assets));
    Router::new()
        .route("/", get(handlers::home::home))
        .route("/sign-in", get(handlers::auth::sign_in_page).post(handlers::auth::sign_in))
        .route("/sign-out", post(handlers::auth::sign_out))
        .route("/patients", get(handlers::patients::search_page))
        .route("/patients/search", post(handlers::patients::search))
        .route("/patients/record/{reference}", get(handlers::patients::record))
        .route(
            "/patients/record/{reference}/visit",
            get(handlers::visit::visit_form).post(handlers::visit::record_visit),
        )
        .route("/patients/record/{reference}/book", get(handlers::clinics::book_page).post(handlers::clinics::book))
        .route("/clinics", get(handlers::clinics::clinics).post(handlers::clinics::create_clinic))
        .route("/letters", get(handlers::letters::letters).post(handlers::letters::mark_printed))
        .route("/letters/{id}", get(handlers::letters::letter))
        .route("/messages/failed", get(handlers::letters::failed).post(handlers::letters::resolve_failed))
        .route("/callbacks/sms", post(handlers::system::sms_receipt))
        .route(
            "/patients/record/{reference}/review",
            get(handlers::review::review_page).post(handlers::review::review_results),
        )
        .route(
            "/patients/record/{reference}/preparation",
            get(handlers::preparation::preparation_page).post(handlers::preparation::preparation_action),
        )
        .route("/patients/record/{reference}/preparation.pdf", get(handlers::preparation::preparation_pdf))
        .route("/patients/record/{reference}/preparation/access", post(handlers::preparation::access_action))
        .route("/patients/record/{reference}/preparation/print", get(handlers::preparation::print_view))
        .route("/preparation-letters/{id}", get(handlers::preparation::letter_pdf))
        .route("/clinics/preparation", post(handlers::preparation::send_for_clinics))
        .route(
            "/patients/record/{reference}/conversation",
            get(handlers::plan::conversation_page).post(handlers::plan::record_plan),
        )
        .route("/patients/record/{reference}/plan", get(handlers::plan::plan_page))
        .route("/patients/record/{reference}/plan.pdf", get(handlers::plan::plan_pdf))
        .route("/patients/record/{reference}/plan/linked", post(handlers::plan::link_plan))
        .route("/patients/record/{reference}/plan/print", get(handlers::plan::plan_print))
        .route("/tasks", get(handlers::plan::tasks_page).post(handlers::plan::complete_task))
        .route("/prepare", get(handlers::online::sign_in_page).post(handlers::online::sign_in))
        .route("/prepare/letter", get(handlers::online::letter_page))
        .route("/prepare/letter.pdf", get(handlers::online::letter_pdf))
        .route("/prepare/agenda", get(handlers::online::agenda_page).post(handlers::online::save_agenda))
        .route("/prepare/sign-out", post(handlers::online::sign_out))
        .route("/prepare/plan", get(handlers::online::plan_page))
        .route("/prepare/plan/progress", post(handlers::online::save_progress))
        .route("/prepare/check-in", get(handlers::online::check_in_page).post(handlers::online::answer_check_in))
        .route("/prepare/survey", get(handlers::online::survey_page).post(handlers::online::answer_survey))
        .route("/check-ins", get(handlers::check_ins::check_ins))
        .route("/check-ins/follow-up", post(handlers::check_ins::complete_follow_up))
        .route("/check-ins/call", post(handlers::check_ins::record_call))
        .route("/prepare/sharing", get(handlers::online::sharing_page).post(handlers::online::save_sharing))
        .route("/prepare/proxies", get(handlers::online::proxies_page).post(handlers::online::save_proxies))
        .route("/prepare/verify", get(handlers::online::verify_page).post(handlers::online::check_verify_code))
        .route("/prepare/verify/send", post(handlers::online::send_verify_code))
        .route("/prepare/record-access", get(handlers::online::access_page))
        .route("/prepare/plan.pdf", get(handlers::online::plan_pdf))
        .route("/results/unreadable", get(handlers::home::unreadable_results))
        .route("/audit", get(handlers::home::audit_trail))
        .route("/outcomes", get(handlers::outcomes::outcomes))
        .route("/outcomes.csv", get(handlers::outcomes::outcomes_csv))
        .route("/worklist", get(handlers::cycle::worklist))
        .route("/worklist/invite", post(handlers::cycle::invite))
        .route("/triage", get(handlers::cycle::triage))
        .route("/triage/action", post(handlers::cycle::record_action))
        .route("/triage/duty", post(handlers::cycle::take_duty))
        .route("/shared", get(handlers::shared::search_form).post(handlers::shared::search))
        .route("/shared/break-glass", post(handlers::shared::break_glass))
        .route("/shared/plan/{reference}", get(handlers::shared::plan))
        .route("/privacy/break-glass", get(handlers::shared::reviews).post(handlers::shared::review))
        .route("/auth/token", post(handlers::fhir::token))
        .route("/fhir/metadata", get(handlers::fhir::metadata))
        .route("/fhir/Patient", get(handlers::fhir::search_patients_by_get))
        .route("/fhir/Patient/_search", post(handlers::fhir::search_patients))
        .route("/fhir/Patient/{id}", get(handlers::fhir::read_patient))
        .route("/fhir/Patient/$break-glass", post(handlers::fhir::break_glass))
        .route("/fhir/Patient/{id}/$everything", get(handlers::fhir::everything).post(handlers::fhir::everything))
        .route("/fhir/Patient/{id}/$gp-record", get(handlers::fhir::gp_record))
        .route("/fhir/Bundle/{id}/$filed", post(handlers::fhir::gp_filed))
        .route("/fhir/CarePlan/{id}/_history", get(handlers::fhir::care_plan_history))
        .route("/fhir/CarePlan/{id}/_history/{version}", get(handlers::fhir::care_plan_version))
        .route("/fhir/Binary/{id}", get(handlers::fhir::binary))
        .route("/fhir/_page/{token}", get(handlers::fhir::next_page))
        .route("/fhir/$export", get(handlers::fhir::export))
        .route("/fhir/$export-status/{id}", get(handlers::fhir::export_status))
        .route("/fhir/$export-file/{id}/{file}", get(handlers::fhir::export_file))
        .route("/fhir/{resource_type}", get(handlers::fhir::search_by_get).post(handlers::fhir::create))
        .route("/fhir/{resource_type}/_search", post(handlers::fhir::search_by_post))
        .route("/fhir/{resource_type}/{id}", get(handlers::fhir::read).put(handlers::fhir::update))
        .route("/static/concord.mjs", get(handlers::system::script))
        .route("/static/print.css", get(handlers::system::print_css))
        .route("/healthz", get(handlers::system::healthz))
        .route("/readyz", get(handlers::system::readyz))
        .merge(assets)
        .fallback(handlers::system::not_found)
        .method_not_allowed_fallback(handlers::system::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(from_fn(security::reject_cross_origin))
        .layer(from_fn_with_state(state.clone(), error::render_error_pages))
        .layer(from_fn_with_state(state.clone(), security::request_context))
        .with_state(state)
}

/// Serves the router on `listener` until ctrl-c (or SIGTERM), letting requests in flight finish.
/// Client addresses are passed to the handlers for the per-address sign-in rate limit.
pub async fn serve(concord: Concord, config: WebConfig, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = router(concord, config);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
