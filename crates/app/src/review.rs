//! Professional preparation: a clinician reviews a person's results after the information-gathering
//! visit, writes a plain-language comment for them, sets their own targets, assigns the
//! conversation to the right professional, and marks the results reviewed.
//!
//! Invariants: results are reviewed only once every urgent red flag has a recorded action; only
//! a target set here is ever called "your target"; results are released to the person (their
//! preparation, a later issue) only from the "results reviewed" stage on.

use std::collections::BTreeMap;

use concord_codelists::cycle_rules::DUE_WINDOW_DAYS;
use concord_domain::access::Permission;
use concord_domain::audit::AuditAction;
use concord_domain::care_process::merged_checklist;
use concord_domain::criterion::Comparison;
use concord_domain::cycle::{CycleEvent, Stage};
use concord_domain::target::{PersonalTarget, target_for};
use concord_store::{CycleRow, FlagRow, PersonalTargetRow};
use time::OffsetDateTime;

use crate::cycle::Caller;
use crate::record::StaffMember;
use crate::status::{date_text, snapshot, timestamp};
use crate::{AppError, Concord};

/// Results a clinician may set a personal target for, with the comparison the target uses.
pub const TARGETABLE: [(&str, Comparison); 4] = [
    ("hba1c", Comparison::LessOrEqual),
    ("systolic_bp", Comparison::Less),
    ("diastolic_bp", Comparison::Less),
    ("ldl_cholesterol", Comparison::LessOrEqual),
];

/// Who the conversation can be assigned to.
pub const PROFESSIONALS: [(&str, &str); 3] =
    [("nurse", "Practice nurse"), ("gp", "GP"), ("pharmacist", "Clinical pharmacist")];

/// One result line of the review.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewResult {
    pub observable: String,
    pub name: String,
    /// Latest value with its unit and date, newest first, up to four.
    pub values: Vec<(String, String)>,
    /// "Your target: 53 or below" / "Usual target (default…): 48 or below".
    pub target: Option<String>,
    pub target_met: Option<bool>,
}

/// What the review screen shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewView {
    pub patient_id: String,
    pub stage: Option<Stage>,
    pub results: Vec<ReviewResult>,
    pub open_flags: Vec<FlagRow>,
    pub comment: String,
    pub assigned_to: String,
    pub reviewed_by: Option<String>,
    /// Current personal targets by observable (value as text).
    pub targets: BTreeMap<String, String>,
    /// The latest information-gathering visit (a Year of Care contact), and how many results
    /// have arrived since it (laboratory results come after the visit, by import).
    pub visit_on: Option<String>,
    pub results_since_visit: usize,
    /// The samples that visit sent to the laboratory, each with its result or how long it has
    /// been awaited.
    pub samples: Vec<SampleView>,
}

/// One laboratory sample from the visit, as the review shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleView {
    pub item: String,
    pub name: String,
    /// The result that answered the sample: (what and its value, e.g. "HbA1c 53 mmol/mol";
    /// its date, ISO 8601).
    pub result: Option<(String, String)>,
    /// Days since the sample was sent, while it has no result.
    pub awaited_days: Option<i64>,
    /// No result within the window (`concord_domain::visit::ATTACH_WINDOW_DAYS`).
    pub overdue: bool,
}

impl ReviewView {
    /// Names of the visit's samples with no result yet.
    pub fn awaited(&self) -> Vec<&str> {
        self.samples.iter().filter(|sample| sample.result.is_none()).map(|sample| sample.name.as_str()).collect()
    }
}

/// One person on the review queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewQueueEntry {
    pub patient_id: String,
    pub nhs_number: Option<String>,
    /// "FAMILY, Given".
    pub name: String,
    /// The day the visit moved the cycle to "tests done" (ISO 8601).
    pub tests_done_on: String,
    /// Names of the visit's laboratory results not yet arrived.
    pub awaited: Vec<String>,
    /// Some awaited result is past the matching window: check with the laboratory.
    pub overdue: bool,
}

/// What the clinician submits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewInput {
    pub comment: String,
    pub assign_to: String,
    /// Observable id → value typed (empty: no change).
    pub targets: BTreeMap<String, String>,
    /// The clinician confirms reviewing although some of the visit's laboratory results are
    /// still awaited (recorded in the audit trail with the names of those results).
    pub without_awaited: bool,
}

impl Concord {
    /// The review screen for one person: their checklist results with trend and target, open
    /// flags, and what has been recorded so far. Audited as a read of the record.
    pub async fn review_view(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<ReviewView, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let rules = self.status_rules().await?;
        let (record, person) = self.person_snapshot(patient_id, &rules, now.date()).await?;
        let personal = self.personal_targets(patient_id).await?;
        let mut results = Vec::new();
        for item in merged_checklist(&rules.cycle.care_processes, &person, DUE_WINDOW_DAYS) {
            for observable in &item.evidence {
                let Some(definition) = rules.catalogue.observable(observable) else { continue };
                let values: Vec<(String, String)> = person
                    .results_for(observable)
                    .rev()
                    .take(4)
                    .map(|result| {
                        let value = match (result.value, &definition.canonical_unit) {
                            (Some(value), Some(unit)) => format!("{value} {}", unit.display()),
                            (Some(value), None) => format!("{value}"),
                            (None, _) => "recorded".to_owned(),
                        };
                        (value, date_text(result.date()))
                    })
                    .collect();
                if values.is_empty() && item.evidence.len() > 1 {
                    continue;
                }
                let target = target_for(&rules.cycle.targets, &personal, &person, observable);
                let latest = person.latest_value(observable).map(|(_, value)| value);
                results.push(ReviewResult {
                    observable: observable.clone(),
                    name: definition.name.clone(),
                    target_met: target.as_ref().zip(latest).map(|(target, value)| target.is_met_by(value)),
                    target: target.map(|target| {
                        format!(
                            "{}: {} {}{}",
                            target.label(),
                            target.comparison.symbol(),
                            target.value,
                            definition
                                .canonical_unit
                                .as_ref()
                                .map_or_else(String::new, |unit| format!(" {}", unit.display()))
                        )
                    }),
                    values,
                });
            }
        }
        let visit = record
            .encounters
            .iter()
            .filter(|encounter| encounter.year_of_care_contact && encounter.status == "attended")
            .map(|encounter| encounter.start_at.clone())
            .max();
        let results_since_visit =
            visit.as_ref().map_or(0, |start| record.results.iter().filter(|result| result.effective > *start).count());
        let samples = self.visit_samples(patient_id, &record, &rules, &person, now.date()).await?;
        let cycle = self.store.cycle(patient_id, i64::from(now.year())).await?;
        let targets = personal
            .iter()
            .map(|target| (target.observable.clone(), target.value.to_string()))
            .collect::<BTreeMap<_, _>>();
        self.audit_person(staff, patient_id, AuditAction::Read, "ResultsReview", "results review opened".into())
            .await?;
        Ok(ReviewView {
            patient_id: patient_id.to_owned(),
            stage: cycle.as_ref().and_then(|row| Stage::parse(&row.stage)),
            results,
            open_flags: self.store.red_flags(Some(patient_id), true).await?,
            comment: cycle.as_ref().and_then(|row| row.comment_for_person.clone()).unwrap_or_default(),
            assigned_to: cycle.as_ref().and_then(|row| row.assigned_to.clone()).unwrap_or_default(),
            reviewed_by: cycle.and_then(|row| row.results_reviewed_by),
            targets,
            visit_on: visit.map(|start| start.chars().take(10).collect()),
            results_since_visit,
            samples,
        })
    }

    /// Names of the latest visit's samples still awaited from the laboratory.
    async fn review_awaited(&self, patient_id: &str, now: OffsetDateTime) -> Result<Vec<String>, AppError> {
        let rules = self.status_rules().await?;
        let (record, person) = self.person_snapshot(patient_id, &rules, now.date()).await?;
        Ok(self
            .visit_samples(patient_id, &record, &rules, &person, now.date())
            .await?
            .into_iter()
            .filter(|sample| sample.result.is_none())
            .map(|sample| sample.name)
            .collect())
    }

    /// The samples sent at the person's latest information-gathering visit, matched to their results.
    async fn visit_samples(
        &self,
        patient_id: &str,
        record: &concord_store::PersonRecord,
        rules: &crate::status::StatusRules<'_>,
        person: &concord_domain::snapshot::PersonSnapshot,
        today: time::Date,
    ) -> Result<Vec<SampleView>, AppError> {
        let stored = self.store.laboratory_samples(patient_id).await?;
        Ok(samples_view(record, stored, rules, person, today))
    }

    /// The review queue: people whose visit's results wait for a clinician, longest waiting
    /// first, each with the laboratory results still awaited. Reading it is audited.
    pub async fn results_to_review(
        &self,
        caller: Caller<'_>,
        today: time::Date,
    ) -> Result<Vec<ReviewQueueEntry>, AppError> {
        caller.require(Permission::ViewPatientRecord)?;
        let practice = caller.organisation();
        let rows = self.store.results_to_review(practice.as_deref(), i64::from(today.year()), 500).await?;
        let ids: Vec<String> = rows.iter().map(|row| row.patient_id.clone()).collect();
        let rules = self.status_rules().await?;
        let records: BTreeMap<String, concord_store::PersonRecord> = self
            .store
            .person_records(&ids)
            .await?
            .into_iter()
            .map(|record| (record.person.id.clone(), record))
            .collect();
        let mut samples = self.store.laboratory_samples_of(&ids).await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let (awaited, overdue) = match records.get(&row.patient_id) {
                Some(record) => {
                    let (person, _) = snapshot(record, &rules, today);
                    let stored = samples.remove(&row.patient_id).unwrap_or_default();
                    let views = samples_view(record, stored, &rules, &person, today);
                    let awaited = views.iter().filter(|s| s.result.is_none()).map(|s| s.name.clone()).collect();
                    (awaited, views.iter().any(|sample| sample.overdue))
                }
                None => (vec![], false),
            };
            entries.push(ReviewQueueEntry {
                patient_id: row.patient_id,
                nhs_number: row.nhs_number,
                name: format!("{}, {}", row.family_name.to_uppercase(), row.given_name),
                tests_done_on: row.tests_done_at.chars().take(10).collect(),
                awaited,
                overdue,
            });
        }
        self.audit_list(caller, "ResultsToReview", format!("{} person(s) listed", entries.len())).await?;
        Ok(entries)
    }
}

/// The samples sent at the person's latest information-gathering visit, matched to their results.
fn samples_view(
    record: &concord_store::PersonRecord,
    stored: Vec<concord_store::SampleRow>,
    rules: &crate::status::StatusRules<'_>,
    person: &concord_domain::snapshot::PersonSnapshot,
    today: time::Date,
) -> Vec<SampleView> {
    use concord_domain::visit::{SampleSent, SampleState, sample_states};
    let Some(visit_start) = record
        .encounters
        .iter()
        .filter(|encounter| encounter.year_of_care_contact && encounter.status == "attended")
        .map(|encounter| encounter.start_at.clone())
        .max()
    else {
        return vec![];
    };
    let visit_day = visit_start.get(..10).unwrap_or_default();
    let mut names = BTreeMap::new();
    let sent: Vec<SampleSent> = stored
        .into_iter()
        .filter(|row| row.sent_at.get(..10) == Some(visit_day))
        .filter_map(|row| {
            let sent_on =
                time::Date::parse(row.sent_at.get(..10)?, time::macros::format_description!("[year]-[month]-[day]"))
                    .ok()?;
            Some(SampleSent { item: row.item, sent_on })
        })
        .collect();
    let evidence = |item: &str| -> &[String] {
        rules
            .cycle
            .care_processes
            .iter()
            .find(|process| process.item == item)
            .map_or(&[][..], |process| process.evidence.as_slice())
    };
    for process in &rules.cycle.care_processes {
        names.entry(process.item.clone()).or_insert_with(|| process.name.clone());
    }
    sample_states(&sent, evidence, person, today)
        .into_iter()
        .map(|(sample, state)| {
            let (result, awaited_days, overdue) = match state {
                SampleState::Arrived(point) => {
                    let name = rules.catalogue.observable(&point.observable);
                    let value = match (point.value, name.and_then(|o| o.canonical_unit.as_ref())) {
                        (Some(value), Some(unit)) => format!("{value} {}", unit.display()),
                        (Some(value), None) => format!("{value}"),
                        (None, _) => "recorded".to_owned(),
                    };
                    let label = name.map_or_else(|| point.observable.clone(), |o| o.name.clone());
                    (Some((format!("{label} {value}"), date_text(point.date()))), None, false)
                }
                SampleState::Awaited { days } => (None, Some(days), false),
                SampleState::Overdue { days } => (None, Some(days), true),
            };
            SampleView {
                name: names.get(&sample.item).cloned().unwrap_or_else(|| sample.item.clone()),
                item: sample.item,
                result,
                awaited_days,
                overdue,
            }
        })
        .collect()
}

impl Concord {
    pub(crate) async fn personal_targets(&self, patient_id: &str) -> Result<Vec<PersonalTarget>, AppError> {
        Ok(self
            .store
            .personal_targets(patient_id)
            .await?
            .into_iter()
            .filter_map(|row| {
                let comparison = match row.comparison.as_str() {
                    "<" => Comparison::Less,
                    "<=" => Comparison::LessOrEqual,
                    ">" => Comparison::Greater,
                    ">=" => Comparison::GreaterOrEqual,
                    _ => return None,
                };
                let set_on =
                    time::Date::parse(&row.set_on, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
                Some(PersonalTarget {
                    observable: row.observable,
                    comparison,
                    value: row.value,
                    set_on,
                    set_by: row.set_by,
                })
            })
            .collect())
    }

    /// Marks the results reviewed with the comment, assignment and targets. Returns the field
    /// errors instead when the input is incomplete, and refuses while an urgent flag has no action.
    pub async fn review_results(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        input: &ReviewInput,
        now: OffsetDateTime,
    ) -> Result<Result<CycleRow, Vec<(String, String)>>, AppError> {
        staff.require(Permission::TriageResults)?;
        let mut errors = Vec::new();
        let comment = input.comment.trim();
        if comment.is_empty() {
            errors.push((
                "comment".to_owned(),
                "Write a comment for the person about their results, in plain words".to_owned(),
            ));
        } else if comment.chars().count() > 4000 {
            errors.push(("comment".to_owned(), "The comment must be 4,000 characters or fewer".to_owned()));
        }
        if !PROFESSIONALS.iter().any(|(id, _)| *id == input.assign_to) {
            errors.push((
                "assign_to".to_owned(),
                "Choose who will have the care and support planning conversation".to_owned(),
            ));
        }
        let mut targets = Vec::new();
        for (observable, comparison) in TARGETABLE {
            let Some(text) = input.targets.get(observable).map(|text| text.trim()).filter(|text| !text.is_empty())
            else {
                continue;
            };
            let Some(definition) = self.catalogue.observable(observable) else { continue };
            let range = definition.plausible_range.unwrap_or((0.0, f64::MAX));
            match text.parse::<f64>() {
                Ok(value) if value.is_finite() && (range.0..=range.1).contains(&value) => {
                    targets.push(PersonalTargetRow {
                        observable: observable.to_owned(),
                        comparison: comparison.symbol().to_owned(),
                        value,
                        set_on: date_text(now.date()),
                        set_by: staff.display_name.clone(),
                        reason: None,
                    })
                }
                _ => errors.push((
                    format!("target_{observable}"),
                    format!("The {} target must be a number between {} and {}", definition.name, range.0, range.1),
                )),
            }
        }
        let awaited: Vec<String> = self.review_awaited(patient_id, now).await?;
        if !awaited.is_empty() && !input.without_awaited {
            errors.push((
                "without_awaited".to_owned(),
                format!(
                    "{} still awaited from the laboratory: wait for the {}, or confirm you are reviewing without {}",
                    join_names(&awaited),
                    if awaited.len() == 1 { "result" } else { "results" },
                    if awaited.len() == 1 { "it" } else { "them" }
                ),
            ));
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let unactioned = self
            .store
            .red_flags(Some(patient_id), true)
            .await?
            .into_iter()
            .filter(|flag| flag.severity == "urgent")
            .count();
        if unactioned > 0 {
            return Err(AppError::Refused(format!(
                "Record an action on {} before marking the results reviewed",
                if unactioned == 1 {
                    "the urgent red flag".to_owned()
                } else {
                    format!("each of the {unactioned} urgent red flags")
                }
            )));
        }
        let mut change = self
            .prepare_cycle_change(Caller::Staff(staff), patient_id, CycleEvent::ReviewResults, now.date(), None)
            .await?;
        change.after.comment_for_person = Some(comment.to_owned());
        change.after.assigned_to = Some(input.assign_to.clone());
        change.after.results_reviewed_by = Some(staff.display_name.clone());
        if !awaited.is_empty() {
            let detail = format!("results reviewed without the awaited {}", join_names(&awaited));
            self.audit_person(staff, patient_id, AuditAction::Update, "ResultsReview", detail).await?;
        }
        self.store.set_personal_targets(patient_id, &targets, &staff.actor(), &timestamp(now)).await?;
        let version = self.store.apply_cycle_change(&change, &staff.actor(), &timestamp(now)).await?;
        Ok(Ok(CycleRow { version, ..change.after }))
    }
}

/// "HbA1c", "HbA1c and urine ACR", "HbA1c, cholesterol and urine ACR".
fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
