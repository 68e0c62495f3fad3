//! Finding the CUDA libraries and devices at run time, without panicking.
//!
//! cudarc loads each library on first use by bare name (`libcublas.so.13`, then `.so.12`, ...) and
//! panics when none loads. Before anything touches cudarc, [`probe`] checks each library with
//! cudarc's own `is_culib_present`. Libraries that are not on the loader's path (a toolkit in
//! `/usr/local/cuda` without an `ld.so.conf` entry, Python's `nvidia-*` wheels) are preloaded by
//! full path from `CORML_CUDA_LIB_DIR` and the usual install locations: the dynamic loader then
//! matches cudarc's bare-name requests to the loaded library by its soname.

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cudarc::driver::{result, sys};

use super::nvrtc::{self, Nvrtc};
use crate::device::{CudaDevice, CudaInfo, CudaLibrary};

/// Environment variable with extra directories (separated like `PATH`) to load CUDA libraries from.
pub const LIB_DIR_ENV: &str = "CORML_CUDA_LIB_DIR";

/// Oldest CUDA version the driver must support (the libraries looked for are CUDA 12's or 13's).
pub const MIN_DRIVER_CUDA: (i32, i32) = (12, 0);

/// Lowest compute capability the kernels and cuSOLVER paths are written for.
pub const MIN_COMPUTE_CAPABILITY: (i32, i32) = (6, 0);

/// The toolkit libraries cudarc needs and their dependencies, in dependency order (a library's
/// needs are preloaded before it).
const TOOLKIT_FILES: &[&str] = &[
    "libnvJitLink.so",
    "libcublasLt.so",
    "libcublas.so",
    "libcusparse.so",
    "libcusolver.so",
    "libnvrtc-builtins.so",
    "libnvrtc.so",
];

type Present = unsafe fn() -> bool;

/// Whether some NVRTC loads by the loader's own search (cudarc's names or a supported major).
fn nvrtc_on_loader_path() -> bool {
    nvrtc::candidates(&[])
        .iter()
        .any(|name| Nvrtc::load(name).is_some())
}

/// The libraries the backend loads, with a presence check for each: cudarc's for the ones it
/// loads, ours for NVRTC, which [`nvrtc`] loads itself.
fn checks() -> [(&'static str, Present); 4] {
    [
        ("cuda", cudarc::driver::sys::is_culib_present as Present),
        ("cublas", cudarc::cublas::sys::is_culib_present as Present),
        (
            "cusolver",
            cudarc::cusolver::sys::is_culib_present as Present,
        ),
        ("nvrtc", nvrtc_on_loader_path as Present),
    ]
}

/// Every NVRTC that loads, from the loader's path and the search directories (after the
/// preload of [`libraries`]), found once per process.
fn nvrtcs() -> &'static [Nvrtc] {
    static FOUND: OnceLock<Vec<Nvrtc>> = OnceLock::new();
    FOUND.get_or_init(|| {
        let _ = libraries();
        nvrtc::discover(&search_directories())
    })
}

/// The NVRTC to compile the kernels with for a driver for CUDA `driver`: the newest whose major
/// version the driver runs. The error says what was found and what to do.
pub fn kernel_compiler(driver: (i32, i32)) -> Result<&'static Nvrtc, String> {
    let found = nvrtcs();
    let versions: Vec<(i32, i32)> = found.iter().map(|n| n.version).collect();
    match nvrtc::choose(driver, &versions) {
        Some(i) => Ok(&found[i]),
        None if found.is_empty() => Err("no NVRTC library (libnvrtc) was found".to_owned()),
        None => Err(format!(
            "NVRTC {} was found, but this driver supports CUDA {}.{} only and cannot run code \
             from a newer major version: update the driver, or install NVRTC {} (the \
             nvidia-cuda-nvrtc-cu{} wheel or a CUDA {} toolkit)",
            versions
                .iter()
                .map(|v| format!("{}.{}", v.0, v.1))
                .collect::<Vec<_>>()
                .join(", "),
            driver.0,
            driver.1,
            driver.0,
            driver.0,
            driver.0
        )),
    }
}

/// The version of the cuBLAS that cudarc loads: the first of its names that loads, as cudarc's
/// own loader takes it.
fn cublas_version() -> Option<(i32, i32)> {
    type PropertyFn = unsafe extern "C" fn(c_int, *mut c_int) -> c_int;
    for name in cudarc::get_lib_name_candidates("cublas") {
        // SAFETY: loading cuBLAS runs only its initialisers; the symbol has the signature of
        // `cublasGetProperty(libraryPropertyType, int*)`.
        unsafe {
            let Ok(lib) = libloading::Library::new(&name) else {
                continue;
            };
            let property: PropertyFn = *lib.get(b"cublasGetProperty\0").ok()?;
            let (mut major, mut minor) = (0, 0);
            // MAJOR_VERSION = 0, MINOR_VERSION = 1.
            if property(0, &mut major) != 0 || property(1, &mut minor) != 0 {
                return None;
            }
            return Some((major, minor));
        }
    }
    None
}

/// Why a library of version `version` cannot run on a driver for CUDA `driver`: its major
/// version is newer than the driver's (a library of CUDA 13 on a driver for CUDA 12).
pub fn too_new_for_driver(
    library: &str,
    version: (i32, i32),
    driver: (i32, i32),
) -> Option<String> {
    (version.0 > driver.0).then(|| {
        format!(
            "{library} {}.{} needs a driver for CUDA {}, and this driver supports CUDA {}.{}: \
             update the driver, or install the CUDA {} libraries (the nvidia-cublas-cu{} and \
             nvidia-cusolver-cu{} wheels or a CUDA {} toolkit) where the loader finds them first",
            version.0,
            version.1,
            version.0,
            driver.0,
            driver.1,
            driver.0,
            driver.0,
            driver.0,
            driver.0
        )
    })
}

/// Libraries preloaded by full path; kept loaded for the life of the process, so that cudarc's
/// later `dlopen` by bare name finds them by their soname.
static PRELOADED: Mutex<Vec<(PathBuf, libloading::Library)>> = Mutex::new(Vec::new());

/// The library check, done once per process: each library by the loader's own search first;
/// when one is missing, the toolkit files are preloaded from the search directories (in
/// dependency order, each from the first directory that has it) and the check is repeated.
fn libraries() -> &'static [CudaLibrary] {
    static LIBS: OnceLock<Vec<CudaLibrary>> = OnceLock::new();
    LIBS.get_or_init(|| {
        let check = |present: Present| {
            // SAFETY: cudarc's check only tries `dlopen` on candidate names and closes them.
            catch_unwind(|| unsafe { present() }).unwrap_or(false)
        };
        let before: Vec<bool> = checks().iter().map(|&(_, p)| check(p)).collect();
        // The driver comes with the system; a `libcuda.so` in a toolkit directory is a link-time
        // stub that fails every call, so it is never preloaded.
        let toolkit_missing = checks()
            .iter()
            .zip(&before)
            .any(|(&(name, _), &found)| name != "cuda" && !found);
        let preloaded = if toolkit_missing {
            let driver_major = before[0].then(driver_major).flatten();
            preload_toolkit(&search_directories(), driver_major)
        } else {
            Vec::new()
        };
        checks()
            .iter()
            .zip(before)
            .map(|(&(name, present), found_before)| {
                let found = found_before || check(present);
                let directory = (found && !found_before)
                    .then(|| {
                        preloaded
                            .iter()
                            .find(|p| {
                                p.file_name()
                                    .and_then(|f| f.to_str())
                                    .is_some_and(|f| f.starts_with(&format!("lib{name}.so.")))
                            })
                            .and_then(|p| p.parent())
                            .map(|d| d.display().to_string())
                    })
                    .flatten();
                CudaLibrary {
                    name,
                    found,
                    directory,
                    version: None,
                }
            })
            .collect()
    })
}

/// Where to look for toolkit libraries that the loader does not find by itself.
fn search_directories() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(list) = std::env::var_os(LIB_DIR_ENV) {
        dirs.extend(std::env::split_paths(&list));
    }
    for var in [
        "CUDA_HOME",
        "CUDA_PATH",
        "CUDA_ROOT",
        "CUDA_TOOLKIT_ROOT_DIR",
    ] {
        if let Some(root) = std::env::var_os(var) {
            let root = PathBuf::from(root);
            dirs.push(root.join("lib64"));
            dirs.push(root.join("lib"));
            dirs.push(root.join("targets/x86_64-linux/lib"));
        }
    }
    let mut roots = vec![PathBuf::from("/usr/local/cuda"), PathBuf::from("/opt/cuda")];
    if let Ok(entries) = std::fs::read_dir("/usr/local") {
        let mut versioned: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("cuda-"))
            })
            .collect();
        // Newest first: `cuda-13.0` before `cuda-12.8`.
        versioned.sort();
        versioned.reverse();
        roots.extend(versioned);
    }
    for root in roots {
        dirs.push(root.join("lib64"));
        dirs.push(root.join("targets/x86_64-linux/lib"));
    }
    dirs.retain(|d| d.is_dir() && !d.ends_with("stubs"));
    dirs.dedup();
    dirs
}

/// The CUDA major version the driver supports, read without `cuInit` (`None` when it cannot
/// be read).
fn driver_major() -> Option<i32> {
    catch_unwind(|| {
        let mut version = 0;
        // SAFETY: `version` is a valid out-pointer; cudarc's loader found the driver library.
        let ok = unsafe { sys::cuDriverGetVersion(&mut version) }
            .result()
            .is_ok();
        ok.then_some(version / 1000)
    })
    .ok()
    .flatten()
}

/// The toolkit files whose major version is the CUDA major of the toolkit they come from, and so
/// must not be newer than the driver's (`libcusolver` and `libcusparse` number themselves).
const CUDA_NUMBERED: &[&str] = &[
    "libnvJitLink.so",
    "libcublasLt.so",
    "libcublas.so",
    "libnvrtc.so",
];

/// The file in `dir` for `prefix` (e.g. `libcublas.so`) with the newest major version from 11 to
/// 13 (and at most `max_major`, when given), as `prefix.MAJOR[.x.y]`. The majors are the
/// libraries' own: CUDA 13 ships `libcublas.so.13` but `libcusolver.so.12`, CUDA 12
/// `libcublas.so.12` and `libcusolver.so.11`.
fn versioned_file(dir: &Path, prefix: &str, max_major: Option<u32>) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut best: Option<(u32, PathBuf)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        // `libnvrtc-builtins.so.13.0` has a major.minor suffix, the others a major.
        let Some(major) = rest.split('.').next().and_then(|m| m.parse::<u32>().ok()) else {
            continue;
        };
        if (11..=13).contains(&major)
            && max_major.is_none_or(|m| major <= m)
            && best.as_ref().is_none_or(|(m, _)| major > *m)
        {
            best = Some((major, entry.path()));
        }
    }
    best.map(|(_, p)| p)
}

/// Preloads the toolkit files, each from the first of `dirs` that has one that loads; returns
/// the paths loaded. With the driver's CUDA major known, the CUDA-numbered files (cuBLAS, NVRTC,
/// nvJitLink) are taken no newer than it, and cuSOLVER and cuSPARSE from cuBLAS's directory
/// first, so that they belong to the same toolkit.
fn preload_toolkit(dirs: &[PathBuf], driver_major: Option<i32>) -> Vec<PathBuf> {
    let Ok(mut loaded) = PRELOADED.lock() else {
        return Vec::new();
    };
    let mut cublas_dir: Option<PathBuf> = None;
    for prefix in TOOLKIT_FILES {
        let cuda_numbered = CUDA_NUMBERED.contains(prefix) || prefix.starts_with("libnvrtc");
        let max_major = driver_major
            .filter(|_| cuda_numbered)
            .and_then(|m| u32::try_from(m).ok());
        let ordered: Vec<&PathBuf> = cublas_dir
            .iter()
            .filter(|_| !cuda_numbered)
            .chain(dirs.iter())
            .collect();
        for dir in ordered {
            let Some(path) = versioned_file(dir, prefix, max_major) else {
                continue;
            };
            if loaded.iter().any(|(p, _)| *p == path) {
                break;
            }
            // SAFETY: loading a CUDA toolkit library runs only its initialisers, which have no
            // preconditions; it stays loaded (in `PRELOADED`) for the rest of the process.
            if let Ok(lib) = unsafe { libloading::Library::new(&path) } {
                if *prefix == "libcublas.so" {
                    cublas_dir = path.parent().map(Path::to_path_buf);
                }
                loaded.push((path, lib));
                break;
            }
        }
    }
    loaded.iter().map(|(p, _)| p.clone()).collect()
}

fn driver_error(what: &str, e: result::DriverError) -> String {
    format!("{what} failed: {e}")
}

/// Queries the driver for its version and devices. Needs `libcuda`.
fn query_driver() -> Result<((i32, i32), Vec<CudaDevice>), String> {
    result::init().map_err(|e| driver_error("cuInit", e))?;
    let mut version = 0;
    // SAFETY: `version` is a valid out-pointer.
    unsafe { sys::cuDriverGetVersion(&mut version) }
        .result()
        .map_err(|e| driver_error("cuDriverGetVersion", e))?;
    let count = result::device::get_count().map_err(|e| driver_error("cuDeviceGetCount", e))?;
    let mut devices = Vec::new();
    for ordinal in 0..count.max(0) {
        let dev = result::device::get(ordinal).map_err(|e| driver_error("cuDeviceGet", e))?;
        let name = result::device::get_name(dev).unwrap_or_else(|_| "unknown".to_owned());
        let attr = |a| {
            // SAFETY: `dev` is a valid device handle from `cuDeviceGet`.
            unsafe { result::device::get_attribute(dev, a) }.unwrap_or(0)
        };
        use sys::CUdevice_attribute::*;
        let major = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        let minor = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        // SAFETY: as above.
        let total = unsafe { result::device::total_mem(dev) }.unwrap_or(0);
        devices.push(CudaDevice {
            ordinal: ordinal as usize,
            name,
            compute_capability: (major, minor),
            total_memory: total as u64,
        });
    }
    Ok(((version / 1000, (version % 1000) / 10), devices))
}

/// Probes the CUDA driver, libraries and devices, with `available` and `reason` about `cuda:0`.
/// Creates no context; never panics.
pub fn probe() -> CudaInfo {
    probe_device(0)
}

/// [`probe`], with `available` and `reason` about device `ordinal` (`cuda:N`).
pub fn probe_device(ordinal: usize) -> CudaInfo {
    let mut libraries = libraries().to_vec();
    // NVRTC's version is known without a driver (the newest found; with a driver, the one chosen
    // below).
    for library in libraries.iter_mut().filter(|l| l.name == "nvrtc") {
        library.version = nvrtcs().iter().map(|n| n.version).max();
    }
    let driver_found = libraries.iter().any(|l| l.name == "cuda" && l.found);
    let mut info = CudaInfo {
        compiled: true,
        available: false,
        reason: None,
        driver_found,
        driver_version: None,
        libraries,
        devices: Vec::new(),
    };
    if !driver_found {
        info.reason = Some(
            "no NVIDIA driver was found (libcuda.so.1 / nvcuda.dll did not load); install the \
             NVIDIA driver to use a GPU"
                .to_owned(),
        );
        return info;
    }
    match catch_unwind(AssertUnwindSafe(query_driver)) {
        Ok(Ok((version, devices))) => {
            info.driver_version = Some(version);
            info.devices = devices;
        }
        Ok(Err(message)) => {
            info.reason = Some(format!("the NVIDIA driver is present but {message}"));
            return info;
        }
        Err(_) => {
            info.reason = Some(
                "the NVIDIA driver is too old for this build (a driver entry point is missing); \
                 update the driver to one for CUDA 12 or 13"
                    .to_owned(),
            );
            return info;
        }
    }
    let missing: Vec<&str> = info
        .libraries
        .iter()
        .filter(|l| !l.found)
        .map(|l| l.name)
        .collect();
    let driver = info.driver_version.unwrap_or((0, 0));
    // The versions of NVRTC (the one the kernels would be compiled with) and of cuBLAS (the one
    // cudarc loads), against the driver's.
    let compiler = kernel_compiler(driver);
    let cublas = if missing.contains(&"cublas") {
        None
    } else {
        cublas_version()
    };
    for library in &mut info.libraries {
        match library.name {
            "nvrtc" => {
                library.version = compiler
                    .as_ref()
                    .ok()
                    .map(|n| n.version)
                    .or_else(|| nvrtcs().iter().map(|n| n.version).max());
                library.found |= !nvrtcs().is_empty();
            }
            "cublas" => library.version = cublas,
            _ => {}
        }
    }
    let missing: Vec<&str> = info
        .libraries
        .iter()
        .filter(|l| !l.found)
        .map(|l| l.name)
        .collect();
    let too_new = cublas.and_then(|v| too_new_for_driver("cuBLAS", v, driver));
    info.reason = if driver < MIN_DRIVER_CUDA {
        Some(format!(
            "the NVIDIA driver supports CUDA {}.{} only; corml-native needs a driver for CUDA \
             {}.{} or newer: update the driver",
            driver.0, driver.1, MIN_DRIVER_CUDA.0, MIN_DRIVER_CUDA.1
        ))
    } else if info.devices.is_empty() {
        Some("the NVIDIA driver reports no CUDA device".to_owned())
    } else if let Some(why) = too_new {
        Some(why)
    } else if let (Err(why), false) = (&compiler, missing.contains(&"nvrtc")) {
        Some(why.clone())
    } else if !missing.is_empty() {
        Some(format!(
            "the CUDA libraries {} (CUDA 12 or 13) were not found; install the CUDA toolkit or the \
             pip wheels nvidia-cublas, nvidia-cusolver and nvidia-cuda-nvrtc, and put their \
             directory in LD_LIBRARY_PATH or {LIB_DIR_ENV}",
            missing
                .iter()
                .map(|m| format!("lib{m}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        match info.devices.get(ordinal) {
            None => Some(format!(
                "device cuda:{ordinal} was requested but this machine has {} CUDA device(s) \
                 (cuda:0 to cuda:{})",
                info.devices.len(),
                info.devices.len() - 1
            )),
            Some(d) => (d.compute_capability < MIN_COMPUTE_CAPABILITY).then(|| {
                format!(
                    "cuda:{ordinal} ({}) has compute capability {}.{}; corml-native needs {}.{} \
                     or newer",
                    d.name,
                    d.compute_capability.0,
                    d.compute_capability.1,
                    MIN_COMPUTE_CAPABILITY.0,
                    MIN_COMPUTE_CAPABILITY.1
                )
            }),
        }
    };
    info.available = info.reason.is_none();
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_newest_supported_major_version() {
        let dir = std::env::temp_dir().join(format!("corml-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "libcublas.so",
            "libcublas.so.10",
            "libcublas.so.12",
            "libcublas.so.13.1.0.3",
            "libcublasLt.so.13",
            "libcublas.so.14",
        ] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let found = versioned_file(&dir, "libcublas.so", None).unwrap();
        assert_eq!(found.file_name().unwrap(), "libcublas.so.13.1.0.3");
        // A driver for CUDA 12: the newest the driver runs.
        let found = versioned_file(&dir, "libcublas.so", Some(12)).unwrap();
        assert_eq!(found.file_name().unwrap(), "libcublas.so.12");
        assert!(versioned_file(&dir, "libcusolver.so", None).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_library_of_a_newer_cuda_major_than_the_driver_is_refused() {
        let why = too_new_for_driver("cuBLAS", (13, 0), (12, 4)).unwrap();
        assert!(
            why.contains("cuBLAS 13.0 needs a driver for CUDA 13"),
            "{why}"
        );
        assert!(why.contains("nvidia-cublas-cu12"), "{why}");
        // Minor-version compatibility: any 12.x library runs on a driver for CUDA 12.
        assert!(too_new_for_driver("cuBLAS", (12, 8), (12, 4)).is_none());
        assert!(too_new_for_driver("cuBLAS", (12, 4), (13, 0)).is_none());
    }

    #[test]
    fn probe_never_panics_and_explains_itself() {
        let info = probe();
        assert!(info.compiled);
        assert_eq!(info.available, info.reason.is_none());
        assert_eq!(info.libraries.len(), 4);
    }
}
