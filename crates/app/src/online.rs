//! The person's preparation online: they, or a carer with proxy access, open it with an access
//! code and a date-of-birth check (`concord_domain::online_access`, the step NHS login can
//! replace), read their results explained, and write their agenda and a short needs check, which
//! the clinician sees before the conversation. The practice sets up proxy access and sends codes.
//!
//! Invariants: codes are stored as SHA-256 digests only; a refused sign-in never says which of the
//! code or the date of birth was wrong; the results shown online follow the letter's rules (not
//! before review, not while an urgent or soon flag has no action, never a withheld result); every
//! read and write by the person or proxy is audited with who they are.

use std::collections::BTreeMap;

use base64::Engine as _;
use concord_domain::access::Permission;
use concord_domain::audit::{Actor, AuditAction};
use concord_domain::document::{Document, long_date};
use concord_domain::online_access::ProxyScope;
use concord_domain::online_access::{
    CODE_DAYS, CodeState, SESSION_MINUTES, after_failure, code_from, display_code, may_try, normalise_code,
    refusal_after_failure,
};
use concord_domain::preparation::{AGENDA_PROMPTS, NEEDS_ANSWERS, NEEDS_AREAS, OnlineAccess, letter};
use concord_store::{AgendaAnswerRow, NewMessage, ProxyRow};
use rand::RngCore;
use time::{Date, Duration, OffsetDateTime};

use crate::auth::token_digest;
use crate::cycle::Caller;
use crate::record::StaffMember;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// The bases on which the practice gives a carer proxy access (NHS England's proxy access
/// guidance): (id, label).
pub const PROXY_BASES: [(&str, &str); 4] = [
    ("consent", "The person has given their consent"),
    ("lasting_power_of_attorney", "Lasting power of attorney for health and welfare"),
    ("court_appointed_deputy", "Court-appointed deputy"),
    ("best_interests", "In the person's best interests: they lack capacity to decide (Mental Capacity Act 2005)"),
];

/// The longest free-text answer kept.
const MAX_ANSWER: usize = 2000;

/// The sign-in page's path.
pub const PREPARE_PATH: &str = "/prepare";

/// Someone signed in online: the person, or a proxy acting for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub patient_id: String,
    pub proxy: Option<ProxyRow>,
    pub csrf_token: String,
    /// The person's first name.
    pub given_name: String,
    /// How their writing is signed: "Grace Okafor", or "Ann Okafor (daughter) for Grace Okafor".
    pub written_by: String,
    /// Until when the session holds the stronger identity check (`None`: it has not passed one).
    pub verified_until: Option<OffsetDateTime>,
}

impl Visitor {
    /// Whether the visitor may do this: the person may do everything; a proxy what the person
    /// (or, before the person chose, the practice) allowed.
    pub fn may(&self, scope: ProxyScope) -> bool {
        match &self.proxy {
            None => true,
            Some(proxy) => ProxyScope::parse_list(&proxy.scope).contains(&scope),
        }
    }

    /// Refused unless the visitor may do this.
    pub fn require(&self, scope: ProxyScope) -> Result<(), AppError> {
        if self.may(scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden("the person has not asked for you to be able to do this"))
        }
    }

    /// Whether this is the person themselves, with the stronger identity check passed.
    pub fn verified(&self, now: OffsetDateTime) -> bool {
        self.proxy.is_none() && self.verified_until.is_some_and(|until| until > now)
    }

    pub(crate) fn actor(&self) -> Actor {
        match &self.proxy {
            Some(proxy) => Actor::User { username: format!("proxy:{}", proxy.id), role: "proxy".into() },
            None => Actor::User { username: format!("person:{}", self.patient_id), role: "patient".into() },
        }
    }
}

/// A new online session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPersonSession {
    pub token: String,
}

/// What the person sees online.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlinePreparation {
    /// The letter as it would be made now; `None` when held back (then `held_back` says so).
    pub letter: Option<Document>,
    pub held_back: Option<String>,
    /// Current answers by question id.
    pub answers: BTreeMap<String, String>,
    /// The newest stored letter, to download.
    pub letter_id: Option<String>,
}

/// What a proxy's set-up needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyInput {
    pub name: String,
    pub relationship: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
    pub email: String,
    pub mobile: String,
    pub basis: String,
    pub basis_note: String,
}

/// The agenda as staff read it: (question, answer, who wrote it and when).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaLine {
    pub question: String,
    pub answer: String,
    pub written: String,
}

fn new_code() -> String {
    let mut rng = rand::rng();
    code_from(|| {
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        byte[0]
    })
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

impl Concord {
    /// A fresh code for the person's letter: the code (to print) and its digest and expiry (to
    /// store with the letter).
    pub(crate) fn letter_access(&self, now: OffsetDateTime) -> (OnlineAccess, String, String) {
        let code = new_code();
        let until = now + Duration::days(CODE_DAYS);
        (
            OnlineAccess {
                address: format!("{}{PREPARE_PATH}", self.public_url),
                code: display_code(&code),
                until: until.date(),
            },
            token_digest(&code),
            timestamp(until),
        )
    }

    /// Sends a new access code to the person or one of their proxies, by email or text message when
    /// there is an address or number, otherwise by letter; earlier codes stop working.
    pub async fn send_access_code(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        proxy_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<String, AppError> {
        caller.require(Permission::ManageCycle)?;
        let Some(person) = self.store.patient(patient_id).await? else {
            return Err(AppError::NotFound("No such person".into()));
        };
        let proxy = match proxy_id {
            Some(id) => Some(
                self.store
                    .proxy(id)
                    .await?
                    .filter(|proxy| proxy.patient_id == patient_id && proxy.revoked_at.is_none())
                    .ok_or_else(|| AppError::NotFound("No such proxy access".into()))?,
            ),
            None => None,
        };
        let contact = &person.patient.contact;
        let (channel, recipient, name) = match &proxy {
            Some(proxy) => match (&proxy.email, &proxy.mobile) {
                (Some(email), _) => ("email", Some(email.clone()), proxy.proxy_name.clone()),
                (None, Some(mobile)) => ("sms", Some(mobile.clone()), proxy.proxy_name.clone()),
                _ => ("letter", None, proxy.proxy_name.clone()),
            },
            None => {
                use concord_domain::patient::ContactChannel;
                let given = person.patient.name.given.split_whitespace().next().unwrap_or_default().to_owned();
                match contact.preferred_channel {
                    Some(ContactChannel::Email) if contact.email.is_some() => ("email", contact.email.clone(), given),
                    Some(ContactChannel::Sms) if contact.mobile.is_some() => ("sms", contact.mobile.clone(), given),
                    _ => ("letter", None, given),
                }
            }
        };
        let (access, digest, expires_at) = self.letter_access(now);
        let body = format!(
            "Hello {name}, {} Go to {} and enter the code {} with your date of birth. The code works until {}. \
             Earlier codes no longer work. This message is not watched: if you need help now, call 111, or 999 in an emergency.",
            if proxy.is_some() {
                "here is your code to help prepare for a care and support planning appointment at the practice."
            } else {
                "here is your code to read your results and prepare for your care and support planning appointment."
            },
            access.address,
            access.code,
            long_date(access.until)
        );
        let message = NewMessage {
            purpose: "access_code".into(),
            channel: channel.into(),
            template: "access_code".into(),
            recipient,
            subject: "Your code to prepare for your appointment".into(),
            body,
            attachment: None,
            not_before: timestamp(now),
        };
        let cycle_id = self.store.cycle(patient_id, i64::from(now.year())).await?.map(|row| row.id);
        self.store
            .issue_access_code(
                patient_id,
                proxy.as_ref().map(|proxy| proxy.id.as_str()),
                &digest,
                &expires_at,
                Some((&message, cycle_id.as_deref())),
                &caller.actor(),
                &timestamp(now),
            )
            .await?;
        Ok(channel.to_owned())
    }

    /// Opens an online session with a code and a date of birth (the person's own, or the proxy's).
    /// Refusals never say which was wrong; failures count towards the code's lock.
    pub async fn person_sign_in(
        &self,
        typed_code: &str,
        birth_date: Date,
        now: OffsetDateTime,
    ) -> Result<NewPersonSession, AppError> {
        use concord_domain::online_access::Refusal;
        let refuse = |refusal: Refusal| AppError::Refused(refusal.to_string());
        let Some(code) = normalise_code(typed_code) else { return Err(refuse(Refusal::NoMatch)) };
        let Some(row) = self.store.access_code_by_digest(&token_digest(&code)).await? else {
            return Err(refuse(Refusal::NoMatch));
        };
        let state = CodeState {
            expires_at: parse_time(&row.expires_at).unwrap_or(now),
            failed_attempts: row.failed_attempts,
            locked_until: row.locked_until.as_deref().and_then(parse_time),
            revoked: row.revoked_at.is_some(),
        };
        may_try(&state, now).map_err(refuse)?;
        let proxy = match &row.proxy_id {
            Some(id) => Some(self.store.proxy(id).await?.ok_or_else(|| refuse(Refusal::Revoked))?),
            None => None,
        };
        if proxy.as_ref().is_some_and(|proxy| proxy.revoked_at.is_some()) {
            return Err(refuse(Refusal::Revoked));
        }
        let recorded = match &proxy {
            Some(proxy) => {
                Date::parse(&proxy.birth_date, time::macros::format_description!("[year]-[month]-[day]")).ok()
            }
            None => self.store.patient(&row.patient_id).await?.map(|person| person.patient.birth_date),
        };
        let actor = match &proxy {
            Some(proxy) => Actor::User { username: format!("proxy:{}", proxy.id), role: "proxy".into() },
            None => Actor::User { username: format!("person:{}", row.patient_id), role: "patient".into() },
        };
        if recorded != Some(birth_date) {
            let after = after_failure(&state, now);
            self.store
                .record_code_failure(
                    &row,
                    after.failed_attempts,
                    after.locked_until.map(timestamp).as_deref(),
                    after.revoked,
                    &actor,
                    &timestamp(now),
                )
                .await?;
            return Err(refuse(refusal_after_failure(&after, now)));
        }
        let token = random_token();
        self.store
            .create_person_session(
                &token_digest(&token),
                &row,
                &random_token(),
                &timestamp(now + Duration::minutes(SESSION_MINUTES)),
                &actor,
                &timestamp(now),
            )
            .await?;
        Ok(NewPersonSession { token })
    }

    /// The signed-in person or proxy for a session token, if the session is live.
    pub async fn person_visitor(&self, token: &str) -> Result<Option<Visitor>, AppError> {
        let now = OffsetDateTime::now_utc();
        let Some(session) = self.store.person_session(&token_digest(token), &timestamp(now)).await? else {
            return Ok(None);
        };
        let Some(person) = self.store.patient(&session.patient_id).await? else { return Ok(None) };
        let proxy = match &session.proxy_id {
            Some(id) => match self.store.proxy(id).await?.filter(|proxy| proxy.revoked_at.is_none()) {
                Some(proxy) => Some(proxy),
                None => return Ok(None),
            },
            None => None,
        };
        let full_name = format!("{} {}", person.patient.name.given, person.patient.name.family);
        Ok(Some(Visitor {
            patient_id: session.patient_id,
            given_name: person.patient.name.given.split_whitespace().next().unwrap_or_default().to_owned(),
            written_by: match &proxy {
                Some(proxy) => format!("{} ({}) for {full_name}", proxy.proxy_name, proxy.relationship),
                None => full_name,
            },
            proxy,
            csrf_token: session.csrf_token,
            verified_until: session
                .verified_until
                .as_deref()
                .and_then(|text| OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()),
        }))
    }

    pub async fn person_sign_out(&self, token: &str, visitor: &Visitor) -> Result<(), AppError> {
        let now = OffsetDateTime::now_utc();
        self.store.end_person_session(&token_digest(token), &visitor.actor(), &timestamp(now)).await?;
        Ok(())
    }

    /// The person's preparation as they see it online. Audited as their read.
    pub async fn online_preparation(
        &self,
        visitor: &Visitor,
        now: OffsetDateTime,
    ) -> Result<OnlinePreparation, AppError> {
        visitor.require(ProxyScope::Letter)?;
        let year = i64::from(now.year());
        let blocked = self.preparation_blocker(&visitor.patient_id, year).await?;
        let letter_document = match blocked {
            Some(_) => None,
            None => {
                let composed = self.compose_preparation(&visitor.patient_id, now).await?;
                Some(letter(&composed.input, composed.format_variant()))
            }
        };
        let answers = match self.store.cycle(&visitor.patient_id, year).await? {
            Some(cycle) => {
                self.store.agenda(&cycle.id).await?.into_iter().map(|row| (row.question, row.answer)).collect()
            }
            None => BTreeMap::new(),
        };
        let letter_id = self.store.preparation_letters(&visitor.patient_id).await?.into_iter().next().map(|row| row.id);
        self.audit_visitor(visitor, AuditAction::Read, "Preparation", "preparation read online".into()).await?;
        Ok(OnlinePreparation {
            held_back: blocked
                .map(|_| "Your results are not ready to read online yet. The practice will be in touch.".to_owned()),
            letter: letter_document,
            answers,
            letter_id,
        })
    }

    /// The current agenda answers, for the agenda form (needs the agenda scope, not the letter's).
    pub async fn online_answers(
        &self,
        visitor: &Visitor,
        now: OffsetDateTime,
    ) -> Result<BTreeMap<String, String>, AppError> {
        visitor.require(ProxyScope::Agenda)?;
        Ok(match self.store.cycle(&visitor.patient_id, i64::from(now.year())).await? {
            Some(cycle) => {
                self.store.agenda(&cycle.id).await?.into_iter().map(|row| (row.question, row.answer)).collect()
            }
            None => BTreeMap::new(),
        })
    }

    /// The newest letter as made, as PDF, for the person to download. Audited.
    pub async fn online_letter_pdf(&self, visitor: &Visitor) -> Result<Vec<u8>, AppError> {
        visitor.require(ProxyScope::Letter)?;
        let now = OffsetDateTime::now_utc();
        if self.preparation_blocker(&visitor.patient_id, i64::from(now.year())).await?.is_some() {
            return Err(AppError::Refused("Your letter is not ready to read online yet.".into()));
        }
        let Some(latest) = self.store.preparation_letters(&visitor.patient_id).await?.into_iter().next() else {
            return Err(AppError::NotFound("There is no letter yet".into()));
        };
        let row = self
            .store
            .preparation_letter(&latest.id)
            .await?
            .ok_or_else(|| AppError::NotFound("There is no letter yet".into()))?;
        self.audit_visitor(visitor, AuditAction::Read, "PreparationLetter", "letter downloaded online".into()).await?;
        base64::engine::general_purpose::STANDARD
            .decode(row.pdf_base64.as_bytes())
            .map_err(|_| AppError::Invalid("the stored letter is unreadable".into()))
    }

    /// Saves the person's agenda and needs check. Returns the field errors instead when an answer
    /// is too long or not one of the choices; nothing is saved then.
    pub async fn save_online_agenda(
        &self,
        visitor: &Visitor,
        answers: &BTreeMap<String, String>,
        now: OffsetDateTime,
    ) -> Result<Result<usize, Vec<(String, String)>>, AppError> {
        visitor.require(ProxyScope::Agenda)?;
        let mut errors = Vec::new();
        let mut clean = Vec::new();
        for (id, _) in AGENDA_PROMPTS {
            let text = answers.get(id).map(|text| text.trim().to_owned()).unwrap_or_default();
            if text.chars().count() > MAX_ANSWER {
                errors.push((id.to_owned(), format!("Write {MAX_ANSWER} characters or fewer")));
            }
            clean.push((id.to_owned(), text));
        }
        for (area, name, _) in NEEDS_AREAS {
            let key = format!("needs_{area}");
            let value = answers.get(&key).map(|text| text.trim().to_owned()).unwrap_or_default();
            if !value.is_empty() && !NEEDS_ANSWERS.iter().any(|(answer, _)| *answer == value) {
                errors.push((key.clone(), format!("Choose one of the answers for {}", name.to_lowercase())));
            }
            clean.push((key, value));
        }
        let note = answers.get("needs_note").map(|text| text.trim().to_owned()).unwrap_or_default();
        if note.chars().count() > MAX_ANSWER {
            errors.push(("needs_note".into(), format!("Write {MAX_ANSWER} characters or fewer")));
        }
        clean.push(("needs_note".into(), note));
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let Some(cycle) = self.store.cycle(&visitor.patient_id, i64::from(now.year())).await? else {
            return Err(AppError::Refused("There is no review this year to prepare for".into()));
        };
        let written = self
            .store
            .save_agenda(&visitor.patient_id, &cycle.id, &clean, &visitor.written_by, &visitor.actor(), &timestamp(now))
            .await?;
        Ok(Ok(written))
    }

    /// The person's agenda as the clinician reads it, in the questions' order, with who wrote each
    /// answer. Audited as a read of the record.
    pub async fn agenda_for_staff(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<AgendaLine>, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let Some(cycle) = self.store.cycle(patient_id, i64::from(now.year())).await? else { return Ok(vec![]) };
        let rows = self.store.agenda(&cycle.id).await?;
        self.audit_person(staff, patient_id, AuditAction::Read, "Agenda", "the person's agenda read".into()).await?;
        Ok(agenda_lines(&rows))
    }

    /// Sets up proxy access for a carer, verified by the staff member. Returns the field errors
    /// instead when something is missing or wrong; nothing is saved then.
    pub async fn add_proxy(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        input: &ProxyInput,
        now: OffsetDateTime,
    ) -> Result<Result<ProxyRow, Vec<(String, String)>>, AppError> {
        staff.require(Permission::ManageCycle)?;
        staff.require(Permission::ViewPatientRecord)?;
        let mut errors = Vec::new();
        let required = |value: &str, field: &str, message: &str, errors: &mut Vec<(String, String)>| {
            if value.trim().is_empty() {
                errors.push((field.to_owned(), message.to_owned()));
            }
        };
        required(&input.name, "proxy_name", "Enter the carer's full name", &mut errors);
        required(
            &input.relationship,
            "relationship",
            "Enter how they are related to the person (for example, daughter)",
            &mut errors,
        );
        let birth_date =
            Date::parse(input.birth_date.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok();
        if birth_date.is_none_or(|date| date >= now.date()) {
            errors.push(("birth_date".into(), "Enter the carer's date of birth, for example 1972-03-15".into()));
        }
        if !PROXY_BASES.iter().any(|(id, _)| *id == input.basis) {
            errors.push(("basis".into(), "Choose the basis for proxy access".into()));
        }
        required(
            &input.basis_note,
            "basis_note",
            "Say how the basis was checked (for example, the person's signed consent form, LPA registration number seen)",
            &mut errors,
        );
        let email = Some(input.email.trim().to_owned()).filter(|email| !email.is_empty());
        let mobile = Some(input.mobile.trim().to_owned()).filter(|mobile| !mobile.is_empty());
        if email.as_ref().is_some_and(|email| !email.contains('@') || email.contains(' ')) {
            errors.push(("email".into(), "Enter an email address in the correct format, like name@example.com".into()));
        }
        if mobile.as_ref().is_some_and(|mobile| !mobile.chars().all(|ch| ch.is_ascii_digit() || ch == ' ' || ch == '+'))
        {
            errors.push(("mobile".into(), "Enter a mobile number, like 07700 900 982".into()));
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let proxy = ProxyRow {
            id: concord_store::new_id(),
            patient_id: patient_id.to_owned(),
            proxy_name: input.name.trim().to_owned(),
            relationship: input.relationship.trim().to_owned(),
            birth_date: input.birth_date.trim().to_owned(),
            email,
            mobile,
            basis: input.basis.clone(),
            basis_note: input.basis_note.trim().to_owned(),
            scope: "preparation".into(),
            verified_by: staff.display_name.clone(),
            created_at: timestamp(now),
            revoked_at: None,
        };
        self.store.create_proxy(&proxy, &staff.actor(), &timestamp(now)).await?;
        Ok(Ok(proxy))
    }

    pub async fn revoke_proxy(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        proxy_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AppError> {
        staff.require(Permission::ManageCycle)?;
        Ok(self.store.revoke_proxy(patient_id, proxy_id, &staff.display_name, &staff.actor(), &timestamp(now)).await?)
    }

    pub(crate) async fn audit_visitor(
        &self,
        visitor: &Visitor,
        action: AuditAction,
        entity: &str,
        detail: String,
    ) -> Result<(), AppError> {
        self.audit(visitor.actor(), None, Some(&visitor.patient_id), action, entity, detail).await
    }
}

/// The agenda in the questions' order with readable answers.
pub(crate) fn agenda_lines(rows: &[AgendaAnswerRow]) -> Vec<AgendaLine> {
    let written =
        |row: &AgendaAnswerRow| format!("{}, {}", row.written_by, row.written_at.get(..10).unwrap_or_default());
    let mut lines = Vec::new();
    for (id, prompt) in AGENDA_PROMPTS {
        if let Some(row) = rows.iter().find(|row| row.question == id && !row.answer.is_empty()) {
            lines.push(AgendaLine { question: prompt.into(), answer: row.answer.clone(), written: written(row) });
        }
    }
    for (area, name, _) in NEEDS_AREAS {
        let key = format!("needs_{area}");
        if let Some(row) = rows.iter().find(|row| row.question == key && !row.answer.is_empty()) {
            let answer = NEEDS_ANSWERS
                .iter()
                .find(|(value, _)| *value == row.answer)
                .map_or(row.answer.as_str(), |(_, label)| label);
            lines.push(AgendaLine { question: (*name).into(), answer: answer.into(), written: written(row) });
        }
    }
    if let Some(row) = rows.iter().find(|row| row.question == "needs_note" && !row.answer.is_empty()) {
        lines.push(AgendaLine {
            question: "Anything else about these".into(),
            answer: row.answer.clone(),
            written: written(row),
        });
    }
    lines
}

/// One line of "who has looked at my record".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLine {
    /// RFC 3339 UTC.
    pub at: String,
    /// "A GP", "A nurse", "A partner organisation's system", "Your carer", "You".
    pub who: String,
    pub organisation: String,
    /// "Looked at your record", "Changed your care and support plan", …
    pub what: String,
}

impl Concord {
    /// Who has looked at or changed the person's record, newest first (the last 200), in words.
    /// Reading it is audited.
    pub async fn record_access_log(&self, visitor: &Visitor) -> Result<Vec<AccessLine>, AppError> {
        visitor.require(ProxyScope::RecordAccess)?;
        let events = self
            .store
            .audit_events(&concord_store::AuditFilter {
                patient_id: Some(visitor.patient_id.clone()),
                limit: Some(200),
                ..Default::default()
            })
            .await?;
        let organisations = self.store.organisations().await?;
        let lines = events
            .into_iter()
            .map(|event| {
                let who = match event.actor_role.as_str() {
                    "patient" => "You".to_owned(),
                    "proxy" => "Your carer (proxy access)".to_owned(),
                    "system" => "Concord (an automatic update from your GP record)".to_owned(),
                    "api:practice" => "Your GP practice's own computer system".to_owned(),
                    role if role.starts_with("api") => "The computer system of another service".to_owned(),
                    "partner_clinician" => "A clinician at another service".to_owned(),
                    role => concord_domain::access::StaffRole::parse(role).map_or_else(
                        || "Someone at the practice".to_owned(),
                        |role| format!("{} at the practice", role.title()),
                    ),
                };
                let organisation = event
                    .organisation
                    .as_ref()
                    .and_then(|code| organisations.iter().find(|(ods, ..)| ods == code))
                    .map_or_else(String::new, |(_, name, ..)| name.clone());
                let thing = match event.entity.as_str() {
                    "CarePlan" | "SharedPlan" | "Goal" | "Provenance" => "your care and support plan",
                    "Preparation" | "PreparationLetter" => "your results letter",
                    "Agenda" | "QuestionnaireResponse" => "what you wrote for your appointment",
                    "Consent" => "who can see your plan",
                    "ProxyAccess" => "what people helping you can do",
                    "GoalProgress" | "CheckIn" => "how your goals are going",
                    "LinkedPlan" => "a plan from another service",
                    "Condition" | "Observation" => "your results and conditions",
                    "PersonSession" | "ApiToken" => "",
                    _ => "your record",
                };
                let emergency = event.purpose.as_deref().and_then(|purpose| purpose.strip_prefix("break-glass: "));
                let what = match (event.entity.as_str(), event.action.as_str()) {
                    ("BreakGlass", "create") => {
                        format!("Asked to see your plan in an emergency. Reason given: {}", emergency.unwrap_or("none"))
                    }
                    ("BreakGlass", _) => "Checked an emergency access to your plan".to_owned(),
                    ("StepUpCode", "create") => "Sent you a code to confirm it is you".to_owned(),
                    ("StepUpCode", "sign-in") => "Confirmed it is you".to_owned(),
                    ("StepUpCode", _) => "A wrong code was typed to confirm it is you".to_owned(),
                    ("GpRecordExport", _) => "Prepared what Concord recorded for your GP record".to_owned(),
                    ("GpRecordFiling", _) => "Your GP record confirmed it holds what Concord recorded".to_owned(),
                    ("BulkExport", _) => "Copied your record to your GP practice's own system".to_owned(),
                    _ if emergency.is_some() => {
                        format!("Looked at {} in an emergency", if thing.is_empty() { "your record" } else { thing })
                    }
                    _ => describe(event.action.as_str(), thing),
                };
                AccessLine { at: event.at, who, organisation, what }
            })
            .collect();
        self.audit_visitor(visitor, AuditAction::Read, "AuditTrail", "who looked at my record, read online".into())
            .await?;
        Ok(lines)
    }
}

/// What an audited action was, in words.
fn describe(action: &str, thing: &str) -> String {
    match (action, thing) {
        ("sign-in", _) => "Signed in online".to_owned(),
        ("sign-in-failed", _) => "A sign-in with your code was refused".to_owned(),
        ("sign-out", _) => "Signed out".to_owned(),
        ("read" | "search", "") => "Looked at your record".to_owned(),
        ("read" | "search", thing) => format!("Looked at {thing}"),
        (_, "") => "Changed your record".to_owned(),
        (_, thing) => format!("Changed {thing}"),
    }
}
