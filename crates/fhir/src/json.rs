//! Reading FHIR JSON: a cheap look at a resource's type and id, and typed parsing whose errors
//! name the element at fault (e.g. `valueQuantity.value: invalid type: ...`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

/// Why JSON could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub kind: JsonErrorKind,
    /// The element path, e.g. `entry[3].resource.birthDate`, when the error is in a value.
    pub path: Option<String>,
    /// The message without its position.
    pub message: String,
    /// 1-based line and column in the text that was parsed (0 when not known).
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// Not JSON at all.
    Syntax,
    /// The text ends before the JSON does: truncated.
    Truncated,
    /// Well-formed JSON of the wrong shape: a wrong type, a bad date, a missing member.
    Data,
}

impl fmt::Display for JsonError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, &self.path) {
            (JsonErrorKind::Data, Some(path)) => write!(formatter, "{path}: {}", self.message),
            (JsonErrorKind::Data, None) => formatter.write_str(&self.message),
            (JsonErrorKind::Truncated, _) => write!(formatter, "truncated JSON: {}", self.message),
            (JsonErrorKind::Syntax, _) => write!(formatter, "not valid JSON: {}", self.message),
        }
    }
}

impl std::error::Error for JsonError {}

impl JsonError {
    fn from_serde(error: &serde_json::Error, path: Option<String>) -> Self {
        let kind = match error.classify() {
            serde_json::error::Category::Eof => JsonErrorKind::Truncated,
            serde_json::error::Category::Data => JsonErrorKind::Data,
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => JsonErrorKind::Syntax,
        };
        let full = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        let path = path.filter(|path| !path.is_empty() && path != ".");
        Self { kind, path, message, line: error.line(), column: error.column() }
    }
}

/// Parses `text` as `T`, naming the path of the element at fault when the shape is wrong.
/// Tracking the path costs time on every element, so it is done only to explain a failure.
pub fn from_json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, JsonError> {
    serde_json::from_str(text).or_else(|_| from_json_tracking_path(text))
}

fn from_json_tracking_path<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let value = T::deserialize(serde_path_to_error::Deserializer::new(&mut deserializer, &mut track))
        .map_err(|error| JsonError::from_serde(&error, Some(track.path().to_string())))?;
    deserializer.end().map_err(|error| JsonError::from_serde(&error, None))?;
    Ok(value)
}

/// Checks that `text` is one well-formed JSON value, without building it.
pub fn validate(text: &str) -> Result<(), JsonError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    IgnoredAny::deserialize(&mut deserializer).map_err(|error| JsonError::from_serde(&error, None))?;
    deserializer.end().map_err(|error| JsonError::from_serde(&error, None))
}

/// A resource's `resourceType` and `id`, read without parsing the rest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceHeader {
    pub resource_type: Option<String>,
    pub id: Option<String>,
}

/// Reads `resourceType` and `id` from the top level of a JSON object, stopping as soon as both
/// are found (usually within the first few bytes). The rest of the text is not checked, so a
/// caller that will not parse the resource should [`validate`] it.
pub fn peek_header(text: &str) -> Result<ResourceHeader, JsonError> {
    let mut header = ResourceHeader::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    match HeaderSeed(&mut header).deserialize(&mut deserializer) {
        Ok(()) => Ok(header),
        // The seed stops early by raising this marker once it has what it needs.
        Err(error) if error.to_string().starts_with(HEADER_COMPLETE) => Ok(header),
        Err(error) => Err(JsonError::from_serde(&error, None)),
    }
}

const HEADER_COMPLETE: &str = "\u{0}header complete";

struct HeaderSeed<'h>(&'h mut ResourceHeader);

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a FHIR resource (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "resourceType" => self.0.resource_type = Some(map.next_value::<String>()?),
                "id" => self.0.id = Some(map.next_value::<String>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if self.0.resource_type.is_some() && self.0.id.is_some() {
                return Err(de::Error::custom(HEADER_COMPLETE));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;
    use crate::resources::{Bundle, Observation};

    #[test]
    fn the_header_is_read_whatever_the_key_order() {
        let header =
            peek_header(r#"{"id":"1","meta":{"x":[1,{"id":"no"}]},"resourceType":"Patient","birthDate":"#).unwrap();
        assert_eq!(header, ResourceHeader { resource_type: Some("Patient".into()), id: Some("1".into()) });
        let header = peek_header(r#"{"resourceType":"Claim"}"#).unwrap();
        assert_eq!(header.resource_type.as_deref(), Some("Claim"));
        assert_eq!(header.id, None);
        assert_eq!(peek_header("[1]").unwrap_err().kind, JsonErrorKind::Data);
        assert_eq!(peek_header(r#"{"resourceType":"#).unwrap_err().kind, JsonErrorKind::Truncated);
        assert_eq!(peek_header("hello").unwrap_err().kind, JsonErrorKind::Syntax);
        assert_eq!(
            peek_header(r#"{"resourceType":"Pat\u0069ent","id":"x"}"#).unwrap().resource_type.unwrap(),
            "Patient"
        );
    }

    #[test]
    fn typed_errors_name_the_element() {
        let error = from_json::<Observation>(r#"{"valueQuantity":{"value":"7.0"}}"#).unwrap_err();
        assert_eq!(error.kind, JsonErrorKind::Data);
        assert_eq!(error.path.as_deref(), Some("valueQuantity.value"));
        assert!(error.to_string().starts_with("valueQuantity.value: invalid type: a string"), "{error}");

        let error = from_json::<Observation>(r#"{"effectiveDateTime":"2020-02-30"}"#).unwrap_err();
        assert_eq!(error.path.as_deref(), Some("effectiveDateTime"));

        let error = from_json::<Observation>(r#"{"status":"final"} x"#).unwrap_err();
        assert_eq!(error.kind, JsonErrorKind::Syntax);
    }

    #[test]
    fn bundle_entries_stay_raw_until_wanted() {
        let text = r#"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Claim","total":{"value":1.50}}}]}"#;
        let bundle: Bundle<&RawValue> = from_json(text).unwrap();
        assert_eq!(bundle.entry[0].resource.unwrap().get(), r#"{"resourceType":"Claim","total":{"value":1.50}}"#);
        let error = from_json::<Bundle<&RawValue>>(&text[..60]).unwrap_err();
        assert_eq!(error.kind, JsonErrorKind::Truncated);
        assert_eq!((error.line, error.column), (1, 60));
    }
}
