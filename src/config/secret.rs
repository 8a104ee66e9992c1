//! A secret string whose `Debug` and `Display` print `***`.
//!
//! It has no `Serialize`: the only ways out are [`Secret::expose`], used by the request that
//! needs the value, and the request builders that choose to redact it.

use serde::Deserialize;
use std::fmt;

/// An access key, session token or JWT.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for the one request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("wJalrXUtnFEMI");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "\"***\"");
        assert_eq!(s.expose(), "wJalrXUtnFEMI");
    }
}
