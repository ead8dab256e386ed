//! The web shell over HTTP, in process, against a real SQLite database: sign-in, CSRF defences,
//! security headers, role permissions, search, opaque record references and the audit trail.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use concord_domain::access::StaffRole;
use concord_store::AuditFilter;
use support::{ANN_NHS, Client, HOST, PASSWORD, Practice, test_number, username};

// ---- health, sign-in and sessions ----

#[tokio::test]
async fn health_and_readiness_need_no_session() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    let health = client.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, "ok"));
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    practice.concord.store.close().await;
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE, "a closed database is not ready");
}

#[tokio::test]
async fn pages_need_a_session() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    for path in ["/", "/patients", "/audit", "/results/unreadable", "/patients/record/abc"] {
        let page = client.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.header("location"), "/sign-in", "{path}");
    }
    let token = client.get("/sign-in").await.csrf_token();
    let page = client.post("/patients/search", &[("csrf_token", &token), ("name", "jones")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "a post without a session goes to sign-in");
}

#[tokio::test]
async fn signing_in_sets_a_hardened_session_cookie_and_signing_out_ends_the_session() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    let form = client.get("/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<title>Sign in – Concord</title>"), "{}", form.body);
    let pre_session = form.header("set-cookie");
    assert!(pre_session.starts_with("concord_sign_in="), "{pre_session}");
    assert!(pre_session.contains("HttpOnly") && pre_session.contains("SameSite=Strict"), "{pre_session}");

    let token = form.csrf_token();
    let page = client
        .post("/sign-in", &[("csrf_token", &token), ("username", &username(StaffRole::Gp)), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.header("location"), "/");
    let cookies: Vec<&str> = page.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
    let session = cookies.iter().find(|cookie| cookie.starts_with("concord_session=")).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attribute), "{session} lacks {attribute}");
    }
    assert!(!session.contains("Secure"), "plain HTTP in tests: {session}");
    assert!(cookies.iter().any(|cookie| cookie.starts_with("concord_sign_in=;") && cookie.contains("Max-Age=0")));

    let home = client.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Test GP"), "{}", home.body);
    assert!(home.body.contains("Sign out"));
    assert_eq!(client.get("/sign-in").await.status, StatusCode::SEE_OTHER, "signed in: straight home");

    let stolen_cookie = client.cookies.clone();
    let token = home.csrf_token();
    let out = client.post("/sign-out", &[("csrf_token", &token)]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.body.contains("You have signed out"));
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    // The old token is dead server-side, even if someone kept the cookie.
    let mut replay = Client::new(app.clone());
    replay.cookies = stolen_cookie;
    assert_eq!(replay.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn behind_https_cookies_are_secure_and_host_prefixed() {
    let practice = Practice::new().await;
    let mut client = Client::new(practice.secure_app());
    let form = client.get("/sign-in").await;
    assert!(form.header("set-cookie").starts_with("__Host-concord_sign_in="));
    assert!(form.header("set-cookie").contains("; Secure"));
    assert!(form.header("strict-transport-security").contains("max-age="));
    let page = client.sign_in(&username(StaffRole::Gp), PASSWORD).await;
    let session = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|cookie| cookie.starts_with("__Host-concord_session="))
        .expect("a __Host- session cookie");
    assert!(session.contains("; Secure") && session.contains("Path=/") && !session.contains("Domain"), "{session}");
    assert_eq!(client.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_is_explained_with_the_error_summary() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    let page = client.sign_in(&username(StaffRole::Gp), "not the password").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<title>Error: Sign in – Concord</title>"), "{}", page.body);
    assert!(page.body.contains("nhsuk-error-summary"));
    assert!(page.body.contains("The username or password is not correct"));
    assert!(page.body.contains("href=\"#username\""));
    assert!(!client.cookies.contains_key("concord_session"));

    let page = client.sign_in("", "").await;
    assert!(page.body.contains("Enter your username") && page.body.contains("Enter your password"));
}

#[tokio::test]
async fn five_failures_lock_the_account_and_say_so() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    for _ in 0..5 {
        let page = client.sign_in(&username(StaffRole::Nurse), "not the password").await;
        assert!(page.body.contains("The username or password is not correct"));
    }
    let page = client.sign_in(&username(StaffRole::Nurse), PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK, "even the right password is refused while locked");
    assert!(page.body.contains("This account is locked after too many attempts"), "{}", page.body);
}

#[tokio::test]
async fn too_many_sign_ins_from_one_client_are_refused_for_a_while() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    for attempt in 0..10 {
        let page = client.sign_in(&format!("nobody-{attempt}"), "not the password").await;
        assert_eq!(page.status, StatusCode::OK, "attempt {attempt}");
    }
    let page = client.sign_in(&username(StaffRole::Gp), PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.body.contains("Too many sign-in attempts"), "{}", page.body);
    let retry: u64 = page.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert!(!client.cookies.contains_key("concord_session"));
}

#[tokio::test]
async fn successful_sign_ins_do_not_use_up_the_rate_limit() {
    let practice = Practice::new().await;
    let app = practice.app();
    for _ in 0..12 {
        Client::signed_in(app.clone(), StaffRole::Gp).await;
    }
}

// ---- CSRF ----

#[tokio::test]
async fn the_sign_in_form_needs_its_signed_token_in_both_form_and_cookie() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    let token = client.get("/sign-in").await.csrf_token();
    let user = username(StaffRole::Gp);
    let without = client.post("/sign-in", &[("username", &user), ("password", PASSWORD)]).await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    assert!(without.body.contains("This form has expired"));
    let wrong =
        client.post("/sign-in", &[("csrf_token", "1.abc.def"), ("username", &user), ("password", PASSWORD)]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // A token from another browser (different cookie) does not pass either.
    let mut other = Client::new(app.clone());
    let foreign = other.get("/sign-in").await.csrf_token();
    let page = client.post("/sign-in", &[("csrf_token", &foreign), ("username", &user), ("password", PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // Nor does one made by another server process (different signing key).
    let mut elsewhere = Client::new(practice.app()); // another process: another signing key
    let forged = elsewhere.get("/sign-in").await.csrf_token();
    client.cookies.insert("concord_sign_in".into(), forged.clone());
    let page = client.post("/sign-in", &[("csrf_token", &forged), ("username", &user), ("password", PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!client.cookies.contains_key("concord_session"));
    // The genuine pair works.
    client.get("/sign-in").await;
    let token_now = client.cookies["concord_sign_in"].clone();
    assert_eq!(token_now.split('.').count(), 3);
    let _ = token;
    let page =
        client.post("/sign-in", &[("csrf_token", &token_now), ("username", &user), ("password", PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signed_in_forms_need_the_session_token() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let missing = gp.post("/patients/search", &[("name", "jones")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("This form has expired"));
    let wrong = gp.post("/patients/search", &[("csrf_token", "guess"), ("name", "jones")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Another session's token is not this session's.
    let mut nurse = Client::signed_in(app.clone(), StaffRole::Nurse).await;
    let nurse_token = nurse.get("/patients").await.csrf_token();
    let crossed = gp.post("/patients/search", &[("csrf_token", &nurse_token), ("name", "jones")]).await;
    assert_eq!(crossed.status, StatusCode::FORBIDDEN);
    let sign_out = gp.post("/sign-out", &[]).await;
    assert_eq!(sign_out.status, StatusCode::FORBIDDEN);
    assert_eq!(gp.get("/").await.status, StatusCode::OK, "a forged sign-out does not sign anyone out");
    let searches = practice
        .concord
        .store
        .audit_events(&AuditFilter { action: Some("search".into()), ..AuditFilter::default() })
        .await
        .unwrap();
    assert!(searches.is_empty(), "refused forms never reach the application");
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_the_token_is_looked_at() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let token = gp.get("/patients").await.csrf_token();
    let fields = [("csrf_token", token.as_str()), ("name", "jones")];
    let cross_site = gp.post_with("/patients/search", &fields, &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert!(cross_site.body.contains("This request was refused"), "{}", cross_site.body);
    let same_site = gp.post_with("/patients/search", &fields, &[("sec-fetch-site", "same-site")]).await;
    assert_eq!(same_site.status, StatusCode::FORBIDDEN);
    let foreign_origin = gp.post_with("/patients/search", &fields, &[("origin", "https://evil.example")]).await;
    assert_eq!(foreign_origin.status, StatusCode::FORBIDDEN);
    let null_origin = gp.post_with("/patients/search", &fields, &[("origin", "null")]).await;
    assert_eq!(null_origin.status, StatusCode::FORBIDDEN);
    let mut anonymous = Client::new(app.clone());
    let sign_in_token = anonymous.get("/sign-in").await.csrf_token();
    let page = anonymous
        .post_with(
            "/sign-in",
            &[("csrf_token", &sign_in_token), ("username", &username(StaffRole::Gp)), ("password", PASSWORD)],
            &[("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "login CSRF is refused too");
    let ok = gp.post("/patients/search", &fields).await;
    assert_eq!(ok.status, StatusCode::OK, "the same form from our own page works");
}

// ---- headers ----

#[tokio::test]
async fn every_response_has_a_fresh_nonce_and_the_security_headers() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let mut nonces = Vec::new();
    for path in ["/", "/patients", "/no-such-page", "/healthz"] {
        let page = client.get(path).await;
        let policy = page.header("content-security-policy").to_owned();
        for directive in [
            "default-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy} lacks {directive}");
        }
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap().to_owned();
        if page.header("content-type").starts_with("text/html") {
            assert!(
                page.body.contains(&format!("<script nonce=\"{nonce}\">")),
                "{path}: the inline script has the nonce"
            );
            assert_eq!(page.body.matches("<script").count(), 2, "{path}: one inline script, one module file");
        }
        nonces.push(nonce);
        assert_eq!(page.header("x-content-type-options"), "nosniff");
        assert_eq!(page.header("referrer-policy"), "same-origin");
        assert!(page.header("permissions-policy").contains("camera=()"));
        assert_eq!(page.header("x-frame-options"), "DENY");
        assert_eq!(page.header("cache-control"), "no-store", "{path}");
        assert!(!page.header("x-request-id").is_empty());
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 4, "a new nonce for each response");
}

#[tokio::test]
async fn design_system_assets_are_served_with_long_caching() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    let css = client.get("/assets/nhsuk-frontend-10.6.1.min.css").await;
    assert_eq!(css.status, StatusCode::OK, "run scripts/assets.sh first");
    assert!(css.header("content-type").starts_with("text/css"));
    assert_eq!(css.header("cache-control"), "public, max-age=31536000, immutable");
    let favicon = client.get("/assets/images/favicon.svg").await;
    assert_eq!(favicon.status, StatusCode::OK);
    assert_eq!(favicon.header("cache-control"), "public, max-age=86400");
    let icon = client.get("/assets/images/nhsuk-icon-cross.svg").await;
    assert_eq!(icon.status, StatusCode::OK, "the stylesheet's own image paths resolve");
    let missing = client.get("/assets/nothing-here.css").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header("cache-control"), "no-store");
    let script = client.get("/static/concord.mjs").await;
    assert!(script.body.contains("nhsuk-frontend-10.6.1.min.js") && script.body.contains("initAll"));
}

#[tokio::test]
async fn unknown_pages_get_the_nhs_style_404_and_large_bodies_are_refused() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    let page = client.get("/wp-admin").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("<h1>Page not found</h1>") && page.body.contains("nhsuk-header"), "{}", page.body);
    let token = client.get("/sign-in").await.csrf_token();
    let huge = "x".repeat(64 * 1024);
    let page = client.post("/sign-in", &[("csrf_token", &token), ("username", &huge), ("password", "p")]).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("This request is too large"), "{}", page.body);
}

#[tokio::test]
async fn the_page_template_mirrors_upstream_markup() {
    let practice = Practice::new().await;
    let mut client = Client::new(practice.app());
    let page = client.get("/sign-in").await.body;
    let header = &page[page.find("<header").unwrap()..page.find("</header>").unwrap() + "</header>".len()];
    let upstream = support::nhsuk::fixture("header", "with service name (linked with logo)")
        .replace("Prototype kit", "Concord")
        .replace("href=\"#\"", "href=\"/\"");
    assert_eq!(support::nhsuk::normalise(header), support::nhsuk::normalise(&upstream));
    let skip = &page[page.find("<a class=\"nhsuk-skip-link\"").unwrap()..];
    let skip = &skip[..skip.find("</a>").unwrap() + 4];
    assert_eq!(
        support::nhsuk::normalise(skip),
        support::nhsuk::normalise(&support::nhsuk::fixture("skip-link", "default"))
    );
    let body_start = page.find("<body>").unwrap();
    assert!(
        page[body_start..].trim_start_matches("<body>").trim_start().starts_with("<script nonce="),
        "the js-enabled script comes first in the body, as upstream"
    );
    assert!(page.contains("document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');"));
    assert!(page.contains("<main class=\"nhsuk-main-wrapper\" id=\"maincontent\">"));
}

#[tokio::test]
async fn the_synthetic_data_banner_shows_only_for_a_synthetic_database() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app.clone());
    assert!(!client.get("/sign-in").await.body.contains("Synthetic data"));
    practice.concord.store.set_fact("synthetic", "yes").await.unwrap();
    // A new router: the flag is cached for half a minute.
    let mut client = Client::new(practice.app());
    let page = client.get("/sign-in").await;
    assert!(
        page.body.contains("nhsuk-notification-banner")
            && page.body.contains("All the people in this system are fictional")
    );
    assert!(client.get("/nowhere").await.body.contains("Synthetic data"), "error pages too");
}

// ---- roles ----

#[tokio::test]
async fn a_commissioner_sees_aggregates_and_never_an_identifiable_record() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let results = gp.search(&[("name", "jones")]).await;
    let record = results.record_links().remove(0);

    let mut commissioner = Client::signed_in(app.clone(), StaffRole::Commissioner).await;
    let home = commissioner.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("People on each long-term condition register, all practices"), "{}", home.body);
    assert!(home.body.contains("fewer than 5"), "small numbers are suppressed");
    assert!(!home.body.contains("/patients/search") && !home.body.contains("Find a patient"), "no search");
    for identifying in ["JONES", "Jones", "943 476 5919", ANN_NHS, "SMITH"] {
        assert!(!home.body.contains(identifying), "{identifying} on a commissioner's page");
    }
    for path in ["/patients", record.as_str(), "/results/unreadable", "/audit"] {
        let page = commissioner.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("You do not have permission to see this page"));
        assert!(!page.body.contains("JONES"));
    }
    let token = home.csrf_token();
    let search = commissioner.post("/patients/search", &[("csrf_token", &token), ("nhs_number", ANN_NHS)]).await;
    assert_eq!(search.status, StatusCode::FORBIDDEN, "the permission is checked, not just the link hidden");
}

#[tokio::test]
async fn each_role_sees_its_own_home_page() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut privacy = Client::signed_in(app.clone(), StaffRole::PrivacyOfficer).await;
    let home = privacy.get("/").await;
    assert!(home.body.contains("href=\"/audit\""), "{}", home.body);
    assert!(!home.body.contains("Find a patient"));
    let audit = privacy.get("/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(audit.body.contains("<h1>Audit trail</h1>") && audit.body.contains("Signed in"), "{}", audit.body);
    assert_eq!(privacy.get("/patients").await.status, StatusCode::FORBIDDEN);

    let mut admin = Client::signed_in(app.clone(), StaffRole::PracticeAdmin).await;
    let home = admin.get("/").await;
    assert!(home.body.contains("Diabetes mellitus"), "register counts for the practice: {}", home.body);
    assert!(home.body.contains("practice F00001"));
    assert!(!home.body.contains("Find a patient"));
    assert_eq!(admin.get("/patients").await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.get("/audit").await.status, StatusCode::FORBIDDEN);

    let mut system = Client::signed_in(app.clone(), StaffRole::SystemAdmin).await;
    let home = system.get("/").await;
    assert!(home.body.contains("concord user create") && home.body.contains("concord import"), "{}", home.body);
    assert_eq!(system.get("/patients").await.status, StatusCode::FORBIDDEN);
    assert_eq!(system.get("/audit").await.status, StatusCode::FORBIDDEN);

    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let home = gp.get("/").await;
    assert!(home.body.contains("action=\"/patients/search\""));
    assert!(home.body.contains("1 result that could raise a red flag could not be read"), "{}", home.body);
    assert!(home.body.contains("Diabetes mellitus"));
    let unreadable = gp.get("/results/unreadable").await;
    assert_eq!(unreadable.status, StatusCode::OK);
    assert!(unreadable.body.contains("eGFR") && unreadable.body.contains("extract.ndjson line 12"));
    assert_eq!(gp.get("/audit").await.status, StatusCode::FORBIDDEN);
}

// ---- search and records ----

#[tokio::test]
async fn search_by_nhs_number_name_and_date_of_birth() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    for fields in [
        vec![("nhs_number", "943 476 5919")],
        vec![("name", "jones")],
        vec![("name", "JONES ann")],
        vec![("dob[day]", "15"), ("dob[month]", "3"), ("dob[year]", "1950")],
    ] {
        let page = gp.search(&fields).await;
        assert_eq!(page.status, StatusCode::OK, "{fields:?}");
        assert!(page.body.contains("1 patient found"), "{fields:?}: {}", page.body);
        assert!(page.body.contains("JONES, Ann") && page.body.contains("943 476 5919"), "{fields:?}");
        assert!(page.body.contains("15 March 1950"));
        assert_eq!(page.record_links().len(), 1);
    }
    let bob = gp.search(&[("nhs_number", &test_number(999_000_001))]).await;
    assert!(bob.body.contains("SMITH, Bob") && bob.body.contains("Deceased"), "{}", bob.body);
    let quick = gp.get("/").await.csrf_token();
    let page = gp.post("/patients/search", &[("csrf_token", &quick), ("query", "943-476-5919")]).await;
    assert!(page.body.contains("JONES, Ann"), "the home page box takes an NHS number");
    let none = gp.search(&[("name", "nobody")]).await;
    assert!(none.body.contains("No patients found"));
}

#[tokio::test]
async fn search_errors_use_the_error_summary_and_say_why() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let nothing = gp.search(&[("name", "  ")]).await;
    assert!(nothing.body.contains("<title>Error: Find a patient – Concord</title>"), "{}", nothing.body);
    assert!(nothing.body.contains("Enter a name, NHS number or date of birth"));
    let short = gp.search(&[("nhs_number", "943 476 591")]).await;
    assert!(short.body.contains("NHS number must be 10 digits (you entered 9)"));
    assert!(short.body.contains("href=\"#nhs-number\""));
    assert!(short.body.contains("nhsuk-input--error"));
    assert!(short.body.contains("value=\"943 476 591\""), "what was typed is kept");
    let check = gp.search(&[("nhs_number", "9434765918")]).await;
    assert!(check.body.contains("the check digit"), "{}", check.body);
    let impossible = gp.search(&[("dob[day]", "31"), ("dob[month]", "2"), ("dob[year]", "1950")]).await;
    assert!(impossible.body.contains("Date of birth must be a real date"));
    assert!(impossible.body.contains("href=\"#dob-day\""));
    let partial = gp.search(&[("dob[day]", "15"), ("dob[year]", "1950")]).await;
    assert!(partial.body.contains("Date of birth must include a month"));
    assert!(partial.body.contains("href=\"#dob-month\""));
    for page in [nothing, short, check, impossible, partial] {
        assert!(page.record_links().is_empty());
    }
}

#[tokio::test]
async fn record_links_are_opaque_and_belong_to_one_session() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let page = gp.search(&[("nhs_number", ANN_NHS)]).await;
    let link = page.record_links().remove(0);
    let reference = link.trim_start_matches("/patients/record/");
    assert_eq!(reference.len(), 22, "128 random bits: {reference}");
    let search = concord_store::PatientSearch { name: Some("jones".into()), ..Default::default() };
    let patient_id = practice.concord.store.search_patients(&search, 5).await.unwrap().remove(0).id;
    for link in page.links() {
        for identifier in [ANN_NHS, "943%20476", "Jones", "JONES", "1950", patient_id.as_str()] {
            assert!(!link.contains(identifier), "{link} carries {identifier}");
        }
    }
    assert_eq!(gp.get(&link).await.status, StatusCode::OK);
    let again = gp.search(&[("name", "jones")]).await;
    assert_eq!(
        again.record_links(),
        std::slice::from_ref(&link),
        "the same patient keeps its reference in the session"
    );

    // Another session, even of the same person, cannot use it.
    let mut other = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let page = other.get(&link).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Page not found") && !page.body.contains("JONES"));
    assert_eq!(other.get("/patients/record/made-up-reference").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.get(&format!("/patients/record/{patient_id}")).await.status,
        StatusCode::NOT_FOUND,
        "database ids are not references"
    );

    // Signing out forgets the session's references.
    let token = gp.get("/").await.csrf_token();
    gp.post("/sign-out", &[("csrf_token", &token)]).await;
    let mut back = Client::signed_in(app.clone(), StaffRole::Gp).await;
    assert_eq!(back.get(&link).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_patient_summary_shows_the_record_with_nhs_conventions() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut nurse = Client::signed_in(app.clone(), StaffRole::Nurse).await;
    let link = nurse.search(&[("nhs_number", ANN_NHS)]).await.record_links().remove(0);
    let page = nurse.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), "no-store");
    let body = &page.body;
    for expected in [
        "JONES, Ann",
        "943 476 5919",
        "15 March 1950",
        " years)",
        "Female",
        "1 High Street<br>Leeds<br>LS1 1AA",
        "Riverside Surgery (F00001)",
        "Registered from 1 April 1990",
        "Mobile: 07700 900123",
        "Text message",
        "Large print",
        "Diabetes mellitus",
        "Results that could not be read",
        "could not be read at import; check it in the GP record",
        "Serum potassium",
        "HbA1c",
        "53 mmol/mol",
        "10 January 2026",
        "48 mmol/mol on 3 March 2025",
        "Up from 48 mmol/mol on 3 March 2025",
        "role=\"img\" aria-label=\"HbA1c, last 2 results from oldest to newest: 48 mmol/mol, 53 mmol/mol\"",
        "Type 2 diabetes mellitus",
        "1 January 2015",
        "As at 1 March 2026 from the GP record",
        "Metformin 500mg tablets",
        "One tablet twice a day",
        "Diabetes review",
        "At the surgery",
    ] {
        assert!(body.contains(expected), "the summary lacks {expected:?}:\n{body}");
    }
    assert!(!body.contains("This person has died"));
    // The warning comes before the results.
    assert!(body.find("could not be read at import").unwrap() < body.find("Latest results").unwrap());

    let link = nurse.search(&[("name", "smith")]).await.record_links().remove(0);
    let bob = nurse.get(&link).await.body;
    assert!(bob.contains("This person has died") && bob.contains("1 May 2024"), "{bob}");
    assert!(bob.contains("died aged 83"), "{bob}");
}

#[tokio::test]
async fn searches_and_record_views_are_audited_with_the_request_id() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let results = gp.search(&[("nhs_number", ANN_NHS)]).await;
    let search_request = results.header("x-request-id").to_owned();
    let record = gp.get(&results.record_links()[0]).await;
    let read_request = record.header("x-request-id").to_owned();

    let store = &practice.concord.store;
    let searches =
        store.audit_events(&AuditFilter { action: Some("search".into()), ..Default::default() }).await.unwrap();
    assert_eq!(searches.len(), 1);
    assert_eq!(searches[0].actor, username(StaffRole::Gp));
    assert_eq!(searches[0].request_id.as_deref(), Some(search_request.as_str()));
    assert!(!searches[0].detail.contains(ANN_NHS), "search terms are not stored");
    let reads = store.audit_events(&AuditFilter { action: Some("read".into()), ..Default::default() }).await.unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].request_id.as_deref(), Some(read_request.as_str()));
    assert!(reads[0].patient_id.is_some());
    let sign_ins =
        store.audit_events(&AuditFilter { action: Some("sign-in".into()), ..Default::default() }).await.unwrap();
    assert_eq!(sign_ins.len(), 1);
    assert!(sign_ins[0].request_id.is_some());

    // The privacy officer sees these events on the audit trail page.
    let mut privacy = Client::signed_in(app.clone(), StaffRole::PrivacyOfficer).await;
    let audit = privacy.get("/audit").await.body;
    assert!(audit.contains("Viewed: PatientSummary") && audit.contains("Searched: PatientSearch"), "{audit}");
    assert!(audit.contains(&read_request));
}

#[tokio::test]
async fn a_request_without_host_or_browser_headers_is_left_to_the_token() {
    // Non-browser clients send neither Origin nor Sec-Fetch-Site; the synchronizer token still decides.
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let token = gp.get("/patients").await.csrf_token();
    let request = Request::post("/patients/search")
        .header(header::HOST, HOST)
        .header(header::COOKIE, gp.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(support::encode(&[("csrf_token", &token), ("name", "jones")])))
        .unwrap();
    assert_eq!(gp.send(request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn preparation_conversation_and_plan_pages_follow_each_role_and_the_person_pages_need_their_own_session() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let record = gp.search(&[("nhs_number", ANN_NHS)]).await.record_links().remove(0);
    let pages = [
        format!("{record}/preparation"),
        format!("{record}/preparation.pdf?format=standard"),
        format!("{record}/preparation/print"),
        format!("{record}/conversation"),
        format!("{record}/plan"),
        format!("{record}/plan.pdf"),
    ];
    // The GP opens the preparation and the conversation (nothing reviewed yet: no letter, no plan).
    let preparation = gp.get(&pages[0]).await;
    assert_eq!(preparation.status, StatusCode::OK);
    assert!(preparation.body.contains("cannot be made yet"), "no letter before review");
    assert_eq!(gp.get(&pages[1]).await.status, StatusCode::BAD_REQUEST, "the PDF is refused with the reason");
    assert_eq!(gp.get(&pages[3]).await.status, StatusCode::OK);
    assert_eq!(gp.get(&pages[4]).await.status, StatusCode::NOT_FOUND, "no plan yet");
    assert_eq!(gp.get("/tasks").await.status, StatusCode::OK);

    // Roles without access to records are refused before any reference is looked at.
    for role in [StaffRole::Commissioner, StaffRole::PracticeAdmin, StaffRole::PrivacyOfficer, StaffRole::SystemAdmin] {
        let mut other = Client::signed_in(app.clone(), role).await;
        for path in pages.iter().map(String::as_str).chain(["/tasks"]) {
            let page = other.get(path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{role:?} {path}");
            assert!(!page.body.contains("JONES"));
        }
        let token = other.get("/").await.csrf_token();
        let refused =
            other.post(&format!("{record}/conversation"), &[("csrf_token", &token), ("decision", "agree")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role:?} cannot record a plan");
    }

    // The person's pages need the person's own session: a staff session does not open them.
    for path in ["/prepare/letter", "/prepare/agenda", "/prepare/plan", "/prepare/plan.pdf", "/prepare/letter.pdf"] {
        for client in [&mut Client::new(app.clone()), &mut gp] {
            let page = client.get(path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(page.header("location"), "/prepare", "{path}");
        }
    }
    let sign_in = Client::new(app.clone()).get("/prepare").await;
    assert_eq!(sign_in.status, StatusCode::OK);
    assert!(sign_in.body.contains("Your code") && sign_in.body.contains("Date of birth"));
}

/// Every staff page against every role: a role without the page's permission is refused (403)
/// before any record reference is looked at, and never sees the person; a role with it is not
/// refused (a reference from someone else's session is then "not found").
#[tokio::test]
async fn every_staff_route_is_refused_to_every_role_without_its_permission() {
    use concord_domain::access::Permission::{self, *};
    let practice = Practice::new().await;
    let app = practice.app();
    let mut gp = Client::signed_in(app.clone(), StaffRole::Gp).await;
    let record = gp.search(&[("nhs_number", ANN_NHS)]).await.record_links().remove(0);
    let reference = record.rsplit('/').next().unwrap().to_owned();
    // (path, the permission it needs; `None`: any signed-in member of staff).
    let routes: Vec<(String, Option<Permission>)> = vec![
        ("/".into(), None),
        ("/patients".into(), Some(ViewPatientRecord)),
        ("/worklist".into(), Some(ViewPracticeLists)),
        ("/triage".into(), Some(ViewPatientRecord)),
        ("/clinics".into(), Some(ViewPracticeLists)),
        ("/letters".into(), Some(ManageCycle)),
        ("/audit".into(), Some(ViewAudit)),
        ("/tasks".into(), Some(ViewPatientRecord)),
        ("/results/unreadable".into(), Some(ViewPatientRecord)),
        ("/shared".into(), Some(ViewSharedPlans)),
        ("/privacy/break-glass".into(), Some(ReviewBreakGlass)),
        ("/messages/failed".into(), Some(ViewPracticeLists)),
        ("/check-ins".into(), Some(ViewPatientRecord)),
        ("/outcomes".into(), Some(ViewAggregates)),
        ("/outcomes.csv?level=pcn".into(), Some(ViewAggregates)),
        (record.clone(), Some(ViewPatientRecord)),
        (format!("{record}/visit"), Some(ViewPatientRecord)),
        (format!("{record}/book"), Some(ManageCycle)),
        (format!("{record}/review"), Some(ViewPatientRecord)),
        (format!("{record}/preparation"), Some(ViewPatientRecord)),
        (format!("{record}/preparation.pdf"), Some(ViewPatientRecord)),
        (format!("{record}/preparation/print"), Some(ViewPatientRecord)),
        (format!("{record}/conversation"), Some(ViewPatientRecord)),
        (format!("{record}/plan"), Some(ViewPatientRecord)),
        (format!("{record}/plan.pdf"), Some(ViewPatientRecord)),
        (format!("{record}/plan/print"), Some(ViewPatientRecord)),
        (format!("/shared/plan/{reference}"), Some(ViewSharedPlans)),
    ];
    for role in StaffRole::ALL {
        let mut client = Client::signed_in(app.clone(), role).await;
        for (path, permission) in &routes {
            let page = client.get(path).await;
            let allowed = permission.is_none_or(|permission| role.permits(permission));
            if allowed {
                assert_ne!(page.status, StatusCode::FORBIDDEN, "{role:?} may open {path}");
                if path.contains(&reference) && role != StaffRole::Gp {
                    assert_eq!(page.status, StatusCode::NOT_FOUND, "{role:?}: another session's reference");
                }
            } else {
                assert_eq!(page.status, StatusCode::FORBIDDEN, "{role:?} must be refused {path}");
            }
            let identifies = role.permits(ViewPatientRecord) || role.permits(ViewPracticeLists);
            assert!(identifies || !page.body.contains("JONES"), "{role:?} saw the person on {path}");
            assert!(!path.contains(&reference) || role == StaffRole::Gp || !page.body.contains("JONES"));
        }
        // Forms are refused the same way (with a valid session token, so it is the role that
        // refuses, not the token).
        let token = client.get("/").await.csrf_token();
        for (path, permission) in [
            ("/patients/search", ViewPatientRecord),
            ("/shared", ViewSharedPlans),
            ("/shared/break-glass", ViewSharedPlans),
            ("/privacy/break-glass", ReviewBreakGlass),
            ("/check-ins/follow-up", ViewPatientRecord),
            ("/check-ins/call", ViewPatientRecord),
        ] {
            let page = client
                .post(path, &[("csrf_token", &token), ("nhs_number", ANN_NHS), ("reason", "x"), ("note", "x")])
                .await;
            if role.permits(permission) {
                assert_ne!(page.status, StatusCode::FORBIDDEN, "{role:?} may post {path}");
            } else {
                assert_eq!(page.status, StatusCode::FORBIDDEN, "{role:?} must be refused posting {path}");
            }
        }
    }
}

#[tokio::test]
async fn a_partner_clinician_reads_only_shared_plans_and_breaks_the_glass_with_a_reason_the_privacy_officer_reviews() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut partner = Client::signed_in(app.clone(), StaffRole::PartnerClinician).await;
    let home = partner.get("/").await;
    assert!(home.body.contains("href=\"/shared\""), "{}", home.body);
    assert!(!home.body.contains("Find a patient"));
    let form = partner.get("/shared").await;
    assert_eq!(form.status, StatusCode::OK);
    let token = form.csrf_token();
    // Not shared: nothing about the person, the emergency form offered.
    let searched = partner.post("/shared", &[("csrf_token", &token), ("nhs_number", ANN_NHS)]).await;
    assert_eq!(searched.status, StatusCode::OK);
    assert!(searched.body.contains("No plan shared with your organisation") && !searched.body.contains("JONES"));
    let invalid = partner.post("/shared", &[("csrf_token", &token), ("nhs_number", "1234567890")]).await;
    assert!(invalid.body.contains("nhsuk-error-summary") && invalid.body.contains("not a valid NHS number"));
    // Ann has no plan: break-glass is still recorded, with its reason, and the page says there
    // is no plan to show.
    let vague = partner
        .post("/shared/break-glass", &[("csrf_token", &token), ("nhs_number", ANN_NHS), ("reason", "urgent")])
        .await;
    assert!(vague.body.contains("nhsuk-error-summary") && vague.body.contains("at least 10 characters"));
    let granted = partner
        .post(
            "/shared/break-glass",
            &[("csrf_token", &token), ("nhs_number", ANN_NHS), ("reason", "Collapsed at the day centre")],
        )
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER);
    let plan = partner.get(granted.header("location")).await;
    assert_eq!(plan.status, StatusCode::NOT_FOUND, "no plan to show: {}", plan.body);
    // The privacy officer sees it waiting, and records the review.
    let mut privacy = Client::signed_in(app.clone(), StaffRole::PrivacyOfficer).await;
    let home = privacy.get("/").await;
    assert!(home.body.contains("1 emergency access"), "{}", home.body);
    let list = privacy.get("/privacy/break-glass").await;
    assert!(list.body.contains("Collapsed at the day centre") && list.body.contains("NZZ01"), "{}", list.body);
    let id = list.body.split("name=\"access\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let token = list.csrf_token();
    let empty = privacy.post("/privacy/break-glass", &[("csrf_token", &token), ("access", &id), ("note", " ")]).await;
    assert!(empty.body.contains("nhsuk-error-summary"));
    let reviewed = privacy
        .post(
            "/privacy/break-glass",
            &[("csrf_token", &token), ("access", &id), ("note", "Appropriate: spoke to the ward")],
        )
        .await;
    assert!(reviewed.body.contains("Review recorded") && reviewed.body.contains("None waiting for review"));
}

/// Every FHIR route against tokens of each scope: no token is 401, a token without the route's
/// scope is 403, and every read that succeeds is audited with the client.
#[tokio::test]
async fn every_fhir_route_needs_a_token_with_its_scope() {
    let practice = Practice::new().await;
    let app = practice.app();
    let concord = &practice.concord;
    let now = time::OffsetDateTime::now_utc();
    let ann = concord
        .store
        .search_patients(
            &concord_store::PatientSearch {
                nhs_number: Some(concord_domain::NhsNumber::parse(ANN_NHS).unwrap()),
                ..Default::default()
            },
            1,
        )
        .await
        .unwrap()
        .remove(0)
        .id;
    let mut routes: Vec<(String, &str)> = vec![
        (format!("/fhir/Patient/{ann}"), "system/Patient.read"),
        (format!("/fhir/Patient/{ann}/$everything"), "system/Patient.read"),
    ];
    for kind in concord_app::api::COMPARTMENT {
        routes.push((
            format!("/fhir/{kind}?patient=Patient/{ann}"),
            if kind == "Goal" { "system/Goal.read" } else { "" },
        ));
    }
    for (path, scope) in routes.iter_mut() {
        if scope.is_empty() {
            let kind = path.trim_start_matches("/fhir/").split('?').next().unwrap().to_owned();
            *scope = Box::leak(format!("system/{kind}.read").into_boxed_str());
        }
    }
    let mut client = Client::new(app.clone());
    for (path, _) in &routes {
        let response = client.get_with_bearer(path, None).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path} without a token");
        assert!(response.body.contains("OperationOutcome"));
    }
    for scope in concord_app::api::SCOPES.iter().filter(|scope| scope.ends_with(".read")) {
        let registered = concord.create_api_client(support::PRACTICE, "test", scope, now).await.unwrap();
        let token = concord.issue_api_token(&registered.client_id, &registered.client_secret, now).await.unwrap();
        for (path, needed) in &routes {
            let response = client.get_with_bearer(path, Some(&token.access_token)).await;
            let granted = *scope == *needed || *scope == "system/*.read";
            if granted {
                assert_eq!(response.status, StatusCode::OK, "{scope} on {path}: {}", response.body);
            } else {
                assert_eq!(response.status, StatusCode::FORBIDDEN, "{scope} must not open {path}: {}", response.body);
            }
        }
        let audited = concord
            .store
            .audit_events(&concord_store::AuditFilter { patient_id: Some(ann.clone()), ..Default::default() })
            .await
            .unwrap()
            .into_iter()
            .filter(|event| event.actor == format!("client:{}", registered.client_id) && event.action == "read")
            .count();
        let opened = routes.iter().filter(|(_, needed)| *scope == *needed || *scope == "system/*.read").count();
        assert_eq!(audited, opened, "{scope}: every read audited");
    }
    // A partner with no consent from Ann sees nothing of her, whatever its scopes.
    let partner = concord.create_api_client(support::PARTNER, "community", "system/*.read", now).await.unwrap();
    let token = concord.issue_api_token(&partner.client_id, &partner.client_secret, now).await.unwrap();
    for (path, _) in &routes {
        let response = client.get_with_bearer(path, Some(&token.access_token)).await;
        assert!(
            response.status == StatusCode::NOT_FOUND
                || (response.status == StatusCode::OK && response.body.contains("\"total\":0")),
            "{path}: {} {}",
            response.status,
            response.body
        );
    }
}

/// The SMS gateway's delivery receipts need the configured token; no session, no CSRF token.
#[tokio::test]
async fn delivery_receipts_need_the_gateway_token() {
    let practice = Practice::new().await;
    let app = practice.app();
    let mut client = Client::new(app);
    for authorization in [None, Some("Bearer wrong")] {
        let mut request =
            Request::post("/callbacks/sms").header(header::HOST, HOST).header(header::CONTENT_TYPE, "application/json");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let page = client.send(request.body(Body::from(r#"{"reference":"x","status":"delivered"}"#)).unwrap()).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{authorization:?}");
    }
}

// ---- check-ins ----

/// A check-in call through the page: the coordinator records how Ann's goals are going and, on
/// the same call, her feedback survey; a survey answer that is not one of the choices is named
/// and nothing is saved.
#[tokio::test]
async fn a_check_in_call_records_goal_progress_and_the_persons_feedback() {
    use concord_domain::plan::{Action, CarePlan, Contingency, Goal, PlanName};
    use time::{Duration, OffsetDateTime};
    let practice = Practice::new().await;
    let concord = &practice.concord;
    let search = concord_store::PatientSearch {
        nhs_number: Some(concord_domain::NhsNumber::parse(ANN_NHS).unwrap()),
        ..Default::default()
    };
    let ann = concord.store.search_patients(&search, 1).await.unwrap().remove(0).id;
    let nurse = concord_app::record::StaffMember {
        user_id: "u".into(),
        username: username(StaffRole::Nurse),
        display_name: "Test Nurse".into(),
        role: StaffRole::Nurse,
        organisation: Some(support::PRACTICE.into()),
    };
    // Her plan was agreed 45 days ago; the text four weeks on went unanswered for over two weeks,
    // so she is on the call list now.
    let now = OffsetDateTime::now_utc();
    let agreed = now - Duration::days(45);
    let plan = CarePlan {
        name: PlanName::HealthPlan,
        goals: vec![Goal {
            words: "Walk to the shops".into(),
            importance: 8,
            actions: vec![Action { what: "Walk for 15 minutes".into(), confidence: 7, ..Default::default() }],
        }],
        contingencies: vec![Contingency {
            name: "Low blood sugar (hypo)".into(),
            triggers: "Missing a meal".into(),
            what_to_do: "Take 5 jelly babies".into(),
            ..Default::default()
        }],
        review_date: Some(now.date() + Duration::days(180)),
        review_by: "Practice nurse".into(),
        agreed_by: "the person".into(),
        ..Default::default()
    };
    concord.record_plan(&nurse, &ann, 0, plan, true, agreed).await.unwrap().unwrap();
    let sent = now - Duration::days(16);
    assert_eq!(concord.send_due_check_ins(sent.date(), sent, 10).await.unwrap().sent, 1);

    let mut coordinator = Client::signed_in(practice.app(), StaffRole::CareCoordinator).await;
    let page = coordinator.get("/check-ins").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("JONES, Ann") && page.body.contains("Not answered by text message"), "{}", page.body);
    assert!(page.body.contains("enough support from local services"), "the survey is asked on the call");
    let id = support::hidden_field(&page.body, "check_in").expect("a call form");
    let token = page.csrf_token();
    let fields = |support: &'static str| {
        vec![
            ("csrf_token", token.clone()),
            ("check_in", id.clone()),
            ("goal-0", "going_well".to_owned()),
            ("note", String::new()),
            ("survey-support", support.to_owned()),
            ("survey-confidence", "fairly".to_owned()),
            ("survey-goals", String::new()),
        ]
    };
    let pairs = |fields: &[(&'static str, String)]| -> Vec<(&'static str, String)> { fields.to_vec() };
    let wrong = pairs(&fields("perhaps"));
    let borrowed: Vec<(&str, &str)> = wrong.iter().map(|(key, value)| (*key, value.as_str())).collect();
    let refused = coordinator.post("/check-ins/call", &borrowed).await;
    assert!(refused.body.contains("Choose one of the answers"), "{}", refused.body);
    assert!(concord.store.survey_responses(Some(support::PRACTICE)).await.unwrap().is_empty(), "nothing saved");
    assert!(refused.body.contains(&id), "the call is still waiting");

    let right = pairs(&fields("yes_definitely"));
    let borrowed: Vec<(&str, &str)> = right.iter().map(|(key, value)| (*key, value.as_str())).collect();
    let saved = coordinator.post("/check-ins/call", &borrowed).await;
    assert!(saved.body.contains("Answers saved. Their feedback is saved."), "{}", saved.body);
    let responses = concord.store.survey_responses(Some(support::PRACTICE)).await.unwrap();
    assert_eq!(responses.len(), 1);
    assert_eq!(
        (responses[0].support.as_str(), responses[0].confidence.as_str(), responses[0].submitted_by.as_str()),
        ("yes_definitely", "fairly", "Test Care coordinator (by phone)")
    );
    assert!(!saved.body.contains(&id), "the call is off the list");
}
