//! Keeping each person's cycle status current: registers, risk, eligibility, the merged
//! checklist and red flags, recomputed for the people the import marked stale.
//!
//! The computation is a pure function of a person's stored record, the rules and the date
//! ([`compute_status`]); the refresh only decides whom to recompute. A full recompute therefore
//! gives the same answer as the kept status, which `tests/status.rs` checks.

use std::collections::{BTreeSet, HashMap};

use concord_codelists::cycle_rules::{CycleRules, DUE_WINDOW_DAYS};
use concord_codelists::{Catalogue, MedicineClasses, RedFlagTable, medicine_classes, red_flag_rules};
use concord_domain::audit::Actor;
use concord_domain::care_process::merged_checklist;
use concord_domain::record::{Clinician, Encounter, EncounterSetting, EncounterStatus, is_unscheduled_gp_contact};
use concord_domain::red_flag::{MedicineClass, RedFlagRule, Severity, classify_medicine, evaluate};
use concord_domain::risk::{Place, Utilisation, eligibility, risk_score};
use concord_domain::snapshot::{PersonSnapshot, ResultPoint};
use concord_store::{ItemStatusRow, NewFlag, PersonRecord, StatusRow};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime};

use crate::{AppError, Concord};

/// People recomputed per transaction.
const PAGE: i64 = 500;

/// How long an urgent flag may stay without a recorded action before it escalates to the
/// practice's duty clinician list (hazard log H14). A practice setting in a later issue.
pub const URGENT_ESCALATION: Duration = Duration::hours(2);

/// Everything the status computation needs besides the record.
pub struct StatusRules<'a> {
    pub catalogue: &'a Catalogue,
    pub cycle: &'a CycleRules,
    pub red_flags: &'a [RedFlagRule],
    pub medicine_classes: &'a [MedicineClass],
    /// Each practice's network and region, from the organisation table.
    pub places: HashMap<String, Place>,
    /// Each practice's duty clinician today, when one has been named.
    pub duty: HashMap<String, String>,
}

impl StatusRules<'static> {
    /// The rules compiled into this build.
    pub fn standard(catalogue: &'static Catalogue) -> Result<Self, AppError> {
        let cycle = CycleRules::shared().map_err(|error| AppError::Invalid(format!("cycle rules: {error}")))?;
        let red_flags = red_flag_rules().map_err(|error| AppError::Invalid(format!("red-flag rules: {error}")))?;
        let medicine_classes =
            medicine_classes().map_err(|error| AppError::Invalid(format!("medicine classes: {error}")))?.classes();
        Ok(Self { catalogue, cycle, red_flags, medicine_classes, places: HashMap::new(), duty: HashMap::new() })
    }
}

impl StatusRules<'_> {
    /// A fingerprint of every rule the status depends on.
    pub fn fingerprint(&self) -> String {
        let flags = concord_codelists::cycle_rules::fingerprint(&[
            RedFlagTable::embedded_text(),
            MedicineClasses::embedded_text(),
        ]);
        format!("{}-{flags}", self.cycle.fingerprint)
    }
}

/// The outcome of a refresh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    pub people: u64,
    pub flags_raised: u64,
}

impl Concord {
    /// One person's stored record and what the rules see of it on `today`.
    pub(crate) async fn person_snapshot(
        &self,
        patient_id: &str,
        rules: &StatusRules<'_>,
        today: Date,
    ) -> Result<(PersonRecord, PersonSnapshot), AppError> {
        let record = self
            .store
            .person_records(&[patient_id.to_owned()])
            .await?
            .pop()
            .ok_or_else(|| AppError::NotFound("No such person".into()))?;
        let (person, _) = snapshot(&record, rules, today);
        Ok((record, person))
    }
}

/// The rules' view of a person on `today`, and their contacts with services in the last year.
pub fn snapshot(record: &PersonRecord, rules: &StatusRules<'_>, today: Date) -> (PersonSnapshot, Utilisation) {
    let patient = &record.person.patient;
    let registers: BTreeSet<String> = rules
        .catalogue
        .registers
        .iter()
        .filter(|register| register.includes(patient, &record.person.conditions, today))
        .map(|register| register.id.clone())
        .collect();
    let frailty = rules.catalogue.codelist("frailty-moderate-severe");
    let moderate_or_severe_frailty = registers.contains("frailty")
        && record.person.conditions.iter().any(|condition| {
            frailty.is_some_and(|list| list.contains(&condition.concept.code))
                && condition.status == concord_domain::record::ConditionStatus::Active
        });
    let medicine_classes: BTreeSet<String> = record
        .medicines
        .iter()
        .filter(|medicine| medicine.status == "active")
        .flat_map(|medicine| classify_medicine(rules.medicine_classes, &medicine.concept))
        .map(str::to_owned)
        .collect();
    let mut results: Vec<ResultPoint> = record
        .results
        .iter()
        .filter_map(|row| {
            let effective = OffsetDateTime::parse(&row.effective, &Rfc3339).ok()?;
            let value = row.value_number.or_else(|| {
                row.value_code
                    .as_ref()
                    .and_then(|code| rules.catalogue.implied_value(code))
                    .or_else(|| rules.catalogue.implied_value(&row.code))
            });
            Some(ResultPoint {
                observable: row.observable.clone(),
                value,
                code: row.code.clone(),
                value_code: row.value_code.clone(),
                effective,
                key: row.id.clone(),
            })
        })
        .collect();
    // An active foot ulcer recorded as a problem (rather than an examination finding) is still
    // an active foot ulcer for the red-flag rules (hazard RF8).
    if let Some(ulcer) = rules.catalogue.observable("foot_ulcer") {
        for condition in &record.person.conditions {
            let active =
                condition.status == concord_domain::record::ConditionStatus::Active && condition.resolved.is_none();
            if let (true, true, Some(on)) =
                (active, ulcer.codes.contains(&condition.concept.code), condition.effective_date())
            {
                results.push(ResultPoint {
                    observable: ulcer.id.clone(),
                    value: None,
                    code: condition.concept.code.clone(),
                    value_code: None,
                    effective: on.midnight().assume_utc(),
                    key: format!("condition:{}:{on}", condition.concept.code.code),
                });
            }
        }
    }
    results.retain(|result| result.date() <= today);
    let mut person = PersonSnapshot {
        today,
        age_years: u32::try_from(patient.age_on(today)).ok(),
        sex: patient.sex,
        registers,
        moderate_or_severe_frailty,
        medicine_classes,
        results,
    };
    person.sort_results();
    let year_ago = today.saturating_sub(Duration::days(365));
    let mut utilisation = Utilisation::default();
    for row in &record.encounters {
        let Ok(start) = OffsetDateTime::parse(&row.start_at, &Rfc3339) else { continue };
        if start.date() <= year_ago || start.date() > today {
            continue;
        }
        let encounter = encounter_of(row, start);
        if encounter.status != EncounterStatus::Attended {
            continue;
        }
        if matches!(encounter.setting, EncounterSetting::Emergency | EncounterSetting::Inpatient) {
            utilisation.emergency_12m += 1;
        }
        if is_unscheduled_gp_contact(&encounter, |kind| rules.catalogue.is_planned_contact_type(kind)) {
            utilisation.unscheduled_gp_12m += 1;
        }
    }
    (person, utilisation)
}

/// A person's status on `today`: pure, so a full recompute equals the kept status.
pub fn compute_status(record: &PersonRecord, rules: &StatusRules<'_>, today: Date, now: OffsetDateTime) -> StatusRow {
    let (person, utilisation) = snapshot(record, rules, today);
    let practice =
        record.person.patient.registration.as_ref().map(|registration| registration.practice.as_str().to_owned());
    let place = practice
        .as_ref()
        .and_then(|ods| rules.places.get(ods).cloned())
        .unwrap_or_else(|| Place { practice: practice.clone(), ..Place::default() });
    let risk = risk_score(&rules.cycle.risk_factors, &person, utilisation);
    let eligible = eligibility(&rules.cycle.eligibility, &place, &person, &risk);
    let items = merged_checklist(&rules.cycle.care_processes, &person, DUE_WINDOW_DAYS)
        .into_iter()
        .map(|item| ItemStatusRow {
            item: item.item,
            status: item.status.as_str().to_owned(),
            last_done: item.last_done.map(date_text),
            next_due: item.next_due.map(date_text),
            interval_months: i64::from(item.interval_months),
            performed_by: item.performed_by.as_str().to_owned(),
        })
        .collect();
    let flags = evaluate(rules.red_flags, &person)
        .into_iter()
        .map(|flag| NewFlag {
            identity: flag.identity().to_string(),
            rule_id: flag.rule_id.clone(),
            severity: flag.severity.as_str().to_owned(),
            value_text: flag.value.clone(),
            observation_keys: flag.observation_keys.clone(),
            observation_codes: flag.observation_codes.clone(),
            result_date: date_text(flag.result_date),
            recommended: flag.action.clone(),
            escalate_at: (flag.severity == Severity::Urgent).then(|| timestamp(now + URGENT_ESCALATION)),
            duty_clinician: (flag.severity == Severity::Urgent)
                .then(|| practice.as_ref().and_then(|ods| rules.duty.get(ods).cloned()))
                .flatten(),
        })
        .collect();
    StatusRow {
        patient_id: record.person.id.clone(),
        generation: record.generation,
        practice_ods_code: practice,
        registers: person.registers.iter().cloned().collect(),
        risk_score: i64::from(risk.score),
        risk_factors: risk.factors,
        enters_cycle: eligible.enters_cycle(),
        care_planning: eligible.care_planning_for,
        recall_month: i64::from(
            concord_domain::risk::recall_rule(&rules.cycle.recall, &place)
                .month_for(record.person.patient.birth_date.month() as u8),
        ),
        family_name: record.person.patient.name.family.clone(),
        given_name: record.person.patient.name.given.clone(),
        items,
        flags,
    }
}

pub(crate) fn date_text(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month() as u8, date.day())
}

pub fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}

impl Concord {
    /// The standard rules with this database's organisation tree.
    pub async fn status_rules(&self) -> Result<StatusRules<'static>, AppError> {
        let mut rules = StatusRules::standard(self.catalogue)?;
        let organisations = self.store.organisations().await?;
        let parent: HashMap<&str, Option<&str>> =
            organisations.iter().map(|(ods, _, _, parent)| (ods.as_str(), parent.as_deref())).collect();
        let kind: HashMap<&str, &str> =
            organisations.iter().map(|(ods, _, kind, _)| (ods.as_str(), kind.as_str())).collect();
        for (ods, _, org_kind, _) in &organisations {
            if org_kind != "practice" {
                continue;
            }
            let mut place = Place { practice: Some(ods.clone()), ..Place::default() };
            let mut at = parent.get(ods.as_str()).copied().flatten();
            while let Some(up) = at {
                match kind.get(up).copied() {
                    Some("pcn") => place.pcn = Some(up.to_owned()),
                    Some("region") => place.region = Some(up.to_owned()),
                    _ => {}
                }
                at = parent.get(up).copied().flatten();
            }
            rules.places.insert(ods.clone(), place);
        }
        // Today's duty clinicians, all practices in one read.
        let today = date_text(OffsetDateTime::now_utc().date());
        for (name, value) in self.store.facts_with_prefix("duty_clinician:").await? {
            let (Some(practice), Some(clinician)) = (name.strip_prefix("duty_clinician:"), value.strip_prefix(&today))
            else {
                continue;
            };
            let clinician = clinician.trim();
            if !clinician.is_empty() {
                rules.duty.insert(practice.to_owned(), clinician.to_owned());
            }
        }
        Ok(rules)
    }

    /// Recomputes everyone marked stale, and everyone computed under other rules or on another
    /// day. Runs after every import and before the worklist and triage are read.
    pub async fn refresh_statuses(&self, today: Date, now: OffsetDateTime) -> Result<Refreshed, AppError> {
        let rules = self.status_rules().await?;
        let now_text = timestamp(now);
        self.store.mark_outdated_statuses(&rules.fingerprint(), &date_text(today), &now_text).await?;
        self.refresh_stale(&rules, today, now).await
    }

    /// Marks open urgent flags whose escalation time has passed; returns how many.
    pub async fn escalate_overdue_flags(&self, now: OffsetDateTime) -> Result<u64, AppError> {
        Ok(self.store.escalate_overdue_flags(&timestamp(now)).await?)
    }

    /// Recomputes every person from scratch (after a rule change, or to check the kept status).
    pub async fn recompute_all_statuses(&self, today: Date, now: OffsetDateTime) -> Result<Refreshed, AppError> {
        let rules = self.status_rules().await?;
        self.store.mark_all_statuses_stale(&timestamp(now)).await?;
        self.refresh_stale(&rules, today, now).await
    }

    async fn refresh_stale(
        &self,
        rules: &StatusRules<'_>,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<Refreshed, AppError> {
        let fingerprint = rules.fingerprint();
        let today_text = date_text(today);
        let now_text = timestamp(now);
        let mut refreshed = Refreshed::default();
        let mut after = String::new();
        let mut practices: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        loop {
            let people = self.store.stale_people(&after, PAGE).await?;
            let Some(last) = people.last() else { break };
            after = last.person.id.clone();
            let statuses: Vec<StatusRow> =
                people.iter().map(|record| compute_status(record, rules, today, now)).collect();
            practices.extend(statuses.iter().filter_map(|status| status.practice_ods_code.clone()));
            let saved = self
                .store
                .save_statuses(&statuses, &fingerprint, &today_text, &now_text, &Actor::System("status-refresh".into()))
                .await?;
            refreshed.flags_raised += saved.flags_raised;
            practices.extend(saved.practices_left);
            refreshed.people += statuses.len() as u64;
            if (people.len() as i64) < PAGE {
                break;
            }
        }
        if !practices.is_empty() {
            let practices: Vec<String> = practices.into_iter().collect();
            self.store.refresh_kept_measures(&practices, &measure_definitions(rules), &now_text).await?;
            self.store.mark_outcomes_changed(&practices).await?;
        }
        Ok(refreshed)
    }
}

/// The database fact naming a practice's duty clinician for a day: "YYYY-MM-DD name".
fn duty_fact(practice: &str) -> String {
    format!("duty_clinician:{practice}")
}

impl Concord {
    /// The clinician who named themselves on duty at the practice today, if anyone did.
    pub async fn duty_clinician(&self, practice: &str, today: Date) -> Result<Option<String>, AppError> {
        let Some(fact) = self.store.fact(&duty_fact(practice)).await? else { return Ok(None) };
        let day = date_text(today);
        Ok(fact.strip_prefix(&day).map(|name| name.trim().to_owned()).filter(|name| !name.is_empty()))
    }

    /// Names the signed-in clinician as their practice's duty clinician for today: urgent flags
    /// raised from now on are theirs, and the change is audited.
    pub async fn take_duty(&self, staff: &crate::record::StaffMember, now: OffsetDateTime) -> Result<(), AppError> {
        staff.require(concord_domain::access::Permission::TriageResults)?;
        let Some(practice) = &staff.organisation else {
            return Err(AppError::Refused("Your account is not linked to a practice".into()));
        };
        self.store.set_fact(&duty_fact(practice), &format!("{} {}", date_text(now.date()), staff.display_name)).await?;
        // Open urgent flags without a named clinician become theirs.
        self.store.assign_unowned_urgent_flags(practice, &staff.display_name).await?;
        self.store
            .record_audit(&[concord_store::NewAuditEvent {
                actor: staff.actor(),
                organisation: Some(practice.clone()),
                patient_id: None,
                action: concord_domain::audit::AuditAction::Update,
                entity: "DutyClinician".into(),
                detail: format!("{} is duty clinician on {}", staff.display_name, date_text(now.date())),
                request_id: None,
                purpose: None,
            }])
            .await?;
        Ok(())
    }
}

fn measure_definitions(rules: &StatusRules<'_>) -> Vec<concord_store::MeasureDefinition> {
    rules.cycle.measures.iter().map(measure_definition).collect()
}

/// The store's view of a measure in `data/measures.csv`: its register and the items it counts.
pub(crate) fn measure_definition(
    measure: &concord_codelists::cycle_rules::Measure,
) -> concord_store::MeasureDefinition {
    concord_store::MeasureDefinition {
        id: measure.id.clone(),
        register: measure.register.clone(),
        items: measure.items.clone(),
    }
}

impl Concord {
    /// A population measure for one practice (e.g. `nda_eight`: all eight diabetes care
    /// processes), read from the kept counts after bringing statuses up to date.
    pub async fn measure(
        &self,
        caller: crate::cycle::Caller<'_>,
        practice: Option<&str>,
        measure_id: &str,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<concord_store::Completeness, AppError> {
        caller.require(concord_domain::access::Permission::ViewAggregates)?;
        self.refresh_statuses(today, now).await?;
        let rules = CycleRules::shared().map_err(|error| AppError::Invalid(format!("cycle rules: {error}")))?;
        let measure = rules
            .measures
            .iter()
            .find(|measure| measure.id == measure_id)
            .ok_or_else(|| AppError::Invalid(format!("{measure_id:?} is not a measure in data/measures.csv")))?;
        let definition = measure_definition(measure);
        Ok(self.store.kept_measure(practice, &definition).await?.unwrap_or(concord_store::Completeness {
            people: 0,
            items: definition.items.iter().map(|item| (item.clone(), 0)).collect(),
            all_done: 0,
        }))
    }
}

/// A stored encounter as the domain reads it.
pub(crate) fn encounter_of(row: &concord_store::EncounterRow, start: OffsetDateTime) -> Encounter {
    Encounter {
        start,
        setting: EncounterSetting::parse(&row.setting).unwrap_or(EncounterSetting::Other),
        clinician: Clinician::parse(&row.clinician).unwrap_or(Clinician::Unknown),
        status: EncounterStatus::parse(&row.status).unwrap_or(EncounterStatus::Attended),
        kind: row.kind.clone(),
        planned: row.planned,
        booked_at: row.booked_at.as_deref().and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok()),
        year_of_care_contact: row.year_of_care_contact,
    }
}
