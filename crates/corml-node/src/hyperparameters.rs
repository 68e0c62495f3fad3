//! `cormlHyperparameters`: the core's list of CoRML hyperparameters, which the facade's
//! argument checks and the command line's flags are derived from.

use corml_core::model::hyperparameters::HYPERPARAMETERS;
use napi_derive::napi;

/// One CoRML hyperparameter.
#[napi(object, object_from_js = false)]
#[derive(Clone, Debug)]
pub struct HyperparameterInfo {
    /// The option name, e.g. `lambda`.
    pub name: String,
    /// The paper's symbol, e.g. `λ`, or `''`.
    pub symbol: String,
    /// `real`, `integer` or `boolean`.
    pub kind: String,
    /// The lower bound (`-Infinity` when there is none).
    pub min: f64,
    /// Whether `min` itself is allowed.
    pub min_inclusive: bool,
    /// The upper bound (`Infinity` when there is none).
    pub max: f64,
    /// Whether `max` itself is allowed.
    pub max_inclusive: bool,
    /// The default (booleans: 1 for `true`, 0 for `false`); unused when `auto`.
    pub default_value: f64,
    /// Whether it also takes `'auto'`, which is then its default.
    pub auto: bool,
    /// The allowed values in words, e.g. `in (0, 1]`.
    pub range: String,
    /// What it does, in one line.
    pub doc: String,
}

/// CoRML's hyperparameters, in the order of the documentation.
#[napi]
pub fn corml_hyperparameters() -> Vec<HyperparameterInfo> {
    HYPERPARAMETERS
        .iter()
        .map(|h| HyperparameterInfo {
            name: h.name.to_owned(),
            symbol: h.symbol.to_owned(),
            kind: h.kind.name().to_owned(),
            min: h.min.value,
            min_inclusive: h.min.inclusive,
            max: h.max.value,
            max_inclusive: h.max.inclusive,
            default_value: h.default,
            auto: h.auto,
            range: h.range(),
            doc: h.doc.to_owned(),
        })
        .collect()
}
