//! A small fuzzing harness on stable Rust, for the readers' fuzz targets (`#[cfg(test)]`
//! modules named `fuzz` beside each reader).
//!
//! Each target gets a seed corpus (`fuzz/corpus/<target>/`, valid files from real writers
//! plus crafted ones), then mutated inputs for a bounded time: byte flips, interesting
//! values (0, 0xff, lengths near 2^31/2^63), cut and spliced slices, repeated chunks. An
//! input is a failure when the target panics; a stack overflow aborts the test binary,
//! which CI reports as a failure too. A failing input is written to
//! `fuzz/crashes/<target>-<hash>` and the test fails naming it, so that it becomes a seed
//! and a regression test.
//!
//! Budget: `S3META_FUZZ_SECS` seconds per target (default 1; CI sets more),
//! `S3META_FUZZ_SEED` for the generator (default: from the clock, printed).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A xorshift64* generator: deterministic for a seed, no dependency.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced).
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next value.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The seed inputs of `target`: every file under `fuzz/corpus/<target>/`.
pub(crate) fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

const INTERESTING: &[&[u8]] = &[
    &[0],
    &[0xff],
    &[0x7f],
    &[0x80],
    &[0xff, 0xff, 0xff, 0x7f],
    &[0xff, 0xff, 0xff, 0xff],
    &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
    &[0, 0, 0, 0x80],
    b"\"",
    b",",
    b"\n",
    b"{",
    b"[",
    b"\xef\xbb\xbf",
];

/// One mutation of `input`, in place.
pub(crate) fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(8) {
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = rng.next_u64() as u8;
        }
        2 => {
            let v = INTERESTING[rng.below(INTERESTING.len())];
            let at = rng.below(len + 1);
            if rng.below(2) == 0 && at + v.len() <= len {
                input[at..at + v.len()].copy_from_slice(v);
            } else {
                input.splice(at..at, v.iter().copied());
            }
        }
        3 if len > 1 => {
            let at = rng.below(len);
            let n = rng.below((len - at).min(64)) + 1;
            input.drain(at..at + n);
        }
        4 if len > 0 => input.truncate(rng.below(len)),
        5 if len > 0 => {
            // A chunk repeated: long names, many fields, deep nesting.
            let at = rng.below(len);
            let n = rng.below((len - at).min(32)) + 1;
            let chunk = input[at..at + n].to_vec();
            let times = 1 + rng.below(64);
            for _ in 0..times {
                input.splice(at..at, chunk.iter().copied());
            }
        }
        6 if !seeds.is_empty() => {
            // Spliced with another seed.
            let other = &seeds[rng.below(seeds.len())];
            if !other.is_empty() {
                let from = rng.below(other.len());
                let at = rng.below(len + 1);
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
        }
        _ => {
            let at = rng.below(len + 1);
            let n = rng.below(16);
            for _ in 0..n {
                input.insert(at, rng.next_u64() as u8);
            }
        }
    }
}

/// What a fuzz run did.
#[derive(Debug)]
pub(crate) struct Report {
    /// Inputs tried (seeds included).
    pub(crate) executions: u64,
    /// Seconds spent.
    pub(crate) secs: f64,
}

fn budget() -> Duration {
    let secs = std::env::var("S3META_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs.max(0.0))
}

fn seed() -> u64 {
    std::env::var("S3META_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// Runs `target` on every seed of `fuzz/corpus/<name>/` and `extra_seeds`, then on
/// mutations of them until the time budget is spent. Panics (failing the test) on the
/// first input that makes `target` panic, after saving it under `fuzz/crashes/`.
pub(crate) fn run(name: &str, extra_seeds: Vec<Vec<u8>>, target: impl Fn(&[u8])) -> Report {
    let mut seeds = corpus(name);
    seeds.extend(extra_seeds);
    if seeds.is_empty() {
        seeds.push(vec![]);
    }
    let seed = seed();
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let limit = budget();
    let mut executions = 0u64;
    let check = |input: &[u8], executions: &mut u64| {
        *executions += 1;
        if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
            let path = save_crash(name, input);
            panic!(
                "fuzz target {name} panicked on an input saved as {} (S3META_FUZZ_SEED={seed})",
                path.display()
            );
        }
    };
    for s in &seeds {
        check(s, &mut executions);
    }
    while start.elapsed() < limit {
        let mut input = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut input, &seeds);
        }
        check(&input, &mut executions);
    }
    let report = Report {
        executions,
        secs: start.elapsed().as_secs_f64(),
    };
    eprintln!(
        "fuzz {name}: {} executions in {:.1} s, no crash (S3META_FUZZ_SEED={seed})",
        report.executions, report.secs
    );
    report
}

fn save_crash(name: &str, input: &[u8]) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut h);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/crashes");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{name}-{:016x}", h.finish()));
    let _ = std::fs::write(&path, input);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_deterministic_for_a_seed() {
        let seeds = vec![b"hello, world".to_vec()];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            let mut v = seeds[0].clone();
            for _ in 0..50 {
                mutate(&mut rng, &mut v, &seeds);
            }
            v
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    #[should_panic(expected = "fuzz target selftest panicked")]
    fn a_panicking_target_fails_and_saves_the_input() {
        run("selftest", vec![b"x".to_vec()], |b| {
            assert!(b != b"x", "found it");
        });
    }
}
