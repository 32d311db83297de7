//! [`Patch`]: a field of a JSON merge patch (RFC 7396) that can be left out, set, or reset.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One field of a merge patch.
///
/// Use it with `#[serde(default, skip_serializing_if = "Patch::is_absent")]` so that
/// `Absent` is not sent at all, `Reset` is sent as `null` (back to the default) and
/// `Set(v)` is sent as the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// Leave the field as it is.
    #[default]
    Absent,
    /// Reset the field to its default (`null` on the wire).
    Reset,
    /// Set the field to this value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the field is left out of the patch (for `skip_serializing_if`).
    ///
    /// ```
    /// use chalk_sdk::model::Patch;
    /// assert!(Patch::<bool>::Absent.is_absent());
    /// assert!(!Patch::<bool>::Reset.is_absent());
    /// assert!(!Patch::Set(true).is_absent());
    /// ```
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Set(value)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Absent | Patch::Reset => serializer.serialize_none(),
            Patch::Set(value) => value.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only called when the field is present; `#[serde(default)]` covers absence.
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Patch::Reset,
            Some(value) => Patch::Set(value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, Default, PartialEq)]
    struct P {
        #[serde(default, skip_serializing_if = "Patch::is_absent")]
        a: Patch<i64>,
    }

    #[test]
    fn three_states_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&P { a: Patch::Absent }).unwrap(),
            "{}"
        );
        assert_eq!(
            serde_json::to_string(&P { a: Patch::Reset }).unwrap(),
            r#"{"a":null}"#
        );
        assert_eq!(
            serde_json::to_string(&P { a: Patch::Set(3) }).unwrap(),
            r#"{"a":3}"#
        );
        assert_eq!(serde_json::from_str::<P>("{}").unwrap().a, Patch::Absent);
        assert_eq!(
            serde_json::from_str::<P>(r#"{"a":null}"#).unwrap().a,
            Patch::Reset
        );
        assert_eq!(
            serde_json::from_str::<P>(r#"{"a":3}"#).unwrap().a,
            Patch::Set(3)
        );
    }
}
