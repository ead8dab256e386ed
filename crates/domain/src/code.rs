//! Clinical codes: a code and the code system it belongs to.

use std::fmt;

/// Code systems Concord understands. SNOMED CT is the primary terminology in UK primary care;
/// LOINC arrives on vital signs and from US-style extracts; dm+d identifies medicines in the NHS.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodeSystem {
    Snomed,
    Loinc,
    Dmd,
    RxNorm,
    Other(String),
}

impl CodeSystem {
    pub const SNOMED_URI: &'static str = "http://snomed.info/sct";
    pub const LOINC_URI: &'static str = "http://loinc.org";
    pub const DMD_URI: &'static str = "https://dmd.nhs.uk";
    pub const RXNORM_URI: &'static str = "http://www.nlm.nih.gov/research/umls/rxnorm";

    /// Recognises FHIR system URIs and the short names used in CSV extracts and codelist files.
    pub fn from_uri(uri: &str) -> Self {
        match uri.trim() {
            Self::SNOMED_URI | "snomed" | "SNOMED" | "sct" | "SNOMED CT" | "snomedct" => Self::Snomed,
            Self::LOINC_URI | "loinc" | "LOINC" => Self::Loinc,
            Self::DMD_URI | "http://dmd.nhs.uk" | "dmd" | "DMD" | "dm+d" => Self::Dmd,
            Self::RXNORM_URI | "rxnorm" | "RxNorm" => Self::RxNorm,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn uri(&self) -> &str {
        match self {
            Self::Snomed => Self::SNOMED_URI,
            Self::Loinc => Self::LOINC_URI,
            Self::Dmd => Self::DMD_URI,
            Self::RxNorm => Self::RXNORM_URI,
            Self::Other(uri) => uri,
        }
    }

    /// Short, stable name used in storage and data files.
    pub fn short_name(&self) -> &str {
        match self {
            Self::Snomed => "snomed",
            Self::Loinc => "loinc",
            Self::Dmd => "dmd",
            Self::RxNorm => "rxnorm",
            Self::Other(uri) => uri,
        }
    }
}

/// A coded concept. The `code` is kept as text: SNOMED CT identifiers exceed 32 bits and some
/// code systems use letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code {
    pub system: CodeSystem,
    pub code: String,
}

impl Code {
    pub fn new(system: CodeSystem, code: impl Into<String>) -> Self {
        Self { system, code: code.into().trim().to_owned() }
    }

    pub fn snomed(code: impl Into<String>) -> Self {
        Self::new(CodeSystem::Snomed, code)
    }

    pub fn loinc(code: impl Into<String>) -> Self {
        Self::new(CodeSystem::Loinc, code)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}|{}", self.system.short_name(), self.code)
    }
}

/// A code with the human-readable term it was recorded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodedConcept {
    pub code: Code,
    pub term: String,
}
