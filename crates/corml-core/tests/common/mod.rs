//! What the integration tests share: the devices to run each model-level test on.

use corml_core::backend::probe;
use corml_core::Device;

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
#[allow(dead_code)]
pub fn has_gpu() -> bool {
    probe().available
}
