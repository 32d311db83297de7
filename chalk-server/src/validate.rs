//! Collects every invalid field of a request before answering, so that one 422 lists
//! them all (a CI script fixes its input in one go, not one field per run).

use chalk_sdk::model::FieldError;

use crate::error::ApiError;

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

    /// A trimmed string of `min..=max` characters; returns the trimmed value.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> String {
        let trimmed = value.trim();
        let len = trimmed.chars().count();
        if len < min || len > max {
            self.push(
                field,
                format!("must be {min} to {max} characters (after trimming spaces)"),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
