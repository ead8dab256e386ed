//! Staff roles and what each may do. Least privilege: a role gets only the permissions listed
//! here, and every page and command checks one of them.

/// Roles of people who sign in to Concord at a practice or for a commissioner.
/// Patients, carers and clinicians outside the practice sign in by other routes (later), and are
/// deliberately not staff roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StaffRole {
    HealthcareAssistant,
    Nurse,
    Gp,
    Pharmacist,
    CareCoordinator,
    PracticeAdmin,
    PrivacyOfficer,
    Commissioner,
    /// A Year of Care facilitator: works with practices across networks to embed care planning;
    /// sees the same aggregates as a commissioner, laid out practice by practice.
    Facilitator,
    SystemAdmin,
    /// A clinician of a partner organisation (community or hospital services): reads the plans
    /// people shared with their organisation, and may break the glass in an emergency.
    PartnerClinician,
}

/// Things a signed-in person may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Find a patient and open their record (demographics, registers, results, medications).
    ViewPatientRecord,
    /// See the practice's register counts and worklists (identifiable lists).
    ViewPracticeLists,
    /// See aggregate figures only (no identifiable record).
    ViewAggregates,
    /// Read the audit trail.
    ViewAudit,
    /// Import extracts and manage organisations.
    ManageData,
    /// Create staff accounts and change roles.
    ManageUsers,
    /// Move people through the cycle: invite, book, record attendance, declines and adjustments.
    ManageCycle,
    /// Professional preparation: review results, act on red flags, set personal targets, triage.
    TriageResults,
    /// Read the care plans people shared with the user's (partner) organisation; break the glass.
    ViewSharedPlans,
    /// Review break-glass accesses (the practice's privacy officer).
    ReviewBreakGlass,
}

impl StaffRole {
    pub const ALL: [Self; 11] = [
        Self::HealthcareAssistant,
        Self::Nurse,
        Self::Gp,
        Self::Pharmacist,
        Self::CareCoordinator,
        Self::PracticeAdmin,
        Self::PrivacyOfficer,
        Self::Commissioner,
        Self::Facilitator,
        Self::SystemAdmin,
        Self::PartnerClinician,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HealthcareAssistant => "hca",
            Self::Nurse => "nurse",
            Self::Gp => "gp",
            Self::Pharmacist => "pharmacist",
            Self::CareCoordinator => "care_coordinator",
            Self::PracticeAdmin => "practice_admin",
            Self::PrivacyOfficer => "privacy_officer",
            Self::Commissioner => "commissioner",
            Self::Facilitator => "facilitator",
            Self::SystemAdmin => "system_admin",
            Self::PartnerClinician => "partner_clinician",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::HealthcareAssistant => "Healthcare assistant",
            Self::Nurse => "Nurse",
            Self::Gp => "GP",
            Self::Pharmacist => "Pharmacist",
            Self::CareCoordinator => "Care coordinator",
            Self::PracticeAdmin => "Practice administrator",
            Self::PrivacyOfficer => "Privacy officer",
            Self::Commissioner => "Commissioner",
            Self::Facilitator => "Year of Care facilitator",
            Self::SystemAdmin => "System administrator",
            Self::PartnerClinician => "Clinician at a partner organisation",
        }
    }

    /// The permission table. Clinical and care-coordination roles see identifiable records;
    /// practice administrators see lists (to invite and book) but not results; the privacy
    /// officer reads the audit trail; commissioners see aggregates only; system administrators
    /// manage accounts and data loads but do not browse records.
    pub fn permits(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Self::Nurse | Self::Gp | Self::Pharmacist => {
                matches!(
                    permission,
                    ViewPatientRecord | ViewPracticeLists | ViewAggregates | ManageCycle | TriageResults
                )
            }
            Self::HealthcareAssistant | Self::CareCoordinator => {
                matches!(permission, ViewPatientRecord | ViewPracticeLists | ViewAggregates | ManageCycle)
            }
            Self::PracticeAdmin => matches!(permission, ViewPracticeLists | ViewAggregates | ManageCycle),
            Self::PrivacyOfficer => matches!(permission, ViewAudit | ViewAggregates | ReviewBreakGlass),
            Self::Commissioner | Self::Facilitator => matches!(permission, ViewAggregates),
            Self::SystemAdmin => matches!(permission, ManageUsers | ManageData | ViewAggregates),
            Self::PartnerClinician => matches!(permission, ViewSharedPlans),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commissioner_never_sees_an_identifiable_record() {
        assert!(!StaffRole::Commissioner.permits(Permission::ViewPatientRecord));
        assert!(!StaffRole::Commissioner.permits(Permission::ViewPracticeLists));
        assert!(StaffRole::Commissioner.permits(Permission::ViewAggregates));
    }

    #[test]
    fn only_clinical_and_coordination_roles_open_records() {
        let openers: Vec<_> =
            StaffRole::ALL.into_iter().filter(|role| role.permits(Permission::ViewPatientRecord)).collect();
        assert_eq!(
            openers,
            [
                StaffRole::HealthcareAssistant,
                StaffRole::Nurse,
                StaffRole::Gp,
                StaffRole::Pharmacist,
                StaffRole::CareCoordinator
            ]
        );
    }

    #[test]
    fn only_prescribing_clinicians_triage_results() {
        let triagers: Vec<_> =
            StaffRole::ALL.into_iter().filter(|role| role.permits(Permission::TriageResults)).collect();
        assert_eq!(triagers, [StaffRole::Nurse, StaffRole::Gp, StaffRole::Pharmacist]);
        assert!(StaffRole::PracticeAdmin.permits(Permission::ManageCycle));
        assert!(!StaffRole::Commissioner.permits(Permission::ManageCycle));
    }

    #[test]
    fn role_names_round_trip() {
        for role in StaffRole::ALL {
            assert_eq!(StaffRole::parse(role.as_str()), Some(role));
        }
    }
}
