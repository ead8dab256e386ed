//! Check digits of clinical identifiers, used to catch typos in hand-listed codes.
//!
//! SNOMED CT identifiers (and dm+d identifiers, which share their format) end in a Verhoeff check
//! digit; LOINC codes end in a mod-10 check digit after the hyphen.

/// Verhoeff's multiplication table: the dihedral group D5.
const MULTIPLICATION: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

/// Verhoeff's position permutations: row `i` applies row 1 `i` times (tested below).
const PERMUTATION: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Whether a string of decimal digits ends in a correct Verhoeff check digit.
pub fn verhoeff_is_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return false;
    }
    let check = digits.bytes().rev().enumerate().fold(0u8, |check, (position, byte)| {
        let permuted = PERMUTATION[position % 8][usize::from(byte - b'0')];
        MULTIPLICATION[usize::from(check)][usize::from(permuted)]
    });
    check == 0
}

/// Whether `code` is a well-formed SNOMED CT identifier: 6 to 18 digits, no leading zero, and a
/// valid Verhoeff check digit.
pub fn is_valid_sctid(code: &str) -> bool {
    (6..=18).contains(&code.len()) && !code.starts_with('0') && verhoeff_is_valid(code)
}

/// Whether `code` is a well-formed LOINC code (`digits-check`) with a correct mod-10 check digit:
/// from the right, every other digit starting with the rightmost is doubled (digits of the
/// product summed), the rest added; the check digit brings the total to a multiple of ten.
pub fn is_valid_loinc(code: &str) -> bool {
    let Some((body, check)) = code.split_once('-') else {
        return false;
    };
    if body.is_empty()
        || body.len() > 7
        || check.len() != 1
        || !body.bytes().all(|byte| byte.is_ascii_digit())
        || !check.bytes().all(|byte| byte.is_ascii_digit())
    {
        return false;
    }
    let total: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| {
            let digit = u32::from(byte - b'0');
            if position % 2 == 0 {
                let doubled = digit * 2;
                doubled / 10 + doubled % 10
            } else {
                digit
            }
        })
        .sum();
    (10 - total % 10) % 10 == u32::from(check.as_bytes()[0] - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_rows_are_powers_of_the_first() {
        for row in 2..8 {
            for digit in 0..10 {
                let expected = PERMUTATION[row - 1][usize::from(PERMUTATION[1][digit])];
                assert_eq!(PERMUTATION[row][digit], expected, "row {row}, digit {digit}");
            }
        }
    }

    #[test]
    fn known_snomed_identifiers_pass() {
        for code in ["73211009", "44054006", "46635009", "195967001", "13645005", "999791000000106", "196371000000102"]
        {
            assert!(is_valid_sctid(code), "{code}");
        }
    }

    #[test]
    fn snomed_typos_fail() {
        // One wrong digit, an adjacent transposition, a dropped digit, too short, not digits.
        for code in ["73211008", "44054060", "19596701", "12345", "1959670O1", "", "0195967001"] {
            assert!(!is_valid_sctid(code), "{code}");
        }
        // Every single-digit substitution of a real identifier is caught.
        let code = "999791000000106";
        for position in 0..code.len() {
            for replacement in b'0'..=b'9' {
                let mut bytes = code.as_bytes().to_vec();
                if bytes[position] == replacement {
                    continue;
                }
                bytes[position] = replacement;
                let typo = String::from_utf8(bytes).unwrap();
                assert!(!verhoeff_is_valid(&typo), "{typo}");
            }
        }
    }

    #[test]
    fn known_loinc_codes_pass() {
        for code in ["4548-4", "59261-8", "8480-6", "8462-4", "85354-9", "2093-3", "14959-1", "33914-3", "72166-2"] {
            assert!(is_valid_loinc(code), "{code}");
        }
    }

    #[test]
    fn loinc_typos_fail() {
        for code in ["4548-3", "4584-4", "8480-5", "89250-2", "4548", "4548-44", "-4", "45a8-4", "12345678-9"] {
            assert!(!is_valid_loinc(code), "{code}");
        }
    }
}
