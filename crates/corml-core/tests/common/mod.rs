//! Helpers shared by the integration tests.

use corml_core::dataset::Interactions;
use corml_core::model::{corml, ease, gfcf, CormlParams, EaseParams, GfcfParams, Model};
use corml_core::progress::Control;

/// One model per CoRML setting in `cormls`, then EASE with `ease`, then GF-CF with 6
/// eigenvectors, all trained on `train`.
pub fn fit_all(train: &Interactions, cormls: &[CormlParams], ease: &EaseParams) -> Vec<Model> {
    let ctl = Control::default();
    let mut models: Vec<Model> = cormls
        .iter()
        .map(|p| corml::fit(train, p, &ctl).unwrap())
        .collect();
    models.push(ease::fit(train, ease, &ctl).unwrap());
    let gfcf_params = GfcfParams {
        eigenvectors: 6,
        ..Default::default()
    };
    models.push(gfcf::fit(train, &gfcf_params, &ctl).unwrap());
    models
}
