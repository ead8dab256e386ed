//! Organisations: a region contains primary care networks, which contain practices; partner
//! organisations (community services, hospitals) sit beside them. Each is identified by its ODS code.

/// What an organisation is, in the hierarchy Concord reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrganisationKind {
    Region,
    Pcn,
    Practice,
    Partner,
}

impl OrganisationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Pcn => "pcn",
            Self::Practice => "practice",
            Self::Partner => "partner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "region" => Some(Self::Region),
            "pcn" => Some(Self::Pcn),
            "practice" => Some(Self::Practice),
            "partner" => Some(Self::Partner),
            _ => None,
        }
    }

    /// The kind an organisation's parent must be, if it has one.
    pub fn parent_kind(self) -> Option<Self> {
        match self {
            Self::Region => None,
            Self::Pcn => Some(Self::Region),
            Self::Practice => Some(Self::Pcn),
            Self::Partner => Some(Self::Region),
        }
    }
}

/// An ODS code: 3 to 10 upper-case letters and digits (e.g. practice `F83004`, PCN `U12345`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OdsCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an ODS code is 3 to 10 letters and digits; got {0:?}")]
pub struct OdsCodeError(pub String);

impl OdsCode {
    pub fn parse(text: &str) -> Result<Self, OdsCodeError> {
        let code = text.trim().to_ascii_uppercase();
        if (3..=10).contains(&code.len()) && code.chars().all(|character| character.is_ascii_alphanumeric()) {
            Ok(Self(code))
        } else {
            Err(OdsCodeError(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub ods_code: OdsCode,
    pub name: String,
    pub kind: OrganisationKind,
    /// ODS code of the containing organisation (region for a PCN or partner, PCN for a practice).
    pub parent: Option<OdsCode>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ods_codes_are_upper_cased_and_checked() {
        assert_eq!(OdsCode::parse(" f83004 ").unwrap().as_str(), "F83004");
        assert!(OdsCode::parse("F8").is_err());
        assert!(OdsCode::parse("F83 004").is_err());
    }

    #[test]
    fn hierarchy_is_region_pcn_practice() {
        assert_eq!(OrganisationKind::Practice.parent_kind(), Some(OrganisationKind::Pcn));
        assert_eq!(OrganisationKind::Pcn.parent_kind(), Some(OrganisationKind::Region));
        assert_eq!(OrganisationKind::Region.parent_kind(), None);
    }
}
