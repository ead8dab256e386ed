//! FHIR R4 JSON shapes: resource kinds, references in the two output styles, common elements, and
//! the Organization resources. Each patient's resources go to a [`Sink`] that holds one chunk of
//! output (NDJSON lines per resource type, or one collection Bundle per patient) until written.

use crate::catalogue::Concept;
use crate::json::{Arr, Obj};
use crate::population::{
    COMMUNITY_CODE, COMMUNITY_NAME, HOSPITAL_CODE, HOSPITAL_NAME, Organisations, REGION_CODE, REGION_NAME,
};
use crate::util::{Day, Id, mix64, push_date_time};

pub(crate) const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// Project-owned code system saying what an organisation is in Concord's hierarchy
/// (codes `region`, `pcn`, `practice`, `partner`, as `concord_domain::OrganisationKind`).
pub const ORGANISATION_KIND_SYSTEM: &str = "urn:concord:organisation-kind";

/// The resource types the generator writes, in the order their NDJSON files are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Organization,
    Patient,
    Encounter,
    Condition,
    Observation,
    MedicationStatement,
}

impl Kind {
    pub(crate) const ALL: [Kind; 6] = [
        Kind::Organization,
        Kind::Patient,
        Kind::Encounter,
        Kind::Condition,
        Kind::Observation,
        Kind::MedicationStatement,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Organization => "Organization",
            Kind::Patient => "Patient",
            Kind::Encounter => "Encounter",
            Kind::Condition => "Condition",
            Kind::Observation => "Observation",
            Kind::MedicationStatement => "MedicationStatement",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How resources are packaged, which decides how references are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Bulk Data NDJSON: references are `Type/id`.
    Ndjson,
    /// One collection Bundle per patient: fullUrls and references are `urn:uuid:id`.
    Bundle,
}

/// Output for a run of consecutive patients, rendered but not yet written.
pub(crate) struct Sink {
    style: Style,
    /// NDJSON lines per [`Kind`] (empty in Bundle style).
    pub(crate) lines: [String; 6],
    /// (patient index, Bundle JSON) in Bundle style.
    pub(crate) bundles: Vec<(u64, String)>,
    current: String,
    entries: usize,
    pub(crate) counts: [u64; 6],
}

impl Sink {
    pub(crate) fn new(style: Style) -> Self {
        Self {
            style,
            lines: Default::default(),
            bundles: Vec::new(),
            current: String::new(),
            entries: 0,
            counts: [0; 6],
        }
    }

    pub(crate) fn style(&self) -> Style {
        self.style
    }

    /// Starts a patient's Bundle (Bundle style only).
    pub(crate) fn begin_patient(&mut self, bundle_id: Id, today: Day) {
        if self.style == Style::Bundle {
            self.current = String::with_capacity(16 * 1024);
            self.current.push_str("{\"resourceType\":\"Bundle\",\"id\":\"");
            bundle_id.push(&mut self.current);
            self.current.push_str("\",\"type\":\"collection\",\"timestamp\":\"");
            push_date_time(&mut self.current, today, 0);
            self.current.push_str("\",\"entry\":[\n");
            self.entries = 0;
        }
    }

    pub(crate) fn end_patient(&mut self, index: u64) {
        if self.style == Style::Bundle {
            let mut bundle = std::mem::take(&mut self.current);
            bundle.push_str("\n]}\n");
            self.bundles.push((index, bundle));
        }
    }

    /// Writes one resource; `fill` writes the members after `resourceType` and `id`.
    pub(crate) fn resource(&mut self, kind: Kind, id: Id, fill: impl FnOnce(&mut Obj<'_>)) {
        self.counts[kind.index()] += 1;
        let out = match self.style {
            Style::Ndjson => &mut self.lines[kind.index()],
            Style::Bundle => {
                if self.entries > 0 {
                    self.current.push_str(",\n");
                }
                self.entries += 1;
                self.current.push_str("{\"fullUrl\":\"urn:uuid:");
                id.push(&mut self.current);
                self.current.push_str("\",\"resource\":");
                &mut self.current
            }
        };
        Obj::write(out, |o| {
            o.str("resourceType", kind.name());
            o.str_with("id", |s| id.push(s));
            fill(o);
        });
        match self.style {
            Style::Ndjson => self.lines[kind.index()].push('\n'),
            Style::Bundle => self.current.push('}'),
        }
    }
}

/// Writes `key: {"reference": ...}` to a resource in the same patient's record.
pub(crate) fn reference(o: &mut Obj<'_>, key: &str, style: Style, kind: Kind, id: Id) {
    o.obj(key, |r| {
        r.str_with("reference", |s| {
            match style {
                Style::Ndjson => {
                    s.push_str(kind.name());
                    s.push('/');
                }
                Style::Bundle => s.push_str("urn:uuid:"),
            }
            id.push(s);
        });
    });
}

/// A reference to an organisation: by id (its ODS code) and by ODS identifier, in both styles, as
/// organisations live outside the patients' Bundles.
pub(crate) fn organisation_reference(o: &mut Obj<'_>, key: &str, code: &str, name: &str) {
    o.obj(key, |r| organisation_reference_members(r, code, name));
}

fn organisation_reference_members(r: &mut Obj<'_>, code: &str, name: &str) {
    r.str_with("reference", |s| {
        s.push_str("Organization/");
        s.push_str(code);
    });
    r.obj("identifier", |i| {
        i.str("system", ODS_SYSTEM).str("value", code);
    });
    r.str("display", name);
}

pub(crate) fn organisation_reference_in(a: &mut Arr<'_>, code: &str, name: &str) {
    a.obj(|r| organisation_reference_members(r, code, name));
}

pub(crate) fn coding(a: &mut Arr<'_>, concept: &Concept) {
    a.obj(|c| {
        c.str("system", concept.system).str("code", concept.code).str("display", concept.display);
    });
}

/// `key: {"coding": [...], "text"?}` with one coding per concept.
pub(crate) fn codeable(o: &mut Obj<'_>, key: &str, concepts: &[Concept], text: Option<&str>) {
    o.obj(key, |cc| codeable_members(cc, concepts, text));
}

pub(crate) fn codeable_members(cc: &mut Obj<'_>, concepts: &[Concept], text: Option<&str>) {
    cc.arr("coding", |a| {
        for concept in concepts {
            coding(a, concept);
        }
    });
    if let Some(text) = text {
        cc.str("text", text);
    }
}

/// `key: {"coding": [{"system", "code", "display"}]}` for a simple code from a FHIR code system.
pub(crate) fn simple_code(o: &mut Obj<'_>, key: &str, system: &str, code: &str, display: Option<&str>) {
    o.obj(key, |cc| {
        cc.arr("coding", |a| {
            a.obj(|c| {
                c.str("system", system).str("code", code);
                if let Some(display) = display {
                    c.str("display", display);
                }
            });
        });
    });
}

/// A stable id for an organisation's Bundle entry (`urn:uuid:` fullUrl), derived from its code.
fn organisation_entry_id(seed: u64, code: &str) -> Id {
    let key = code.bytes().fold(mix64(seed ^ 0x6f64_7300), |hash, byte| mix64(hash ^ u64::from(byte)));
    Id::derive(key, 0)
}

/// One organisation to write: code, name, kind code, kind display, parent (code, name), town.
struct OrganisationRow<'a> {
    code: &'a str,
    name: &'a str,
    kind: &'static str,
    kind_display: &'static str,
    parent: Option<(&'a str, &'a str)>,
    city: Option<&'static str>,
}

/// Writes every Organization (region, PCNs, practices, partners) to `out`: NDJSON lines, or the
/// entries of one collection Bundle. Resource ids are the ODS codes.
pub(crate) fn write_organisations(organisations: &Organisations, seed: u64, style: Style, today: Day) -> (String, u64) {
    let mut rows = vec![OrganisationRow {
        code: REGION_CODE,
        name: REGION_NAME,
        kind: "region",
        kind_display: "Region",
        parent: None,
        city: None,
    }];
    for pcn in &organisations.pcns {
        rows.push(OrganisationRow {
            code: &pcn.code,
            name: &pcn.name,
            kind: "pcn",
            kind_display: "Primary care network",
            parent: Some((REGION_CODE, REGION_NAME)),
            city: None,
        });
    }
    for practice in &organisations.practices {
        let pcn = &organisations.pcns[practice.pcn];
        rows.push(OrganisationRow {
            code: &practice.code,
            name: &practice.name,
            kind: "practice",
            kind_display: "GP practice",
            parent: Some((&pcn.code, &pcn.name)),
            city: Some(crate::catalogue::TOWNS[practice.town].name),
        });
    }
    for (code, name, display) in [
        (COMMUNITY_CODE, COMMUNITY_NAME, "Partner organisation: community health services"),
        (HOSPITAL_CODE, HOSPITAL_NAME, "Partner organisation: hospital trust"),
    ] {
        rows.push(OrganisationRow {
            code,
            name,
            kind: "partner",
            kind_display: display,
            parent: Some((REGION_CODE, REGION_NAME)),
            city: None,
        });
    }

    let mut out = String::with_capacity(rows.len() * 600);
    if style == Style::Bundle {
        out.push_str("{\"resourceType\":\"Bundle\",\"id\":\"");
        organisation_entry_id(seed, "bundle").push(&mut out);
        out.push_str("\",\"type\":\"collection\",\"timestamp\":\"");
        push_date_time(&mut out, today, 0);
        out.push_str("\",\"entry\":[\n");
    }
    for (position, row) in rows.iter().enumerate() {
        if style == Style::Bundle {
            if position > 0 {
                out.push_str(",\n");
            }
            out.push_str("{\"fullUrl\":\"urn:uuid:");
            organisation_entry_id(seed, row.code).push(&mut out);
            out.push_str("\",\"resource\":");
        }
        Obj::write(&mut out, |o| {
            o.str("resourceType", "Organization").str("id", row.code);
            o.arr("identifier", |a| {
                a.obj(|i| {
                    i.str("system", ODS_SYSTEM).str("value", row.code);
                });
            });
            o.bool("active", true);
            o.arr("type", |a| {
                a.obj(|cc| {
                    cc.arr("coding", |codings| {
                        codings.obj(|c| {
                            c.str("system", ORGANISATION_KIND_SYSTEM)
                                .str("code", row.kind)
                                .str("display", row.kind_display);
                        });
                    });
                });
                if matches!(row.kind, "practice" | "partner") {
                    a.obj(|cc| {
                        cc.arr("coding", |codings| {
                            codings.obj(|c| {
                                c.str("system", "http://terminology.hl7.org/CodeSystem/organization-type")
                                    .str("code", "prov")
                                    .str("display", "Healthcare Provider");
                            });
                        });
                    });
                }
            });
            o.str("name", row.name);
            if let Some(city) = row.city {
                o.arr("address", |a| {
                    a.obj(|address| {
                        address.str("city", city).str("country", "GB");
                    });
                });
            }
            if let Some((code, name)) = row.parent {
                organisation_reference(o, "partOf", code, name);
            }
        });
        match style {
            Style::Ndjson => out.push('\n'),
            Style::Bundle => out.push('}'),
        }
    }
    if style == Style::Bundle {
        out.push_str("\n]}\n");
    }
    (out, rows.len() as u64)
}
