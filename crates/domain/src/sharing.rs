//! Who outside the practice may see a person's plan: a partner organisation sees it only when the
//! person's consent covers that organisation or their care team includes it; an explicit refusal
//! overrides care-team membership; anything else is refused. Break-glass access (a stated reason,
//! time-limited, flagged to the privacy officer) is decided elsewhere and never by this rule.

use crate::plan::Sharing;

/// Why a partner may see the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Consent,
    CareTeam,
}

/// Why a partner may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("the person has refused to share their plan")]
    Refused,
    #[error("the person has not agreed to share with this organisation, and it is not in their care team")]
    NotCovered,
}

/// Whether `organisation` (ODS code) may see the plan of a person whose consent is `sharing` and
/// whose care team is `care_team` (ODS codes).
pub fn partner_access(organisation: &str, sharing: &Sharing, care_team: &[String]) -> Result<Basis, Denied> {
    if sharing.refused {
        return Err(Denied::Refused);
    }
    if sharing.organisations.iter().any(|code| code.eq_ignore_ascii_case(organisation)) {
        return Ok(Basis::Consent);
    }
    if care_team.iter().any(|code| code.eq_ignore_ascii_case(organisation)) {
        return Ok(Basis::CareTeam);
    }
    Err(Denied::NotCovered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_or_care_team_allows_and_a_refusal_overrides_both() {
        let consent = Sharing { organisations: vec!["NZZ01".into()], refused: false };
        assert_eq!(partner_access("nzz01", &consent, &[]), Ok(Basis::Consent));
        assert_eq!(partner_access("RX1", &consent, &["RX1".into()]), Ok(Basis::CareTeam));
        assert_eq!(partner_access("RX1", &consent, &[]), Err(Denied::NotCovered));
        let refused = Sharing { organisations: vec![], refused: true };
        assert_eq!(
            partner_access("RX1", &refused, &["RX1".into()]),
            Err(Denied::Refused),
            "refusal beats the care team"
        );
        assert_eq!(partner_access("RX1", &Sharing::default(), &[]), Err(Denied::NotCovered), "no consent: no access");
    }
}
