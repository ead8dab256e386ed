//! The NHS number: ten digits whose last is a modulus-11 check digit.
//!
//! Source: NHS Connecting for Health, "NHS number check digit" specification (weights 10..2,
//! check = 11 - (sum mod 11); 11 means 0 and 10 means the number can never be issued).
//! An *absent* NHS number is not an invalid one: a patient may be known only by a local
//! identifier, with a UK Core verification status saying why.

use std::fmt;

/// A syntactically valid NHS number (ten digits, correct check digit). Construct with [`NhsNumber::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    #[error("an NHS number has 10 digits; this has {0}")]
    WrongLength(usize),
    #[error("an NHS number contains only digits (spaces and hyphens are allowed between groups)")]
    NotDigits,
    #[error("the check digit does not match: this is not a valid NHS number")]
    CheckDigit,
    #[error("the check digit would be 10, so this number is never issued")]
    NeverIssued,
}

impl NhsNumber {
    /// Parses an NHS number, accepting the usual 3-3-4 spacing or hyphens.
    pub fn parse(text: &str) -> Result<Self, NhsNumberError> {
        let mut digits = String::with_capacity(10);
        for character in text.trim().chars() {
            match character {
                '0'..='9' => digits.push(character),
                ' ' | '-' => {}
                _ => return Err(NhsNumberError::NotDigits),
            }
        }
        if digits.len() != 10 {
            return Err(NhsNumberError::WrongLength(digits.len()));
        }
        let bytes = digits.as_bytes();
        let expected = check_digit(bytes[..9].try_into().expect("nine digits"))?;
        if u32::from(bytes[9] - b'0') != expected {
            return Err(NhsNumberError::CheckDigit);
        }
        Ok(Self(digits))
    }

    /// Builds a valid NHS number from its first nine digits, or `None` when that prefix can never be issued.
    /// Used by the synthetic population generator (which keeps to the 999 test range).
    pub fn from_prefix(prefix: u32) -> Option<Self> {
        if prefix > 999_999_999 {
            return None;
        }
        let text = format!("{prefix:09}");
        let digits: [u8; 9] = text.as_bytes().try_into().ok()?;
        let check = check_digit(&digits).ok()?;
        Some(Self(format!("{text}{check}")))
    }

    /// The ten digits with no spaces, as stored and exchanged.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for numbers in the 999 range, which the NHS reserves for testing and never issues.
    pub fn is_test_range(&self) -> bool {
        self.0.starts_with("999")
    }
}

/// Displays in the 3-3-4 grouping used on NHS screens and letters, e.g. `943 476 5919`.
impl fmt::Display for NhsNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {} {}", &self.0[..3], &self.0[3..6], &self.0[6..])
    }
}

fn check_digit(first_nine: &[u8; 9]) -> Result<u32, NhsNumberError> {
    let sum: u32 = first_nine.iter().zip((2..=10).rev()).map(|(digit, weight)| u32::from(digit - b'0') * weight).sum();
    match 11 - (sum % 11) {
        11 => Ok(0),
        10 => Err(NhsNumberError::NeverIssued),
        check => Ok(check),
    }
}

/// UK Core NHS number verification status (CodeSystem UKCore-NHSNumberVerificationStatusEngland 1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NhsNumberVerification {
    PresentAndVerified,
    PresentNotTraced,
    TraceRequired,
    TraceAttemptedNoMatch,
    TraceNeedsResolving,
    TraceInProgress,
    NotPresentTraceNotRequired,
    TracePostponed,
}

impl NhsNumberVerification {
    pub const ALL: [Self; 8] = [
        Self::PresentAndVerified,
        Self::PresentNotTraced,
        Self::TraceRequired,
        Self::TraceAttemptedNoMatch,
        Self::TraceNeedsResolving,
        Self::TraceInProgress,
        Self::NotPresentTraceNotRequired,
        Self::TracePostponed,
    ];

    /// The two-digit code, e.g. `"01"`.
    pub fn code(self) -> &'static str {
        match self {
            Self::PresentAndVerified => "01",
            Self::PresentNotTraced => "02",
            Self::TraceRequired => "03",
            Self::TraceAttemptedNoMatch => "04",
            Self::TraceNeedsResolving => "05",
            Self::TraceInProgress => "06",
            Self::NotPresentTraceNotRequired => "07",
            Self::TracePostponed => "08",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            Self::PresentAndVerified => "Number present and verified",
            Self::PresentNotTraced => "Number present but not traced",
            Self::TraceRequired => "Trace required",
            Self::TraceAttemptedNoMatch => "Trace attempted - no match or multiple match found",
            Self::TraceNeedsResolving => "Trace needs to be resolved (NHS number or patient detail conflict)",
            Self::TraceInProgress => "Trace in progress",
            Self::NotPresentTraceNotRequired => "Number not present and trace not required",
            Self::TracePostponed => "Trace postponed (baby under six weeks old)",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_from_the_specification_are_valid() {
        assert_eq!(NhsNumber::parse("9434765919").unwrap().as_str(), "9434765919");
        assert_eq!(NhsNumber::parse("943 476 5919").unwrap().to_string(), "943 476 5919");
        assert!(NhsNumber::parse("9912003888").is_ok());
        assert!(NhsNumber::parse("991-200-3888").is_ok());
    }

    #[test]
    fn a_wrong_check_digit_is_refused() {
        assert_eq!(NhsNumber::parse("9434765918"), Err(NhsNumberError::CheckDigit));
    }

    #[test]
    fn wrong_lengths_and_letters_are_named() {
        assert_eq!(NhsNumber::parse("943476591"), Err(NhsNumberError::WrongLength(9)));
        assert_eq!(NhsNumber::parse("94347659190"), Err(NhsNumberError::WrongLength(11)));
        assert_eq!(NhsNumber::parse("94347A5919"), Err(NhsNumberError::NotDigits));
        assert_eq!(NhsNumber::parse(""), Err(NhsNumberError::WrongLength(0)));
    }

    #[test]
    fn a_remainder_giving_ten_is_never_issued() {
        // 000000006: sum = 6*2 = 12, 12 mod 11 = 1, 11-1 = 10.
        assert_eq!(NhsNumber::from_prefix(6), None);
        for last in 0..10 {
            assert_eq!(NhsNumber::parse(&format!("000000006{last}")), Err(NhsNumberError::NeverIssued));
        }
    }

    #[test]
    fn every_number_built_from_a_prefix_parses_and_exactly_one_digit_fits() {
        for prefix in (999_000_000..999_000_400).chain(0..50) {
            let mut valid_endings = 0;
            for last in 0..10 {
                if NhsNumber::parse(&format!("{prefix:09}{last}")).is_ok() {
                    valid_endings += 1;
                }
            }
            match NhsNumber::from_prefix(prefix) {
                Some(number) => {
                    assert_eq!(valid_endings, 1);
                    assert_eq!(NhsNumber::parse(number.as_str()).unwrap(), number);
                }
                None => assert_eq!(valid_endings, 0),
            }
        }
    }

    #[test]
    fn verification_codes_round_trip() {
        for status in NhsNumberVerification::ALL {
            assert_eq!(NhsNumberVerification::from_code(status.code()), Some(status));
        }
        assert_eq!(NhsNumberVerification::from_code("09"), None);
    }
}
