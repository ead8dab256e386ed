//! The demo practice: a synthetic population and a demo account for every staff role.
//!
//! Safety rule: demo accounts (with a published password) are never created in a database that
//! holds real records. A database counts as real once anything not marked synthetic was imported.

use std::path::Path;

use concord_domain::access::StaffRole;
use concord_domain::audit::Actor;
use time::Date;

use crate::import::{ImportOptions, ImportProgress, ImportReport};
use crate::{AppError, Concord};

/// The demo accounts' shared password, printed by `concord demo`. Demo databases hold only
/// synthetic people, so a published password exposes nothing.
pub const DEMO_PASSWORD: &str = "concord-demo-password";

/// Demo practice ODS code written by the generator for its first practice.
pub fn demo_username(role: StaffRole) -> String {
    format!("demo.{}", role.as_str().replace('_', "-"))
}

#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub role: StaffRole,
}

impl Concord {
    /// Whether this database has ever taken in records not marked synthetic.
    pub async fn holds_real_records(&self) -> Result<bool, AppError> {
        Ok(self.store.fact("holds_real_records").await?.as_deref() == Some("yes"))
    }

    /// Seeds a synthetic population into an empty database: generates it into `work_dir` and imports
    /// it as synthetic. Refuses if the database already has patients.
    pub async fn seed_synthetic_population(
        &self,
        patients: u64,
        practices: u32,
        seed: u64,
        today: Date,
        work_dir: &Path,
        on_progress: impl FnMut(ImportProgress),
    ) -> Result<ImportReport, AppError> {
        if self.store.patient_count().await? > 0 {
            return Err(AppError::Refused(
                "the database already has patients; the demo population is only seeded into an empty one".into(),
            ));
        }
        let options = concord_synth::GenerateOptions {
            patients,
            practices,
            seed,
            format: concord_synth::OutputFormat::Ndjson,
            today,
        };
        let generate_dir = work_dir.to_owned();
        tokio::task::spawn_blocking(move || concord_synth::generate(&options, &generate_dir))
            .await
            .map_err(|error| AppError::Invalid(error.to_string()))?
            .map_err(|error| AppError::Invalid(format!("generating the synthetic population: {error}")))?;
        self.store.set_fact("synthetic", "yes").await?;
        self.import(
            ImportOptions {
                paths: vec![work_dir.to_owned()],
                extract_date: today,
                source_system: "concord-synthetic".into(),
                synthetic: true,
                default_practice: None,
                actor: Actor::System("concord demo".into()),
            },
            on_progress,
        )
        .await
    }

    /// Creates a demo account for every staff role that lacks one. Refused in a database that holds
    /// real records.
    pub async fn ensure_demo_accounts(&self, practice: Option<&str>) -> Result<Vec<DemoAccount>, AppError> {
        if self.holds_real_records().await? {
            return Err(AppError::Refused(
                "this database holds real records: demo accounts are never created in it".into(),
            ));
        }
        let mut accounts = Vec::new();
        for role in StaffRole::ALL {
            let username = demo_username(role);
            if self.store.staff_user_by_username(&username).await?.is_none() {
                let organisation = match role {
                    StaffRole::Commissioner | StaffRole::SystemAdmin => None,
                    _ => practice,
                };
                self.create_staff_user(
                    &username,
                    &format!("Demo {}", role.title()),
                    role,
                    organisation,
                    DEMO_PASSWORD,
                    true,
                )
                .await?;
            }
            accounts.push(DemoAccount { username, role });
        }
        Ok(accounts)
    }
}

/// Working days of demo clinics laid out from tomorrow.
const DEMO_CLINIC_DAYS: i64 = 10;

impl Concord {
    /// Lays out demo clinic lists for the next working days at the demo practice (a healthcare
    /// assistant's information-gathering clinic each morning, a nurse's conversation clinic each
    /// afternoon), unless the practice already has clinics then. Returns the slots created.
    pub async fn ensure_demo_clinics(&self, practice: &str, now: time::OffsetDateTime) -> Result<usize, AppError> {
        use crate::booking::ClinicRequest;
        use crate::cycle::Caller;
        use time::macros::time;
        let mut created = 0;
        let mut day = now.date();
        let mut laid = 0;
        while laid < DEMO_CLINIC_DAYS {
            day = day.next_day().ok_or_else(|| AppError::Invalid("date out of range".into()))?;
            if matches!(day.weekday(), time::Weekday::Saturday | time::Weekday::Sunday) {
                continue;
            }
            laid += 1;
            let schedule = self.schedule(Caller::Console, practice, day, day, now).await?;
            if schedule.iter().any(|entry| entry.slot.source == "concord") {
                continue;
            }
            for (purpose, role, name, first, last) in [
                ("information_gathering", "hca", "Priya Natt (healthcare assistant)", time!(9:00), time!(11:40)),
                ("conversation", "nurse", "Sister Joan Okoro (practice nurse)", time!(14:00), time!(16:40)),
            ] {
                let request = ClinicRequest {
                    practice: practice.to_owned(),
                    purpose: purpose.into(),
                    clinician_role: role.into(),
                    clinician_name: name.into(),
                    date: day,
                    first_start: first,
                    last_start: last,
                    minutes: None,
                };
                created += self.create_clinic(Caller::Console, &request, now).await?.len();
            }
        }
        Ok(created)
    }
}
