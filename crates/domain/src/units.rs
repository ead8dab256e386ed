//! Units of measure: recognising the spellings that real extracts carry, and converting a value to
//! the unit an observable is stored in.
//!
//! Spelling variants (case, `µ`/`μ`/`u`, `²`/`^2`/`2`, `mmHg`/`mm[Hg]`) are normalised here to UCUM.
//! Which units each observable accepts, and the factor to its canonical unit, are clinical data
//! (see `data/observables.csv`), so this module only applies a [`LinearConversion`] it is given.

/// A unit in UCUM form, e.g. `mmol/mol`, `mm[Hg]`, `kg/m2`, `umol/L`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ucum(String);

impl Ucum {
    pub fn new(ucum: impl Into<String>) -> Self {
        Self(ucum.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The unit as printed for people (UK conventions: mmHg, µmol/L, kg/m², mL/min/1.73m²).
    pub fn display(&self) -> String {
        match self.0.as_str() {
            "mm[Hg]" => "mmHg".into(),
            "umol/L" => "µmol/L".into(),
            "kg/m2" => "kg/m²".into(),
            "mL/min/{1.73_m2}" => "mL/min/1.73m²".into(),
            "{score}" | "1" => String::new(),
            "/min" => "per minute".into(),
            other => other.into(),
        }
    }
}

/// Normalises a unit as written in an extract to UCUM, or `None` when the spelling is unknown.
/// Unknown units are refused rather than guessed, because a wrong unit makes a wrong result.
pub fn normalise_unit(written: &str) -> Option<Ucum> {
    let mut key: String = written
        .trim()
        .chars()
        .filter(|character| !character.is_whitespace())
        .map(|character| match character {
            'µ' | 'μ' => 'u',
            '²' => '2',
            other => other.to_ascii_lowercase(),
        })
        .collect();
    key = key.replace("^2", "2").replace("per", "/");
    let ucum = match key.as_str() {
        "mmol/mol" | "mmol/mol(ifcc)" | "mmol/molhb" => "mmol/mol",
        "%" | "percent" | "%(dcct)" | "%{hba1c}" | "%hb" => "%",
        "mm[hg]" | "mmhg" | "mmofhg" | "mm(hg)" => "mm[Hg]",
        "mmol/l" | "mmol/litre" | "mmol/liter" => "mmol/L",
        // Milliequivalents per litre: for monovalent ions (potassium, sodium) numerically mmol/L;
        // kept as its own unit so only observables that list the conversion accept it.
        "meq/l" | "meq/litre" => "meq/L",
        "umol/l" | "umol/litre" | "micromol/l" => "umol/L",
        "mg/dl" => "mg/dL",
        "g/l" => "g/L",
        "mg/mmol" => "mg/mmol",
        "mg/g" => "mg/g",
        "kg/m2" | "kg/(m2)" | "kg/m.m" => "kg/m2",
        "kg" | "kilogram" | "kilograms" => "kg",
        "g" | "gram" | "grams" => "g",
        "[lb_av]" | "lb" | "lbs" | "pound" | "pounds" => "[lb_av]",
        "[in_i]" | "in" | "inch" | "inches" => "[in_i]",
        "cm" | "centimetre" | "centimeter" => "cm",
        "m" | "metre" | "meter" => "m",
        "ml/min/{1.73_m2}" | "ml/min/1.73m2" | "ml/min/1.73_m2" | "ml/min/{1.73m2}" | "ml/min/1.73m2bsa" => {
            "mL/min/{1.73_m2}"
        }
        "l" | "litre" | "liter" | "litres" => "L",
        "ml" => "mL",
        "/min" | "beats/min" | "{beats}/min" | "bpm" => "/min",
        "{score}" | "score" | "{#}" | "1" | "" | "{count}" | "/a" | "{episodes}" => "{score}",
        _ => return None,
    };
    Some(Ucum::new(ucum))
}

/// `canonical = value * scale + offset`, e.g. HbA1c % (DCCT) to mmol/mol (IFCC):
/// `(% - 2.15) * 10.929`, so scale 10.929 and offset -23.497 (NGSP/IFCC master equation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearConversion {
    pub scale: f64,
    pub offset: f64,
}

impl LinearConversion {
    pub const IDENTITY: Self = Self { scale: 1.0, offset: 0.0 };

    pub fn apply(self, value: f64) -> f64 {
        value * self.scale + self.offset
    }
}

/// Rounds a converted value to a sensible number of decimal places for its canonical unit,
/// so that conversions do not invent precision (e.g. 53.0 mmol/mol, not 53.009).
pub fn round_to(value: f64, decimals: u32) -> f64 {
    let factor = 10f64.powi(decimals as i32);
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_variants_normalise_to_one_ucum_unit() {
        for written in ["mmHg", "mm[Hg]", "MMHG", "mm Hg"] {
            assert_eq!(normalise_unit(written).unwrap().as_str(), "mm[Hg]", "{written}");
        }
        for written in ["µmol/L", "μmol/l", "umol/L", "UMOL/L"] {
            assert_eq!(normalise_unit(written).unwrap().as_str(), "umol/L", "{written}");
        }
        for written in ["kg/m2", "kg/m²", "kg/m^2", "KG/M2"] {
            assert_eq!(normalise_unit(written).unwrap().as_str(), "kg/m2", "{written}");
        }
        assert_eq!(normalise_unit("mL/min/{1.73_m2}").unwrap().as_str(), "mL/min/{1.73_m2}");
        assert_eq!(normalise_unit("ml/min/1.73m²").unwrap().as_str(), "mL/min/{1.73_m2}");
        assert_eq!(normalise_unit("mmol/mol").unwrap().as_str(), "mmol/mol");
    }

    #[test]
    fn unknown_units_are_refused_not_guessed() {
        assert_eq!(normalise_unit("furlongs"), None);
        assert_eq!(normalise_unit("mmol/fortnight"), None);
    }

    #[test]
    fn hba1c_percent_converts_to_ifcc() {
        let dcct_to_ifcc = LinearConversion { scale: 10.929, offset: -23.497 };
        // 6.5% is the diagnostic threshold of 48 mmol/mol; 7.0% is 53 mmol/mol (NICE NG28).
        assert_eq!(round_to(dcct_to_ifcc.apply(6.5), 0), 48.0);
        assert_eq!(round_to(dcct_to_ifcc.apply(7.0), 0), 53.0);
        assert_eq!(round_to(dcct_to_ifcc.apply(7.5), 0), 58.0);
    }

    #[test]
    fn display_uses_uk_conventions() {
        assert_eq!(Ucum::new("mm[Hg]").display(), "mmHg");
        assert_eq!(Ucum::new("umol/L").display(), "µmol/L");
    }
}
