//! The home page (what each role may see and do), the unreadable-results list and the audit trail.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use concord_app::AppError;
use concord_app::record::StaffMember;
use concord_app::registers::RegisterCounts;
use concord_domain::access::Permission;

use crate::error::PageError;
use crate::handlers::today;
use crate::security::RequestContext;
use crate::session::SignedIn;
use crate::state::AppState;
use crate::templates::{
    AuditRow, AuditTemplate, CountsView, HomeTemplate, Layout, RejectionView, UnreadableTemplate, page,
};
use crate::views;

/// Audit events shown on the audit trail page.
const AUDIT_EVENTS_SHOWN: i64 = 200;
/// Aggregate counts below this are suppressed for roles that may only see aggregates.
const SMALL_NUMBER: u64 = 5;

/// What the home page shows is decided by permissions, and each part is checked with the
/// application's rule before it is computed.
pub(crate) async fn home(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let staff = &signed_in.staff;
    let role = staff.role;
    let opens_records = staff.require(Permission::ViewPatientRecord).is_ok();
    let unreadable = if opens_records {
        Some(state.concord.store.unreviewed_red_flag_rejections().await.map_err(AppError::from)?.len())
    } else {
        None
    };
    let urgent_flags = if opens_records {
        Some(state.concord.store.open_flag_count("urgent").await.map_err(AppError::from)?)
    } else {
        None
    };
    let aggregates_only = role.permits(Permission::ViewAggregates)
        && !role.permits(Permission::ViewPracticeLists)
        && !role.permits(Permission::ViewAudit)
        && !role.permits(Permission::ManageUsers);
    let counts = if staff.require(Permission::ViewPracticeLists).is_ok() {
        Some(practice_counts(&state, staff).await?)
    } else if aggregates_only {
        staff.require(Permission::ViewAggregates)?;
        Some(aggregate_counts(&state).await?)
    } else {
        None
    };
    let undelivered = if staff.require(Permission::ViewPracticeLists).is_ok() {
        Some(state.concord.store.failed_messages(staff.organisation.as_deref()).await.map_err(AppError::from)?.len())
    } else {
        None
    };
    let follow_ups = if opens_records {
        // Counts only, as for undelivered messages: no one's name is read here.
        let rows = state.concord.store.open_follow_ups(staff.organisation.as_deref()).await.map_err(AppError::from)?;
        let today = time::OffsetDateTime::now_utc().date();
        let overdue = rows
            .iter()
            .filter(|row| {
                time::Date::parse(&row.due_by, &time::format_description::well_known::Iso8601::DATE)
                    .is_ok_and(|due| concord_domain::check_in::follow_up_overdue(due, today))
            })
            .count();
        Some((rows.len(), overdue))
    } else {
        None
    };
    let break_glass_waiting = if staff.require(Permission::ReviewBreakGlass).is_ok() {
        Some(state.concord.store.break_glass_list(true, 1000).await.map_err(AppError::from)?.len())
    } else {
        None
    };
    let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), "Home").current("/");
    page(&HomeTemplate {
        layout,
        name: staff.display_name.clone(),
        role: role.title(),
        search_csrf: opens_records.then(|| signed_in.csrf_token.clone()),
        unreadable,
        urgent_flags,
        worklist: staff.require(Permission::ViewPracticeLists).is_ok(),
        counts,
        audit: staff.require(Permission::ViewAudit).is_ok(),
        administration: staff.require(Permission::ManageUsers).is_ok() || staff.require(Permission::ManageData).is_ok(),
        shared_plans: staff.require(Permission::ViewSharedPlans).is_ok(),
        break_glass_waiting,
        undelivered,
        follow_ups,
    })
}

fn register_name(state: &AppState, id: &str) -> String {
    state.concord.catalogue.register(id).map_or_else(|| id.to_owned(), |register| register.name.clone())
}

async fn practice_counts(state: &AppState, staff: &StaffMember) -> Result<CountsView, PageError> {
    let practice = staff.organisation.as_deref();
    let counts = state.register_counts(today(), practice).await?;
    let scope = practice.map_or_else(|| "all practices in this database".to_owned(), |code| format!("practice {code}"));
    Ok(CountsView {
        caption: "People on each long-term condition register".into(),
        description: describe(&counts, &scope),
        rows: counts.counts.iter().map(|(id, count)| (register_name(state, id), count.to_string())).collect(),
        suppressed: false,
    })
}

/// Whole-database figures with small numbers suppressed: aggregates must not identify anyone.
async fn aggregate_counts(state: &AppState) -> Result<CountsView, PageError> {
    let counts = state.register_counts(today(), None).await?;
    Ok(CountsView {
        caption: "People on each long-term condition register, all practices".into(),
        description: describe(&counts, "all practices in this database"),
        rows: counts
            .counts
            .iter()
            .map(|(id, count)| {
                let shown =
                    if (1..SMALL_NUMBER).contains(count) { "fewer than 5".to_owned() } else { count.to_string() };
                (register_name(state, id), shown)
            })
            .collect(),
        suppressed: true,
    })
}

fn describe(counts: &RegisterCounts, scope: &str) -> String {
    format!(
        "Counted on {} for {scope}, from {} patient records.",
        views::long_date(counts.on),
        counts.patients_considered
    )
}

/// Results that could raise a red flag but could not be read at import, for clinicians to check.
pub(crate) async fn unreadable_results(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let rows = state
        .concord
        .unreadable_results(&signed_in.staff, Some(context.request_id.clone()))
        .await?
        .into_iter()
        .map(|rejection| RejectionView {
            result: rejection
                .red_flag
                .map(|concept| concept.term)
                .filter(|term| !term.is_empty())
                .unwrap_or_else(|| rejection.resource_type.unwrap_or_else(|| "Result".into())),
            reason: rejection.reason,
            location: rejection.location,
            at: views::stored_time(&rejection.at),
        })
        .collect();
    let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), "Results that could not be read");
    page(&UnreadableTemplate { layout, rows })
}

/// The most recent audit events, for the privacy officer.
pub(crate) async fn audit_trail(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let events =
        state.concord.audit_trail(&signed_in.staff, AUDIT_EVENTS_SHOWN, Some(context.request_id.clone())).await?;
    let rows = events
        .into_iter()
        .map(|event| AuditRow {
            at: views::stored_time(&event.at),
            actor: event.actor,
            role: event.actor_role,
            action: views::audit_action(&event.action),
            entity: event.entity,
            detail: event.detail,
            patient: event.patient_id.unwrap_or_default(),
            request_id: event.request_id.unwrap_or_default(),
        })
        .collect();
    let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), "Audit trail").current("/audit");
    page(&AuditTemplate { layout, rows, limit: AUDIT_EVENTS_SHOWN })
}
