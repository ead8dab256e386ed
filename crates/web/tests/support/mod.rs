//! A practice in a fresh SQLite database, staff for several roles, and a cookie-keeping client
//! that drives the router in process (`tower::ServiceExt::oneshot`).

#![allow(dead_code)]

pub mod nhsuk;

use std::collections::HashMap;
use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use concord_app::Concord;
use concord_domain::access::StaffRole;
use concord_domain::audit::Actor;
use concord_domain::code::{Code, CodedConcept};
use concord_domain::nhs_number::NhsNumber;
use concord_domain::organisation::{OdsCode, Organisation, OrganisationKind};
use concord_domain::patient::{Address, ContactChannel, ContactDetails, Patient, PersonName, Registration, Sex};
use concord_domain::record::{
    Clinician, Condition, ConditionStatus, Encounter, EncounterSetting, EncounterStatus, Medication, MedicationStatus,
    Observation, ObservationStatus, ObservationValue, Quantity, ResultSource,
};
use concord_domain::units::Ucum;
use concord_store::{ClinicalRecord, PatientRef, RejectionRow};
use concord_web::{WebConfig, router};
use time::OffsetDateTime;
use time::macros::{date, datetime};
use tower::ServiceExt;

/// The partner organisation (a community service) of the partner clinician's account.
pub const PARTNER: &str = "NZZ01";

pub const PASSWORD: &str = "correct horse battery staple";
pub const PRACTICE: &str = "F00001";
pub const ANN_NHS: &str = "9434765919";
pub const HOST: &str = "concord.test";

pub fn assets_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/node_modules/nhsuk-frontend/dist/nhsuk")
}

/// A valid NHS number in the 999 test range, from the first issuable prefix at or after `prefix`.
pub fn test_number(prefix: u32) -> String {
    (prefix..).find_map(NhsNumber::from_prefix).expect("an issuable prefix").as_str().to_owned()
}

pub struct Practice {
    pub concord: Concord,
    pub directory: PathBuf,
}

impl Drop for Practice {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// Staff usernames, one per role under test.
pub fn username(role: StaffRole) -> String {
    format!("test.{}", role.as_str())
}

impl Practice {
    /// A database with two patients (one alive with results, one who has died), an unreadable
    /// red-flag rejection, and one account per role.
    pub async fn new() -> Self {
        let directory = std::env::temp_dir().join(format!("concord-web-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&directory).unwrap();
        let concord = Concord::open(&format!("sqlite://{}", directory.join("test.db").display())).await.unwrap();
        for role in StaffRole::ALL {
            let organisation = match role {
                StaffRole::Commissioner | StaffRole::Facilitator | StaffRole::SystemAdmin => None,
                StaffRole::PartnerClinician => Some(PARTNER),
                _ => Some(PRACTICE),
            };
            concord
                .create_staff_user(
                    &username(role),
                    &format!("Test {}", role.title()),
                    role,
                    organisation,
                    PASSWORD,
                    false,
                )
                .await
                .unwrap();
        }
        let practice = Self { concord, directory };
        practice.import().await;
        practice
    }

    async fn import(&self) {
        let organisation = Organisation {
            ods_code: OdsCode::parse(PRACTICE).unwrap(),
            name: "Riverside Surgery".into(),
            kind: OrganisationKind::Practice,
            parent: None,
        };
        let registration = Some(Registration {
            practice: OdsCode::parse(PRACTICE).unwrap(),
            start: Some(date!(1990 - 04 - 01)),
            end: None,
        });
        let ann = Patient {
            nhs_number: Some(NhsNumber::parse(ANN_NHS).unwrap()),
            nhs_number_verification: None,
            local_identifiers: vec![],
            name: PersonName { prefix: None, given: "Ann".into(), family: "Jones".into() },
            birth_date: date!(1950 - 03 - 15),
            sex: Sex::Female,
            address: Address {
                lines: vec!["1 High Street".into()],
                city: Some("Leeds".into()),
                postcode: Some("LS1 1AA".into()),
            },
            death_date: None,
            registration: registration.clone(),
            contact: ContactDetails {
                phone: None,
                mobile: Some("07700 900123".into()),
                email: None,
                preferred_channel: Some(ContactChannel::Sms),
            },
            communication: concord_domain::patient::CommunicationNeeds {
                language: None,
                interpreter_needed: false,
                needs: vec!["Large print".into()],
            },
        };
        let bob = Patient {
            nhs_number: Some(NhsNumber::parse(&test_number(999_000_001)).unwrap()),
            name: PersonName { prefix: None, given: "Bob".into(), family: "Smith".into() },
            birth_date: date!(1940 - 07 - 01),
            sex: Sex::Male,
            death_date: Some(date!(2024 - 05 - 01)),
            address: Address::default(),
            contact: ContactDetails::default(),
            communication: Default::default(),
            ..ann.clone()
        };
        let hba1c = |value: &str, effective: OffsetDateTime| {
            ClinicalRecord::Observation(Observation {
                concept: CodedConcept { code: Code::snomed("999791000000106"), term: "HbA1c".into() },
                observable: Some("hba1c".into()),
                value: ObservationValue::Quantity(Quantity {
                    value_text: value.into(),
                    value: value.parse().unwrap(),
                    unit: Ucum::new("mmol/mol"),
                }),
                effective,
                status: ObservationStatus::Final,
                source: ResultSource::Imported("test".into()),
            })
        };
        let ann_ref = || PatientRef::SourceKey("Patient/ann".into());
        let records = vec![
            (
                ann_ref(),
                "Condition/1".to_owned(),
                ClinicalRecord::Condition(Condition {
                    concept: CodedConcept { code: Code::snomed("44054006"), term: "Type 2 diabetes mellitus".into() },
                    onset: Some(date!(2015 - 01 - 01)),
                    resolved: None,
                    status: ConditionStatus::Active,
                    recorded: None,
                }),
            ),
            (ann_ref(), "Observation/1".to_owned(), hba1c("53", datetime!(2026-01-10 09:30 UTC))),
            (ann_ref(), "Observation/2".to_owned(), hba1c("48", datetime!(2025-03-03 09:30 UTC))),
            (
                ann_ref(),
                "Observation/3".to_owned(),
                ClinicalRecord::Unreadable {
                    concept: CodedConcept { code: Code::snomed("1000651000000109"), term: "Serum potassium".into() },
                    effective: Some(datetime!(2026-02-01 08:00 UTC)),
                    reason: "the value \"6,9\" is not a number".into(),
                },
            ),
            (
                ann_ref(),
                "MedicationStatement/1".to_owned(),
                ClinicalRecord::Medication(Medication {
                    concept: CodedConcept { code: Code::snomed("325278007"), term: "Metformin 500mg tablets".into() },
                    dosage: Some("One tablet twice a day".into()),
                    status: MedicationStatus::Active,
                    authored: Some(date!(2025 - 06 - 01)),
                    as_at: date!(2026 - 03 - 01),
                }),
            ),
            (
                ann_ref(),
                "Encounter/1".to_owned(),
                ClinicalRecord::Encounter(Encounter {
                    start: datetime!(2026-01-10 09:00 UTC),
                    setting: EncounterSetting::Surgery,
                    clinician: Clinician::Nurse,
                    status: EncounterStatus::Attended,
                    kind: Some(CodedConcept { code: Code::snomed("401191002"), term: "Diabetes review".into() }),
                    planned: Some(true),
                    booked_at: None,
                    year_of_care_contact: false,
                }),
            ),
        ];
        let mut writer = self.concord.store.import_writer(Actor::System("test".into()));
        let outcome = writer
            .write(
                &[
                    organisation,
                    Organisation {
                        ods_code: OdsCode::parse(PARTNER).unwrap(),
                        name: "Riverside Community Services".into(),
                        kind: OrganisationKind::Partner,
                        parent: None,
                    },
                ],
                &[("Patient/ann".into(), ann), ("Patient/bob".into(), bob)],
                &records,
            )
            .await
            .unwrap();
        assert!(outcome.refused_records.is_empty() && outcome.refused_patients.is_empty(), "{outcome:?}");
        self.concord
            .store
            .record_rejections(
                "run-1",
                &[RejectionRow {
                    id: String::new(),
                    run_id: "run-1".into(),
                    at: "2026-03-01T10:00:00Z".into(),
                    location: "extract.ndjson line 12".into(),
                    resource_type: Some("Observation".into()),
                    source_key: Some("Observation/99".into()),
                    reason: "unit \"mmol\" is not accepted for eGFR".into(),
                    red_flag: Some(CodedConcept { code: Code::snomed("1011481000000105"), term: "eGFR".into() }),
                }],
            )
            .await
            .unwrap();
    }

    pub fn app(&self) -> Router {
        router(self.concord.clone(), WebConfig { assets_dir: assets_dir(), secure_cookies: false })
    }

    pub fn secure_app(&self) -> Router {
        router(self.concord.clone(), WebConfig { assets_dir: assets_dir(), secure_cookies: true })
    }
}

/// One response, read in full.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("")
    }

    /// The value of the first hidden `csrf_token` field.
    pub fn csrf_token(&self) -> String {
        hidden_field(&self.body, "csrf_token").expect("the page has a csrf_token field")
    }

    /// Every `href` in the page.
    pub fn links(&self) -> Vec<String> {
        self.body.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect()
    }

    /// Links to patient records.
    pub fn record_links(&self) -> Vec<String> {
        self.links().into_iter().filter(|link| link.starts_with("/patients/record/")).collect()
    }
}

pub fn hidden_field(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_owned())
}

/// Form encoding (application/x-www-form-urlencoded).
pub fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode_part(name), encode_part(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode_part(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A browser: keeps cookies, sends same-origin headers on form posts unless told otherwise.
pub struct Client {
    pub app: Router,
    pub cookies: HashMap<String, String>,
}

impl Client {
    pub fn new(app: Router) -> Self {
        Self { app, cookies: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    pub async fn send(&mut self, request: Request<Body>) -> Page {
        let response = self.app.clone().oneshot(request).await.unwrap();
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = Request::get(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// A same-origin form post, as a browser sends it.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(path, fields, &[("sec-fetch-site", "same-origin"), ("origin", "http://concord.test")]).await
    }

    pub async fn post_with(&mut self, path: &str, fields: &[(&str, &str)], extra: &[(&str, &str)]) -> Page {
        let mut builder = Request::post(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        self.send(builder.body(Body::from(encode(fields))).unwrap()).await
    }

    /// Signs in through the form; returns the response to the POST.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let token = form.csrf_token();
        self.post("/sign-in", &[("csrf_token", &token), ("username", username), ("password", password)]).await
    }

    pub async fn signed_in(app: Router, role: StaffRole) -> Self {
        let mut client = Self::new(app);
        let page = client.sign_in(&username(role), PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        client
    }

    /// A GET as an API client: with `Authorization: Bearer …` when a token is given, no cookies.
    pub async fn get_with_bearer(&mut self, path: &str, token: Option<&str>) -> Page {
        let mut request = Request::builder().uri(path).header(header::HOST, HOST);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Searches as the signed-in user with the full form.
    pub async fn search(&mut self, fields: &[(&str, &str)]) -> Page {
        let form = self.get("/patients").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let token = form.csrf_token();
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post("/patients/search", &all).await
    }
}
