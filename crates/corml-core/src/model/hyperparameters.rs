//! CoRML's hyperparameters as one list: name, kind, range, default and a one-line description.
//!
//! [`CormlParams::default`](super::CormlParams) and [`CormlParams::validate`](super::CormlParams)
//! read their values and ranges from here; the binding hands the list to the TypeScript facade,
//! whose argument checks and command-line flags are derived from it.

use crate::error::{Error, Result};

/// The kind of value a hyperparameter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A finite number.
    Real,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
}

impl Kind {
    /// `real`, `integer` or `boolean`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Real => "real",
            Kind::Integer => "integer",
            Kind::Boolean => "boolean",
        }
    }
}

/// One end of a range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    /// The value (infinite when the range is open on that side).
    pub value: f64,
    /// Whether `value` itself is allowed.
    pub inclusive: bool,
}

/// One CoRML hyperparameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyperparameter {
    /// The option name, as JavaScript callers write it (`lambda`, `itemDegreeNorm`).
    pub name: &'static str,
    /// The paper's symbol (`λ`), or `""`.
    pub symbol: &'static str,
    /// What kind of value it takes.
    pub kind: Kind,
    /// The smallest allowed value (unused for booleans).
    pub min: Bound,
    /// The largest allowed value (unused for booleans).
    pub max: Bound,
    /// The default (booleans: 1 for `true`, 0 for `false`); unused when [`Self::auto`].
    pub default: f64,
    /// Whether it also takes `'auto'`, which is then its default (chosen from the data and the
    /// machine at fit time).
    pub auto: bool,
    /// What it does, in one line.
    pub doc: &'static str,
}

/// The largest integer a JavaScript number holds exactly; the seed's upper bound.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

const fn at(value: f64) -> Bound {
    Bound {
        value,
        inclusive: true,
    }
}

const fn above(value: f64) -> Bound {
    Bound {
        value,
        inclusive: false,
    }
}

const UNBOUNDED: Bound = above(f64::INFINITY);

const fn real(
    name: &'static str,
    symbol: &'static str,
    min: Bound,
    max: Bound,
    default: f64,
    doc: &'static str,
) -> Hyperparameter {
    Hyperparameter {
        name,
        symbol,
        kind: Kind::Real,
        min,
        max,
        default,
        auto: false,
        doc,
    }
}

const fn integer(
    name: &'static str,
    symbol: &'static str,
    min: f64,
    max: f64,
    default: f64,
    doc: &'static str,
) -> Hyperparameter {
    Hyperparameter {
        name,
        symbol,
        kind: Kind::Integer,
        min: at(min),
        max: at(max),
        default,
        auto: false,
        doc,
    }
}

/// λ.
pub const LAMBDA: Hyperparameter = real(
    "lambda",
    "λ",
    above(0.0),
    at(1.0),
    0.75,
    "weight between the metric part H and the graph-filter part G",
);
/// ρ.
pub const DUAL_STEP_LENGTH: Hyperparameter = real(
    "dualStepLength",
    "ρ",
    above(0.0),
    UNBOUNDED,
    5e3,
    "ADMM penalty (step length)",
);
/// θ.
pub const L2_REGULARIZATION: Hyperparameter = real(
    "l2Regularization",
    "θ",
    at(0.0),
    UNBOUNDED,
    1.0,
    "l2 weight on H, scaled by item degree",
);
/// t.
pub const ITEM_DEGREE_NORM: Hyperparameter = real(
    "itemDegreeNorm",
    "t",
    at(-2.0),
    at(2.0),
    0.1,
    "item degree normalization: lower recommends more novel items",
);
/// log10 ε.
pub const GLOBAL_SCALING: Hyperparameter = real(
    "globalScaling",
    "log10 ε",
    at(-10.0),
    at(10.0),
    0.0,
    "global scale of the ranking weights",
);
/// t_u.
pub const USER_SCALING: Hyperparameter = real(
    "userScaling",
    "t_u",
    at(-10.0),
    at(10.0),
    0.0,
    "user-degree scaling of the ranking weights",
);
/// k.
pub const EIGENVECTORS: Hyperparameter = integer(
    "eigenvectors",
    "k",
    1.0,
    4096.0,
    256.0,
    "rank of the truncated SVD behind G",
);
/// ADMM iterations.
pub const ADMM_ITERATIONS: Hyperparameter =
    integer("admmIterations", "", 1.0, 10_000.0, 50.0, "ADMM iterations");
/// The largest part's share of the items; `'auto'` by default (see
/// [`auto_partition_ratio`](super::corml::auto_partition_ratio)).
pub const PARTITION_RATIO: Hyperparameter = Hyperparameter {
    auto: true,
    ..real(
        "partitionRatio",
        "",
        above(0.0),
        at(1.0),
        1.0,
        "largest item part as a share of all items (1 = no partitioning; auto = the largest that fits)",
    )
};
/// The sparse approximation of H.
pub const SPARSE_APPROX: Hyperparameter = Hyperparameter {
    name: "sparseApprox",
    symbol: "",
    kind: Kind::Boolean,
    min: at(0.0),
    max: at(1.0),
    default: 1.0,
    auto: false,
    doc: "prune H to the storage budget of a 64-dimensional matrix factorization",
};
/// The SVD's seed.
pub const SEED: Hyperparameter = integer(
    "seed",
    "",
    0.0,
    MAX_SAFE_INTEGER,
    2026.0,
    "seed of the randomized SVD",
);

/// Every CoRML hyperparameter, in the order of the documentation.
pub const HYPERPARAMETERS: &[Hyperparameter] = &[
    LAMBDA,
    DUAL_STEP_LENGTH,
    L2_REGULARIZATION,
    ITEM_DEGREE_NORM,
    GLOBAL_SCALING,
    USER_SCALING,
    EIGENVECTORS,
    ADMM_ITERATIONS,
    PARTITION_RATIO,
    SPARSE_APPROX,
    SEED,
];

impl Hyperparameter {
    /// The allowed values, for messages: `in (0, 1]`, `> 0`, `an integer in [1, 4096]`.
    pub fn range(&self) -> String {
        let prefix = if self.kind == Kind::Integer {
            "an integer "
        } else {
            ""
        };
        let numbers = match self.kind {
            Kind::Boolean => "true or false".to_owned(),
            // The seed's bound is only JavaScript's largest exact integer: no bound worth naming.
            _ if self.max.value.is_infinite() || self.max.value == MAX_SAFE_INTEGER => format!(
                "{prefix}{} {}",
                if self.min.inclusive { "≥" } else { ">" },
                self.min.value
            ),
            _ => format!(
                "{prefix}in {}{}, {}{}",
                if self.min.inclusive { '[' } else { '(' },
                self.min.value,
                self.max.value,
                if self.max.inclusive { ']' } else { ')' }
            ),
        };
        if self.auto {
            format!("{numbers} or 'auto'")
        } else {
            numbers
        }
    }

    /// Whether `value` is allowed: finite, whole for an integer, and within the range.
    pub fn allows(&self, value: f64) -> bool {
        let above = if self.min.inclusive {
            value >= self.min.value
        } else {
            value > self.min.value
        };
        let below = if self.max.inclusive {
            value <= self.max.value
        } else {
            value < self.max.value
        };
        value.is_finite() && (self.kind != Kind::Integer || value.fract() == 0.0) && above && below
    }

    /// `INVALID_ARGUMENT` naming the option, the value (as `shown`: an `f32` reads best as
    /// itself) and the range, unless [`Self::allows`] the value.
    pub fn check(&self, value: f64, shown: impl std::fmt::Display) -> Result<()> {
        if self.allows(value) {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "{} = {shown} is out of range: it must be {}",
                self.name,
                self.range()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_like_the_documentation() {
        assert_eq!(LAMBDA.range(), "in (0, 1]");
        assert_eq!(DUAL_STEP_LENGTH.range(), "> 0");
        assert_eq!(L2_REGULARIZATION.range(), "≥ 0");
        assert_eq!(EIGENVECTORS.range(), "an integer in [1, 4096]");
        assert_eq!(SEED.range(), "an integer ≥ 0");
        assert_eq!(SPARSE_APPROX.range(), "true or false");
        assert_eq!(PARTITION_RATIO.range(), "in (0, 1] or 'auto'");
    }

    #[test]
    fn checks_follow_the_bounds() {
        assert!(LAMBDA.allows(1.0) && !LAMBDA.allows(0.0) && !LAMBDA.allows(f64::NAN));
        assert!(EIGENVECTORS.allows(4096.0) && !EIGENVECTORS.allows(2.5));
        assert!(!DUAL_STEP_LENGTH.allows(f64::INFINITY));
        let err = ITEM_DEGREE_NORM.check(3.0, 3.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "itemDegreeNorm = 3 is out of range: it must be in [-2, 2]"
        );
    }

    #[test]
    fn every_default_is_allowed_and_names_are_unique() {
        for h in HYPERPARAMETERS {
            assert!(h.allows(h.default), "{}", h.name);
            assert_eq!(
                HYPERPARAMETERS.iter().filter(|o| o.name == h.name).count(),
                1
            );
        }
    }
}
