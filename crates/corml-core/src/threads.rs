//! Where the CPU work runs. Long work (training, evaluation) runs in a rayon pool of its own,
//! whose threads run at a lower OS priority where the OS sets it per thread (Linux: `nice` 10).
//! Scoring (`recommend`, batches) runs on the caller's thread and rayon's global pool. So a
//! request is never queued behind a training task, and when both want the CPU the scheduler gives
//! it to the request; when nothing is being served, training has every core.
//!
//! ```
//! use corml_core::threads;
//!
//! let pool = threads::long_work_pool(Some(2)).unwrap();
//! assert_eq!(pool.install(rayon::current_num_threads), 2);
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};

/// The environment variable that sets the default number of threads of long work.
pub const THREADS_ENV: &str = "CORML_THREADS";

/// The `nice` increment of long work's threads on Linux: a request's thread outweighs one of
/// them about ten to one.
pub const LONG_WORK_NICE: i32 = 10;

/// 0: not set (all cores, or [`THREADS_ENV`]).
static DEFAULT_THREADS: AtomicUsize = AtomicUsize::new(0);

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Sets the number of threads long work uses when it is not given one (`0` restores the
/// default: [`THREADS_ENV`], else every core).
pub fn set_default_threads(threads: usize) -> Result<()> {
    check(threads, "the default number of threads")?;
    DEFAULT_THREADS.store(threads, Ordering::Relaxed);
    Ok(())
}

/// The number of threads long work uses when it is not given one.
pub fn default_threads() -> usize {
    match DEFAULT_THREADS.load(Ordering::Relaxed) {
        0 => std::env::var(THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| (1..=MAX_THREADS).contains(&n))
            .unwrap_or_else(cores),
        n => n,
    }
}

/// The most threads a pool may have.
pub const MAX_THREADS: usize = 1024;

fn check(threads: usize, what: &str) -> Result<()> {
    if threads > MAX_THREADS {
        return Err(Error::invalid(format!(
            "{what} = {threads} is out of range: it must be at most {MAX_THREADS} (0 for the default)"
        )));
    }
    Ok(())
}

/// The pool long work of `threads` threads runs in (the default when `None`), made once per
/// size and kept for the life of the process.
pub fn long_work_pool(threads: Option<usize>) -> Result<Arc<rayon::ThreadPool>> {
    let n = match threads {
        Some(0) | None => default_threads(),
        Some(n) => {
            check(n, "threads")?;
            n
        }
    };
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| Error::invalid("the thread-pool table is poisoned"))?;
    if let Some(pool) = pools.get(&n) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("corml-work-{i}"))
        .start_handler(|_| lower_priority())
        .build()
        .map_err(|e| Error::invalid(format!("cannot start {n} threads: {e}")))?;
    let pool = Arc::new(pool);
    pools.insert(n, pool.clone());
    Ok(pool)
}

/// Lowers the calling thread's scheduling priority by [`LONG_WORK_NICE`] (Linux only: elsewhere
/// a thread's priority is not set this way, and long work keeps the normal one).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `gettid` has no preconditions; `setpriority` on one's own thread id changes
        // only this thread's nice value (raising it needs no privilege).
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, LONG_WORK_NICE);
        }
    }
}

/// The calling thread's nice value (Linux; `None` elsewhere), for tests and diagnostics.
pub fn current_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: as in `lower_priority`; `errno` is cleared first, since -1 is a valid result.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            *libc::__errno_location() = 0;
            let nice = libc::getpriority(libc::PRIO_PROCESS, tid);
            (*libc::__errno_location() == 0).then_some(nice)
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_have_their_size_and_run_below_the_callers_priority() {
        let pool = long_work_pool(Some(3)).unwrap();
        assert_eq!(pool.install(rayon::current_num_threads), 3);
        assert!(Arc::ptr_eq(&pool, &long_work_pool(Some(3)).unwrap()));
        if let (Some(mine), Some(theirs)) = (current_nice(), pool.install(current_nice)) {
            assert_eq!(theirs, (mine + LONG_WORK_NICE).min(19));
        }
        assert!(long_work_pool(Some(MAX_THREADS + 1)).is_err());
    }

    #[test]
    fn the_default_follows_the_setting() {
        assert!(default_threads() >= 1);
        set_default_threads(2).unwrap();
        assert_eq!(default_threads(), 2);
        assert_eq!(long_work_pool(None).unwrap().current_num_threads(), 2);
        set_default_threads(0).unwrap();
        assert!(set_default_threads(MAX_THREADS + 1).is_err());
    }
}
