//! The commissioner's outcomes for each practice, primary care network and the region:
//! people eligible for the cycle, care plans shared with patients, care-process completeness (all
//! eight diabetes care processes, as the National Diabetes Audit counts them), unscheduled GP
//! visits per person-year before and after care planning (descriptive), and the share who feel
//! supported. Counts are summed from practices up; suppression is applied where the figures are
//! published (`concord_domain::outcomes`).

use std::collections::{BTreeMap, HashMap};

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
/// The measure counted as COPD review completeness.
pub const COPD_MEASURE: &str = "copd_review";
/// Months in the monthly trends.
pub const TREND_MONTHS: u32 = 12;
/// The cycle events shown as monthly trends, with their words.
pub const TRENDS: [(&str, &str); 3] = [
    ("record_tests_done", "Information gathering appointments done"),
    ("send_preparation", "Preparation letters sent"),
    ("agree_plan", "Care and support plans agreed"),
];
/// The cycle's progress counted for the facilitator's view, with their words.
pub const CYCLE_STEPS: [(&str, &str); 4] = [
    ("invite", "Invited"),
    ("record_tests_done", "Information gathering done"),
    ("send_preparation", "Preparation letter sent"),
    ("agree_plan", "Plan agreed"),
];
/// Bumped when the figures change shape or meaning: kept figures of another version are
/// recomputed.
const FIGURES_VERSION: i64 = 4;

/// One unit's counts (before suppression); a practice's are kept as JSON (`kept_outcome`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct OutcomeCounts {
    pub version: i64,
    /// People entering this year's cycle.
    pub eligible: i64,
    /// People in this cycle year with each cycle step done (`CYCLE_STEPS`), by event.
    pub cycle: BTreeMap<String, i64>,
    /// People whose current plan is agreed: the plan is given to them (PDF at agreement, online).
    pub plans_shared: i64,
    /// All eight diabetes care processes done, of people in the cycle with diabetes.
    pub completeness_done: i64,
    pub completeness_people: i64,
    /// The COPD review items done, of people in the cycle with COPD.
    pub copd_done: i64,
    pub copd_people: i64,
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
    /// Goals in current agreed plans; those with progress recorded; those attained.
    pub goals: i64,
    pub goals_with_progress: i64,
    pub goals_attained: i64,
    /// Red flags raised in the last year and actioned, by time band (`ACTION_BANDS`), all severities.
    pub flag_bands: Vec<i64>,
    /// Urgent and soon flags actioned, and of those within their standard.
    pub urgent_actioned: i64,
    pub urgent_within_standard: i64,
    pub soon_actioned: i64,
    pub soon_within_standard: i64,
    /// Flags raised in the last year still open.
    pub flags_open: i64,
    /// Paid activity of the local commissioned service this financial year, by activity.
    pub lcs: BTreeMap<String, i64>,
    /// The monthly trends (`TRENDS`): event, then `YYYY-MM`, then count.
    pub monthly: BTreeMap<String, BTreeMap<String, i64>>,
}

impl OutcomeCounts {
    /// Adds another unit's counts to these (a network is the sum of its practices).
    pub fn add(&mut self, other: &Self) {
        let add_map = |into: &mut BTreeMap<String, i64>, from: &BTreeMap<String, i64>| {
            for (key, count) in from {
                *into.entry(key.clone()).or_default() += count;
            }
        };
        self.eligible += other.eligible;
        add_map(&mut self.cycle, &other.cycle);
        self.plans_shared += other.plans_shared;
        self.completeness_done += other.completeness_done;
        self.completeness_people += other.completeness_people;
        self.copd_done += other.copd_done;
        self.copd_people += other.copd_people;
        self.unscheduled_before += other.unscheduled_before;
        self.days_before += other.days_before;
        self.unscheduled_after += other.unscheduled_after;
        self.days_after += other.days_after;
        self.planned_people += other.planned_people;
        self.supported_yes += other.supported_yes;
        self.supported_answered += other.supported_answered;
        self.goals += other.goals;
        self.goals_with_progress += other.goals_with_progress;
        self.goals_attained += other.goals_attained;
        if self.flag_bands.len() < other.flag_bands.len() {
            self.flag_bands.resize(other.flag_bands.len(), 0);
        }
        for (into, count) in self.flag_bands.iter_mut().zip(&other.flag_bands) {
            *into += count;
        }
        self.urgent_actioned += other.urgent_actioned;
        self.urgent_within_standard += other.urgent_within_standard;
        self.soon_actioned += other.soon_actioned;
        self.soon_within_standard += other.soon_within_standard;
        self.flags_open += other.flags_open;
        add_map(&mut self.lcs, &other.lcs);
        for (series, months) in &other.monthly {
            add_map(self.monthly.entry(series.clone()).or_default(), months);
        }
    }

    /// People in this cycle year with a step done.
    pub fn step(&self, event: &str) -> i64 {
        self.cycle.get(event).copied().unwrap_or(0)
    }
}

/// The unit code of practices outside any primary care network, at network level.
pub const NO_NETWORK: &str = "NO-PCN";
/// The unit code of practices outside any region, at region level (only when there are several).
pub const NO_REGION: &str = "NO-REGION";

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

/// The local commissioned service's paid activities (`data/lcs-activity.csv`): (id, term).
pub fn lcs_activities() -> Vec<(String, String)> {
    concord_codelists::lcs_activity::lcs_activities()
        .map(|activities| {
            activities.iter().map(|activity| (activity.activity.clone(), activity.term.clone())).collect()
        })
        .unwrap_or_default()
}

/// A practice's figures from what the store read (pure: no IO).
fn practice_figures(
    inputs: &concord_store::OutcomeInputs,
    completeness: Option<&concord_store::Completeness>,
    copd: Option<&concord_store::Completeness>,
    is_planned_kind: impl Fn(&concord_domain::CodedConcept) -> bool,
    today: Date,
) -> OutcomeCounts {
    use concord_domain::outcomes::{
        ACTION_BANDS, action_band, action_standard_hours, financial_year_start, goal_attained, last_months,
    };
    let mut counts = OutcomeCounts { version: FIGURES_VERSION, eligible: inputs.eligible, ..Default::default() };
    for (event, people) in &inputs.cycle_people {
        if CYCLE_STEPS.iter().any(|(step, _)| step == event) {
            counts.cycle.insert(event.clone(), *people);
        }
    }
    if let Some(kept) = completeness {
        counts.completeness_done = kept.all_done;
        counts.completeness_people = kept.people;
    }
    if let Some(kept) = copd {
        counts.copd_done = kept.all_done;
        counts.copd_people = kept.people;
    }
    // Unscheduled contacts by person, for the before-and-after figures.
    let mut contacts: HashMap<&str, Vec<Date>> = HashMap::new();
    for (patient, row) in &inputs.encounters {
        let Ok(start) = OffsetDateTime::parse(&row.start_at, &Rfc3339) else { continue };
        if is_unscheduled_gp_contact(&encounter_of(row, start), &is_planned_kind) {
            contacts.entry(patient.as_str()).or_default().push(start.date());
        }
    }
    for plan in &inputs.plans {
        // Shared: an agreed plan, given to the person at agreement and online, of someone in
        // this year's eligible cohort (the rate's denominator), so the rate never passes 100%.
        if plan.current_status == "agreed" && plan.in_cohort {
            counts.plans_shared += 1;
        }
        // Care planning began when a plan was first agreed with the person.
        let Some(agreed) = plan.first_agreed.as_deref().and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok()) else {
            continue;
        };
        let theirs = contacts.get(plan.patient_id.as_str()).map_or(&[][..], Vec::as_slice);
        let day = |text: &Option<String>| {
            text.as_deref()
                .and_then(|text| Date::parse(text, &time::format_description::well_known::Iso8601::DATE).ok())
        };
        let (before, days_before, after, days_after) =
            before_and_after(agreed.date(), today, day(&plan.registered), day(&plan.left), theirs);
        counts.planned_people += 1;
        counts.unscheduled_before += before;
        counts.days_before += days_before;
        counts.unscheduled_after += after;
        counts.days_after += days_after;
    }
    // Each person's newest answer to the support question counts once.
    let mut newest: BTreeMap<&str, &str> = BTreeMap::new();
    for (patient, support, _) in &inputs.support_answers {
        newest.insert(patient, support);
    }
    let (yes, answered) = feel_supported(newest.values().copied());
    counts.supported_yes = yes as i64;
    counts.supported_answered = answered as i64;
    // Goals: the newest progress on each goal of a current agreed plan.
    let mut progress: HashMap<(&str, &str), &str> = HashMap::new();
    for (plan, goal, status) in &inputs.goal_progress {
        progress.insert((plan, goal), status);
    }
    for (plan, goal) in &inputs.goals {
        counts.goals += 1;
        if let Some(status) = progress.get(&(plan.as_str(), goal.as_str())) {
            counts.goals_with_progress += 1;
            counts.goals_attained += i64::from(goal_attained(status));
        }
    }
    // Red flags: time from the result reaching Concord to the action.
    counts.flag_bands = vec![0; ACTION_BANDS.len()];
    for flag in &inputs.flags {
        let raised = OffsetDateTime::parse(&flag.raised_at, &Rfc3339).ok();
        let actioned = flag.actioned_at.as_deref().and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok());
        let (Some(raised), Some(actioned)) = (raised, actioned) else {
            counts.flags_open += i64::from(flag.actioned_at.is_none());
            continue;
        };
        counts.flag_bands[action_band(raised, actioned)] += 1;
        let within =
            action_standard_hours(&flag.severity).map(|hours| (actioned - raised).whole_seconds() <= hours * 3600);
        match (flag.severity.as_str(), within) {
            ("urgent", Some(within)) => {
                counts.urgent_actioned += 1;
                counts.urgent_within_standard += i64::from(within);
            }
            ("soon", Some(within)) => {
                counts.soon_actioned += 1;
                counts.soon_within_standard += i64::from(within);
            }
            _ => {}
        }
    }
    // The local commissioned service's activity this financial year, and the monthly trends.
    let year_start = crate::status::date_text(financial_year_start(today));
    let months = last_months(today, TREND_MONTHS);
    let activities = concord_codelists::lcs_activity::lcs_activities().map(<[_]>::to_vec).unwrap_or_default();
    for activity in &activities {
        counts.lcs.insert(activity.activity.clone(), 0);
    }
    for (series, _) in TRENDS {
        counts.monthly.insert(series.to_owned(), months.iter().map(|month| (month.clone(), 0)).collect());
    }
    for (event, month, count) in &inputs.events_by_month {
        if format!("{month}-31") >= year_start {
            for activity in activities.iter().filter(|activity| activity.event == *event) {
                *counts.lcs.entry(activity.activity.clone()).or_default() += count;
            }
        }
        if let Some(series) = counts.monthly.get_mut(event)
            && let Some(cell) = series.get_mut(month)
        {
            *cell += count;
        }
    }
    counts
}

impl Concord {
    /// The kept figures of every practice, brought up to date for `today`: a practice whose
    /// figures are stale (something they count changed, the day moved on, or they were computed
    /// by another version) is recomputed from its records and saved.
    async fn kept_practice_figures(
        &self,
        practices: &[String],
        rules: &CycleRules,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<BTreeMap<String, OutcomeCounts>, AppError> {
        let now_text = crate::status::timestamp(now);
        let today_text = crate::status::date_text(today);
        self.store.ensure_kept_outcomes(practices, &now_text).await?;
        let definition =
            |id: &str| rules.measures.iter().find(|measure| measure.id == id).map(crate::status::measure_definition);
        let (nda, copd) = (definition(COMPLETENESS_MEASURE), definition(COPD_MEASURE));
        // Counting starts at the earlier of the financial year and the first trend month.
        let since = std::cmp::min(
            concord_domain::outcomes::financial_year_start(today),
            Date::from_calendar_date(today.year() - 1, today.month(), 1).unwrap_or(today),
        );
        let mut figures = BTreeMap::new();
        for row in self.store.kept_outcomes().await? {
            if !practices.contains(&row.practice_ods_code) {
                continue;
            }
            let kept: Option<OutcomeCounts> = if row.current(&today_text) {
                serde_json::from_str(&row.figures)
                    .ok()
                    .filter(|counts: &OutcomeCounts| counts.version == FIGURES_VERSION)
            } else {
                None
            };
            let counts = match kept {
                Some(counts) => counts,
                None => {
                    let practice = row.practice_ods_code.as_str();
                    let inputs = self
                        .store
                        .outcome_inputs(practice, i64::from(today.year()), &crate::status::date_text(since))
                        .await?;
                    let nda = match &nda {
                        Some(definition) => self.store.kept_measure(Some(practice), definition).await?,
                        None => None,
                    };
                    let copd = match &copd {
                        Some(definition) => self.store.kept_measure(Some(practice), definition).await?,
                        None => None,
                    };
                    let counts = practice_figures(
                        &inputs,
                        nda.as_ref(),
                        copd.as_ref(),
                        |kind| self.catalogue.is_planned_contact_type(kind),
                        today,
                    );
                    let text = serde_json::to_string(&counts)
                        .map_err(|error| AppError::Invalid(format!("outcome figures: {error}")))?;
                    self.store.save_kept_outcome(practice, row.generation, &today_text, &text, &now_text).await?;
                    counts
                }
            };
            figures.insert(row.practice_ods_code, counts);
        }
        Ok(figures)
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
        let name = |code: &str| match code {
            NO_NETWORK => "Practices not in a primary care network".to_owned(),
            NO_REGION => "Practices not in a region".to_owned(),
            _ => organisations
                .iter()
                .find(|(ods, ..)| ods == code)
                .map_or_else(|| code.to_owned(), |(_, name, ..)| name.clone()),
        };
        let practices: Vec<String> =
            organisations.iter().filter(|(_, _, kind, _)| kind == "practice").map(|(code, ..)| code.clone()).collect();
        let figures = self.kept_practice_figures(&practices, rules, today, now).await?;
        let kind = |code: &str| organisations.iter().find(|(ods, ..)| ods == code).map(|(_, _, kind, _)| kind.clone());
        // A practice's network and region by the organisations' kinds. A practice outside any
        // network is still counted: in a unit of its own at network level, and in its region (or
        // the only region there is) at region level, so no total silently leaves it out.
        let regions: Vec<&String> =
            organisations.iter().filter(|(_, _, kind, _)| kind == "region").map(|(code, ..)| code).collect();
        let pcn_of = |code: &str| parent(code).filter(|up| kind(up).as_deref() == Some("pcn"));
        let region_of = |code: &str| {
            let mut up = parent(code);
            for _ in 0..3 {
                match up {
                    Some(ref candidate) if kind(candidate).as_deref() == Some("region") => return up,
                    Some(ref candidate) => up = parent(candidate),
                    None => break,
                }
            }
            (regions.len() == 1).then(|| regions[0].clone())
        };
        let mut units: BTreeMap<String, OutcomeUnit> = BTreeMap::new();
        for (code, counts) in &figures {
            let (key, group) = match level {
                "practice" => (code.clone(), pcn_of(code)),
                "pcn" => (pcn_of(code).unwrap_or_else(|| NO_NETWORK.to_owned()), region_of(code)),
                _ => (region_of(code).unwrap_or_else(|| NO_REGION.to_owned()), None),
            };
            let unit = units.entry(key.clone()).or_insert_with(|| OutcomeUnit {
                level: level.to_owned(),
                name: name(&key),
                ods_code: key,
                group,
                counts: OutcomeCounts { version: FIGURES_VERSION, ..OutcomeCounts::default() },
            });
            unit.counts.add(counts);
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
/// then secondary within each unit's group, and the rule stated on every row. Monthly trends are
/// suppressed month by month, with secondary suppression within each series (its months add up
/// to figures shown elsewhere).
pub fn publish(units: &[OutcomeUnit]) -> Vec<serde_json::Value> {
    use concord_domain::outcomes::{
        ACTION_BANDS, REGRESSION_NOTE, SUPPRESSION_RULE, median_band, per_person_year, small, small_rate,
        with_secondary,
    };
    use serde_json::{Value, json};
    let hide = |count_of: &dyn Fn(&OutcomeCounts) -> i64, primary: &dyn Fn(&OutcomeCounts) -> bool| {
        let figures: Vec<(Option<String>, i64, bool)> =
            units.iter().map(|unit| (unit.group.clone(), count_of(&unit.counts), primary(&unit.counts))).collect();
        with_secondary(&figures)
    };
    // A count shown alone: hidden from 1 to 4.
    let hide_count = |count_of: &dyn Fn(&OutcomeCounts) -> i64| hide(count_of, &|c| small(count_of(c)));
    let eligible = hide_count(&|c| c.eligible);
    let shared = hide(&|c| c.plans_shared, &|c| small_rate(c.plans_shared, c.eligible));
    let complete = hide(&|c| c.completeness_done, &|c| small_rate(c.completeness_done, c.completeness_people));
    let copd = hide(&|c| c.copd_done, &|c| small_rate(c.copd_done, c.copd_people));
    let planned = hide_count(&|c| c.planned_people);
    let supported = hide(&|c| c.supported_yes, &|c| small_rate(c.supported_yes, c.supported_answered));
    let goals = hide(&|c| c.goals_attained, &|c| small_rate(c.goals_attained, c.goals_with_progress) || small(c.goals));
    let urgent = hide(&|c| c.urgent_within_standard, &|c| small_rate(c.urgent_within_standard, c.urgent_actioned));
    let soon = hide(&|c| c.soon_within_standard, &|c| small_rate(c.soon_within_standard, c.soon_actioned));
    let actioned_total = |c: &OutcomeCounts| c.flag_bands.iter().sum::<i64>();
    let flags = hide_count(&actioned_total);
    let open = hide_count(&|c| c.flags_open);
    let steps: Vec<(&str, Vec<bool>)> =
        CYCLE_STEPS.iter().map(|(event, _)| (*event, hide_count(&|c: &OutcomeCounts| c.step(event)))).collect();
    let activities: Vec<String> = units
        .iter()
        .flat_map(|unit| unit.counts.lcs.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let lcs: Vec<(&String, Vec<bool>)> = activities
        .iter()
        .map(|activity| (activity, hide_count(&|c: &OutcomeCounts| c.lcs.get(activity).copied().unwrap_or(0))))
        .collect();
    // Each month of each trend across units (a network's month would give away a practice's),
    // then within each unit's series.
    let mut month_hidden: BTreeMap<(String, String), Vec<bool>> = BTreeMap::new();
    for unit in units {
        for (series, months) in &unit.counts.monthly {
            for month in months.keys() {
                if let std::collections::btree_map::Entry::Vacant(entry) =
                    month_hidden.entry((series.clone(), month.clone()))
                {
                    let count_of = |c: &OutcomeCounts| {
                        c.monthly.get(series).and_then(|months| months.get(month)).copied().unwrap_or(0)
                    };
                    entry.insert(hide_count(&count_of));
                }
            }
        }
    }
    let rate = |numerator: i64, denominator: i64| {
        (denominator > 0).then(|| ((numerator as f64 / denominator as f64) * 1000.0).round() / 1000.0)
    };
    let round = |value: Option<f64>| value.map(|value| (value * 100.0).round() / 100.0);
    let show = |hidden: bool, value: Value| if hidden { Value::Null } else { value };
    units
        .iter()
        .enumerate()
        .map(|(index, unit)| {
            let c = &unit.counts;
            let cycle: serde_json::Map<String, Value> = steps
                .iter()
                .map(|(event, hidden)| {
                    let count = c.step(event);
                    (
                        (*event).to_owned(),
                        json!({
                            "people": show(hidden[index], json!(count)),
                            "rate": show(hidden[index] || eligible[index], json!(rate(count, c.eligible))),
                            "suppressed": hidden[index],
                        }),
                    )
                })
                .collect();
            let activity: serde_json::Map<String, Value> = lcs
                .iter()
                .map(|(activity, hidden)| {
                    let count = c.lcs.get(*activity).copied().unwrap_or(0);
                    (
                        (*activity).clone(),
                        json!({ "count": show(hidden[index], json!(count)), "suppressed": hidden[index] }),
                    )
                })
                .collect();
            let monthly: serde_json::Map<String, Value> = c
                .monthly
                .iter()
                .map(|(series, months)| {
                    // Grouped by financial year: the months of this one add up to the local
                    // service's activity total, so a hidden month's cover must come from its own year.
                    let figures: Vec<(Option<i32>, i64, bool)> = months
                        .iter()
                        .map(|(month, count)| {
                            let across =
                                month_hidden.get(&(series.clone(), month.clone())).is_some_and(|hidden| hidden[index]);
                            (financial_year_of(month), *count, across || small(*count))
                        })
                        .collect();
                    let hidden = with_secondary(&figures);
                    let cells: serde_json::Map<String, Value> = months
                        .iter()
                        .zip(hidden)
                        .map(|((month, count), hidden)| (month.clone(), show(hidden, json!(count))))
                        .collect();
                    (series.clone(), Value::Object(cells))
                })
                .collect();
            let bands_hidden = flags[index];
            json!({
                "level": unit.level,
                "ods_code": unit.ods_code,
                "name": unit.name,
                "eligible": show(eligible[index], json!(c.eligible)),
                "cycle": cycle,
                "care_plans_shared_with_patient": {
                    "count": show(shared[index], json!(c.plans_shared)),
                    "rate": show(shared[index] || eligible[index], json!(rate(c.plans_shared, c.eligible))),
                    "suppressed": shared[index],
                },
                "care_process_completeness": {
                    "measure": COMPLETENESS_MEASURE,
                    "done": show(complete[index], json!(c.completeness_done)),
                    "people": show(complete[index], json!(c.completeness_people)),
                    "rate": show(complete[index], json!(rate(c.completeness_done, c.completeness_people))),
                    "suppressed": complete[index],
                },
                "copd_review_completeness": {
                    "measure": COPD_MEASURE,
                    "done": show(copd[index], json!(c.copd_done)),
                    "people": show(copd[index], json!(c.copd_people)),
                    "rate": show(copd[index], json!(rate(c.copd_done, c.copd_people))),
                    "suppressed": copd[index],
                },
                "unscheduled_visits_per_patient_year": {
                    "before": show(planned[index], json!(round(per_person_year(c.unscheduled_before, c.days_before)))),
                    "after": show(planned[index], json!(round(per_person_year(c.unscheduled_after, c.days_after)))),
                    "people": show(planned[index], json!(c.planned_people)),
                    "suppressed": planned[index],
                    "note": REGRESSION_NOTE,
                },
                "feel_supported": {
                    "yes": show(supported[index], json!(c.supported_yes)),
                    "answered": show(supported[index], json!(c.supported_answered)),
                    "rate": show(supported[index], json!(rate(c.supported_yes, c.supported_answered))),
                    "suppressed": supported[index],
                },
                "goal_attainment": {
                    "goals": show(goals[index], json!(c.goals)),
                    "with_progress": show(goals[index], json!(c.goals_with_progress)),
                    "attained": show(goals[index], json!(c.goals_attained)),
                    "rate": show(goals[index], json!(rate(c.goals_attained, c.goals_with_progress))),
                    "suppressed": goals[index],
                },
                "red_flag_time_to_action": {
                    "actioned": show(bands_hidden, json!(actioned_total(c))),
                    "median": show(bands_hidden, json!(median_band(&c.flag_bands).map(|band| ACTION_BANDS[band].1))),
                    "urgent_within_24_hours": {
                        "within": show(urgent[index], json!(c.urgent_within_standard)),
                        "actioned": show(urgent[index], json!(c.urgent_actioned)),
                        "rate": show(urgent[index], json!(rate(c.urgent_within_standard, c.urgent_actioned))),
                        "suppressed": urgent[index],
                    },
                    "soon_within_14_days": {
                        "within": show(soon[index], json!(c.soon_within_standard)),
                        "actioned": show(soon[index], json!(c.soon_actioned)),
                        "rate": show(soon[index], json!(rate(c.soon_within_standard, c.soon_actioned))),
                        "suppressed": soon[index],
                    },
                    "open": show(open[index], json!(c.flags_open)),
                    "suppressed": bands_hidden,
                },
                "lcs_activity": activity,
                "monthly": monthly,
                "suppression_rule": SUPPRESSION_RULE,
            })
        })
        .collect()
}

/// The financial year (by its starting calendar year) of a `YYYY-MM` month.
fn financial_year_of(month: &str) -> Option<i32> {
    let (year, month) = month.split_once('-')?;
    let (year, month): (i32, u8) = (year.parse().ok()?, month.parse().ok()?);
    Some(if month >= 4 { year } else { year - 1 })
}

/// The published outcomes as CSV: one row per unit; a suppressed figure is written `suppressed`.
pub fn csv(rows: &[serde_json::Value]) -> String {
    let mut columns: Vec<(String, Vec<String>)> = [
        ("level", &["level"][..]),
        ("ods_code", &["ods_code"]),
        ("name", &["name"]),
        ("eligible", &["eligible"]),
        ("care_plans_shared_with_patient", &["care_plans_shared_with_patient", "count"]),
        ("care_plans_shared_rate", &["care_plans_shared_with_patient", "rate"]),
        ("care_process_completeness_done", &["care_process_completeness", "done"]),
        ("care_process_completeness_people", &["care_process_completeness", "people"]),
        ("care_process_completeness", &["care_process_completeness", "rate"]),
        ("copd_review_done", &["copd_review_completeness", "done"]),
        ("copd_review_people", &["copd_review_completeness", "people"]),
        ("copd_review_completeness", &["copd_review_completeness", "rate"]),
        ("unscheduled_visits_per_patient_year_before", &["unscheduled_visits_per_patient_year", "before"]),
        ("unscheduled_visits_per_patient_year_after", &["unscheduled_visits_per_patient_year", "after"]),
        ("unscheduled_people", &["unscheduled_visits_per_patient_year", "people"]),
        ("feel_supported_yes", &["feel_supported", "yes"]),
        ("feel_supported_answered", &["feel_supported", "answered"]),
        ("feel_supported", &["feel_supported", "rate"]),
        ("goals", &["goal_attainment", "goals"]),
        ("goals_with_progress", &["goal_attainment", "with_progress"]),
        ("goals_attained", &["goal_attainment", "attained"]),
        ("goal_attainment", &["goal_attainment", "rate"]),
        ("red_flags_actioned", &["red_flag_time_to_action", "actioned"]),
        ("red_flag_median_time_to_action", &["red_flag_time_to_action", "median"]),
        ("urgent_flags_within_24_hours", &["red_flag_time_to_action", "urgent_within_24_hours", "rate"]),
        ("soon_flags_within_14_days", &["red_flag_time_to_action", "soon_within_14_days", "rate"]),
        ("red_flags_open", &["red_flag_time_to_action", "open"]),
    ]
    .iter()
    .map(|(name, path)| ((*name).to_owned(), path.iter().map(|key| (*key).to_owned()).collect()))
    .collect();
    for (event, _) in CYCLE_STEPS {
        columns.push((format!("cycle_{event}"), vec!["cycle".into(), event.into(), "people".into()]));
    }
    if let Some(first) = rows.first()
        && let Some(activities) = first["lcs_activity"].as_object()
    {
        for activity in activities.keys() {
            columns.push((format!("lcs_{activity}"), vec!["lcs_activity".into(), activity.clone(), "count".into()]));
        }
    }
    // Every export carries the rule it was published under and what the visit figures mean.
    columns.push(("unscheduled_visits_note".into(), vec!["unscheduled_visits_per_patient_year".into(), "note".into()]));
    columns.push(("suppression_rule".into(), vec!["suppression_rule".into()]));
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let mut out = columns.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(",");
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, path)| {
                let value = path.iter().fold(row, |value, key| &value[key.as_str()]);
                match value {
                    // A null count is always a hidden one; a null rate, median or per-person-year
                    // figure is hidden only when its measure is, and otherwise has no data.
                    serde_json::Value::Null => {
                        let derived = ["rate", "median", "before", "after"].contains(&path[path.len() - 1].as_str());
                        // A rate over the eligible cohort is hidden when that count is.
                        let over_eligible = ["care_plans_shared_with_patient", "cycle"].contains(&path[0].as_str());
                        let hidden = !derived
                            || (over_eligible && row["eligible"].is_null())
                            || (1..path.len()).any(|depth| {
                                let parent = path[..depth].iter().fold(row, |value, key| &value[key.as_str()]);
                                parent.get("suppressed").and_then(serde_json::Value::as_bool) == Some(true)
                            });
                        if hidden { "suppressed".to_owned() } else { String::new() }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_month_takes_its_cover_from_its_own_financial_year() {
        // The months since April add up to the local service's activity total, so hiding
        // 2026-05 (3) behind the smallest month overall (2026-02, last financial year) would
        // let it be worked out; the cover must be 2026-06, the smallest shown month since April.
        let months: BTreeMap<String, i64> =
            [("2026-01", 20), ("2026-02", 6), ("2026-03", 30), ("2026-04", 25), ("2026-05", 3), ("2026-06", 9)]
                .into_iter()
                .map(|(month, count)| (month.to_owned(), count))
                .collect();
        let counts = OutcomeCounts { monthly: [("agree_plan".to_owned(), months)].into(), ..Default::default() };
        let unit =
            OutcomeUnit { level: "region".into(), ods_code: "Y99".into(), name: "Region".into(), group: None, counts };
        let published = publish(&[unit]);
        let series = &published[0]["monthly"]["agree_plan"];
        let hidden: Vec<&str> = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
            .into_iter()
            .filter(|m| series[m].is_null())
            .collect();
        assert_eq!(hidden, ["2026-05", "2026-06"]);
        assert_eq!(financial_year_of("2026-03"), Some(2025));
        assert_eq!(financial_year_of("2026-04"), Some(2026));
    }
}
