//! Route handlers: each checks the permission it needs, calls the application and renders a page.

pub(crate) mod auth;
pub(crate) mod clinics;
pub(crate) mod cycle;
pub(crate) mod home;
pub(crate) mod letters;
pub(crate) mod online;
pub(crate) mod patients;
pub(crate) mod plan;
pub(crate) mod preparation;
pub(crate) mod review;
pub(crate) mod system;
pub(crate) mod visit;

use time::{Date, OffsetDateTime};

/// Today's date for ages and registers (UTC; the practice's day differs only around midnight in
/// British Summer Time).
pub(crate) fn today() -> Date {
    OffsetDateTime::now_utc().date()
}
