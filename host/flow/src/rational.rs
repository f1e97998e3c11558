//! Rational rates (frame, field and sample rates).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A positive rational number such as `30000/1001`, always stored reduced.
///
/// ```
/// use stagebox_flow::Rational;
/// let r: Rational = "60000/2002".parse().unwrap();
/// assert_eq!(r, Rational::new(30000, 1001).unwrap());
/// assert_eq!(r.to_string(), "30000/1001");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRational", into = "RawRational")]
pub struct Rational {
    numerator: u64,
    denominator: u64,
}

/// The NMOS JSON shape of a rational: `{"numerator": n, "denominator": d}`.
#[derive(Serialize, Deserialize)]
struct RawRational {
    numerator: u64,
    #[serde(default = "one")]
    denominator: u64,
}

fn one() -> u64 {
    1
}

/// A rate that cannot be used: zero in either part, or unparsable text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RationalError {
    /// The numerator or the denominator is zero.
    #[error("rate {numerator}/{denominator} has a zero part")]
    Zero {
        /// The numerator given.
        numerator: u64,
        /// The denominator given.
        denominator: u64,
    },
    /// The text is not `N` or `N/D` with decimal integers.
    #[error("rate {0:?} is not of the form N or N/D")]
    Syntax(String),
}

impl Rational {
    /// Makes a rational from a numerator and denominator, reduced.
    pub fn new(numerator: u64, denominator: u64) -> Result<Self, RationalError> {
        if numerator == 0 || denominator == 0 {
            return Err(RationalError::Zero { numerator, denominator });
        }
        let g = gcd(numerator, denominator);
        Ok(Rational { numerator: numerator / g, denominator: denominator / g })
    }

    /// The reduced numerator.
    pub fn numerator(self) -> u64 {
        self.numerator
    }

    /// The reduced denominator.
    pub fn denominator(self) -> u64 {
        self.denominator
    }

    /// This rate times a whole number (for example field rate from frame rate).
    pub fn times(self, factor: u64) -> Result<Self, RationalError> {
        Rational::new(self.numerator.saturating_mul(factor), self.denominator)
    }

    /// The rate as a float, for display and statistics only.
    pub fn as_f64(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl TryFrom<RawRational> for Rational {
    type Error = RationalError;
    fn try_from(raw: RawRational) -> Result<Self, Self::Error> {
        Rational::new(raw.numerator, raw.denominator)
    }
}

impl From<Rational> for RawRational {
    fn from(r: Rational) -> Self {
        RawRational { numerator: r.numerator, denominator: r.denominator }
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

impl FromStr for Rational {
    type Err = RationalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || RationalError::Syntax(s.to_owned());
        let (n, d) = match s.split_once('/') {
            Some((n, d)) => (n, d),
            None => (s, "1"),
        };
        let n = n.trim().parse().map_err(|_| syntax())?;
        let d = d.trim().parse().map_err(|_| syntax())?;
        Rational::new(n, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reduces() {
        assert_eq!("50".parse::<Rational>().unwrap(), Rational::new(50, 1).unwrap());
        assert_eq!("100/2".parse::<Rational>().unwrap().to_string(), "50/1");
        assert!(matches!("0/1".parse::<Rational>(), Err(RationalError::Zero { .. })));
        assert!(matches!("25/0".parse::<Rational>(), Err(RationalError::Zero { .. })));
        assert!(matches!("x/1".parse::<Rational>(), Err(RationalError::Syntax(_))));
        assert!(matches!("-25/1".parse::<Rational>(), Err(RationalError::Syntax(_))));
    }

    #[test]
    fn json_shape_is_nmos() {
        let r: Rational = serde_json::from_str(r#"{"numerator":48000}"#).unwrap();
        assert_eq!(r, Rational::new(48000, 1).unwrap());
        let text = serde_json::to_string(&Rational::new(30000, 1001).unwrap()).unwrap();
        assert_eq!(text, r#"{"numerator":30000,"denominator":1001}"#);
        assert!(serde_json::from_str::<Rational>(r#"{"numerator":0,"denominator":1}"#).is_err());
    }
}
