//! The commissioner's outcomes for each practice, primary care network and the region:
//! people eligible for the cycle, care plans shared with patients, care-process completeness (all
//! eight diabetes care processes, as the National Diabetes Audit counts them), unscheduled GP
//! visits per person-year before and after care planning (descriptive), and the share who feel
//! supported. Counts are summed from practices up; suppression is applied where the figures are
//! published (`concord_domain::outcomes`).

use std::collections::BTreeMap;

use concord_codelists::cycle_rules::CycleRules;
use concord_domain::outcomes::before_and_after;
use concord_domain::record::is_unscheduled_gp_contact;
use concord_domain::survey::feel_supported;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::cycle::Caller;
use crate::status::encounter_of;
use crate::{AppError, Concord};

/// The measure counted as care-process completeness.
pub const COMPLETENESS_MEASURE: &str = "nda_eight";

/// One unit's counts (before suppression).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// People entering this year's cycle.
    pub eligible: i64,
    /// People whose current plan is agreed: the plan is given to them (PDF at agreement, online).
    pub plans_shared: i64,
    /// All eight diabetes care processes done, of people in the cycle with diabetes.
    pub completeness_done: i64,
    pub completeness_people: i64,
    /// Unscheduled GP contacts before and after care planning, and the person-days observed.
    pub unscheduled_before: i64,
    pub days_before: i64,
    pub unscheduled_after: i64,
    pub days_after: i64,
    /// People with an agreed plan counted in the before-and-after figures.
    pub planned_people: i64,
    /// "Yes" of those who answered the support question yes or no.
    pub supported_yes: i64,
    pub supported_answered: i64,
}

impl OutcomeCounts {
    fn add(&mut self, other: &Self) {
        self.eligible += other.eligible;
        self.plans_shared += other.plans_shared;
        self.completeness_done += other.completeness_done;
        self.completeness_people += other.completeness_people;
        self.unscheduled_before += other.unscheduled_before;
        self.days_before += other.days_before;
        self.unscheduled_after += other.unscheduled_after;
        self.days_after += other.days_after;
        self.planned_people += other.planned_people;
        self.supported_yes += other.supported_yes;
        self.supported_answered += other.supported_answered;
    }
}

/// A practice, network or the region with its counts; `group` is the unit a practice (or network)
/// belongs to, for secondary suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeUnit {
    /// `practice`, `pcn` or `region`.
    pub level: String,
    pub ods_code: String,
    pub name: String,
    pub group: Option<String>,
    pub counts: OutcomeCounts,
}

impl Concord {
    /// One practice's counts as of `today`.
    async fn practice_counts(
        &self,
        practice: &str,
        eligible: i64,
        rules: &CycleRules,
        today: Date,
    ) -> Result<OutcomeCounts, AppError> {
        let mut counts = OutcomeCounts { eligible, ..Default::default() };
        if let Some(measure) = rules.measures.iter().find(|measure| measure.id == COMPLETENESS_MEASURE) {
            let definition = concord_store::MeasureDefinition {
                id: measure.id.clone(),
                register: measure.register.clone(),
                items: measure.items.clone(),
            };
            if let Some(kept) = self.store.kept_measure(Some(practice), &definition).await? {
                counts.completeness_done = kept.all_done;
                counts.completeness_people = kept.people;
            }
        }
        for plan in self.store.current_plans(Some(practice)).await? {
            if plan.status != "agreed" {
                continue;
            }
            counts.plans_shared += 1;
            // Care planning began when a plan was first agreed with the person.
            let versions = self.store.plan_versions(&plan.patient_id).await?;
            let Some(first) = versions.iter().rev().find(|row| row.status == "agreed") else { continue };
            let Ok(agreed) = OffsetDateTime::parse(&first.recorded_at, &Rfc3339) else { continue };
            let contacts: Vec<Date> = self
                .store
                .encounters(&plan.patient_id)
                .await?
                .iter()
                .filter_map(|row| {
                    let start = OffsetDateTime::parse(&row.start_at, &Rfc3339).ok()?;
                    let encounter = encounter_of(row, start);
                    is_unscheduled_gp_contact(&encounter, |kind| self.catalogue.is_planned_contact_type(kind))
                        .then_some(start.date())
                })
                .collect();
            let (before, days_before, after, days_after) = before_and_after(agreed.date(), today, &contacts);
            counts.planned_people += 1;
            counts.unscheduled_before += before;
            counts.days_before += days_before;
            counts.unscheduled_after += after;
            counts.days_after += days_after;
        }
        let responses = self.store.survey_responses(Some(practice)).await?;
        // Each person's newest answer to the support question counts once.
        let mut newest: BTreeMap<&str, &str> = BTreeMap::new();
        for response in &responses {
            if !response.support.is_empty() {
                newest.insert(&response.patient_id, &response.support);
            }
        }
        let (yes, answered) = feel_supported(newest.values().copied());
        counts.supported_yes = yes as i64;
        counts.supported_answered = answered as i64;
        Ok(counts)
    }

    /// The outcomes at one level (`practice`, `pcn` or `region`), units in ODS code order, with
    /// the counts before suppression. Aggregates only: reading them needs `ViewAggregates`.
    /// Statuses are brought up to date first, so completeness is current.
    pub async fn outcomes(
        &self,
        caller: Caller<'_>,
        level: &str,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<Vec<OutcomeUnit>, AppError> {
        caller.require(concord_domain::access::Permission::ViewAggregates)?;
        if !matches!(level, "practice" | "pcn" | "region") {
            return Err(AppError::Invalid(format!("--level: {level:?} is not practice, pcn or region")));
        }
        self.refresh_statuses(today, now).await?;
        let rules = CycleRules::shared().map_err(|error| AppError::Invalid(format!("cycle rules: {error}")))?;
        let organisations = self.store.organisations().await?;
        let parent = |code: &str| {
            organisations.iter().find(|(ods, ..)| ods == code).and_then(|(_, _, _, parent)| parent.clone())
        };
        let name = |code: &str| {
            organisations
                .iter()
                .find(|(ods, ..)| ods == code)
                .map_or_else(|| code.to_owned(), |(_, name, ..)| name.clone())
        };
        let eligible: BTreeMap<String, i64> = self.store.cycle_eligible_by_practice().await?.into_iter().collect();
        let mut units: BTreeMap<String, OutcomeUnit> = BTreeMap::new();
        for (code, ..) in organisations.iter().filter(|(_, _, kind, _)| kind == "practice") {
            let counts = self.practice_counts(code, eligible.get(code).copied().unwrap_or(0), rules, today).await?;
            let pcn = parent(code);
            let (key, group) = match level {
                "practice" => (Some(code.clone()), pcn.clone()),
                "pcn" => (pcn.clone(), pcn.as_deref().and_then(parent)),
                _ => (pcn.as_deref().and_then(parent).or_else(|| pcn.clone()), None),
            };
            let Some(key) = key else { continue };
            let unit = units.entry(key.clone()).or_insert_with(|| OutcomeUnit {
                level: level.to_owned(),
                name: name(&key),
                ods_code: key,
                group,
                counts: OutcomeCounts::default(),
            });
            unit.counts.add(&counts);
        }
        self.audit(
            caller.actor(),
            caller.organisation(),
            None,
            concord_domain::audit::AuditAction::Read,
            "Outcomes",
            format!("outcomes by {level}: {} unit(s)", units.len()),
        )
        .await?;
        Ok(units.into_values().collect())
    }
}

/// The outcome units as published: suppression applied (`concord_domain::outcomes`), primary
/// then secondary within each unit's group, and the rule stated on every row.
pub fn publish(units: &[OutcomeUnit]) -> Vec<serde_json::Value> {
    use concord_domain::outcomes::{
        REGRESSION_NOTE, SUPPRESSION_RULE, per_person_year, small, small_rate, with_secondary,
    };
    let hide = |count_of: &dyn Fn(&OutcomeCounts) -> i64, primary: &dyn Fn(&OutcomeCounts) -> bool| {
        let figures: Vec<(Option<String>, i64, bool)> =
            units.iter().map(|unit| (unit.group.clone(), count_of(&unit.counts), primary(&unit.counts))).collect();
        with_secondary(&figures)
    };
    let eligible = hide(&|c| c.eligible, &|c| small(c.eligible));
    let shared = hide(&|c| c.plans_shared, &|c| small_rate(c.plans_shared, c.eligible));
    let complete = hide(&|c| c.completeness_done, &|c| small_rate(c.completeness_done, c.completeness_people));
    let planned = hide(&|c| c.planned_people, &|c| small(c.planned_people));
    let supported = hide(&|c| c.supported_yes, &|c| small_rate(c.supported_yes, c.supported_answered));
    let rate = |numerator: i64, denominator: i64| {
        (denominator > 0).then(|| ((numerator as f64 / denominator as f64) * 1000.0).round() / 1000.0)
    };
    let round = |value: Option<f64>| value.map(|value| (value * 100.0).round() / 100.0);
    units
        .iter()
        .enumerate()
        .map(|(index, unit)| {
            let c = &unit.counts;
            let show = |hidden: bool, value: serde_json::Value| if hidden { serde_json::Value::Null } else { value };
            serde_json::json!({
                "level": unit.level,
                "ods_code": unit.ods_code,
                "name": unit.name,
                "eligible": show(eligible[index], serde_json::json!(c.eligible)),
                "care_plans_shared_with_patient": {
                    "count": show(shared[index], serde_json::json!(c.plans_shared)),
                    "rate": show(shared[index] || eligible[index], serde_json::json!(rate(c.plans_shared, c.eligible))),
                    "suppressed": shared[index],
                },
                "care_process_completeness": {
                    "measure": COMPLETENESS_MEASURE,
                    "done": show(complete[index], serde_json::json!(c.completeness_done)),
                    "people": show(complete[index], serde_json::json!(c.completeness_people)),
                    "rate": show(complete[index], serde_json::json!(rate(c.completeness_done, c.completeness_people))),
                    "suppressed": complete[index],
                },
                "unscheduled_visits_per_patient_year": {
                    "before": show(planned[index], serde_json::json!(round(per_person_year(c.unscheduled_before, c.days_before)))),
                    "after": show(planned[index], serde_json::json!(round(per_person_year(c.unscheduled_after, c.days_after)))),
                    "people": show(planned[index], serde_json::json!(c.planned_people)),
                    "suppressed": planned[index],
                    "note": REGRESSION_NOTE,
                },
                "feel_supported": {
                    "yes": show(supported[index], serde_json::json!(c.supported_yes)),
                    "answered": show(supported[index], serde_json::json!(c.supported_answered)),
                    "rate": show(supported[index], serde_json::json!(rate(c.supported_yes, c.supported_answered))),
                    "suppressed": supported[index],
                },
                "suppression_rule": SUPPRESSION_RULE,
            })
        })
        .collect()
}

impl Concord {
    /// People whose care and support plan was first agreed, per month, for the last `months`
    /// months up to `today` (oldest first; months with none are 0). Aggregates only.
    pub async fn plans_agreed_by_month(
        &self,
        caller: Caller<'_>,
        today: Date,
        months: u32,
    ) -> Result<Vec<(Date, i64)>, AppError> {
        caller.require(concord_domain::access::Permission::ViewAggregates)?;
        let counts: BTreeMap<String, i64> = self.store.plans_first_agreed_by_month().await?.into_iter().collect();
        let mut month = Date::from_calendar_date(today.year(), today.month(), 1).unwrap_or(today);
        let mut series = Vec::new();
        for _ in 0..months {
            let key = format!("{:04}-{:02}", month.year(), u8::from(month.month()));
            series.push((month, counts.get(&key).copied().unwrap_or(0)));
            let previous = month.previous_day().unwrap_or(month);
            month = Date::from_calendar_date(previous.year(), previous.month(), 1).unwrap_or(previous);
        }
        series.reverse();
        Ok(series)
    }
}

/// The published outcomes as CSV: one row per unit; a suppressed figure is written `suppressed`.
pub fn csv(rows: &[serde_json::Value]) -> String {
    let columns: [(&str, &[&str]); 15] = [
        ("level", &["level"]),
        ("ods_code", &["ods_code"]),
        ("name", &["name"]),
        ("eligible", &["eligible"]),
        ("care_plans_shared_with_patient", &["care_plans_shared_with_patient", "count"]),
        ("care_plans_shared_rate", &["care_plans_shared_with_patient", "rate"]),
        ("care_process_completeness_done", &["care_process_completeness", "done"]),
        ("care_process_completeness_people", &["care_process_completeness", "people"]),
        ("care_process_completeness", &["care_process_completeness", "rate"]),
        ("unscheduled_visits_per_patient_year_before", &["unscheduled_visits_per_patient_year", "before"]),
        ("unscheduled_visits_per_patient_year_after", &["unscheduled_visits_per_patient_year", "after"]),
        ("unscheduled_people", &["unscheduled_visits_per_patient_year", "people"]),
        ("feel_supported_yes", &["feel_supported", "yes"]),
        ("feel_supported_answered", &["feel_supported", "answered"]),
        ("feel_supported", &["feel_supported", "rate"]),
    ];
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let mut out = columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(",");
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, path)| {
                let value = path.iter().fold(row, |value, key| &value[*key]);
                match value {
                    serde_json::Value::Null => {
                        let group = &row[path[0]];
                        if group.get("suppressed").and_then(serde_json::Value::as_bool) == Some(true) || path.len() == 1
                        {
                            "suppressed".to_owned()
                        } else {
                            String::new()
                        }
                    }
                    serde_json::Value::String(text) => quote(text),
                    other => other.to_string(),
                }
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
