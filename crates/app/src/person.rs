//! The person's own controls online: who may see their plan (their consent to share), what each
//! of their proxies may do, and their progress on their goals. Changing who may see their record
//! needs the stronger identity check (a code sent to the email address or mobile number on their
//! GP record), and only the person may do it, never a proxy.
//!
//! Invariants: a consent change is a new version of the plan (recorded by the person, saying what
//! changed), so it takes effect at once wherever access is decided, and every earlier consent
//! stays readable; the step-up code is kept as a digest; nothing here is open to a proxy unless
//! the person allowed it.

use base64::Engine as _;
use concord_domain::audit::AuditAction;
use concord_domain::online_access::{
    GOAL_PROGRESS, ProxyScope, STEP_UP_CODE_MINUTES, STEP_UP_VALID_MINUTES, step_up_code,
};
use concord_domain::plan::{PlanName, Sharing, changes};
use concord_pdf::{Made, Print};
use concord_store::{GoalProgressRow, NewMessage, NewPlanVersion, ProxyRow, StepUpCheck};
use rand::RngCore;
use time::{Duration, OffsetDateTime};

use crate::auth::token_digest;
use crate::online::Visitor;
use crate::plan::PlanView;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// The longest progress note kept.
const MAX_NOTE: usize = 1000;

/// Who may see the person's plan, as they are asked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingChoices {
    /// (ODS code, name, chosen) for each partner organisation.
    pub organisations: Vec<(String, String, bool)>,
    pub refused: bool,
    /// Whether the person has a plan to share.
    pub has_plan: bool,
    /// Where the identity check code goes ("email" or "text message"), if anywhere.
    pub step_up_channel: Option<String>,
}

/// A goal of the current plan with its newest progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalWithProgress {
    pub words: String,
    pub progress: Option<GoalProgressRow>,
}

/// How the person says a goal is going, in words.
pub fn progress_words(status: &str) -> &'static str {
    GOAL_PROGRESS.iter().find(|(code, ..)| *code == status).map_or("", |(_, words, _)| words)
}

impl Concord {
    fn require_person(visitor: &Visitor) -> Result<(), AppError> {
        if visitor.proxy.is_some() {
            return Err(AppError::Forbidden("only the person can change who may see their record"));
        }
        Ok(())
    }

    fn require_verified(visitor: &Visitor, now: OffsetDateTime) -> Result<(), AppError> {
        Self::require_person(visitor)?;
        if !visitor.verified(now) {
            return Err(AppError::Refused("Confirm it is you first: we will send you a code".into()));
        }
        Ok(())
    }

    /// Where the person's identity check code would go: their email address, else their mobile.
    async fn step_up_address(&self, patient_id: &str) -> Result<Option<(&'static str, String)>, AppError> {
        let person =
            self.store.patient(patient_id).await?.ok_or_else(|| AppError::NotFound("No such person".into()))?;
        let contact = person.patient.contact;
        Ok(match (contact.email, contact.mobile) {
            (Some(email), _) => Some(("email", email)),
            (None, Some(mobile)) => Some(("sms", mobile)),
            _ => None,
        })
    }

    /// Sends the person a code for the stronger identity check. Refused for proxies, and when the
    /// GP record has neither an email address nor a mobile number (the practice can make the
    /// change for them instead).
    pub async fn person_start_step_up(
        &self,
        visitor: &Visitor,
        session_token: &str,
        now: OffsetDateTime,
    ) -> Result<String, AppError> {
        Self::require_person(visitor)?;
        let Some((channel, recipient)) = self.step_up_address(&visitor.patient_id).await? else {
            return Err(AppError::Refused(
                "Your GP record has no email address or mobile number to send a code to. \
                 Ask the practice to make this change for you."
                    .into(),
            ));
        };
        let code = {
            let mut random = rand::rng();
            step_up_code(|| (random.next_u32() % 10) as u8)
        };
        let message = NewMessage {
            purpose: "identity_check".into(),
            channel: channel.into(),
            template: "identity_check".into(),
            recipient: Some(recipient),
            subject: "Your code to confirm it is you".into(),
            body: format!(
                "Your code to confirm it is you is {code}. It works for {STEP_UP_CODE_MINUTES} minutes. \
                 If you did not ask for it, someone may know your access code: call the practice."
            ),
            attachment: None,
            not_before: timestamp(now),
        };
        self.store
            .start_step_up(
                &token_digest(session_token),
                &visitor.patient_id,
                &token_digest(&code),
                &timestamp(now + Duration::minutes(STEP_UP_CODE_MINUTES)),
                &message,
                &visitor.actor(),
                &timestamp(now),
            )
            .await?;
        Ok(if channel == "email" { "email".into() } else { "text message".into() })
    }

    /// Checks the identity check code the person typed.
    pub async fn person_check_step_up(
        &self,
        visitor: &Visitor,
        session_token: &str,
        typed: &str,
        now: OffsetDateTime,
    ) -> Result<StepUpCheck, AppError> {
        Self::require_person(visitor)?;
        let code: String = typed.chars().filter(char::is_ascii_digit).collect();
        Ok(self
            .store
            .check_step_up(
                &token_digest(session_token),
                &visitor.patient_id,
                &token_digest(&code),
                &timestamp(now + Duration::minutes(STEP_UP_VALID_MINUTES)),
                &visitor.actor(),
                &timestamp(now),
            )
            .await?)
    }

    /// Who may see the person's plan now, and the organisations they could choose.
    pub async fn person_sharing(&self, visitor: &Visitor) -> Result<SharingChoices, AppError> {
        Self::require_person(visitor)?;
        let current = self.load_plan(&visitor.patient_id, None).await?;
        let sharing = current.as_ref().map(|view| view.plan.sharing.clone()).unwrap_or_default();
        let organisations = self
            .store
            .organisations()
            .await?
            .into_iter()
            .filter(|(_, _, kind, _)| kind == "partner")
            .map(|(code, name, ..)| {
                let chosen = sharing.organisations.iter().any(|chosen| chosen.eq_ignore_ascii_case(&code));
                (code, name, chosen)
            })
            .collect();
        self.audit_visitor(visitor, AuditAction::Read, "Consent", "who may see the plan read online".into()).await?;
        Ok(SharingChoices {
            organisations,
            refused: sharing.refused,
            has_plan: current.is_some(),
            step_up_channel: self
                .step_up_address(&visitor.patient_id)
                .await?
                .map(|(channel, _)| if channel == "email" { "email".into() } else { "text message".into() }),
        })
    }

    /// The person changes who may see their plan: a new plan version with only the consent
    /// changed, in effect at once. Needs the stronger identity check. Returns the new version.
    pub async fn person_change_sharing(
        &self,
        visitor: &Visitor,
        chosen: &[String],
        refused: bool,
        now: OffsetDateTime,
    ) -> Result<i64, AppError> {
        Self::require_verified(visitor, now)?;
        let Some(current) = self.load_plan(&visitor.patient_id, None).await? else {
            return Err(AppError::Refused("You do not have a plan yet".into()));
        };
        let partners: Vec<String> = self
            .store
            .organisations()
            .await?
            .into_iter()
            .filter(|(_, _, kind, _)| kind == "partner")
            .map(|(code, ..)| code)
            .collect();
        if let Some(unknown) = chosen.iter().find(|code| !partners.contains(code)) {
            return Err(AppError::Invalid(format!("organisation: {unknown:?} is not one you can choose")));
        }
        if refused && !chosen.is_empty() {
            return Err(AppError::Invalid(
                "sharing: choose organisations, or say you do not want your plan shared, not both".into(),
            ));
        }
        let mut plan = current.plan.clone();
        plan.sharing = Sharing { organisations: chosen.to_vec(), refused };
        if plan.sharing == current.plan.sharing {
            return Ok(current.version);
        }
        let mut said = changes(&current.plan, &plan);
        said.push(format!("Changed online by {}", visitor.written_by));
        let agreed = current.status == "agreed";
        let recorded_by = format!("{} (online)", visitor.written_by);
        let mut new = NewPlanVersion {
            patient_id: visitor.patient_id.clone(),
            based_on: current.version,
            status: current.status.clone(),
            cycle_id: None,
            recorded_by: recorded_by.clone(),
            changes: said,
            entries: plan
                .to_entries()
                .into_iter()
                .map(|entry| (entry.section.to_owned(), i64::from(entry.item), entry.field.to_owned(), entry.value))
                .collect(),
            tasks: vec![],
            pdf_base64: None,
        };
        if agreed && plan.name != PlanName::Declined {
            let view = PlanView {
                patient_id: visitor.patient_id.clone(),
                plan: plan.clone(),
                version: current.version + 1,
                status: current.status.clone(),
                recorded_by,
                recorded_at: timestamp(now),
                changes: new.changes.clone(),
                versions: vec![],
            };
            let (document, author) = self.plan_as_document(&view, now).await?;
            let pdf = concord_pdf::render(&document, Print::Standard, &author, Made::from(now))
                .map_err(|error| AppError::Invalid(error.to_string()))?;
            new.pdf_base64 = Some(base64::engine::general_purpose::STANDARD.encode(pdf));
        }
        Ok(self.store.add_plan_version(&new, None, &visitor.actor(), &timestamp(now)).await?)
    }

    /// The person's proxies with what each may do.
    pub async fn person_proxies(&self, visitor: &Visitor) -> Result<Vec<(ProxyRow, Vec<ProxyScope>)>, AppError> {
        Self::require_person(visitor)?;
        let proxies = self.store.proxies(&visitor.patient_id).await?;
        self.audit_visitor(visitor, AuditAction::Read, "ProxyAccess", "proxies read online".into()).await?;
        Ok(proxies
            .into_iter()
            .filter(|proxy| proxy.revoked_at.is_none())
            .map(|proxy| {
                let scopes = ProxyScope::parse_list(&proxy.scope);
                (proxy, scopes)
            })
            .collect())
    }

    /// The person chooses what a proxy may do. Needs the stronger identity check.
    pub async fn person_set_proxy_scope(
        &self,
        visitor: &Visitor,
        proxy_id: &str,
        scopes: &[ProxyScope],
        now: OffsetDateTime,
    ) -> Result<(), AppError> {
        Self::require_verified(visitor, now)?;
        let scope = ProxyScope::format_list(scopes);
        if !self.store.set_proxy_scope(&visitor.patient_id, proxy_id, &scope, &visitor.actor(), &timestamp(now)).await?
        {
            return Err(AppError::NotFound("No such proxy".into()));
        }
        Ok(())
    }

    /// The goals of the person's current plan with their newest progress.
    pub async fn person_goals(&self, visitor: &Visitor) -> Result<Vec<GoalWithProgress>, AppError> {
        visitor.require(ProxyScope::Plan)?;
        let Some(view) = self.load_plan(&visitor.patient_id, None).await? else { return Ok(vec![]) };
        let plan_id = view.versions.first().map(|row| row.plan_id.clone()).unwrap_or_default();
        let progress = self.store.goal_progress(&plan_id).await?;
        Ok(view
            .plan
            .goals
            .iter()
            .map(|goal| GoalWithProgress {
                words: goal.words.clone(),
                progress: progress.iter().find(|row| row.goal == goal.words).cloned(),
            })
            .collect())
    }

    /// Records how a goal of the current plan is going (`goal` is its place in the plan).
    pub async fn person_goal_progress(
        &self,
        visitor: &Visitor,
        goal: usize,
        status: &str,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<(), AppError> {
        visitor.require(ProxyScope::Plan)?;
        let Some(view) = self.load_plan(&visitor.patient_id, None).await? else {
            return Err(AppError::Refused("You do not have a plan yet".into()));
        };
        let Some(words) = view.plan.goals.get(goal).map(|goal| goal.words.clone()) else {
            return Err(AppError::Invalid("goal: that goal is not in your plan".into()));
        };
        if !GOAL_PROGRESS.iter().any(|(code, ..)| *code == status) {
            return Err(AppError::Invalid("progress: choose how it is going".into()));
        }
        let note = note.trim();
        if note.chars().count() > MAX_NOTE {
            return Err(AppError::Invalid(format!("note: at most {MAX_NOTE} characters")));
        }
        let plan_id = view.versions.first().map(|row| row.plan_id.clone()).unwrap_or_default();
        self.store
            .record_goal_progress(
                &visitor.patient_id,
                &plan_id,
                &GoalProgressRow {
                    goal: words,
                    status: status.to_owned(),
                    note: note.to_owned(),
                    written_by: visitor.written_by.clone(),
                    written_at: timestamp(now),
                },
                &visitor.actor(),
                &timestamp(now),
            )
            .await?;
        Ok(())
    }
}
