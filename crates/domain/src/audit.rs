//! Audit events: who did what to whose record, when and why. Audit is clinical data, not logging:
//! a change to patient data and its audit event are written in one transaction, and every read of
//! a patient record writes an event.

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A patient record (or part of it) was created by an import or in Concord.
    Create,
    /// A patient record was changed (amended result, resolved condition, death, registration ended…).
    Update,
    /// A patient record was opened or listed identifiably.
    Read,
    /// A search over patients was run (the search terms are not stored).
    Search,
    SignIn,
    SignInFailed,
    SignOut,
    /// An import run started or finished (not patient-specific).
    Import,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Read => "read",
            Self::Search => "search",
            Self::SignIn => "sign-in",
            Self::SignInFailed => "sign-in-failed",
            Self::SignOut => "sign-out",
            Self::Import => "import",
        }
    }
}

/// Who acted: a signed-in user, or a system process such as an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User { username: String, role: String },
    System(String),
}

impl Actor {
    pub fn name(&self) -> &str {
        match self {
            Self::User { username, .. } => username,
            Self::System(process) => process,
        }
    }

    pub fn role(&self) -> &str {
        match self {
            Self::User { role, .. } => role,
            Self::System(_) => "system",
        }
    }
}
