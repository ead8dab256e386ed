//! A minimal streaming JSON writer. Resources are written straight into a `String`, with no
//! intermediate tree, so that millions of resources can be produced quickly and with few
//! allocations. Invariant: every `Obj`/`Arr` closes what it opens, so the output is always
//! well-formed JSON (the integration tests parse every line to check this).

use std::fmt::Write as _;

/// Appends `text` as a JSON string literal, escaping quotes, backslashes and control characters.
pub(crate) fn push_str_literal(out: &mut String, text: &str) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if (control as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", control as u32);
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

/// An open JSON object. Members are written in call order.
pub(crate) struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    /// Writes a whole object into `out` through `fill`.
    pub(crate) fn write(out: &'a mut String, fill: impl FnOnce(&mut Obj<'_>)) {
        out.push('{');
        let mut object = Obj { out, first: true };
        fill(&mut object);
        object.out.push('}');
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_str_literal(self.out, key);
        self.out.push(':');
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_str_literal(self.out, value);
        self
    }

    /// A member whose value is already-formatted JSON number text (e.g. `"5.2"`): decimals keep
    /// the precision they are written with, as FHIR expects.
    pub(crate) fn number(&mut self, key: &str, text: &str) -> &mut Self {
        self.key(key);
        self.out.push_str(text);
        self
    }

    pub(crate) fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        let _ = write!(self.out, "{value}");
        self
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// A member whose string value is produced by `fill` (used for dates, to avoid a temporary).
    pub(crate) fn str_with(&mut self, key: &str, fill: impl FnOnce(&mut String)) -> &mut Self {
        self.key(key);
        self.out.push('"');
        fill(self.out);
        self.out.push('"');
        self
    }

    pub(crate) fn obj(&mut self, key: &str, fill: impl FnOnce(&mut Obj<'_>)) -> &mut Self {
        self.key(key);
        Obj::write(self.out, fill);
        self
    }

    pub(crate) fn arr(&mut self, key: &str, fill: impl FnOnce(&mut Arr<'_>)) -> &mut Self {
        self.key(key);
        self.out.push('[');
        let mut array = Arr { out: self.out, first: true };
        fill(&mut array);
        array.out.push(']');
        self
    }
}

/// An open JSON array.
pub(crate) struct Arr<'a> {
    out: &'a mut String,
    first: bool,
}

impl Arr<'_> {
    fn separator(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    pub(crate) fn obj(&mut self, fill: impl FnOnce(&mut Obj<'_>)) -> &mut Self {
        self.separator();
        Obj::write(self.out, fill);
        self
    }

    pub(crate) fn str(&mut self, value: &str) -> &mut Self {
        self.separator();
        push_str_literal(self.out, value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_objects_and_escapes() {
        let mut out = String::new();
        Obj::write(&mut out, |o| {
            o.str("a", "say \"hi\"\n").int("b", -3).number("c", "5.0").bool("d", true);
            o.arr("e", |a| {
                a.str("x").obj(|inner| {
                    inner.str("y", "µmol/L");
                });
            });
            o.obj("f", |_| {});
        });
        assert_eq!(out, r#"{"a":"say \"hi\"\n","b":-3,"c":5.0,"d":true,"e":["x",{"y":"µmol/L"}],"f":{}}"#);
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut out = String::new();
        push_str_literal(&mut out, "a\u{1}b");
        assert_eq!(out, "\"a\\u0001b\"");
    }
}
