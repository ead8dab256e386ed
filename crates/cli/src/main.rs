//! `concord`: the command line. Parses arguments, wires the store into the application and the
//! web server, and turns results into output and exit codes. No business rules live here.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use concord_app::Concord;
use concord_app::import::{ImportOptions, ImportProgress, ImportReport};
use concord_domain::access::StaffRole;
use concord_domain::audit::Actor;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

#[derive(Parser)]
#[command(name = "concord", version, about = "Personalised care and support planning for long-term conditions")]
struct Cli {
    /// Database URL: sqlite://PATH (embedded, the default) or postgres://USER@HOST:PORT/NAME.
    #[arg(long, env = "CONCORD_DATABASE_URL", default_value = "sqlite://concord.db")]
    database: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application.
    Serve(ServeArgs),
    /// Create a synthetic demo practice (if the database is empty) with a demo account per role, then serve it.
    Demo(DemoArgs),
    /// Import GP record extracts: FHIR R4 Bundles (.json), Bulk Data NDJSON (.ndjson), Concord CSV (.csv), files or folders.
    Import(ImportArgs),
    /// Write a synthetic population in the import formats.
    Generate(GenerateArgs),
    /// Reports, as JSON (schemas in schemas/).
    Report {
        #[command(subcommand)]
        report: ReportCommand,
    },
    /// Bring the database schema up to date.
    Migrate,
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Clinic lists and bookings for the two Year of Care contacts (times are UK local time).
    Clinic {
        #[command(subcommand)]
        command: ClinicCommand,
    },
    /// Documents to a person as PDF (tagged, fonts embedded).
    Render {
        #[command(subcommand)]
        document: RenderCommand,
    },
    /// API clients for the FHIR API (OAuth 2.0 client credentials).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Invites people to their Year of Care review (the first contact), as the worklist's
    /// "invite" does: each invitation is queued in the outbox by the person's preferred channel.
    /// Prints how many were invited and why any were refused.
    Invite {
        /// NHS numbers of the people to invite.
        #[arg(long = "nhs-number", required = true, num_args = 1..)]
        nhs_numbers: Vec<String>,
    },
    /// Check-ins between consultations (`concord serve` sends due ones every tick).
    CheckIns {
        #[command(subcommand)]
        command: CheckInCommand,
    },
    /// Links a plan from another service (a FHIR CarePlan JSON file whose subject is the person,
    /// by NHS number identifier) into the person's overarching plan. Prints its id.
    LinkPlan {
        #[arg(long)]
        nhs_number: String,
        file: PathBuf,
    },
    /// The person's records as FHIR R4 JSON.
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Registers a client for an organisation and prints its id and secret as JSON (the secret is
    /// shown once and never stored).
    Create {
        /// The organisation's ODS code (a partner, or a practice for its own systems).
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        /// Space-separated scopes: system/Patient.read system/CarePlan.read system/Goal.read
        #[arg(long)]
        scope: String,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// The person and their current care and support plan as a FHIR collection Bundle
    /// (docs/plan-fhir-mapping.md), on standard output.
    Plan {
        #[arg(long)]
        nhs_number: String,
    },
    /// What Concord recorded for the person that the GP record must hold and does not yet
    /// (docs/gp-record.md): a FHIR transaction Bundle on standard output, whose id names the export
    /// in `concord export gp-filed`.
    GpRecord {
        #[arg(long)]
        nhs_number: String,
    },
    /// Marks filed the items the GP system confirmed: its transaction-response (a file) to export
    /// `--export`. Prints how many were filed.
    GpFiled {
        #[arg(long)]
        export: String,
        response: PathBuf,
    },
}

#[derive(Subcommand)]
enum CheckInCommand {
    /// Schedules a check-in for everyone whose agreed plan has none (plans agreed before
    /// check-ins existed, or imported).
    Schedule,
    /// Sends the check-ins due on or before `--on` (default today): by email or text with a code,
    /// or onto the practice's call list. Prints how many.
    Send {
        #[arg(long)]
        on: Option<String>,
    },
}

#[derive(Subcommand)]
enum RenderCommand {
    /// The person's preparation letter as it would be made now (refused while results are not
    /// reviewed or an urgent or soon red flag has no recorded action).
    Letter {
        #[arg(long)]
        nhs_number: String,
        #[arg(long)]
        out: PathBuf,
        /// Large print (18 point), whatever the person's recorded needs.
        #[arg(long, conflicts_with = "easy_read")]
        large_print: bool,
        /// The short easy-read letter.
        #[arg(long)]
        easy_read: bool,
    },
    /// The person's care and support plan (the current version unless --version is given).
    Plan {
        #[arg(long)]
        nhs_number: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        version: Option<i64>,
        /// Large print (18 point).
        #[arg(long)]
        large_print: bool,
    },
}

#[derive(Subcommand)]
enum ClinicCommand {
    /// Create a clinic list: slots every --minutes from --first to --last.
    Create {
        #[arg(long)]
        practice: String,
        /// information_gathering or conversation
        #[arg(long)]
        purpose: String,
        /// hca, nurse, gp or pharmacist
        #[arg(long)]
        role: String,
        #[arg(long)]
        clinician: String,
        /// YYYY-MM-DD
        #[arg(long)]
        date: String,
        /// HH:MM
        #[arg(long)]
        first: String,
        /// HH:MM
        #[arg(long)]
        last: String,
        /// Slot length (default 20).
        #[arg(long)]
        minutes: Option<i64>,
    },
    /// The practice's schedule (Concord's slots and the GP system's appointments).
    Schedule {
        #[arg(long)]
        practice: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Book a person (by NHS number) into a slot.
    Book {
        #[arg(long)]
        nhs_number: String,
        #[arg(long)]
        slot: String,
    },
    /// Cancel a booking, freeing its slot.
    Cancel {
        #[arg(long)]
        slot: String,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The nhsuk-frontend dist/nhsuk folder (installed by `make assets`).
    #[arg(long, env = "CONCORD_ASSETS", default_value = "assets/node_modules/nhsuk-frontend/dist/nhsuk")]
    assets: PathBuf,
    /// Mark cookies Secure (set when served over HTTPS, e.g. behind a TLS proxy).
    #[arg(long, env = "CONCORD_SECURE_COOKIES")]
    secure_cookies: bool,
}

#[derive(clap::Args)]
struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Only create and seed the database; do not serve.
    #[arg(long)]
    no_serve: bool,
    /// Size of the synthetic practice.
    #[arg(long, default_value_t = 5000)]
    patients: u64,
    #[arg(long, default_value_t = 1)]
    practices: u32,
    #[arg(long, default_value_t = 20261123)]
    seed: u64,
    /// Leave everyone at "due": do not walk demo people through the Year of Care cycle.
    #[arg(long)]
    no_cycle: bool,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Files or folders to import.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The extract's date (YYYY-MM-DD), used as "as at" for medication lists that carry none. Default: today.
    #[arg(long)]
    extract_date: Option<String>,
    /// Name of the system the extract came from (recorded with each result).
    #[arg(long, default_value = "gp-extract")]
    source_system: String,
    /// Where to write the rejects report (NDJSON). Default: concord-rejects-<run>.ndjson when anything is rejected.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// The extract is synthetic test data (otherwise the database is marked as holding real records).
    #[arg(long)]
    synthetic: bool,
    /// ODS code of the practice whose list this is, for patients the extract gives no registration.
    #[arg(long)]
    practice: Option<String>,
    /// Print the summary as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(clap::Args)]
struct GenerateArgs {
    #[arg(long)]
    patients: u64,
    #[arg(long, default_value_t = 1)]
    practices: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    out: PathBuf,
    /// ndjson (FHIR Bulk Data, compact; for large runs) or bundles (one FHIR collection Bundle per patient).
    #[arg(long, value_enum, default_value_t = GenerateFormat::Ndjson)]
    format: GenerateFormat,
    /// The date the population is generated "as at" (YYYY-MM-DD). Default: today.
    #[arg(long)]
    today: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum GenerateFormat {
    Ndjson,
    Bundles,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Text,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutcomeFormat {
    Json,
    Csv,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Patient counts per long-term condition register.
    Registers {
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Count as at this date (YYYY-MM-DD). Default: today.
        #[arg(long)]
        on: Option<String>,
        /// Only this practice (ODS code).
        #[arg(long)]
        practice: Option<String>,
    },
    /// Organisations with their ODS codes and kinds.
    Organisations {
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// The recall worklist: people who enter the Year of Care cycle, soonest recall month first,
    /// highest risk first within a month, with their stage and the care processes due.
    Worklist {
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// As at this date (YYYY-MM-DD). Default: today.
        #[arg(long)]
        on: Option<String>,
        /// Only this practice (ODS code).
        #[arg(long)]
        practice: Option<String>,
        /// Only people on this register (e.g. diabetes).
        #[arg(long)]
        register: Option<String>,
        /// Only people at this stage (e.g. due, invited).
        #[arg(long)]
        stage: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        limit: i64,
    },
    /// Each person's current care and support plan: NHS number, version and status (draft: not
    /// yet agreed; agreed: agreed with the person or their representative; declined: the person
    /// did not want a written plan), when it was recorded and its review date.
    Plans {
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// The triage queue: people with open red flags, urgent first.
    Triage {
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// As at this date (YYYY-MM-DD). Default: today.
        #[arg(long)]
        on: Option<String>,
    },
    /// The audit trail, newest first: who (actor and role), which organisation, which person, what
    /// (action and entity), when, and why (the purpose of a read outside the practice's own direct
    /// care: shared care by consent or care team, break-glass with its reason).
    Audit {
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// The outbox, oldest first: each message's id (the Message-ID / reference the receiver sees),
    /// purpose, channel, status, attempts and times. No addresses, numbers or text.
    Outbox {
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Only messages with this status (queued, sent, failed, suppressed, to_print, printed).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        limit: i64,
    },
    /// The commissioner's outcomes for each practice, network (`pcn`) or the region: care plans
    /// shared with patients, care-process completeness (all eight diabetes care processes),
    /// unscheduled GP visits per person-year before and after care planning (descriptive), and the
    /// share who feel supported. Small numbers are suppressed (the rule is in the output).
    Outcomes {
        #[arg(long, default_value = "practice")]
        level: String,
        #[arg(long, value_enum, default_value_t = OutcomeFormat::Json)]
        format: OutcomeFormat,
        /// As at this date (YYYY-MM-DD). Default: today.
        #[arg(long)]
        on: Option<String>,
    },
    /// Break-glass accesses for the privacy officer: those not yet reviewed (all with --all).
    BreakGlass {
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a staff account; the password is read from standard input (one line).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// hca, nurse, gp, pharmacist, care_coordinator, practice_admin, privacy_officer, commissioner, facilitator, system_admin
        #[arg(long)]
        role: String,
        /// ODS code of the staff member's organisation.
        #[arg(long)]
        organisation: Option<String>,
    },
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONCORD_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

fn parse_date(text: &str, what: &str) -> anyhow::Result<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).with_context(|| format!("{what} {text:?} is not a date in YYYY-MM-DD form"))
}

/// Opens the database; `CONCORD_PUBLIC_URL` is the address people use to reach Concord, written in
/// their letters and messages (default `concord_app::DEFAULT_PUBLIC_URL`).
async fn open(database: &str) -> anyhow::Result<Concord> {
    let mut concord =
        Concord::open(database).await.with_context(|| format!("opening database {}", redact(database)))?;
    if let Ok(url) = std::env::var("CONCORD_PUBLIC_URL") {
        concord.public_url = url.trim_end_matches('/').to_owned();
    }
    // The bearer token the SMS gateway sends with delivery receipts; kept only as a digest.
    if let Ok(token) = std::env::var("CONCORD_SMS_CALLBACK_TOKEN")
        && !token.trim().is_empty()
    {
        concord.sms_callback_token_sha256 = Some(concord_app::auth::token_digest(token.trim()));
    }
    Ok(concord)
}

/// Database URLs can carry passwords: show only the scheme and location.
fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((credentials, rest)) => {
            let scheme = credentials.split("://").next().unwrap_or("");
            format!("{scheme}://…@{rest}")
        }
        None => url.to_owned(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let concord = open(&cli.database).await?;
            serve(concord, &args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => demo(&cli.database, args).await,
        Command::Import(args) => import(&cli.database, args).await,
        Command::Generate(args) => {
            let today =
                args.today.as_deref().map(|text| parse_date(text, "--today")).transpose()?.unwrap_or_else(today);
            let options = concord_synth::GenerateOptions {
                patients: args.patients,
                practices: args.practices,
                seed: args.seed,
                format: match args.format {
                    GenerateFormat::Ndjson => concord_synth::OutputFormat::Ndjson,
                    GenerateFormat::Bundles => concord_synth::OutputFormat::Bundles,
                },
                today,
            };
            let out = args.out.clone();
            let started = std::time::Instant::now();
            let summary = tokio::task::spawn_blocking(move || concord_synth::generate(&options, &out)).await??;
            eprintln!(
                "generated {} patients into {} in {:.1}s",
                summary.patients,
                args.out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { report } => {
            let concord = open(&cli.database).await?;
            report_command(&concord, report).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            open(&cli.database).await?;
            eprintln!("database is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Clinic { command } => {
            let concord = open(&cli.database).await?;
            clinic_command(&concord, command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Render { document } => {
            let concord = open(&cli.database).await?;
            render_command(&concord, document).await
        }
        Command::Client { command: ClientCommand::Create { org, name, scope } } => {
            let concord = open(&cli.database).await?;
            match concord.create_api_client(&org, &name, &scope, time::OffsetDateTime::now_utc()).await {
                Ok(client) => {
                    println!(
                        "{}",
                        json!({ "client_id": client.client_id, "client_secret": client.client_secret, "organisation": org, "scope": scope })
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(concord_app::AppError::Invalid(reason)) => {
                    eprintln!("error: {reason}");
                    Ok(ExitCode::from(2))
                }
                Err(error) => Err(error.into()),
            }
        }
        Command::Export { what: ExportCommand::Plan { nhs_number } } => {
            let concord = open(&cli.database).await?;
            let patient = person_by_nhs_number(&concord, &nhs_number).await?;
            let bundle = concord
                .plan_bundle(concord_app::cycle::Caller::Console, &patient, time::OffsetDateTime::now_utc())
                .await?;
            println!("{}", serde_json::to_string_pretty(&concord_fhir::resource_json(&bundle)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { what: ExportCommand::GpRecord { nhs_number } } => {
            let concord = open(&cli.database).await?;
            let patient = person_by_nhs_number(&concord, &nhs_number).await?;
            let export = concord
                .gp_record_export(concord_app::cycle::Caller::Console, &patient, time::OffsetDateTime::now_utc())
                .await?;
            println!("{}", serde_json::to_string_pretty(&concord_fhir::resource_json(&export.bundle)?)?);
            eprintln!("export {}: {} item(s)", export.export_id, export.bundle.entry.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckIns { command } => {
            let concord = open(&cli.database).await?;
            let now = time::OffsetDateTime::now_utc();
            match command {
                CheckInCommand::Schedule => {
                    let mut scheduled = 0;
                    for plan in concord.plans_report(concord_app::cycle::Caller::Console).await? {
                        if concord.schedule_check_in(&plan.patient_id, now).await? {
                            scheduled += 1;
                        }
                    }
                    println!("{}", json!({ "scheduled": scheduled }));
                }
                CheckInCommand::Send { on } => {
                    let due_by = match on {
                        Some(text) => parse_date(&text, "--on")?,
                        None => now.date(),
                    };
                    let run = concord.send_due_check_ins(due_by, now, 100_000).await?;
                    println!("{}", json!({ "sent": run.sent, "calls": run.calls, "withdrawn": run.withdrawn }));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Invite { nhs_numbers } => {
            let concord = open(&cli.database).await?;
            let now = time::OffsetDateTime::now_utc();
            let mut invited = 0;
            let mut refused = Vec::new();
            for number in &nhs_numbers {
                let patient = match person_by_nhs_number(&concord, number).await {
                    Ok(patient) => patient,
                    Err(error) => {
                        refused.push(json!({ "nhs_number": number, "reason": error.to_string() }));
                        continue;
                    }
                };
                match concord
                    .record_cycle_event(
                        concord_app::cycle::Caller::Console,
                        &patient,
                        concord_domain::cycle::CycleEvent::Invite,
                        now.date(),
                        None,
                        now,
                    )
                    .await
                {
                    Ok(_) => invited += 1,
                    Err(concord_app::AppError::Refused(reason) | concord_app::AppError::Invalid(reason)) => {
                        refused.push(json!({ "nhs_number": number, "reason": reason }));
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            println!("{}", json!({ "invited": invited, "refused": refused }));
            Ok(ExitCode::SUCCESS)
        }
        Command::LinkPlan { nhs_number, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let concord = open(&cli.database).await?;
            let patient = person_by_nhs_number(&concord, &nhs_number).await?;
            let id = concord
                .link_plan_file(concord_app::cycle::Caller::Console, &patient, &text, time::OffsetDateTime::now_utc())
                .await
                .with_context(|| format!("{}", file.display()))?;
            println!("{}", json!({ "linked_plan": id }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { what: ExportCommand::GpFiled { export, response } } => {
            let text = std::fs::read_to_string(&response).with_context(|| format!("reading {}", response.display()))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", response.display()))?;
            let concord = open(&cli.database).await?;
            let filed = concord
                .gp_record_filed(&Actor::System("cli".into()), None, &export, &value, time::OffsetDateTime::now_utc())
                .await?;
            println!("{}", json!({ "export": export, "filed": filed }));
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command: UserCommand::Create { username, name, role, organisation } } => {
            let role = StaffRole::parse(&role).with_context(|| format!("unknown role {role:?}"))?;
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).context("reading the password from standard input")?;
            let concord = open(&cli.database).await?;
            concord
                .create_staff_user(
                    &username,
                    &name,
                    role,
                    organisation.as_deref(),
                    password.trim_end_matches(['\n', '\r']),
                    false,
                )
                .await?;
            eprintln!("created {} ({})", username, role.title());
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(mut concord: Concord, args: &ServeArgs) -> anyhow::Result<()> {
    let address: SocketAddr =
        args.listen.parse().with_context(|| format!("--listen {:?} is not HOST:PORT", args.listen))?;
    if !args.assets.join("nhsuk-frontend.min.css").exists() {
        bail!("the NHS.UK frontend assets are not at {} (run `make assets`, or pass --assets)", args.assets.display());
    }
    let listener = tokio::net::TcpListener::bind(address).await.with_context(|| format!("listening on {address}"))?;
    let bound = listener.local_addr()?;
    if std::env::var_os("CONCORD_PUBLIC_URL").is_none() {
        // Unconfigured: links the server writes (FHIR full URLs and next pages, letters) name the
        // address it actually listens on.
        concord.public_url = format!("http://{bound}");
    }
    println!("listening on http://{bound}");
    std::io::stdout().flush()?;
    let transports = transports_from_env()?;
    tokio::spawn(outbox_worker(concord.clone(), transports));
    let config = concord_web::WebConfig { assets_dir: args.assets.clone(), secure_cookies: args.secure_cookies };
    concord_web::serve(concord, config, listener).await?;
    Ok(())
}

/// How often the outbox is delivered and urgent flags checked for escalation while serving
/// (`CONCORD_OUTBOX_INTERVAL_SECS` overrides it, e.g. for tests).
const OUTBOX_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Delivers the outbox and escalates overdue urgent flags while the server runs. Logs counts
/// only: never an address, a number or a message.
async fn outbox_worker(concord: Concord, transports: concord_app::outbox::Transports) {
    let period = std::env::var("CONCORD_OUTBOX_INTERVAL_SECS")
        .ok()
        .and_then(|text| text.parse().ok())
        .filter(|seconds| *seconds > 0)
        .map_or(OUTBOX_INTERVAL, std::time::Duration::from_secs);
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        let now = time::OffsetDateTime::now_utc();
        match concord.deliver_outbox(&transports, now, 200).await {
            Ok(run) if run != Default::default() => tracing::info!(
                sent = run.sent,
                suppressed = run.suppressed,
                retrying = run.retrying,
                failed = run.failed,
                waiting = run.waiting,
                "outbox delivered"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "outbox delivery failed; will retry"),
        }
        if let Err(error) = concord.escalate_overdue_flags(now).await {
            tracing::warn!(%error, "escalating urgent flags failed; will retry");
        }
        match concord.send_due_check_ins(now.date(), now, 200).await {
            Ok(run) if run != Default::default() => {
                tracing::info!(sent = run.sent, calls = run.calls, withdrawn = run.withdrawn, "check-ins sent")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "sending check-ins failed; will retry"),
        }
    }
}

/// Email and SMS transports from the environment (`docs/messaging.md`); a channel left
/// unconfigured keeps its messages queued.
fn transports_from_env() -> anyhow::Result<concord_app::outbox::Transports> {
    use std::sync::Arc;
    let mut transports = concord_app::outbox::Transports::default();
    if let Ok(url) = std::env::var("CONCORD_SMTP_URL") {
        let from = std::env::var("CONCORD_SMTP_FROM").context("CONCORD_SMTP_FROM is required with CONCORD_SMTP_URL")?;
        let mut config = concord_messaging::SmtpConfig::from_url(&url, &from)
            .map_err(|error| anyhow::anyhow!("CONCORD_SMTP_URL: {error}"))?;
        if let Some(seconds) = std::env::var("CONCORD_SMTP_TIMEOUT_SECS").ok().and_then(|text| text.parse().ok()) {
            config.timeout = std::time::Duration::from_secs(seconds);
        }
        if let Ok(name) = std::env::var("CONCORD_SMTP_HELO_NAME") {
            config.hello_name = Some(name);
        }
        transports.email = Some(Arc::new(
            concord_messaging::SmtpEmailTransport::new(config).map_err(|error| anyhow::anyhow!("email: {error}"))?,
        ));
    }
    if let Ok(key) = std::env::var("CONCORD_SMS_API_KEY") {
        let key = concord_messaging::NotifyApiKey::parse(&key)
            .map_err(|error| anyhow::anyhow!("CONCORD_SMS_API_KEY: {error}"))?;
        let template = std::env::var("CONCORD_SMS_TEMPLATE_ID")
            .context("CONCORD_SMS_TEMPLATE_ID is required with CONCORD_SMS_API_KEY")?;
        let mut config = concord_messaging::NotifySmsConfig::new(key, template);
        if let Ok(base) = std::env::var("CONCORD_SMS_BASE_URL") {
            config.base_url = base;
        }
        if let Some(seconds) = std::env::var("CONCORD_SMS_TIMEOUT_SECS").ok().and_then(|text| text.parse().ok()) {
            config.timeout = std::time::Duration::from_secs(seconds);
        }
        transports.sms = Some(Arc::new(
            concord_messaging::NotifySmsTransport::new(config).map_err(|error| anyhow::anyhow!("SMS: {error}"))?,
        ));
    }
    Ok(transports)
}

fn progress_bar(label: &str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(label.to_owned());
    bar
}

fn on_progress(bar: &ProgressBar) -> impl FnMut(ImportProgress) + '_ {
    move |progress| {
        bar.set_length(progress.bytes_total);
        bar.set_position(progress.bytes_read);
    }
}

async fn demo(database: &str, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let concord = open(database).await?;
    if concord.holds_real_records().await? {
        bail!("this database holds real records: the demo is never set up in it (use another --database)");
    }
    if concord.store.patient_count().await? == 0 {
        let work_dir = std::env::temp_dir().join(format!("concord-demo-{}", std::process::id()));
        std::fs::create_dir_all(&work_dir)?;
        eprintln!("creating a synthetic practice of {} patients…", args.patients);
        let bar = progress_bar("importing");
        let report = concord
            .seed_synthetic_population(args.patients, args.practices, args.seed, today(), &work_dir, on_progress(&bar))
            .await;
        bar.finish_and_clear();
        let _ = std::fs::remove_dir_all(&work_dir);
        print_import_summary(&report?, Format::Text);
    } else if concord.store.fact("synthetic").await?.as_deref() != Some("yes") {
        bail!("this database already has patients that were not created by the demo; use another --database");
    }
    let practice = concord
        .store
        .organisations()
        .await?
        .into_iter()
        .find(|(_, _, kind, _)| kind == "practice")
        .map(|(code, _, _, _)| code);
    let accounts = concord.ensure_demo_accounts(practice.as_deref()).await?;
    if let Some(practice) = &practice {
        let slots = concord.ensure_demo_clinics(practice, time::OffsetDateTime::now_utc()).await?;
        if slots > 0 {
            eprintln!("laid out {slots} demo clinic appointments over the next two working weeks");
        }
        let moved = if args.no_cycle {
            0
        } else {
            concord.ensure_demo_cycle(practice, time::OffsetDateTime::now_utc()).await?
        };
        if moved > 0 {
            eprintln!("walked {moved} demo people through the Year of Care cycle (every stage is shown)");
        }
    }
    println!("Demo accounts (all data is synthetic), password: {}", concord_app::demo::DEMO_PASSWORD);
    for account in &accounts {
        println!("  {:<28} {}", account.username, account.role.title());
    }
    if !args.no_serve {
        serve(concord, &args.serve).await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(database: &str, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let concord = open(database).await?;
    let extract_date =
        args.extract_date.as_deref().map(|text| parse_date(text, "--extract-date")).transpose()?.unwrap_or_else(today);
    let default_practice =
        args.practice.as_deref().map(concord_domain::OdsCode::parse).transpose().context("--practice")?;
    let bar = progress_bar("importing");
    let report = concord
        .import(
            ImportOptions {
                paths: args.paths.clone(),
                extract_date,
                source_system: args.source_system.clone(),
                synthetic: args.synthetic,
                default_practice,
                actor: Actor::System(format!("concord import ({})", args.source_system)),
            },
            on_progress(&bar),
        )
        .await;
    bar.finish_and_clear();
    let report = report?;
    if !report.rejected.is_empty() {
        let path =
            args.rejects.clone().unwrap_or_else(|| PathBuf::from(format!("concord-rejects-{}.ndjson", report.run_id)));
        write_rejects(&report, &path)?;
        eprintln!("{} record(s) rejected: see {}", report.rejected.len(), path.display());
    }
    print_import_summary(&report, args.format);
    // Non-zero when anything was rejected, so scripts notice.
    Ok(if report.rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn write_rejects(report: &ImportReport, path: &PathBuf) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("writing the rejects report {}", path.display()))?,
    );
    for rejected in &report.rejected {
        let line = json!({
            "location": rejected.location,
            "resource_type": rejected.resource_type,
            "source_key": rejected.source_key,
            "reason": rejected.reason,
            "red_flag": rejected.red_flag.as_ref().map(|concept| json!({
                "system": concept.code.system.uri(),
                "code": concept.code.code,
                "term": concept.term,
            })),
        });
        writeln!(file, "{line}")?;
    }
    file.flush()?;
    Ok(())
}

fn print_import_summary(report: &ImportReport, format: Format) {
    let changed = &report.changed;
    let summary = json!({
        "run_id": report.run_id,
        "read": report.read,
        "changed": {
            "organisations": changed.organisations,
            "patients": changed.patients,
            "conditions": changed.conditions,
            "observations": changed.observations,
            "medications": changed.medications,
            "encounters": changed.encounters,
        },
        "unreadable_results": report.unreadable_results,
        "rejected": report.rejected.len(),
        "red_flag_rejections": report.rejected.iter().filter(|rejected| rejected.red_flag.is_some()).count(),
        "skipped": report.skipped,
        "status_refreshed": report.status.people,
        "red_flags_raised": report.status.flags_raised,
        "status_seconds": report.status_seconds,
    });
    match format {
        Format::Json => println!("{summary}"),
        Format::Text => {
            let read: u64 = report.read.values().sum();
            let skipped: u64 = report.skipped.values().sum();
            println!("Import {}", report.run_id);
            println!("  read       {read} records ({})", join_counts(&report.read));
            println!(
                "  changed    {} patients, {} conditions, {} observations, {} medications, {} encounters, {} organisations",
                changed.patients,
                changed.conditions,
                changed.observations,
                changed.medications,
                changed.encounters,
                changed.organisations
            );
            println!("  unreadable {} results kept for a clinician to check", report.unreadable_results);
            println!("  rejected   {}", report.rejected.len());
            println!("  skipped    {skipped} resources Concord does not use ({})", join_counts(&report.skipped));
            println!(
                "  statuses   {} people brought up to date in {:.1}s, {} red flags raised",
                report.status.people, report.status_seconds, report.status.flags_raised
            );
        }
    }
}

fn join_counts(counts: &std::collections::BTreeMap<String, u64>) -> String {
    counts.iter().map(|(name, count)| format!("{name} {count}")).collect::<Vec<_>>().join(", ")
}

async fn report_command(concord: &Concord, report: ReportCommand) -> anyhow::Result<()> {
    let output: Value = match report {
        ReportCommand::Registers { format, on, practice } => {
            let on = on.as_deref().map(|text| parse_date(text, "--on")).transpose()?.unwrap_or_else(today);
            let counts = concord.register_counts(on, practice.as_deref()).await?;
            if format == Format::Text {
                for (register, count) in &counts.counts {
                    println!("{register:<22} {count}");
                }
                return Ok(());
            }
            json!(counts.counts)
        }
        ReportCommand::Organisations { format } => {
            let organisations = concord.store.organisations().await?;
            if format == Format::Text {
                for (code, name, kind, parent) in &organisations {
                    println!("{code:<10} {kind:<9} {name} {}", parent.as_deref().unwrap_or(""));
                }
                return Ok(());
            }
            json!(organisations
                .into_iter()
                .map(|(ods_code, name, kind, parent)| json!({"ods_code": ods_code, "name": name, "kind": kind, "parent_ods_code": parent}))
                .collect::<Vec<_>>())
        }
        ReportCommand::Worklist { format, on, practice, register, stage, limit } => {
            let on = on.as_deref().map(|text| parse_date(text, "--on")).transpose()?.unwrap_or_else(today);
            if let Some(stage) = &stage
                && concord_domain::cycle::Stage::parse(stage).is_none()
            {
                anyhow::bail!(
                    "--stage {stage:?} is not a cycle stage (due, invited, information_gathering_booked, tests_done, …)"
                );
            }
            let filter = concord_store::WorklistFilter { practice, register, stage, ..Default::default() };
            let entries = concord
                .worklist(concord_app::cycle::Caller::Console, &filter, on, time::OffsetDateTime::now_utc(), limit, 0)
                .await?;
            if format == Format::Text {
                for entry in &entries {
                    let row = &entry.row;
                    println!(
                        "{:<12} {:<30} {:<28} risk {:>2}  {}  due: {}",
                        row.nhs_number.as_deref().unwrap_or("-"),
                        format!("{}, {}", row.family_name.to_uppercase(), row.given_name),
                        row.stage,
                        row.risk_score,
                        row.registers.join(","),
                        entry
                            .due
                            .iter()
                            .map(|(item, _, status)| format!("{item}({status})"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                }
                return Ok(());
            }
            json!(
                entries
                    .into_iter()
                    .map(|entry| {
                        let row = entry.row;
                        json!({
                            "nhs_number": row.nhs_number,
                            "name": format!("{} {}", row.given_name, row.family_name),
                            "birth_date": row.birth_date,
                            "practice": row.practice_ods_code,
                            "stage": row.stage,
                            "risk_score": row.risk_score,
                            "risk_factors": row.risk_factors,
                            "conditions": row.registers,
                            "care_planning": row.care_planning,
                            "recall_month": row.recall_month,
                            "invitations": row.invitations,
                            "open_red_flags": row.open_flags,
                            "due": entry.due.iter().map(|(item, name, status)| json!({"item": item, "name": name, "status": status})).collect::<Vec<_>>(),
                        })
                    })
                    .collect::<Vec<_>>()
            )
        }
        ReportCommand::Plans { format } => {
            let rows = concord.plans_report(concord_app::cycle::Caller::Console).await?;
            if format == Format::Text {
                for row in &rows {
                    println!(
                        "{:<12} v{:<3} {:<9} {} review {}",
                        row.nhs_number.as_deref().unwrap_or("-"),
                        row.version,
                        row.status,
                        row.recorded_at,
                        row.review_date.as_deref().unwrap_or("-")
                    );
                }
                return Ok(());
            }
            json!(
                rows.into_iter()
                    .map(|row| json!({
                        "nhs_number": row.nhs_number,
                        "version": row.version,
                        "status": row.status,
                        "recorded_at": row.recorded_at,
                        "review_date": row.review_date,
                    }))
                    .collect::<Vec<_>>()
            )
        }
        ReportCommand::Triage { format, on } => {
            let on = on.as_deref().map(|text| parse_date(text, "--on")).transpose()?.unwrap_or_else(today);
            let entries =
                concord.triage_queue(concord_app::cycle::Caller::Console, on, time::OffsetDateTime::now_utc()).await?;
            if format == Format::Text {
                for entry in &entries {
                    for flag in &entry.flags {
                        println!(
                            "{:<12} {:<8} {:<28} {:<24} {}",
                            entry.nhs_number.as_deref().unwrap_or("-"),
                            flag.severity,
                            flag.rule_id,
                            flag.value_text,
                            flag.result_date
                        );
                    }
                }
                return Ok(());
            }
            json!(
                entries
                    .into_iter()
                    .map(|entry| json!({
                        "nhs_number": entry.nhs_number,
                        "name": entry.name,
                        "flags": entry.flags.iter().map(|flag| json!({
                            "rule": flag.rule_id,
                            "severity": flag.severity,
                            "value": flag.value_text,
                            "observation_codes": flag.observation_codes.iter().map(|code| json!({"system": code.system.uri(), "code": code.code})).collect::<Vec<_>>(),
                            "result_date": flag.result_date,
                            "recommended_action": flag.recommended,
                            "raised_at": flag.raised_at,
                            "escalated_at": flag.escalated_at,
                        })).collect::<Vec<_>>(),
                    }))
                    .collect::<Vec<_>>()
            )
        }
        ReportCommand::Audit { format, limit } => {
            let events = concord
                .store
                .audit_events(&concord_store::AuditFilter { limit: Some(limit), ..Default::default() })
                .await?;
            if format == Format::Text {
                for event in &events {
                    println!("{} {} {} {} {}", event.at, event.actor, event.action, event.entity, event.detail);
                }
                return Ok(());
            }
            json!(
                events
                    .into_iter()
                    .map(|event| {
                        let why = concord_app::api::audit_purpose(&event);
                        json!({
                            "id": event.id, "at": event.at, "actor": event.actor, "actor_role": event.actor_role,
                            "organisation": event.organisation, "patient_id": event.patient_id, "action": event.action,
                            "entity": event.entity, "detail": event.detail, "request_id": event.request_id,
                            "why": why,
                        })
                    })
                    .collect::<Vec<_>>()
            )
        }
        ReportCommand::Outbox { format, status, limit } => {
            let rows = concord.store.outbox(status.as_deref(), limit).await?;
            if format == Format::Text {
                for row in &rows {
                    println!("{} {} {} {} attempts {}", row.id, row.purpose, row.channel, row.status, row.attempts);
                }
                return Ok(());
            }
            json!(
                rows.into_iter()
                    .map(|row| json!({
                        "id": row.id, "patient_id": row.patient_id, "purpose": row.purpose, "channel": row.channel,
                        "status": row.status, "attempts": row.attempts, "created_at": row.created_at,
                        "sent_at": row.sent_at, "last_error": row.last_error, "suppressed_reason": row.suppressed_reason,
                    }))
                    .collect::<Vec<_>>()
            )
        }
        ReportCommand::Outcomes { level, format, on } => {
            let on = on.as_deref().map(|text| parse_date(text, "--on")).transpose()?.unwrap_or_else(today);
            let units = concord
                .outcomes(concord_app::cycle::Caller::Console, &level, on, time::OffsetDateTime::now_utc())
                .await?;
            let rows = concord_app::outcomes::publish(&units);
            if format == OutcomeFormat::Csv {
                print!("{}", concord_app::outcomes::csv(&rows));
                return Ok(());
            }
            json!(rows)
        }
        ReportCommand::BreakGlass { format, all } => {
            let rows = concord.store.break_glass_list(!all, 10_000).await?;
            if format == Format::Text {
                for row in &rows {
                    println!(
                        "{} {} {} until {} {:?} {}",
                        row.granted_at,
                        row.organisation,
                        row.actor,
                        row.expires_at,
                        row.reason,
                        row.reviewed_at.as_deref().map_or("not reviewed".to_owned(), |at| format!("reviewed {at}"))
                    );
                }
                return Ok(());
            }
            json!(
                rows.into_iter()
                    .map(|row| json!({
                        "id": row.id, "patient_id": row.patient_id, "organisation": row.organisation, "actor": row.actor,
                        "reason": row.reason, "granted_at": row.granted_at, "expires_at": row.expires_at,
                        "reviewed_at": row.reviewed_at, "reviewed_by": row.reviewed_by, "review_note": row.review_note,
                    }))
                    .collect::<Vec<_>>()
            )
        }
    };
    println!("{output}");
    Ok(())
}

fn parse_clock(text: &str, flag: &str) -> anyhow::Result<time::Time> {
    let (hour, minute) = text.split_once(':').with_context(|| format!("{flag} {text:?} is not HH:MM"))?;
    time::Time::from_hms(
        hour.parse().with_context(|| format!("{flag} {text:?} is not HH:MM"))?,
        minute.parse().with_context(|| format!("{flag} {text:?} is not HH:MM"))?,
        0,
    )
    .with_context(|| format!("{flag} {text:?} is not a time of day"))
}

async fn clinic_command(concord: &Concord, command: ClinicCommand) -> anyhow::Result<()> {
    use concord_app::cycle::Caller;
    let now = time::OffsetDateTime::now_utc();
    match command {
        ClinicCommand::Create { practice, purpose, role, clinician, date, first, last, minutes } => {
            let request = concord_app::booking::ClinicRequest {
                practice,
                purpose,
                clinician_role: role,
                clinician_name: clinician,
                date: parse_date(&date, "--date")?,
                first_start: parse_clock(&first, "--first")?,
                last_start: parse_clock(&last, "--last")?,
                minutes,
            };
            let slots = concord.create_clinic(Caller::Console, &request, now).await?;
            println!("{}", json!(slots.iter().map(|slot| json!({"slot": slot.row.id, "starts": local(slot.local_start), "minutes": slot.row.minutes})).collect::<Vec<_>>()));
        }
        ClinicCommand::Schedule { practice, from, to, format } => {
            let from = parse_date(&from, "--from")?;
            let to = to.as_deref().map(|text| parse_date(text, "--to")).transpose()?.unwrap_or(from);
            let entries = concord.schedule(Caller::Console, &practice, from, to, now).await?;
            if format == Format::Json {
                println!("{}", json!(entries.iter().map(|entry| json!({
                    "slot": entry.slot.id, "starts": local(entry.local_start), "minutes": entry.slot.minutes,
                    "purpose": entry.slot.purpose, "clinician": entry.slot.clinician_name, "state": format!("{:?}", entry.state),
                    "nhs_number": entry.nhs_number,
                })).collect::<Vec<_>>()));
            } else {
                for entry in &entries {
                    println!(
                        "{} {:>3}m {:<22} {:<40} {:<15} {} {}",
                        entry.local_start,
                        entry.slot.minutes,
                        entry.slot.purpose,
                        entry.slot.clinician_name,
                        format!("{:?}", entry.state),
                        entry.nhs_number.as_deref().unwrap_or(""),
                        entry.slot.id
                    );
                }
            }
        }
        ClinicCommand::Book { nhs_number, slot } => {
            let person = person_by_nhs_number(concord, &nhs_number).await?;
            let booking = concord.book(Caller::Console, &person, &slot, now).await?;
            println!(
                "booked {} at {} with {} (stage: {})",
                nhs_number,
                local(booking.slot.local_start),
                booking.slot.row.clinician_name,
                booking.cycle.stage
            );
        }
        ClinicCommand::Cancel { slot } => {
            let freed = concord.cancel(Caller::Console, &slot, now).await?;
            println!("cancelled; slot at {} is free", local(freed.local_start));
        }
    }
    Ok(())
}

/// The person with this NHS number (refused when the number is invalid or unknown).
async fn person_by_nhs_number(concord: &Concord, nhs_number: &str) -> anyhow::Result<String> {
    let number =
        concord_domain::NhsNumber::parse(nhs_number).map_err(|error| anyhow::anyhow!("--nhs-number: {error}"))?;
    let found = concord
        .store
        .search_patients(&concord_store::PatientSearch { nhs_number: Some(number), ..Default::default() }, 2)
        .await?;
    Ok(found.first().context("--nhs-number: no patient has that NHS number")?.id.clone())
}

async fn render_command(concord: &Concord, document: RenderCommand) -> anyhow::Result<ExitCode> {
    let now = time::OffsetDateTime::now_utc();
    match document {
        RenderCommand::Letter { nhs_number, out, large_print, easy_read } => {
            use concord_app::preparation::LetterFormat;
            let patient = person_by_nhs_number(concord, &nhs_number).await?;
            let format = match (large_print, easy_read) {
                (_, true) => Some(LetterFormat::EasyRead),
                (true, _) => Some(LetterFormat::LargePrint),
                _ => None,
            };
            match concord.preparation_pdf(concord_app::cycle::Caller::Console, &patient, format, now).await {
                Ok(pdf) => {
                    std::fs::write(&out, &pdf).with_context(|| format!("writing {}", out.display()))?;
                    println!("wrote {} ({} bytes)", out.display(), pdf.len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(concord_app::AppError::Refused(reason)) => {
                    eprintln!("error: no letter for {nhs_number}: {reason}");
                    Ok(ExitCode::from(3))
                }
                Err(error) => Err(error.into()),
            }
        }
        RenderCommand::Plan { nhs_number, out, version, large_print } => {
            let patient = person_by_nhs_number(concord, &nhs_number).await?;
            match concord.plan_pdf(concord_app::cycle::Caller::Console, &patient, version, large_print, now).await {
                Ok(pdf) => {
                    std::fs::write(&out, &pdf).with_context(|| format!("writing {}", out.display()))?;
                    println!("wrote {} ({} bytes)", out.display(), pdf.len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(concord_app::AppError::NotFound(reason)) => {
                    eprintln!("error: no plan for {nhs_number}: {reason}");
                    Ok(ExitCode::from(3))
                }
                Err(error) => Err(error.into()),
            }
        }
    }
}

/// UK local time as "YYYY-MM-DD HH:MM".
fn local(at: time::PrimitiveDateTime) -> String {
    format!("{} {:02}:{:02}", at.date(), at.hour(), at.minute())
}
