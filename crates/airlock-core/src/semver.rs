//! Native-version comparison. Invariant: versions are compared numerically after Capgo-style coercion
//! (`1` → `1.0.0`, `v1.2` → `1.2.0`, pre-release and build suffixes ignored), never as strings.

use std::cmp::Ordering;

use crate::error::{Error, Result};

/// A coerced `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    /// Coerces a version-ish string; `None` when it has no leading number.
    pub fn coerce(s: &str) -> Option<Version> {
        let s = s.trim().trim_start_matches(['v', 'V', '=']);
        let core = s.split(['-', '+', ' ']).next().unwrap_or("");
        let mut parts = [0u64; 3];
        let mut seen = 0;
        for (i, p) in core.split('.').take(3).enumerate() {
            let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                break;
            }
            parts[i] = digits.parse().ok()?;
            seen += 1;
        }
        (seen > 0).then_some(Version(parts[0], parts[1], parts[2]))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Compares two version strings after coercion; unparsable sorts lowest.
pub fn compare(a: &str, b: &str) -> Ordering {
    Version::coerce(a).cmp(&Version::coerce(b))
}

/// True when `version` lies in the inclusive `[min, max]` range (either bound optional).
pub fn in_bounds(version: &str, min: Option<&str>, max: Option<&str>) -> Result<bool> {
    let v = Version::coerce(version)
        .ok_or_else(|| Error::Config(format!("native version \"{version}\" is not a version number")))?;
    let bound = |b: &str| {
        Version::coerce(b).ok_or_else(|| {
            Error::rejected("bad_metadata", format!("native range bound \"{b}\" is not a version number"))
        })
    };
    if let Some(min) = min
        && v < bound(min)?
    {
        return Ok(false);
    }
    if let Some(max) = max
        && v > bound(max)?
    {
        return Ok(false);
    }
    Ok(true)
}

/// True when `version` satisfies every comparator of a space-separated range such as `>=1.2.0 <2.0.0`.
pub fn satisfies(version: &str, range: &str) -> Result<bool> {
    let v = Version::coerce(version)
        .ok_or_else(|| Error::Config(format!("native version \"{version}\" is not a version number")))?;
    for comp in range.split_whitespace() {
        let (op, rest) = ["<=", ">=", "<", ">", "="]
            .iter()
            .find_map(|op| comp.strip_prefix(op).map(|r| (*op, r)))
            .unwrap_or(("=", comp));
        let bound = Version::coerce(rest)
            .ok_or_else(|| Error::rejected("bad_metadata", format!("version range \"{range}\" is malformed")))?;
        let ok = match op {
            "<=" => v <= bound,
            ">=" => v >= bound,
            "<" => v < bound,
            ">" => v > bound,
            _ => v == bound,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coercion_follows_capgo() {
        assert_eq!(Version::coerce("1"), Some(Version(1, 0, 0)));
        assert_eq!(Version::coerce("v1.2"), Some(Version(1, 2, 0)));
        assert_eq!(Version::coerce("1.2.3-beta.1"), Some(Version(1, 2, 3)));
        assert_eq!(Version::coerce("abc"), None);
        assert_eq!(compare("1.10.0", "1.9.9"), Ordering::Greater);
    }

    #[test]
    fn ranges() {
        assert!(in_bounds("1.5.0", Some("1"), Some("2.0.0")).unwrap());
        assert!(!in_bounds("2.0.1", Some("1"), Some("2.0.0")).unwrap());
        assert!(in_bounds("0.1", None, None).unwrap());
        assert!(satisfies("1.2.0", ">=1.2.0 <2.0.0").unwrap());
        assert!(!satisfies("2.0.0", ">=1.2.0 <2.0.0").unwrap());
        assert!(satisfies("1.0.0", "1").unwrap());
    }
}
