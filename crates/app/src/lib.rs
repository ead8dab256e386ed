//! Concord's use cases, between the entry points (web, command line) and storage.
//!
//! Architecture invariants:
//! - Every use case that reads an identifiable record writes an audit event for it; every change
//!   is audited by the store in the same transaction as the change.
//! - Authorisation is checked here (by [`concord_domain::access::Permission`]), not only in the web layer,
//!   so every entry point gets the same rules.
//! - No HTTP, HTML or command-line concerns: callers translate [`AppError`] for their users.

pub mod api;
pub mod auth;
pub mod booking;
pub mod bulk_export;
pub mod check_ins;
pub mod cycle;
pub mod demo;
pub mod fhir_export;
pub mod fhir_record;
pub mod gp_record;
pub mod import;
pub mod letters;
pub mod linked_plans;
pub mod online;
pub mod outbox;
pub mod outcomes;
pub mod person;
pub mod plan;
pub mod preparation;
pub mod record;
pub mod registers;
pub mod review;
pub mod shared;
pub mod status;
pub mod survey;
pub mod visit;

use concord_codelists::Catalogue;
use concord_store::{Store, StoreError};

/// The application: storage plus the clinical catalogue.
#[derive(Clone)]
pub struct Concord {
    pub store: Store,
    pub catalogue: &'static Catalogue,
    /// The address people use to reach Concord (written in letters and messages), without a
    /// trailing slash.
    pub public_url: String,
    /// The SHA-256 digest of the bearer token the SMS gateway sends with delivery receipts
    /// (`CONCORD_SMS_CALLBACK_TOKEN` for `concord`); `None`: receipts are refused.
    pub sms_callback_token_sha256: Option<String>,
}

/// Where people reach Concord unless configured (`CONCORD_PUBLIC_URL` for `concord`).
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    /// A write's precondition failed: the version it names is no longer current (HTTP 412), or
    /// it named none where one is required (HTTP 428).
    #[error("{message}")]
    Precondition { message: String, missing: bool },
}

impl Concord {
    /// Opens the database at `url` (migrating it) with the catalogue compiled into this build.
    pub async fn open(url: &str) -> Result<Self, AppError> {
        let catalogue =
            Catalogue::shared().map_err(|error| AppError::Invalid(format!("clinical catalogue: {error}")))?;
        Ok(Self {
            store: Store::open(url).await?,
            catalogue,
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
            sms_callback_token_sha256: None,
        })
    }
}
