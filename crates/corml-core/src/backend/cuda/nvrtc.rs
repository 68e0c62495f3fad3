//! NVRTC, loaded by this module rather than by cudarc, so that the library is one the driver can
//! run: cudarc takes the first `libnvrtc` its name list finds (`.so.13` before `.so.12`), whatever
//! the driver. Here every NVRTC the loader or the usual install locations hold is looked at, and
//! the newest whose major version is at most the driver's CUDA major is used.
//!
//! The kernels are compiled to a cubin for the device's exact architecture (`sm_XY`): a cubin of
//! NVRTC 12.8 loads on any driver for CUDA 12 (minor-version compatibility), where its PTX would
//! need a driver that knows PTX ISA 8.7 (`CUDA_ERROR_UNSUPPORTED_PTX_VERSION` on an R550 driver).
//! PTX is the fallback, for a GPU newer than the NVRTC (which cannot make its cubin): the driver
//! compiles it at load time.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};

/// `nvrtcResult`, `NVRTC_SUCCESS` being 0.
type Status = c_int;
/// `nvrtcProgram`.
type Program = *mut c_void;

type VersionFn = unsafe extern "C" fn(*mut c_int, *mut c_int) -> Status;
type CreateFn = unsafe extern "C" fn(
    *mut Program,
    *const c_char,
    *const c_char,
    c_int,
    *const *const c_char,
    *const *const c_char,
) -> Status;
type CompileFn = unsafe extern "C" fn(Program, c_int, *const *const c_char) -> Status;
type SizeFn = unsafe extern "C" fn(Program, *mut usize) -> Status;
type BytesFn = unsafe extern "C" fn(Program, *mut c_char) -> Status;
type DestroyFn = unsafe extern "C" fn(*mut Program) -> Status;

/// One loaded NVRTC library.
pub struct Nvrtc {
    /// Where it came from: a full path, or the name the loader found it by.
    pub source: String,
    /// `(major, minor)`, as `nvrtcVersion` reports it.
    pub version: (i32, i32),
    create: CreateFn,
    compile: CompileFn,
    log_size: SizeFn,
    log: BytesFn,
    cubin_size: SizeFn,
    cubin: BytesFn,
    ptx_size: SizeFn,
    ptx: BytesFn,
    destroy: DestroyFn,
    // Last: the function pointers above point into it. The builtins library NVRTC opens by
    // name while compiling, preloaded from NVRTC's own directory when it came from one.
    _builtins: Option<libloading::Library>,
    _lib: libloading::Library,
}

// SAFETY: NVRTC's entry points are thread-safe for distinct programs, and this type only holds
// function pointers into a library that stays loaded as long as it lives.
unsafe impl Send for Nvrtc {}
// SAFETY: as above.
unsafe impl Sync for Nvrtc {}

/// What [`Nvrtc::compile_kernels`] produced.
pub enum Image {
    /// A cubin for one architecture (`sm_XY`).
    Cubin(Vec<u8>),
    /// PTX text, compiled further by the driver when it is loaded.
    Ptx(String),
}

impl Nvrtc {
    /// Loads `name` (a file name for the loader's own search, or a full path) and its entry
    /// points; `None` when it does not load or is not an NVRTC.
    pub fn load(name: &str) -> Option<Nvrtc> {
        // SAFETY: loading NVRTC runs only its initialisers, which have no preconditions.
        let lib = unsafe { libloading::Library::new(name) }.ok()?;
        // SAFETY: each symbol is looked up with the signature NVRTC's header gives it.
        unsafe {
            let version: VersionFn = *lib.get(b"nvrtcVersion\0").ok()?;
            let (mut major, mut minor) = (0, 0);
            if version(&mut major, &mut minor) != 0 {
                return None;
            }
            let builtins = Path::new(name)
                .parent()
                .filter(|dir| !dir.as_os_str().is_empty())
                .and_then(|dir| builtins_in(dir, (major, minor)));
            Some(Nvrtc {
                source: name.to_owned(),
                version: (major, minor),
                create: *lib.get(b"nvrtcCreateProgram\0").ok()?,
                compile: *lib.get(b"nvrtcCompileProgram\0").ok()?,
                log_size: *lib.get(b"nvrtcGetProgramLogSize\0").ok()?,
                log: *lib.get(b"nvrtcGetProgramLog\0").ok()?,
                cubin_size: *lib.get(b"nvrtcGetCUBINSize\0").ok()?,
                cubin: *lib.get(b"nvrtcGetCUBIN\0").ok()?,
                ptx_size: *lib.get(b"nvrtcGetPTXSize\0").ok()?,
                ptx: *lib.get(b"nvrtcGetPTX\0").ok()?,
                destroy: *lib.get(b"nvrtcDestroyProgram\0").ok()?,
                _builtins: builtins,
                _lib: lib,
            })
        }
    }

    /// `NVRTC 12.4 (libnvrtc.so.12)`: the version and where it came from.
    pub fn describe(&self) -> String {
        format!(
            "NVRTC {}.{} ({})",
            self.version.0, self.version.1, self.source
        )
    }

    /// Compiles `source` with `options` and returns the cubin (`cubin`) or the PTX; the error is
    /// the compiler's log.
    pub fn compile(
        &self,
        source: &str,
        name: &str,
        options: &[String],
        cubin: bool,
    ) -> Result<Image, String> {
        let src = CString::new(source).map_err(|_| "the kernel source holds a NUL byte")?;
        let name = CString::new(name).map_err(|_| "the program name holds a NUL byte")?;
        let options: Vec<CString> = options
            .iter()
            .map(|o| CString::new(o.as_str()).map_err(|_| "an option holds a NUL byte"))
            .collect::<Result<_, _>>()?;
        let option_ptrs: Vec<*const c_char> = options.iter().map(|o| o.as_ptr()).collect();
        let mut program: Program = std::ptr::null_mut();
        // SAFETY: `src` and `name` are NUL-terminated; no headers are passed.
        let status = unsafe {
            (self.create)(
                &mut program,
                src.as_ptr(),
                name.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if status != 0 {
            return Err(format!("nvrtcCreateProgram failed (status {status})"));
        }
        let program = ProgramGuard {
            program,
            nvrtc: self,
        };
        // SAFETY: `program` is live; the options are NUL-terminated and outlive the call.
        let status = unsafe {
            (self.compile)(
                program.program,
                option_ptrs.len() as c_int,
                option_ptrs.as_ptr(),
            )
        };
        if status != 0 {
            let log = program.bytes(self.log_size, self.log).unwrap_or_default();
            let log = String::from_utf8_lossy(&log);
            return Err(format!(
                "compilation failed (status {status}) with {}: {}",
                options
                    .iter()
                    .map(|o| o.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
                log.trim_end_matches('\0').trim()
            ));
        }
        if cubin {
            let bytes = program.bytes(self.cubin_size, self.cubin)?;
            Ok(Image::Cubin(bytes))
        } else {
            let bytes = program.bytes(self.ptx_size, self.ptx)?;
            let text = CStr::from_bytes_until_nul(&bytes)
                .map_err(|_| "the PTX is not NUL-terminated")?
                .to_string_lossy()
                .into_owned();
            Ok(Image::Ptx(text))
        }
    }

    /// The kernels of `source` for compute capability `cc`: a cubin for `sm_XY` when this NVRTC
    /// knows the architecture, else PTX for the newest virtual architecture it knows that the
    /// device runs (the driver compiles it further). Floating-point contraction is off
    /// (`--fmad=false`): each elementwise step rounds like the CPU's, and the symmetric pair
    /// kernels give exactly symmetric results. Returns the image and how it was made.
    pub fn compile_kernels(&self, source: &str, cc: (i32, i32)) -> Result<(Image, String), String> {
        let common = ["--fmad=false".to_owned(), "--std=c++14".to_owned()];
        let with = |arch: String| -> Vec<String> { common.iter().cloned().chain([arch]).collect() };
        let sm = format!("sm_{}{}", cc.0, cc.1);
        match self.compile(
            source,
            "corml_kernels.cu",
            &with(format!("--gpu-architecture={sm}")),
            true,
        ) {
            Ok(image) => Ok((image, format!("a cubin for {sm}, by {}", self.describe()))),
            Err(cubin_error) => {
                let compute = format!("compute_{}{}", cc.0, cc.1);
                self.compile(
                    source,
                    "corml_kernels.cu",
                    &with(format!("--gpu-architecture={compute}")),
                    false,
                )
                .or_else(|_| self.compile(source, "corml_kernels.cu", &common, false))
                .map(|image| {
                    (
                        image,
                        format!(
                            "PTX for the driver to compile ({} has no {sm}: {cubin_error})",
                            self.describe()
                        ),
                    )
                })
            }
        }
    }
}

/// Loads the builtins library of NVRTC `version` from `dir` (`libnvrtc-builtins.so.13.0`,
/// `nvrtc-builtins64_130.dll`): NVRTC opens it by its bare name while compiling, which the
/// loader finds only if it is already loaded or on the loader's path.
fn builtins_in(dir: &Path, version: (i32, i32)) -> Option<libloading::Library> {
    let names = [
        format!("libnvrtc-builtins.so.{}.{}", version.0, version.1),
        format!("nvrtc-builtins64_{}{}.dll", version.0, version.1),
    ];
    names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .and_then(|path| {
            // SAFETY: loading the builtins runs only their initialisers; they stay loaded as long as
            // the NVRTC that needs them.
            unsafe { libloading::Library::new(&path) }.ok()
        })
}

/// Destroys a program when it goes out of scope.
struct ProgramGuard<'a> {
    program: Program,
    nvrtc: &'a Nvrtc,
}

impl ProgramGuard<'_> {
    /// One of the program's outputs (log, cubin or PTX) through its size and copy functions.
    fn bytes(&self, size: SizeFn, copy: BytesFn) -> Result<Vec<u8>, String> {
        let mut n = 0usize;
        // SAFETY: `program` is live and `n` an out-pointer.
        if unsafe { size(self.program, &mut n) } != 0 {
            return Err("NVRTC could not report the output's size".to_owned());
        }
        let mut out = vec![0u8; n.max(1)];
        // SAFETY: `out` holds at least the `n` bytes NVRTC reported.
        if unsafe { copy(self.program, out.as_mut_ptr().cast()) } != 0 {
            return Err("NVRTC could not copy its output".to_owned());
        }
        out.truncate(n);
        Ok(out)
    }
}

impl Drop for ProgramGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the program was created by this NVRTC and is destroyed once.
        let _ = unsafe { (self.nvrtc.destroy)(&mut self.program) };
    }
}

/// The candidates for NVRTC: the names the loader finds by itself (cudarc's list, plus each
/// major we support), then every `libnvrtc.so.N` in `dirs`.
pub fn candidates(dirs: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = cudarc::get_lib_name_candidates("nvrtc");
    for major in ["13", "12"] {
        names.push(format!("libnvrtc.so.{major}"));
    }
    for dir in dirs {
        names.extend(files_in(dir).into_iter().map(|p| p.display().to_string()));
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// `libnvrtc.so.12`, `libnvrtc.so.13.0.48`, `nvrtc64_120_0.dll`, … in `dir`.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                (n.starts_with("libnvrtc.so.")
                    || (n.starts_with("nvrtc64_") && n.ends_with(".dll")))
                    && !n.contains("builtins")
            })
        })
        .collect();
    files.sort();
    files
}

/// Which of the NVRTC versions found a driver for CUDA `driver` can use: the newest whose major
/// is at most the driver's (a cubin of an older major loads on a newer driver; one of a newer
/// major does not). `None` when none can.
pub fn choose(driver: (i32, i32), found: &[(i32, i32)]) -> Option<usize> {
    found
        .iter()
        .enumerate()
        .filter(|(_, v)| v.0 <= driver.0)
        .max_by_key(|(_, v)| **v)
        .map(|(i, _)| i)
}

/// Every NVRTC among the candidates that loads, with its version (duplicates by version
/// dropped: the loader's own copy first).
pub fn discover(dirs: &[PathBuf]) -> Vec<Nvrtc> {
    let mut found: Vec<Nvrtc> = Vec::new();
    for name in candidates(dirs) {
        if let Some(nvrtc) = Nvrtc::load(&name) {
            if !found.iter().any(|f| f.version == nvrtc.version) {
                found.push(nvrtc);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_nvrtc_the_driver_can_run_is_chosen() {
        let found = [(13, 0), (12, 4), (12, 8), (11, 8)];
        // A CUDA 12.4 driver: NVRTC 12.8's cubin loads (minor-version compatibility), 13 does not.
        assert_eq!(choose((12, 4), &found), Some(2));
        assert_eq!(choose((13, 1), &found), Some(0));
        assert_eq!(choose((12, 0), &[(13, 0)]), None);
        assert_eq!(choose((12, 0), &[]), None);
    }

    #[test]
    fn candidates_include_each_supported_major_and_the_directories() {
        let dir = std::env::temp_dir().join(format!("corml-nvrtc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "libnvrtc.so.12",
            "libnvrtc.so.13.0.48",
            "libnvrtc-builtins.so.13.0",
            "libcublas.so.13",
        ] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let names = candidates(std::slice::from_ref(&dir));
        assert!(names.contains(&"libnvrtc.so.12".to_owned()));
        assert!(names.contains(&"libnvrtc.so.13".to_owned()));
        let local: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with(&dir.display().to_string()))
            .collect();
        assert_eq!(local.len(), 2, "{local:?}");
        assert!(local.iter().all(|n| !n.contains("builtins")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
