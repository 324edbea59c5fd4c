//! Parallel extraction of a validated plan. Invariant: every planned file is claimed by exactly one worker,
//! the result is the same sorted tree a single thread would produce, the first error stops every worker
//! before its next file and is the one returned, and `progress` runs only on the calling thread and adds up to
//! the bytes written.
//!
//! The files are cut into one contiguous run per worker, balanced by bytes plus a per-file cost (creating a
//! file costs far more than writing a small one). Each worker takes files from the front of its own run, so
//! workers stay apart in the archive and in the directory tree: creating a file locks its directory, so workers
//! sharing one directory would queue behind each other (measured: no gain over one thread), while workers in
//! different directories create in parallel. A worker whose run is done takes files from the back of the
//! others' runs. The calling thread is worker 0 and reports progress after each chunk it writes and once more
//! after every worker has finished.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;

use zip::ZipArchive;

use super::FileEntry;
use super::plan::Plan;
use super::reader::ArchiveReader;
use super::write::{BUF_SIZE, extract_file, make_dirs};
use crate::error::{Error, Result};
use crate::events::Cancel;

/// Most workers, the calling thread included.
const MAX_WORKERS: usize = 4;
/// Archives with fewer files than this are written by the calling thread alone.
const MIN_PARALLEL_FILES: usize = 64;
/// Archives with fewer bytes than this are written by the calling thread alone.
const MIN_PARALLEL_BYTES: u64 = 1 << 20;
/// What creating one file weighs, in bytes written, when runs are balanced.
const FILE_COST: u64 = 64 * 1024;

/// How many workers extract `plan`: one for a small archive, else one per core, at most `MAX_WORKERS`.
fn worker_count(plan: &Plan, cores: usize) -> usize {
    let bytes: u64 = plan.files.iter().map(|f| f.size).fold(0, u64::saturating_add);
    if plan.files.len() < MIN_PARALLEL_FILES || bytes < MIN_PARALLEL_BYTES {
        return 1;
    }
    cores.clamp(1, MAX_WORKERS)
}

/// The runs of plan indices still to write, one per worker.
struct Runs(Vec<Mutex<Range<usize>>>);

impl Runs {
    /// Cuts `0..weights.len()` into `workers` contiguous runs of about equal total weight.
    fn split(weights: &[u64], workers: usize) -> Runs {
        let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
        let workers = workers.max(1);
        let mut runs = Vec::with_capacity(workers);
        let (mut start, mut acc) = (0usize, 0u128);
        for (i, &w) in weights.iter().enumerate() {
            acc += u128::from(w);
            // Close the current run once it holds its share of the weight.
            let share = total * (runs.len() as u128 + 1) / workers as u128;
            if runs.len() + 1 < workers && acc >= share {
                runs.push(Mutex::new(start..i + 1));
                start = i + 1;
            }
        }
        runs.push(Mutex::new(start..weights.len()));
        while runs.len() < workers {
            runs.push(Mutex::new(weights.len()..weights.len()));
        }
        Runs(runs)
    }

    /// The next index for worker `me`: the front of its own run, else the back of another worker's.
    fn claim(&self, me: usize) -> Option<usize> {
        let n = self.0.len();
        (0..n).find_map(|k| {
            let mut run = self.0[(me + k) % n].lock().unwrap_or_else(PoisonError::into_inner);
            if k == 0 { run.next() } else { run.next_back() }
        })
    }
}

/// What the workers share.
struct Shared<'a> {
    archive: &'a ZipArchive<ArchiveReader>,
    staging: &'a Path,
    plan: &'a Plan,
    cancel: &'a Cancel,
    runs: Runs,
    /// Set on the first error (or a worker's panic): every worker stops before its next file.
    stop: AtomicBool,
    /// The first error; later ones are consequences or races and are dropped.
    error: Mutex<Option<Error>>,
    /// Bytes written so far, by all workers.
    written: AtomicU64,
}

impl Shared<'_> {
    fn fail(&self, err: Error) {
        let mut slot = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(err);
        }
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Stops the other workers if the worker holding it unwinds.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

/// Hands the bytes written so far to the caller's `progress`, as increments.
struct Reporter<'p> {
    progress: &'p mut dyn FnMut(u64),
    reported: u64,
}

impl Reporter<'_> {
    fn report(&mut self, written: &AtomicU64) {
        let now = written.load(Ordering::SeqCst);
        if now > self.reported {
            (self.progress)(now - self.reported);
            self.reported = now;
        }
    }
}

/// One worker: writes claimed files until none is left, an error happens anywhere, or the caller cancels.
/// Returns the files it wrote; `reporter` is given only to the worker running on the calling thread.
fn work(me: usize, shared: &Shared<'_>, mut reporter: Option<&mut Reporter<'_>>) -> Vec<FileEntry> {
    let _guard = StopOnPanic(&shared.stop);
    let mut archive = shared.archive.clone();
    let mut buf = vec![0u8; BUF_SIZE];
    let mut done = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        if let Err(err) = shared.cancel.check() {
            shared.fail(err);
            break;
        }
        let Some(index) = shared.runs.claim(me) else { break };
        let Some(planned) = shared.plan.files.get(index) else { break };
        let result = extract_file(&mut archive, shared.staging, planned, &mut buf, &mut |n| {
            shared.written.fetch_add(n, Ordering::SeqCst);
            if let Some(reporter) = reporter.as_deref_mut() {
                reporter.report(&shared.written);
            }
        });
        match result {
            Ok(entry) => done.push(entry),
            Err(err) => {
                shared.fail(err);
                break;
            }
        }
    }
    done
}

/// Creates the plan's directories, then writes its files with up to `MAX_WORKERS` workers (the calling thread
/// is one of them). Returns the tree sorted by path.
pub(super) fn extract(
    archive: &ZipArchive<ArchiveReader>,
    staging: &Path,
    plan: &Plan,
    cancel: &Cancel,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<FileEntry>> {
    make_dirs(staging, plan)?;
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let workers = worker_count(plan, cores);
    let weights: Vec<u64> = plan.files.iter().map(|f| f.size.saturating_add(FILE_COST)).collect();
    let shared = Shared {
        archive,
        staging,
        plan,
        cancel,
        runs: Runs::split(&weights, workers),
        stop: AtomicBool::new(false),
        error: Mutex::new(None),
        written: AtomicU64::new(0),
    };
    let mut reporter = Reporter { progress, reported: 0 };
    let mut tree = Vec::with_capacity(plan.files.len());
    thread::scope(|scope| {
        let shared = &shared;
        // A worker that cannot be started leaves its run to the others, who take from the back of it.
        let helpers: Vec<_> = (1..workers)
            .filter_map(|me| {
                thread::Builder::new()
                    .name(format!("airlock-unpack-{me}"))
                    .spawn_scoped(scope, move || work(me, shared, None))
                    .ok()
            })
            .collect();
        tree.extend(work(0, shared, Some(&mut reporter)));
        for helper in helpers {
            match helper.join() {
                Ok(files) => tree.extend(files),
                Err(_) => shared.fail(Error::Storage(
                    "an extraction worker stopped unexpectedly; retry the install, and report it if it repeats"
                        .to_owned(),
                )),
            }
        }
    });
    reporter.report(&shared.written);
    if let Some(err) = shared.error.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(err);
    }
    tree.sort_unstable();
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::plan::Planned;

    fn plan_of(sizes: &[u64]) -> Plan {
        Plan {
            files: sizes
                .iter()
                .enumerate()
                .map(|(index, &size)| Planned { index, path: format!("f{index}"), size })
                .collect(),
        }
    }

    #[test]
    fn small_archives_are_written_by_the_calling_thread_alone() {
        assert_eq!(worker_count(&plan_of(&[1 << 20; 63]), 8), 1, "too few files");
        assert_eq!(worker_count(&plan_of(&[100; 2000]), 8), 1, "too few bytes");
        assert_eq!(worker_count(&plan_of(&[15_000; 2000]), 2), 2);
        assert_eq!(worker_count(&plan_of(&[15_000; 2000]), 16), 4, "at most four workers");
        assert_eq!(worker_count(&plan_of(&[15_000; 2000]), 0), 1, "at least one");
    }

    #[test]
    fn runs_cover_every_index_once_balanced_by_weight() {
        let weights: Vec<u64> = (0..1000).map(|i| if i < 100 { 1_000_000 } else { 1 }).collect();
        let runs = Runs::split(&weights, 4);
        let ranges: Vec<Range<usize>> = runs.0.iter().map(|r| r.lock().unwrap().clone()).collect();
        assert_eq!(ranges.first().unwrap().start, 0);
        assert_eq!(ranges.last().unwrap().end, 1000);
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start), "{ranges:?}");
        // The heavy front is spread over several runs.
        assert!(ranges[0].end <= 26, "{ranges:?}");
        for workers in [1, 2, 3, 4] {
            let runs = Runs::split(&[5; 3], workers);
            assert_eq!(runs.0.len(), workers);
            let mut all: Vec<usize> = std::iter::from_fn(|| runs.claim(0)).collect();
            all.sort_unstable();
            assert_eq!(all, vec![0, 1, 2]);
        }
    }

    #[test]
    fn concurrent_claims_hand_out_each_index_exactly_once() {
        let runs = &Runs::split(&vec![7u64; 5000], 4);
        let mut all: Vec<usize> = thread::scope(|s| {
            let handles: Vec<_> =
                (0..4).map(|me| s.spawn(move || std::iter::from_fn(|| runs.claim(me)).collect::<Vec<_>>())).collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        all.sort_unstable();
        assert_eq!(all, (0..5000).collect::<Vec<_>>());
    }
}
