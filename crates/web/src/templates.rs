//! Page templates (askama, in `templates/`) and the view data they show. Every page extends
//! `base.html`, a re-implementation of the nhsuk-frontend page template; components live as
//! macros in `components.html`, mirroring the upstream markup and class names (checked against the
//! package's own fixtures in `tests/nhsuk_fixtures.rs`).

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use concord_domain::access::Permission;

use crate::document::BlockView;
use crate::error::{ErrorPage, PageError};
use crate::security::RequestContext;
use crate::session::SignedIn;
use crate::views::Sparkline;

/// The nhsuk-frontend release whose versioned CSS and JavaScript the pages load.
pub(crate) const NHSUK_FRONTEND_VERSION: &str = "10.6.1";

/// Renders a template into an HTML string.
pub(crate) fn render(template: &impl Template) -> Result<String, askama::Error> {
    template.render()
}

/// Renders a page, or the internal error page if the template fails.
pub(crate) fn page(template: &impl Template) -> Result<Response, PageError> {
    Ok(Html(render(template)?).into_response())
}

/// What every page needs: title, nonce, the synthetic-data banner, the signed-in account.
pub(crate) struct Layout {
    pub title: String,
    /// The page shows validation errors: the title starts "Error: ".
    pub has_errors: bool,
    pub nonce: String,
    pub synthetic: bool,
    pub account: Option<Account>,
    pub navigation: Vec<NavItem>,
    pub nhsuk_version: &'static str,
}

pub(crate) struct Account {
    pub name: String,
    pub role: &'static str,
    pub csrf_token: String,
}

pub(crate) struct NavItem {
    pub href: &'static str,
    pub text: &'static str,
    pub current: bool,
}

impl Layout {
    pub(crate) fn new(context: &RequestContext, synthetic: bool, signed_in: Option<&SignedIn>, title: &str) -> Self {
        let mut navigation = Vec::new();
        if let Some(signed_in) = signed_in {
            let role = signed_in.staff.role;
            navigation.push(NavItem { href: "/", text: "Home", current: false });
            if role.permits(Permission::ViewPatientRecord) {
                navigation.push(NavItem { href: "/patients", text: "Find a patient", current: false });
            }
            if role.permits(Permission::ViewPracticeLists) {
                navigation.push(NavItem { href: "/worklist", text: "Worklist", current: false });
            }
            if role.permits(Permission::ViewPatientRecord) {
                navigation.push(NavItem { href: "/triage", text: "Triage", current: false });
                navigation.push(NavItem { href: "/check-ins", text: "Check-ins", current: false });
            }
            if role.permits(Permission::ViewPracticeLists) && signed_in.staff.organisation.is_some() {
                navigation.push(NavItem { href: "/clinics", text: "Clinics", current: false });
            }
            if role.permits(Permission::ManageCycle) && role == concord_domain::access::StaffRole::PracticeAdmin {
                navigation.push(NavItem { href: "/letters", text: "Letters", current: false });
            }
            if role.permits(Permission::ViewAggregates) {
                navigation.push(NavItem { href: "/outcomes", text: "Outcomes", current: false });
            }
            if role.permits(Permission::ViewAudit) {
                navigation.push(NavItem { href: "/audit", text: "Audit trail", current: false });
            }
            if role.permits(Permission::ReviewBreakGlass) {
                navigation.push(NavItem { href: "/privacy/break-glass", text: "Break-glass", current: false });
            }
            if role.permits(Permission::ViewSharedPlans) {
                navigation.push(NavItem { href: "/shared", text: "Shared care plans", current: false });
            }
        }
        Self {
            title: title.to_owned(),
            has_errors: false,
            nonce: context.nonce.clone(),
            synthetic,
            account: signed_in.map(|signed_in| Account {
                name: signed_in.staff.display_name.clone(),
                role: signed_in.staff.role.title(),
                csrf_token: signed_in.csrf_token.clone(),
            }),
            navigation,
            nhsuk_version: NHSUK_FRONTEND_VERSION,
        }
    }

    /// Marks the navigation item for `href` as the current page.
    pub(crate) fn current(mut self, href: &str) -> Self {
        for item in &mut self.navigation {
            item.current = item.href == href;
        }
        self
    }

    pub(crate) fn with_errors(mut self, has_errors: bool) -> Self {
        self.has_errors = has_errors;
        self
    }
}

/// An entry of the error summary, linking to the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub href: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorTemplate {
    pub layout: Layout,
    pub heading: &'static str,
    pub paragraphs: Vec<String>,
    pub sign_in_link: bool,
}

impl ErrorTemplate {
    pub(crate) fn new(layout: Layout, page: &ErrorPage) -> Self {
        Self {
            layout,
            heading: page.title(),
            paragraphs: page.paragraphs(),
            sign_in_link: matches!(page, ErrorPage::Csrf | ErrorPage::TooManyRequests { .. }),
        }
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub(crate) struct SignInTemplate {
    pub layout: Layout,
    pub errors: Vec<FieldError>,
    pub username: String,
    pub username_error: String,
    pub password_error: String,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
pub(crate) struct SignedOutTemplate {
    pub layout: Layout,
}

/// Register counts as shown: register name and the count in words or figures.
pub(crate) struct CountsView {
    pub caption: String,
    pub description: String,
    pub rows: Vec<(String, String)>,
    pub suppressed: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomeTemplate {
    pub layout: Layout,
    pub name: String,
    pub role: &'static str,
    /// The quick search box (roles that open records), with the session's CSRF token.
    pub search_csrf: Option<String>,
    pub unreadable: Option<usize>,
    /// Open urgent red flags (roles that open records).
    pub urgent_flags: Option<i64>,
    pub worklist: bool,
    pub counts: Option<CountsView>,
    pub audit: bool,
    pub administration: bool,
    /// Partner clinicians: the link to shared plans.
    pub shared_plans: bool,
    /// The privacy officer: break-glass accesses waiting for review.
    pub break_glass_waiting: Option<usize>,
    /// Staff who see practice lists: messages that could not be delivered.
    pub undelivered: Option<usize>,
    /// Staff who open records: open follow-ups from check-ins, and how many are overdue.
    pub follow_ups: Option<(usize, usize)>,
}

/// The search form as entered, with its errors (empty when none).
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchFormView {
    pub name: String,
    pub nhs_number: String,
    pub day: String,
    pub month: String,
    pub year: String,
    pub name_error: String,
    pub nhs_number_error: String,
    pub date_error: String,
    pub day_error: bool,
    pub month_error: bool,
    pub year_error: bool,
}

pub(crate) struct ListingRow {
    pub href: String,
    pub name: String,
    pub nhs_number: String,
    pub birth_date: String,
    pub sex: &'static str,
    pub postcode: String,
    pub deceased: bool,
}

pub(crate) struct ResultsView {
    pub rows: Vec<ListingRow>,
    pub truncated: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
pub(crate) struct SearchTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub form: SearchFormView,
    pub errors: Vec<FieldError>,
    pub results: Option<ResultsView>,
}

pub(crate) struct PatientView {
    pub name: String,
    pub nhs_number: String,
    pub nhs_number_status: String,
    pub birth_date: String,
    pub age: String,
    pub sex: &'static str,
    pub address: Vec<String>,
    pub practice: String,
    pub registered_from: String,
    pub registered_until: String,
    pub death_date: String,
    pub phone: String,
    pub mobile: String,
    pub email: String,
    pub preferred_channel: String,
    pub language: String,
    pub interpreter_needed: bool,
    pub needs: Vec<String>,
}

pub(crate) struct ResultView {
    pub name: String,
    pub latest: String,
    pub date: String,
    pub earlier: Vec<String>,
    pub trend: String,
    pub sparkline: Option<Sparkline>,
}

pub(crate) struct UnreadableView {
    pub term: String,
    pub date: String,
    pub reason: String,
}

pub(crate) struct ConditionView {
    pub term: String,
    pub onset: String,
    pub resolved: String,
}

pub(crate) struct MedicationView {
    pub term: String,
    pub dosage: String,
    pub status: String,
    pub authored: String,
}

pub(crate) struct EncounterView {
    pub date: String,
    pub setting: String,
    pub clinician: String,
    pub status: String,
    pub kind: String,
}

#[derive(Template)]
#[template(path = "record.html")]
pub(crate) struct RecordTemplate {
    pub layout: Layout,
    /// The information-gathering visit form, for roles that record visits.
    pub visit_href: Option<String>,
    /// The results review (professional preparation), for roles that open records.
    pub review_href: Option<String>,
    pub preparation_href: Option<String>,
    pub conversation_href: Option<String>,
    pub plan_href: Option<String>,
    /// Booking either contact, for roles that manage the cycle.
    pub book_href: Option<String>,
    pub patient: PatientView,
    pub registers: Vec<String>,
    pub unreadable: Vec<UnreadableView>,
    pub results: Vec<ResultView>,
    pub active_conditions: Vec<ConditionView>,
    pub resolved_conditions: Vec<ConditionView>,
    pub medications: Vec<MedicationView>,
    /// "3 March 2026" (or several dates) the medication list was extracted.
    pub medications_as_at: String,
    pub encounters: Vec<EncounterView>,
    pub more_encounters: usize,
    pub sparkline_width: f64,
    pub sparkline_height: f64,
}

pub(crate) struct RejectionView {
    pub result: String,
    pub reason: String,
    pub location: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "unreadable.html")]
pub(crate) struct UnreadableTemplate {
    pub layout: Layout,
    pub rows: Vec<RejectionView>,
}

pub(crate) struct AuditRow {
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub entity: String,
    pub detail: String,
    pub patient: String,
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub(crate) struct AuditTemplate {
    pub layout: Layout,
    pub rows: Vec<AuditRow>,
    pub limit: i64,
}

/// An option of a select box.
pub(crate) struct Option_ {
    pub value: String,
    pub text: String,
    pub selected: bool,
}

/// What a bulk action did.
pub(crate) struct BulkOutcome {
    pub done: usize,
    /// One line per person the action was refused for, with the reason.
    pub refused: Vec<String>,
    pub nothing_selected: bool,
    /// Bookings rather than invitations.
    pub booking: bool,
}

pub(crate) struct WorklistRowView {
    pub reference: String,
    /// The patient summary (empty for roles that do not open records).
    pub href: String,
    /// Booking (empty for roles that do not book).
    pub book_href: String,
    pub name: String,
    pub nhs_number: String,
    pub birth_date: String,
    pub conditions: String,
    pub stage: String,
    pub risk: i64,
    pub risk_reasons: String,
    pub due: Vec<String>,
    pub open_flags: i64,
    pub invitations: i64,
}

#[derive(Template)]
#[template(path = "worklist.html")]
pub(crate) struct WorklistTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub can_invite: bool,
    pub registers: Vec<Option_>,
    pub stages: Vec<Option_>,
    /// Who the conversation is assigned to.
    pub professionals: Vec<Option_>,
    pub rows: Vec<WorklistRowView>,
    pub outcome: Option<BulkOutcome>,
    pub page: u32,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub filtered: bool,
}

pub(crate) struct FlagView {
    pub id: String,
    /// The person's opaque reference in this session.
    pub patient: String,
    pub severity: String,
    pub severity_label: &'static str,
    pub severity_class: &'static str,
    pub rule: String,
    pub value: String,
    pub result_date: String,
    pub recommended: String,
    pub raised: String,
    pub escalated: bool,
    /// The duty clinician the flag went to (urgent flags).
    pub duty: String,
    pub error: String,
}

pub(crate) struct TriageEntryView {
    pub href: String,
    pub name: String,
    pub nhs_number: String,
    pub flags: Vec<FlagView>,
}

#[derive(Template)]
#[template(path = "triage.html")]
pub(crate) struct TriageTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub can_act: bool,
    /// Today's duty clinician at the practice (empty when nobody is named).
    pub duty: String,
    /// The practice this account belongs to has a duty rota (practice accounts only).
    pub has_practice: bool,
    /// "N people with urgent red flags.", or empty when none.
    pub urgent: String,
    pub entries: Vec<TriageEntryView>,
    pub errors: Vec<FieldError>,
    pub recorded: Option<String>,
    /// People whose visit's results wait for review, longest waiting first.
    pub to_review: Vec<ReviewQueueView>,
}

/// One person waiting for their results to be reviewed.
pub(crate) struct ReviewQueueView {
    pub name: String,
    pub review_href: String,
    pub nhs_number: String,
    pub tests_done: String,
    /// "All in", or "Awaited: HbA1c, urine ACR".
    pub laboratory: String,
    pub complete: bool,
    pub overdue: bool,
}

/// One field of the visit form as shown.
pub(crate) struct VisitFieldView {
    pub id: String,
    pub name: String,
    pub label: String,
    pub hint: String,
    pub unit: String,
    pub value: String,
    pub error: String,
    /// "number", "choice" or "done".
    pub kind: &'static str,
    /// (value, label, checked) for choices.
    pub options: Vec<(String, String, bool)>,
}

pub(crate) struct VisitSectionView {
    pub name: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub last_done: String,
    pub fields: Vec<VisitFieldView>,
    pub note: String,
    /// PHQ-9 questions 3 to 9: asked when the first two score 3 or more.
    pub phq9: bool,
}

#[derive(Template)]
#[template(path = "visit.html")]
pub(crate) struct VisitTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub action: String,
    pub record_href: String,
    pub name: String,
    pub nhs_number: String,
    pub sections: Vec<VisitSectionView>,
    pub errors: Vec<FieldError>,
}

#[derive(Template)]
#[template(path = "visit_saved.html")]
pub(crate) struct VisitSavedTemplate {
    pub layout: Layout,
    pub record_href: String,
    pub name: String,
    pub results_saved: usize,
    pub risk_of_harm: bool,
    pub urgent_flags: Vec<String>,
    pub stage: String,
    /// Names of the checklist items whose samples went to the laboratory.
    pub samples_sent: Vec<String>,
}

/// One laboratory sample from the visit on the review page.
pub(crate) struct ReviewSampleView {
    pub name: String,
    /// "HbA1c 53 mmol/mol (20 November 2026)", or "Awaited: sent 3 days ago", or the overdue text.
    pub text: String,
    pub arrived: bool,
    pub overdue: bool,
}

pub(crate) struct ReviewResultView {
    pub name: String,
    /// "53 mmol/mol (3 March 2026)", newest first.
    pub values: Vec<String>,
    pub target: String,
    pub off_target: bool,
}

pub(crate) struct ReviewTargetView {
    pub id: String,
    pub name: String,
    pub label: String,
    pub unit: String,
    pub value: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "review.html")]
pub(crate) struct ReviewTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub action: String,
    pub record_href: String,
    pub name: String,
    pub stage: String,
    /// "Information-gathering visit on 1 December 2026; 3 results have arrived since." (or empty)
    pub visit: String,
    pub samples: Vec<ReviewSampleView>,
    /// Names of the samples still awaited ("HbA1c and urine ACR"), empty when none.
    pub awaited: String,
    pub without_awaited: bool,
    pub awaited_error: String,
    pub can_review: bool,
    pub reviewed_by: String,
    pub results: Vec<ReviewResultView>,
    pub open_flags: Vec<String>,
    pub comment: String,
    pub comment_error: String,
    /// (id, label, checked).
    pub professionals: Vec<(String, String, bool)>,
    pub assign_error: String,
    pub targets: Vec<ReviewTargetView>,
    pub flags_error: String,
    pub errors: Vec<FieldError>,
    pub done: Option<String>,
}

pub(crate) struct ScheduleRowView {
    pub time: String,
    pub minutes: i64,
    pub purpose: String,
    pub clinician: String,
    pub state: &'static str,
    /// (name, record link) of the person booked.
    pub person: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "clinics.html")]
pub(crate) struct ClinicsTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub day: String,
    pub previous: String,
    pub next: String,
    pub rows: Vec<ScheduleRowView>,
    pub can_create: bool,
    pub errors: Vec<FieldError>,
    pub created: Option<String>,
    pub purpose: String,
    pub role: String,
    pub clinician: String,
    pub date: String,
    pub first: String,
    pub last: String,
    pub minutes: String,
    /// The week from the day shown, for sending its conversations' preparation letters.
    pub week_from: String,
    pub week_to: String,
    pub week_label: String,
}

pub(crate) struct SlotChoiceView {
    pub id: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "book.html")]
pub(crate) struct BookTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub action: String,
    pub record_href: String,
    pub name: String,
    pub stage: String,
    /// The contact offered, or empty when the stage allows no booking.
    pub purpose: String,
    pub slots: Vec<SlotChoiceView>,
    pub errors: Vec<FieldError>,
    pub booked: Option<String>,
}

pub(crate) struct LetterRowView {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub created: String,
    pub leaflet: bool,
    /// Where to print it from: the letter page, or a preparation letter's PDF.
    pub href: String,
    pub pdf: bool,
}

#[derive(Template)]
#[template(path = "letters.html")]
pub(crate) struct LettersTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub rows: Vec<LetterRowView>,
    pub done: Option<String>,
}

#[derive(Template)]
#[template(path = "letter.html")]
pub(crate) struct LetterTemplate {
    pub layout: Layout,
    pub subject: String,
    pub paragraphs: Vec<String>,
    /// The leaflet's paragraphs, when it goes with the letter.
    pub leaflet: Vec<String>,
}

pub(crate) struct PreparationResultView {
    /// For element ids (`reason-{id}`).
    pub id: String,
    pub observable: String,
    pub name: String,
    pub latest: String,
    /// "Withheld by … on …: reason".
    pub withheld: Option<String>,
    pub error: String,
}

pub(crate) struct PreparationLetterView {
    pub made: String,
    pub made_by: String,
    pub format: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "preparation.html")]
pub(crate) struct PreparationTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub action: String,
    pub pdf_href: String,
    pub print_href: String,
    pub record_href: String,
    pub name: String,
    pub stage: String,
    /// Why no letter can be made (empty when one can).
    pub blocked: String,
    pub format: String,
    pub can_send: bool,
    pub can_withhold: bool,
    pub results: Vec<PreparationResultView>,
    /// A refusal not tied to one result (e.g. sending).
    pub problem: String,
    pub errors: Vec<FieldError>,
    pub letters: Vec<PreparationLetterView>,
    pub document: Option<crate::document::DocumentView>,
    pub done: Option<String>,
    /// (question, answer, who wrote it and when).
    pub agenda: Vec<(String, String, String)>,
    pub can_manage: bool,
    pub access_action: String,
    pub codes: Vec<AccessCodeView>,
    pub proxies: Vec<ProxyView>,
    /// (id, label, checked).
    pub bases: Vec<(String, String, bool)>,
    pub proxy_name: String,
    pub relationship: String,
    pub proxy_birth_date: String,
    pub proxy_email: String,
    pub proxy_mobile: String,
    pub basis_note: String,
    pub proxy_name_error: String,
    pub relationship_error: String,
    pub birth_date_error: String,
    pub email_error: String,
    pub mobile_error: String,
    pub basis_error: String,
    pub basis_note_error: String,
    pub proxy_form_open: bool,
}

pub(crate) struct AccessCodeView {
    pub to: String,
    pub issued: String,
    pub state: String,
    /// When it was last used to sign in (empty: never).
    pub used: String,
}

pub(crate) struct ProxyView {
    pub id: String,
    pub name: String,
    pub basis: String,
    pub note: String,
    pub verified: String,
    pub ended: Option<String>,
}

#[derive(Template)]
#[template(path = "preparations_sent.html")]
pub(crate) struct PreparationsSentTemplate {
    pub layout: Layout,
    pub period: String,
    /// ISO date of the first day, for the way back to the clinics page.
    pub day: String,
    pub sent: Vec<String>,
    pub skipped: Vec<(String, String)>,
}

/// A document alone on the page, to print from the browser (and the browser's PDF, which the
/// documents benchmark compares with Concord's own).
#[derive(Template)]
#[template(path = "print.html")]
pub(crate) struct PrintTemplate {
    pub title: String,
    pub language: &'static str,
    pub assets: String,
    pub print_css: String,
    pub nhsuk_version: &'static str,
    pub large: bool,
    pub doc: crate::document::DocumentView,
}

#[derive(Template)]
#[template(path = "prepare_sign_in.html")]
pub(crate) struct PrepareSignInTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub code: String,
    pub day: String,
    pub month: String,
    pub year: String,
    pub code_error: String,
    pub date_error: String,
    pub errors: Vec<FieldError>,
}

#[derive(Template)]
#[template(path = "prepare_letter.html")]
pub(crate) struct PrepareLetterTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub signed_in_as: String,
    /// Why the results are not shown (empty when they are).
    pub held_back: String,
    pub document: Option<crate::document::DocumentView>,
    pub has_pdf: bool,
    pub answered: bool,
    pub nav: PersonNav,
    /// A check-in is waiting for the person's answer.
    pub check_in: bool,
    /// The feedback survey is waiting for them.
    pub survey: bool,
}

/// What the signed-in person (or proxy) may open, for the links on their pages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PersonNav {
    pub letter: bool,
    pub agenda: bool,
    pub plan: bool,
    pub record_access: bool,
    /// The person themselves (not a proxy): they choose who may see their record.
    pub person: bool,
}

impl PersonNav {
    pub fn of(visitor: &concord_app::online::Visitor) -> Self {
        use concord_domain::online_access::ProxyScope;
        Self {
            letter: visitor.may(ProxyScope::Letter),
            agenda: visitor.may(ProxyScope::Agenda),
            plan: visitor.may(ProxyScope::Plan),
            record_access: visitor.may(ProxyScope::RecordAccess),
            person: visitor.proxy.is_none(),
        }
    }
}

pub(crate) struct AgendaFieldView {
    pub id: String,
    pub name: String,
    pub label: String,
    pub value: String,
    pub error: String,
}

pub(crate) struct NeedsAreaView {
    pub id: String,
    pub name: String,
    pub legend: String,
    pub hint: String,
    /// (element id, value, label, checked); the first choice's id is the area's, for error links.
    pub choices: Vec<(String, String, String, bool)>,
    pub error: String,
}

#[derive(Template)]
#[template(path = "prepare_agenda.html")]
pub(crate) struct PrepareAgendaTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub signed_in_as: String,
    pub for_someone: bool,
    pub given_name: String,
    pub prompts: Vec<AgendaFieldView>,
    pub areas: Vec<NeedsAreaView>,
    pub note: String,
    pub note_error: String,
    pub not_watched: Vec<String>,
    pub errors: Vec<FieldError>,
    pub done: Option<String>,
}

pub(crate) struct FieldView {
    pub id: String,
    pub name: String,
    pub label: String,
    pub hint: String,
    pub value: String,
    pub error: String,
    pub multiline: bool,
    /// NHS.UK input width class suffix ("2", "10"), or empty.
    pub width: String,
}

pub(crate) struct GroupView {
    pub legend: String,
    pub fields: Vec<FieldView>,
}

pub(crate) struct ChoiceView {
    pub value: String,
    pub label: String,
    pub checked: bool,
    pub hint: String,
}

#[derive(Template)]
#[template(path = "conversation.html")]
pub(crate) struct ConversationTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub action: String,
    pub record_href: String,
    pub plan_href: Option<String>,
    pub name: String,
    pub stage: String,
    pub minutes: i64,
    pub agenda: Vec<(String, String, String)>,
    pub results: Vec<String>,
    pub flags: Vec<String>,
    pub medicines: Vec<String>,
    pub medicines_as_at: String,
    pub previous: Option<String>,
    pub prompts: Vec<String>,
    pub rulers: Vec<String>,
    pub reflection: Vec<String>,
    pub journey_prompts: Vec<String>,
    pub names: Vec<ChoiceView>,
    pub journeys: Vec<ChoiceView>,
    pub groups: Vec<GroupView>,
    pub services: Vec<ChoiceView>,
    pub service_other: String,
    pub organisations: Vec<ChoiceView>,
    pub share_refused: bool,
    pub sharing_error: String,
    pub based_on: i64,
    pub errors: Vec<FieldError>,
    pub done: Option<String>,
    pub can_record: bool,
}

pub(crate) struct PlanVersionView {
    pub label: String,
    pub href: String,
    pub current: bool,
    pub changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "plan.html")]
pub(crate) struct PlanTemplate {
    pub layout: Layout,
    pub record_href: String,
    pub conversation_href: String,
    pub pdf_href: String,
    pub print_href: String,
    pub name: String,
    pub version: i64,
    pub status: String,
    pub recorded: String,
    pub versions: Vec<PlanVersionView>,
    pub document: crate::document::DocumentView,
    pub linked: Vec<LinkedPlanView>,
    /// The form to record a plan from another service (staff who manage the cycle).
    pub link_form: Option<LinkFormView>,
}

/// A plan from another service, as shown with the person's plan.
pub(crate) struct LinkedPlanView {
    pub title: String,
    pub kind: &'static str,
    pub service: String,
    pub status: String,
    pub period: String,
    pub summary: Vec<String>,
    /// Where it came from ("Received from the service's system").
    pub source: String,
}

impl LinkedPlanView {
    pub(crate) fn of(row: &concord_store::LinkedPlanRow) -> Self {
        let plan = &row.plan;
        let period = match (&plan.period_start, &plan.period_end) {
            (Some(start), Some(end)) => {
                format!("{} to {}", crate::views::stored_time(start), crate::views::stored_time(end))
            }
            (Some(start), None) => format!("from {}", crate::views::stored_time(start)),
            (None, Some(end)) => format!("until {}", crate::views::stored_time(end)),
            (None, None) => String::new(),
        };
        Self {
            title: plan.title.clone(),
            kind: plan.kind_words(),
            service: plan.service.clone(),
            status: plan.status.clone(),
            period,
            summary: plan.summary.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect(),
            source: if row.received_via == "api" {
                format!("Received from the service's system, version {}.", row.version)
            } else {
                format!("Recorded by {} from a copy sent to the practice.", row.recorded_by)
            },
        }
    }
}

/// The form to record a plan from another service.
pub(crate) struct LinkFormView {
    pub action: String,
    pub csrf_token: String,
    /// (value, label, chosen).
    pub kinds: Vec<(&'static str, &'static str, bool)>,
    pub service: String,
    pub title: String,
    pub summary: String,
    pub period_start: String,
    pub errors: Vec<FieldError>,
    pub saved: bool,
}

impl LinkFormView {
    pub(crate) fn error(&self, field: &str) -> String {
        self.errors
            .iter()
            .find(|error| error.href == format!("#linked-{field}"))
            .map(|error| error.text.clone())
            .unwrap_or_default()
    }
}

pub(crate) struct TaskView {
    pub id: String,
    pub name: String,
    pub nhs_number: String,
    pub description: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "tasks.html")]
pub(crate) struct TasksTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub can_complete: bool,
    pub tasks: Vec<TaskView>,
    pub done: Option<String>,
}

#[derive(Template)]
#[template(path = "prepare_plan.html")]
pub(crate) struct PreparePlanTemplate {
    pub layout: Layout,
    pub signed_in_as: String,
    pub csrf_token: String,
    pub document: Option<crate::document::DocumentView>,
    pub version: String,
    /// Whether this is the newest version (progress is recorded against it).
    pub newest: bool,
    /// (version number, "Version 2, agreed 3 March 2026", is the one shown).
    pub versions: Vec<(i64, String, bool)>,
    /// (index, goal words, progress words or empty, note, when and by whom).
    pub goals: Vec<(usize, String, String, String, String)>,
    /// (code, label) of the progress choices.
    pub progress_choices: Vec<(&'static str, &'static str)>,
    pub linked: Vec<LinkedPlanView>,
    pub saved: bool,
    /// The error summary: the same problem, linked to its field.
    pub errors: Vec<FieldError>,
}

#[derive(Template)]
#[template(path = "prepare_sharing.html")]
pub(crate) struct PrepareSharingTemplate {
    pub layout: Layout,
    pub signed_in_as: String,
    pub csrf_token: String,
    pub has_plan: bool,
    /// (ODS code, name, chosen).
    pub organisations: Vec<(String, String, bool)>,
    /// Names of the organisations chosen now.
    pub shared_with: Vec<String>,
    pub refused: bool,
    pub verified: bool,
    pub saved: bool,
    pub error: String,
    /// The error summary: the same problem, linked to its field.
    pub errors: Vec<FieldError>,
}

/// One thing a proxy may be allowed to do: (scope, label, allowed).
pub(crate) type ScopeChoice = (&'static str, &'static str, bool);

#[derive(Template)]
#[template(path = "prepare_proxies.html")]
pub(crate) struct PrepareProxiesTemplate {
    pub layout: Layout,
    pub signed_in_as: String,
    pub csrf_token: String,
    /// (proxy id, "Ann Okafor (daughter)", [(scope, label, allowed)]).
    pub proxies: Vec<(String, String, Vec<ScopeChoice>)>,
    pub verified: bool,
    pub saved: bool,
    /// The error summary: the same problem, linked to its field.
    pub errors: Vec<FieldError>,
}

#[derive(Template)]
#[template(path = "prepare_verify.html")]
pub(crate) struct PrepareVerifyTemplate {
    pub layout: Layout,
    pub signed_in_as: String,
    pub csrf_token: String,
    /// Where to go after: `sharing` or `proxies`.
    pub next: String,
    /// "email" or "text message"; empty when the GP record has neither.
    pub channel: String,
    pub sent: bool,
    pub error: String,
    /// The error summary: the same problem, linked to its field.
    pub errors: Vec<FieldError>,
}

#[derive(Template)]
#[template(path = "prepare_access.html")]
pub(crate) struct PrepareAccessTemplate {
    pub layout: Layout,
    pub signed_in_as: String,
    /// (when, who and from where, what).
    pub lines: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "shared_search.html")]
pub(crate) struct SharedSearchTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub nhs_number: String,
    pub searched: bool,
    /// (link to the plan, "Name, born …", why the organisation may see it).
    pub found: Option<(String, String, String)>,
    pub errors: Vec<FieldError>,
    /// The errors by field, for the inline messages.
    pub nhs_error: String,
    pub reason_error: String,
    pub reason: String,
    pub break_glass_minutes: i64,
}

#[derive(Template)]
#[template(path = "shared_plan.html")]
pub(crate) struct SharedPlanTemplate {
    pub layout: Layout,
    pub person: String,
    pub version: String,
    /// The reason given, when this is break-glass access.
    pub break_glass: Option<String>,
    pub document: crate::document::DocumentView,
    pub linked: Vec<LinkedPlanView>,
}

pub(crate) struct BreakGlassView {
    pub id: String,
    pub person: String,
    pub nhs_number: String,
    pub organisation: String,
    pub who: String,
    pub reason: String,
    pub when: String,
    pub until: String,
    pub note_error: String,
}

#[derive(Template)]
#[template(path = "break_glass_review.html")]
pub(crate) struct BreakGlassReviewTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub entries: Vec<BreakGlassView>,
    pub done: Option<String>,
    pub errors: Vec<FieldError>,
}

pub(crate) struct FailedMessageView {
    pub id: String,
    pub name: String,
    pub nhs_number: String,
    pub subject: String,
    pub channel: &'static str,
    pub created: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "failed_messages.html")]
pub(crate) struct FailedMessagesTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub can_act: bool,
    pub messages: Vec<FailedMessageView>,
    pub done: Option<String>,
}

#[derive(Template)]
#[template(path = "prepare_check_in.html")]
pub(crate) struct PrepareCheckInTemplate {
    pub layout: Layout,
    pub signed_in_as: String,
    pub csrf_token: String,
    pub not_watched: &'static str,
    /// (index, goal words).
    pub goals: Vec<(usize, String)>,
    pub choices: Vec<(&'static str, &'static str)>,
    pub thanks: Option<String>,
    pub errors: Vec<FieldError>,
}

pub(crate) struct FollowUpView {
    pub id: String,
    pub name: String,
    pub nhs_number: String,
    pub reason: String,
    pub due_by: String,
    /// Its response date has passed.
    pub overdue: bool,
    pub owner: &'static str,
    pub note: String,
}

pub(crate) struct CallView {
    pub id: String,
    pub name: String,
    pub nhs_number: String,
    pub phone: String,
    pub due_on: String,
    /// The channel an unanswered check-in was sent by ("email", "text message"); None for phone.
    pub unanswered: Option<&'static str>,
    pub goals: Vec<(usize, String)>,
    /// Their feedback survey is waiting: asked on the call too.
    pub survey: bool,
}

#[derive(Template)]
#[template(path = "check_ins.html")]
pub(crate) struct CheckInsTemplate {
    pub layout: Layout,
    pub csrf_token: String,
    pub can_act: bool,
    pub follow_ups: Vec<FollowUpView>,
    pub calls: Vec<CallView>,
    pub choices: Vec<(&'static str, &'static str)>,
    pub questions: Vec<SurveyQuestionView>,
    pub done: Option<String>,
    pub errors: Vec<FieldError>,
}

/// A survey question as shown: (id, wording, [(code, words)]).
pub(crate) type SurveyQuestionView = (&'static str, &'static str, Vec<(&'static str, &'static str)>);

#[derive(Template)]
#[template(path = "prepare_survey.html")]
pub(crate) struct PrepareSurveyTemplate {
    pub layout: Layout,
    pub signed_in_as: String,
    pub csrf_token: String,
    /// How the occasion is named to the person; empty when no survey is waiting.
    pub occasion: &'static str,
    pub questions: Vec<SurveyQuestionView>,
    pub thanks: bool,
    pub errors: Vec<FieldError>,
}

/// A table of units (practices, networks or the region), one row each.
pub(crate) struct TableView {
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<TableRowView>,
}

pub(crate) struct TableRowView {
    pub name: String,
    pub code: String,
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "outcomes.html")]
pub(crate) struct OutcomesTemplate {
    pub layout: Layout,
    pub level: String,
    pub view: String,
    /// (value, label, current).
    pub levels: Vec<(&'static str, &'static str, bool)>,
    pub views: Vec<(&'static str, &'static str, bool)>,
    pub tables: Vec<TableView>,
    pub suppression_rule: &'static str,
    pub regression_note: &'static str,
    pub trends: Vec<crate::document::DocumentView>,
}
