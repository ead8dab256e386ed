//! Request logs: one line per request with method, path, status, latency and request id, and never
//! the query string, a search term or a patient identifier (OWASP ASVS 7.1.1, 8.3.1).

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use concord_domain::access::StaffRole;
use support::{ANN_NHS, Client, Practice};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so a thread-local subscriber sees every request.
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn internal_errors_are_logged_with_their_cause_and_never_shown() {
    let (captured, _guard) = capture();
    let practice = Practice::new().await;
    let mut gp = Client::signed_in(practice.app(), StaffRole::Gp).await;
    practice.concord.store.close().await;
    let page = gp.get("/").await;
    assert_eq!(page.status, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.body.contains("Sorry, there is a problem with the service"), "{}", page.body);
    assert!(page.body.contains("nhsuk-header") && page.body.contains("Try again later."));
    for detail in ["database", "pool", "sqlx", "closed"] {
        assert!(!page.body.to_lowercase().contains(detail), "the page shows {detail:?}");
    }
    let log = captured.text();
    let request_id = page.header("x-request-id");
    let line = log.lines().find(|line| line.contains("internal error")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("database error") && line.contains(request_id), "the cause and the request id: {line}");
}

#[tokio::test]
async fn logs_carry_the_path_and_request_id_but_never_queries_or_identifiers() {
    let (captured, _guard) = capture();
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let page = gp.get(&format!("/patients?nhs_number={ANN_NHS}&name=JONES")).await;
    let request_id = page.header("x-request-id").to_owned();
    let results = gp.search(&[("nhs_number", ANN_NHS), ("name", "jones")]).await;
    gp.get(&results.record_links()[0]).await;
    gp.post_with("/patients/search", &[("name", "jones")], &[("sec-fetch-site", "cross-site")]).await;

    let log = captured.text();
    let line = log.lines().find(|line| line.contains(&request_id)).expect("a line for the request");
    for field in ["method=GET", "path=/patients ", "status=200", "latency_ms="] {
        assert!(line.contains(field), "{line} lacks {field}");
    }
    assert!(log.contains("path=/patients/search") && log.contains("status=403"), "{log}");
    for secret in [ANN_NHS, "943 476", "nhs_number=", "JONES", "jones", "Jones", "?", "csrf_token", "concord_session"] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
    for cookie in gp.cookies.values() {
        assert!(!log.contains(cookie.as_str()), "a session token is in the log");
    }
}
