//! Helpers shared by the integration tests: training every model, and the devices to run each
//! model-level test on.

// Each test crate uses a part of this module.
#![allow(dead_code)]

use corml_core::backend::probe;
use corml_core::dataset::Interactions;
use corml_core::model::{corml, ease, gfcf, CormlParams, EaseParams, GfcfParams, Model};
use corml_core::progress::Control;
use corml_core::Device;

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

/// The CPU, and `cuda:0` when it is usable. Without a GPU the CUDA runs are skipped (said once),
/// unless `CORML_REQUIRE_CUDA` is set, as `scripts/gpu-check.sh` does: then a missing GPU fails.
pub fn devices() -> Vec<Device> {
    static SKIP_NOTE: std::sync::Once = std::sync::Once::new();
    let info = probe();
    if info.available {
        return vec![Device::Cpu, Device::Cuda(0)];
    }
    let reason = info.reason.as_deref().unwrap_or("unavailable");
    assert!(
        std::env::var_os("CORML_REQUIRE_CUDA").is_none(),
        "CORML_REQUIRE_CUDA is set but CUDA is not usable: {reason}"
    );
    SKIP_NOTE.call_once(|| eprintln!("model tests run on the CPU only: {reason}"));
    vec![Device::Cpu]
}

/// Whether `cuda:0` is usable (the CUDA-only branches of a test).
pub fn has_gpu() -> bool {
    probe().available
}
