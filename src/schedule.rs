//! Which trials start first, and how many run at once.
//!
//! A trial mostly waits: on a replayed stream's recorded schedule, on the
//! replay server, on a python interpreter it started. So the run's wall time is
//! bounded below by its longest trial, and one worker per core leaves the cores
//! idle while trials wait. This module estimates each trial's [`Cost`] from
//! what the plan already knows (the recorded stream delays of the cassettes
//! its step will be served, the start-up of its client), orders trials longest
//! first, so the longest never starts last, and picks a default number of test
//! threads that keeps the cores busy:
//!
//! ```text
//! threads = ceil(cores / busy), clamped to [cores, max(cores, min(4 × cores, 16))]
//! ```
//!
//! where `busy` is the share of the summed cost that keeps a core busy (client
//! start-up) rather than waiting (stream delays). The bound keeps a run of
//! CPU-heavy client start-ups from thrashing and a large catalog from opening
//! hundreds of replay servers at once. On 2 cores the bound is 8; the bundled
//! labs get 6, which ran them in 0.94 × the wall time of 64 threads and 0.6 ×
//! that of one per core (benches/parallelism.rs, docs/benchmarks.md). Record
//! and live runs keep one thread per core (see [`apply`]). `--test-threads`
//! given by the user always wins.
//!
//! libtest-mimic runs trials in the order given, each worker of its pool taking
//! the next one from a shared iterator (`libtest_mimic::run`, 0.8), which is
//! what makes the order matter.

use std::cmp::Reverse;
use std::time::Duration;

use libtest_mimic::Arguments;

use crate::cassette::CassetteSet;
use crate::ids::ClientId;
use crate::mode::Mode;
use crate::spec::lab::Step;

/// Most threads the default gives per core.
pub const THREADS_PER_CORE: usize = 4;
/// Most threads the default gives, however many cores.
pub const MAX_DEFAULT_THREADS: usize = 16;

/// The estimated wall time of one trial, split by what it spends it on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cost {
    /// Time a core is busy: starting the client (an interpreter, imports).
    pub busy: Duration,
    /// Time spent waiting: the recorded delays of the streams served.
    pub waiting: Duration,
}

impl Cost {
    /// The whole estimate.
    pub fn total(self) -> Duration {
        self.busy.saturating_add(self.waiting)
    }
}

/// CPU time (user + sys) one start of `client` keeps a core busy: its
/// interpreter, imports and a client object, measured with `/usr/bin/time`
/// on the provisioned clients (`aws --version`; `python -c "import boto3;
/// boto3.client('bedrock-runtime', …)"`; 2-core machine, median of 3). Only
/// the ratios matter for scheduling, so rough figures do.
pub fn start_up(client: ClientId) -> Duration {
    match client {
        ClientId::AwsCliV1 => Duration::from_millis(650),
        ClientId::AwsCliV2 => Duration::from_millis(1000),
        ClientId::Boto3 => Duration::from_millis(550),
        // In process: a runtime and a client.
        ClientId::RustSdk => Duration::from_millis(20),
        // Kernel start-up (about 1 s) plus the driver's imports.
        ClientId::Kernel => Duration::from_millis(1500),
    }
}

/// The cost of running `step` under `client` against `cassettes` replayed at
/// `speed` (the factor on recorded delays: 1 = as recorded, 0 = none).
///
/// Each interaction the step must be served counts with the longest stream
/// recorded for its operation and model (a playground pair or a body the plan
/// does not resolve may pick any of them; the longest is the safe guess).
/// Without cassettes (a lab whose cassettes failed to load, live mode) only
/// the start-up counts.
pub fn trial_cost(
    step: &Step,
    client: ClientId,
    cassettes: Option<&CassetteSet>,
    speed: f64,
) -> Cost {
    let mut waiting = Duration::ZERO;
    if let Some(set) = cassettes {
        for want in &step.expect.served {
            let longest = set
                .interactions()
                .filter(|(_, _, it)| it.request.operation.as_str() == want.operation)
                .filter(|(_, _, it)| {
                    want.model
                        .as_ref()
                        .is_none_or(|m| &it.request.model_id == m)
                })
                .map(|(_, _, it)| recorded_delay(&it.response))
                .max()
                .unwrap_or_default();
            let count = u32::try_from(want.count).unwrap_or(u32::MAX);
            waiting = waiting.saturating_add(longest.saturating_mul(count));
        }
    }
    Cost {
        busy: start_up(client),
        waiting: scale(waiting, speed),
    }
}

/// The sum of a response's recorded stream delays (zero for a plain body).
fn recorded_delay(response: &crate::cassette::RecordedResponse) -> Duration {
    let ms = response
        .stream
        .iter()
        .flatten()
        .fold(0u64, |sum, event| sum.saturating_add(event.delay_ms));
    Duration::from_millis(ms)
}

/// `d × speed`, saturating: a huge factor is a long wait, never a panic.
fn scale(d: Duration, speed: f64) -> Duration {
    if !(speed.is_finite() && speed > 0.0) {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(d.as_secs_f64() * speed).unwrap_or(Duration::MAX)
}

/// Sorts `trials` longest first; trials of equal cost keep their order.
pub fn longest_first<T>(trials: &mut [T], cost: impl Fn(&T) -> Cost) {
    trials.sort_by_cached_key(|t| Reverse(cost(t).total()));
}

/// The default number of test threads for trials of these costs on `cores`
/// cores (see the module doc for the rule).
pub fn default_threads(costs: impl IntoIterator<Item = Cost>, cores: usize) -> usize {
    let cores = cores.max(1);
    let ceiling = (cores * THREADS_PER_CORE)
        .min(MAX_DEFAULT_THREADS)
        .max(cores);
    let (mut busy, mut total) = (Duration::ZERO, Duration::ZERO);
    for c in costs {
        busy = busy.saturating_add(c.busy);
        total = total.saturating_add(c.total());
    }
    if busy.is_zero() {
        // Nothing keeps a core busy (or no trials): waiting is all there is.
        return if total.is_zero() { cores } else { ceiling };
    }
    let wanted = (cores as f64 * total.as_secs_f64() / busy.as_secs_f64()).ceil();
    // `wanted` is finite and >= cores here; the cast saturates.
    (wanted as usize).clamp(cores, ceiling)
}

/// The machine's cores, as libtest would count them.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Applies the schedule to a run: orders `trials` longest first and returns
/// `args` with the default thread count when the user gave none. Listing
/// (`--list`) keeps the plan's order and the user's arguments.
///
/// Only replay gets more threads than cores: in record and live modes the
/// waiting is real Bedrock's, under per-account request quotas, so those keep
/// libtest's one thread per core. The thread count is judged on every planned
/// trial, also those a filter leaves out (a rough figure either way).
pub fn apply<T>(
    args: &Arguments,
    mode: Mode,
    trials: &mut [T],
    cost: impl Fn(&T) -> Cost,
) -> Arguments {
    let mut args = args.clone();
    if args.list {
        return args;
    }
    longest_first(trials, &cost);
    if args.test_threads.is_none() && mode == Mode::Replay {
        args.test_threads = Some(default_threads(trials.iter().map(&cost), cores()));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn cost(busy: u64, waiting: u64) -> Cost {
        Cost {
            busy: ms(busy),
            waiting: ms(waiting),
        }
    }

    #[test]
    fn a_step_costs_the_recorded_delays_of_what_it_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("labs")
            .join("4.1-invoke-fm-via-bedrock");
        let lab = crate::spec::load_lab(&dir).expect("the seed lab loads");
        let set = CassetteSet::load_dir(&lab.cassettes).expect("its cassettes load");
        let step = |id: &str| {
            lab.steps
                .iter()
                .find(|s| s.id.to_string() == id)
                .unwrap_or_else(|| panic!("no step `{id}`"))
        };
        // invoke-stream.json: 3705 ms of recorded delays in all.
        let stream = trial_cost(step("python-stream"), ClientId::Boto3, Some(&set), 1.0);
        assert_eq!(stream.waiting, ms(3705));
        assert_eq!(stream.busy, start_up(ClientId::Boto3));
        let halved = trial_cost(step("python-stream"), ClientId::Boto3, Some(&set), 0.5);
        assert_eq!(halved.waiting, Duration::from_micros(1_852_500));
        // A plain body waits on nothing recorded; without cassettes nothing counts.
        let plain = trial_cost(step("python-invoke"), ClientId::Boto3, Some(&set), 1.0);
        assert_eq!(plain.waiting, Duration::ZERO);
        let unloaded = trial_cost(step("python-stream"), ClientId::Boto3, None, 1.0);
        assert_eq!(unloaded.waiting, Duration::ZERO);
        // The streamed steps sort before the rest.
        let mut ids = vec!["python-invoke", "sdk-converse-stream", "python-stream"];
        longest_first(&mut ids, |id| {
            let client = step(id).clients[0];
            trial_cost(step(id), client, Some(&set), 1.0)
        });
        assert_eq!(
            ids,
            ["python-stream", "sdk-converse-stream", "python-invoke"]
        );
    }

    #[test]
    fn longest_first_keeps_plan_order_among_equals() {
        let mut trials = vec![("a", 1), ("b", 3), ("c", 1), ("d", 2), ("e", 3)];
        longest_first(&mut trials, |t| cost(0, t.1));
        let names: Vec<&str> = trials.iter().map(|t| t.0).collect();
        assert_eq!(names, ["b", "e", "d", "a", "c"]);
    }

    #[test]
    fn cpu_bound_trials_get_one_thread_per_core() {
        assert_eq!(default_threads([cost(500, 0), cost(800, 0)], 2), 2);
    }

    #[test]
    fn waiting_trials_get_more_threads_than_cores() {
        // A third busy: three times the cores.
        assert_eq!(default_threads([cost(100, 200), cost(100, 200)], 2), 6);
    }

    #[test]
    fn the_default_is_bounded() {
        let waiting = [cost(1, 10_000)];
        assert_eq!(default_threads(waiting, 2), 2 * THREADS_PER_CORE);
        assert_eq!(default_threads(waiting, 8), MAX_DEFAULT_THREADS);
        // Many cores: one per core, never fewer.
        assert_eq!(default_threads(waiting, 64), 64);
        // Only waiting: the ceiling; nothing at all: one per core.
        assert_eq!(default_threads([cost(0, 5)], 2), 2 * THREADS_PER_CORE);
        assert_eq!(default_threads([], 3), 3);
        assert_eq!(default_threads([cost(1, 1)], 32), 32);
        assert_eq!(default_threads([cost(5, 0)], 0), 1);
    }

    #[test]
    fn speed_scales_waiting_without_overflow() {
        assert_eq!(scale(ms(1000), 0.5), ms(500));
        assert_eq!(scale(ms(1000), 0.0), Duration::ZERO);
        assert_eq!(scale(ms(1000), f64::NAN), Duration::ZERO);
        assert_eq!(scale(ms(1000), 1e300), Duration::MAX);
        assert_eq!(
            Cost {
                busy: Duration::MAX,
                waiting: ms(1)
            }
            .total(),
            Duration::MAX
        );
    }

    #[test]
    fn user_threads_win_and_listing_keeps_the_order() {
        let mut trials = vec![1u64, 3, 2];
        let args = Arguments {
            test_threads: Some(64),
            ..Arguments::default()
        };
        let applied = apply(&args, Mode::Replay, &mut trials, |&t| cost(10, t));
        assert_eq!(applied.test_threads, Some(64));
        assert_eq!(trials, [3, 2, 1]);

        let listing = Arguments {
            list: true,
            ..Arguments::default()
        };
        let mut trials = vec![1u64, 3, 2];
        let applied = apply(&listing, Mode::Replay, &mut trials, |&t| cost(10, t));
        assert_eq!(applied.test_threads, None);
        assert_eq!(trials, [1, 3, 2]);

        let mut trials = vec![1u64, 3, 2];
        let applied = apply(&Arguments::default(), Mode::Replay, &mut trials, |&t| {
            cost(10, t)
        });
        assert!(applied.test_threads.is_some_and(|n| n >= cores()));
        assert_eq!(trials, [3, 2, 1]);

        // Against real Bedrock: longest first still, libtest's thread default.
        let mut trials = vec![1u64, 3, 2];
        let applied = apply(&Arguments::default(), Mode::Record, &mut trials, |&t| {
            cost(10, t)
        });
        assert_eq!(applied.test_threads, None);
        assert_eq!(trials, [3, 2, 1]);
    }
}
