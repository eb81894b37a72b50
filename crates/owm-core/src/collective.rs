//! The seam for training across processes: a [`Collective`] is the group of processes (ranks) that run one
//! training run together, and the one operation they share, an element-wise sum.
//!
//! Every rank runs the same seeded run: the same initial weights, the same data order, the same optimiser
//! state. They differ only in which items of a batch, or which candidates of a population, each one
//! computes; the all-reduces of each step make the results whole again on every rank, so every rank applies
//! the same update and the weights stay identical without ever being sent. Rank 0 writes the run's files.
//!
//! Gradients travel as `f32` in buckets ([`Collective::start_all_reduce`], PyTorch's `async_op` work handle):
//! a rank starts summing one bucket and reads the next back from its tensors while the ranks add the first
//! up. Small exchanges that must keep `f64` (a population's fitnesses) take [`Collective::all_reduce_sum`].
//!
//! OWM's implementations: [`Solo`] (one process, nothing exchanged), [`ThreadGroup`] (ranks as threads of
//! one process, for tests and for checking a distributed run's arithmetic without a launcher), and
//! `owm_train::mpi::Mpi` (the ranks `mpirun` launched, behind `owm-train`'s `mpi` feature).

use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex};

use crate::{Error, Result};

/// A group of ranks that run one training run together.
pub trait Collective: Send + Sync + std::fmt::Debug {
    /// This process's place in the group, from 0.
    fn rank(&self) -> usize;

    /// Ranks in the group.
    fn world(&self) -> usize;

    /// Replaces `values` on every rank by their element-wise sum over all ranks; every rank passes a buffer
    /// of the same length and gets the same bits back. Blocks until every rank has called it.
    ///
    /// # Errors
    ///
    /// [`Error::Collective`] when the group is broken (a rank died, lengths disagree).
    fn all_reduce_sum(&self, values: &mut [f64]) -> Result<()>;

    /// Starts summing one bucket of `f32` values over every rank and returns without waiting for it; every
    /// rank starts the same buckets, of the same lengths, in the same order, and [`Reduction::wait`] gives
    /// each the same bits. The default sums at once through [`Collective::all_reduce_sum`] (widened to `f64`,
    /// rounded once at the end).
    ///
    /// # Errors
    ///
    /// [`Error::Collective`] when the group is broken, here or in [`Reduction::wait`].
    fn start_all_reduce(&self, values: Vec<f32>) -> Result<Reduction> {
        let mut wide: Vec<f64> = values.into_iter().map(f64::from).collect();
        self.all_reduce_sum(&mut wide)?;
        Ok(Reduction::done(wide.into_iter().map(|v| v as f32).collect()))
    }
}

/// A sum that [`Collective::start_all_reduce`] started: the ranks add it up while the caller goes on.
pub struct Reduction(Box<dyn FnOnce() -> Result<Vec<f32>> + Send>);

impl Reduction {
    /// A sum known already.
    pub fn done(sum: Vec<f32>) -> Self {
        Self(Box::new(move || Ok(sum)))
    }

    /// A sum that `wait` blocks for (a reply from the thread that talks to the other ranks).
    pub fn later(wait: impl FnOnce() -> Result<Vec<f32>> + Send + 'static) -> Self {
        Self(Box::new(wait))
    }

    /// Blocks until every rank has added its bucket in; the sum.
    ///
    /// # Errors
    ///
    /// [`Error::Collective`] when the group broke before the sum arrived.
    pub fn wait(self) -> Result<Vec<f32>> {
        (self.0)()
    }
}

impl std::fmt::Debug for Reduction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reduction")
    }
}

/// The items `[start, end)` of `n` that rank `rank` of `world` takes: contiguous, in rank order, sizes
/// differing by at most one.
pub fn shard(n: usize, rank: usize, world: usize) -> Range<usize> {
    let world = world.max(1);
    (n * rank / world)..(n * (rank + 1) / world)
}

/// One process alone: the sum is the values themselves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Solo;

impl Collective for Solo {
    fn rank(&self) -> usize {
        0
    }

    fn world(&self) -> usize {
        1
    }

    fn all_reduce_sum(&self, _values: &mut [f64]) -> Result<()> {
        Ok(())
    }

    fn start_all_reduce(&self, values: Vec<f32>) -> Result<Reduction> {
        Ok(Reduction::done(values))
    }
}

/// Ranks as threads of one process, summing in rank order (the same bits on every rank and every run).
#[derive(Debug)]
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    world: usize,
    state: Mutex<Round>,
    turn: Condvar,
}

/// One all-reduce in progress: each rank's buffer as it arrives, then the sum they all read.
#[derive(Debug, Default)]
struct Round {
    /// Rounds completed; a rank waits for its own round's sum.
    done: u64,
    arrived: Vec<Option<Vec<f64>>>,
    sum: Arc<Vec<f64>>,
    /// Ranks that have read the completed round's sum (the next round starts when all have).
    read: usize,
    broken: Option<String>,
}

impl ThreadGroup {
    /// `world` members, one per rank, to move into `world` threads.
    pub fn new(world: usize) -> Vec<ThreadGroup> {
        let world = world.max(1);
        let round = Round { arrived: vec![None; world], read: world, ..Round::default() };
        let shared = Arc::new(Shared { world, state: Mutex::new(round), turn: Condvar::new() });
        (0..world).map(|rank| ThreadGroup { rank, shared: shared.clone() }).collect()
    }
}

impl Drop for ThreadGroup {
    /// A member dropped before the others (its thread failed) breaks the group, so they stop waiting.
    fn drop(&mut self) {
        if let Ok(mut round) = self.shared.state.lock() {
            if Arc::strong_count(&self.shared) > 1 && round.broken.is_none() {
                round.broken = Some(format!("rank {} left the group", self.rank));
            }
            self.shared.turn.notify_all();
        }
    }
}

impl Collective for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world(&self) -> usize {
        self.shared.world
    }

    fn all_reduce_sum(&self, values: &mut [f64]) -> Result<()> {
        let broken = |why: &str| Error::Collective(format!("thread group, rank {}: {why}", self.rank));
        let mut round = self.shared.state.lock().map_err(|_| broken("a rank panicked"))?;
        // The previous round's sum must have been read by every rank before this one starts.
        while round.read < self.shared.world && round.broken.is_none() {
            round = self.shared.turn.wait(round).map_err(|_| broken("a rank panicked"))?;
        }
        if let Some(why) = &round.broken {
            return Err(broken(why));
        }
        let mine = round.done;
        round.arrived[self.rank] = Some(values.to_vec());
        if round.arrived.iter().all(Option::is_some) {
            let arrived = std::mem::replace(&mut round.arrived, vec![None; self.shared.world]);
            let lengths: Vec<usize> = arrived.iter().flatten().map(Vec::len).collect();
            if lengths.iter().any(|&l| l != values.len()) {
                round.broken = Some(format!("buffers of different lengths {lengths:?}"));
            } else {
                let mut sum = vec![0f64; values.len()];
                for buffer in arrived.iter().flatten() {
                    sum.iter_mut().zip(buffer).for_each(|(s, v)| *s += v);
                }
                round.sum = Arc::new(sum);
                round.done += 1;
                round.read = 0;
            }
            self.shared.turn.notify_all();
        }
        while round.done == mine && round.broken.is_none() {
            round = self.shared.turn.wait(round).map_err(|_| broken("a rank panicked"))?;
        }
        // A completed round is read even if a rank has left since (its last sum is still whole).
        if round.done == mine {
            return Err(broken(round.broken.as_deref().unwrap_or("the group broke")));
        }
        values.copy_from_slice(&round.sum);
        round.read += 1;
        self.shared.turn.notify_all();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_should_cover_every_item_once_in_rank_order() {
        for (n, world) in [(64, 1), (64, 3), (30, 4), (3, 4), (0, 2)] {
            let shards: Vec<Range<usize>> = (0..world).map(|r| shard(n, r, world)).collect();
            assert_eq!(shards.first().map(|s| s.start), Some(0));
            assert_eq!(shards.last().map(|s| s.end), Some(n));
            assert!(shards.windows(2).all(|w| w[0].end == w[1].start), "{shards:?}");
            assert!(shards.iter().all(|s| s.len() + 1 >= n / world && s.len() <= n.div_ceil(world)), "{shards:?}");
        }
    }

    #[test]
    fn a_thread_group_should_give_every_rank_the_same_sums_round_after_round() {
        let members = ThreadGroup::new(3);
        let results: Vec<Vec<Vec<f64>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = members
                .into_iter()
                .map(|m| {
                    scope.spawn(move || {
                        (0..50)
                            .map(|round| {
                                let mut v = vec![m.rank() as f64 + 0.1, round as f64, 1.0];
                                m.all_reduce_sum(&mut v).unwrap();
                                v
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (round, expected) in (0..50).map(|r| (r, vec![0.1 + 1.1 + 2.1, 3.0 * r as f64, 3.0])) {
            for rank in &results {
                assert_eq!(rank[round], expected, "round {round}");
            }
        }
    }

    #[test]
    fn a_rank_that_leaves_should_break_the_group_instead_of_hanging() {
        let mut members = ThreadGroup::new(2);
        let last = members.pop().unwrap();
        let first = members.pop().unwrap();
        let waiter = std::thread::spawn(move || first.all_reduce_sum(&mut [1.0]));
        drop(last);
        let err = waiter.join().unwrap().unwrap_err().to_string();
        assert!(err.contains("rank 1 left the group"), "{err}");
    }

    #[test]
    fn solo_should_leave_the_values_as_they_are() {
        let mut v = [1.5, -2.0];
        Solo.all_reduce_sum(&mut v).unwrap();
        assert_eq!((v, Solo.rank(), Solo.world()), ([1.5, -2.0], 0, 1));
        assert_eq!(Solo.start_all_reduce(vec![0.25, -3.0]).unwrap().wait().unwrap(), [0.25, -3.0]);
    }

    #[test]
    fn started_buckets_should_sum_in_order_across_ranks() {
        let value = |bucket: usize, rank: usize| bucket as f32 + 0.1 * (rank + 1) as f32;
        let members = ThreadGroup::new(2);
        let sums: Vec<Vec<Vec<f32>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = members
                .into_iter()
                .map(|m| {
                    scope.spawn(move || {
                        let started: Vec<Reduction> = (0..3).map(|b| m.start_all_reduce(vec![value(b, m.rank()); 1 + b]).unwrap()).collect();
                        started.into_iter().map(|r| r.wait().unwrap()).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(sums[0], sums[1]);
        // Two f32 values summed in f64 and rounded once: f32 addition's bits.
        let expected: Vec<Vec<f32>> = (0..3).map(|b| vec![value(b, 0) + value(b, 1); 1 + b]).collect();
        assert_eq!(sums[0], expected);
    }
}
