//! Collects every invalid field of a request before answering, so that one 422 lists
//! them all (a CI script fixes its input in one go, not one field per run).

use chalk_sdk::model::FieldError;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// What a bad external id is told, in the body and in query errors alike.
pub const EXTERNAL_ID_RULE: &str = "must be 1 to 63 characters of a-z, 0-9, '.', '_' and '-', \
     starting with a letter or digit";

/// `[a-z0-9][a-z0-9._-]{0,62}`.
pub fn is_external_id(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=63).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn extend(&mut self, errors: Vec<FieldError>) {
        self.0.extend(errors);
    }

    /// Checks `lo..=hi` when the value is present.
    pub fn range(&mut self, field: &str, value: Option<i64>, lo: i64, hi: i64) {
        if let Some(v) = value
            && !(lo..=hi).contains(&v)
        {
            self.push(field, format!("must be between {lo} and {hi}"));
        }
    }

    /// A trimmed string of `min..=max` characters; returns the trimmed value. A required
    /// one (`min >= 1`) must also hold a visible character: a name of zero-width spaces
    /// looks empty everywhere it is shown.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> String {
        let trimmed = value.trim();
        let len = trimmed.chars().count();
        if len < min || len > max {
            self.push(
                field,
                format!("must be {min} to {max} characters (after trimming spaces)"),
            );
        } else if min >= 1 && !trimmed.chars().any(is_visible) {
            self.push(
                field,
                "must contain a visible character (spaces and invisible format characters such as U+200B do not count)",
            );
        }
        trimmed.to_owned()
    }

    /// A plausible contact address: `local@domain.tld`, no spaces, at most 254 characters.
    pub fn email(&mut self, field: &str, value: &str) -> String {
        let email = value.trim();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if !valid {
            self.push(field, "must be an email address like ops@example.com");
        }
        email.to_owned()
    }

    /// An external id: `[a-z0-9][a-z0-9._-]{0,62}`, taken as given. Not trimmed or
    /// lowercased: it is an identity that provisioning files compare byte for byte, so a
    /// value the server silently altered would never match the file again.
    pub fn external_id(&mut self, field: &str, value: &str) -> String {
        if !is_external_id(value) {
            self.push(field, EXTERNAL_ID_RULE);
        }
        value.to_owned()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was wrong, else one 422 with every problem.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

/// Neither whitespace, a control character nor a format character (Unicode category Cf:
/// zero-width spaces and joiners, direction marks, the BOM, invisible operators, tags).
pub fn is_visible(c: char) -> bool {
    !(c.is_whitespace() || c.is_control() || is_format(c))
}

/// Unicode general category Cf (Unicode 15.1); std has no lookup for it.
fn is_format(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Types a JSON value, naming the offending field on failure (422).
pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::validation_field("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        ApiError::validation(vec![field_error(&path, &inner)])
    })
}

/// serde names a missing field only in its message; put it in the path.
fn field_error(path: &str, message: &str) -> FieldError {
    let quoted = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field") || message.starts_with("missing field"));
    let parent = if path == "." { "" } else { path };
    match quoted {
        // serde_path_to_error already ends the path with the unknown key.
        Some(name) if message.starts_with("unknown field") => FieldError::new(
            if parent.is_empty() { name } else { parent },
            "unknown field; check its spelling against the API reference",
        ),
        Some(name) => FieldError::new(join_path(parent, name), "is required"),
        None => FieldError::new(
            if parent.is_empty() { "body" } else { parent },
            message.to_owned(),
        ),
    }
}

/// `parent.name`, or `name` at the top.
pub fn join_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chalk_sdk::model::CreateTenantRequest;
    use serde_json::json;

    #[test]
    fn collects_everything() {
        let mut p = Problems::default();
        p.range("a", Some(0), 1, 10);
        p.range("b", Some(5), 1, 10);
        p.range("c", None, 1, 10);
        assert_eq!(p.text("d", "  ", 1, 5), "");
        p.email("e", "not-an-email");
        assert_eq!(p.email("f", " ops@acme.edu "), "ops@acme.edu");
        let err = p.finish().unwrap_err();
        let fields: Vec<_> = err.details.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["a", "d", "e"]);
    }

    #[test]
    fn a_required_text_needs_a_visible_character() {
        for invisible in [
            "\u{200B}",
            " \u{200D}\u{FEFF} ",
            "\u{2060}",
            "\u{00A0}\u{3000}",
        ] {
            let mut p = Problems::default();
            p.text("name", invisible, 1, 10);
            let err = p.finish().unwrap_err();
            assert_eq!(err.details[0].field, "name", "{invisible:?}");
        }
        for visible in ["A", "\u{200B}A", "👩\u{200D}🔬", "日本"] {
            let mut p = Problems::default();
            p.text("name", visible, 1, 10);
            assert!(p.is_empty(), "{visible:?}");
        }
    }

    #[test]
    fn external_ids_follow_the_pattern_exactly() {
        let longest = format!("a{}", "-".repeat(62));
        for good in ["acme", "0", "acme.edu", "acme_2-b", longest.as_str()] {
            assert!(is_external_id(good), "{good:?}");
        }
        let too_long = format!("a{}", "b".repeat(63));
        for bad in [
            "",
            "Acme",
            " acme",
            "acme ",
            "-acme",
            ".acme",
            "_acme",
            "ac/me",
            "acmé",
            too_long.as_str(),
        ] {
            assert!(!is_external_id(bad), "{bad:?}");
        }
        let mut p = Problems::default();
        assert_eq!(p.external_id("external_id", "acme"), "acme");
        p.external_id("external_id", "Acme");
        let err = p.finish().unwrap_err();
        assert_eq!(err.details[0].field, "external_id");
        assert_eq!(err.details[0].message, EXTERNAL_ID_RULE);
    }

    #[test]
    fn unknown_missing_and_mistyped_fields_are_named() {
        let err = parse::<CreateTenantRequest>(json!({"name": "a", "nmae": "b"})).unwrap_err();
        assert_eq!(err.details[0].field, "nmae");
        let err = parse::<CreateTenantRequest>(json!({})).unwrap_err();
        assert_eq!(err.details[0].field, "name");
        assert_eq!(err.details[0].message, "is required");
        let err = parse::<CreateTenantRequest>(json!({"name": 5})).unwrap_err();
        assert_eq!(err.details[0].field, "name");
        let err = parse::<CreateTenantRequest>(json!([1])).unwrap_err();
        assert_eq!(err.details[0].field, "body");
    }
}
