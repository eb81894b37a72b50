//! MPI: [`launched`] (always compiled, so a binary without MPI can refuse an `mpirun` launch) and, behind the
//! `mpi` feature, `Mpi`, the `owm_core::Collective` of the ranks `mpirun` launched (`MPI_COMM_WORLD`), through
//! the `mpi` crate and the system's MPI library (OpenMPI on Debian).
//!
//! Burn 0.22's own collectives run on CUDA only, and its remote backend cannot all-reduce across servers;
//! MPI is what clusters already run, and a few all-reduces of flat buffers per step (the gradient's `f32`
//! buckets) are all data-parallel training asks of it here.

/// Whether this process was started by an MPI launcher (`mpirun`, `mpiexec`, `srun` with PMI), by the
/// environment variables they set.
pub fn launched() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].iter().any(|v| std::env::var_os(v).is_some())
}

#[cfg(feature = "mpi")]
pub use world::Mpi;

#[cfg(feature = "mpi")]
mod world {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc::{Sender, channel};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;
    use std::time::Instant;

    use mpi::collective::SystemOperation;
    use mpi::datatype::Equivalence;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::{Communicator, CommunicatorCollectives};
    use owm_core::{Collective, Error, Reduction, Result};

    /// The ranks of `MPI_COMM_WORLD`.
    ///
    /// MPI lives on a thread of its own, the only one that ever calls it (MPI's single-threaded mode): training
    /// threads hand it their buffers through a channel. So `Mpi` is `Send + Sync` without `unsafe`, the
    /// training loop may run on any thread of rayon's pool, and a started bucket
    /// ([`Collective::start_all_reduce`]) is summed while the training thread reads back the next.
    ///
    /// Call [`Mpi::finish`] when the run has succeeded: it finalises MPI (every rank does, together). Dropped
    /// without it (an error on this rank), `Mpi` leaves MPI unfinalised, so that this process's exit ends the job:
    /// `mpirun` then stops every other rank and names the one that failed, instead of leaving them waiting in an
    /// all-reduce. A rank killed outright ends the job the same way.
    #[derive(Debug)]
    pub struct Mpi {
        rank: usize,
        world: usize,
        requests: Mutex<Option<Sender<Request>>>,
        thread: Mutex<Option<JoinHandle<()>>>,
        /// Nanoseconds training threads spent waiting for sums, the other ranks included.
        waited: Arc<AtomicU64>,
    }

    /// One all-reduce for the MPI thread: the values, and where to send their sum.
    #[derive(Debug)]
    enum Request {
        Wide(Vec<f64>, Sender<Vec<f64>>),
        Narrow(Vec<f32>, Sender<Vec<f32>>),
    }

    impl Mpi {
        /// Initialises MPI on its own thread.
        ///
        /// # Errors
        ///
        /// [`Error::Collective`] when MPI was already initialised in this process or its thread cannot start.
        pub fn init() -> Result<Self> {
            let (ready, is_ready) = channel();
            let (requests, incoming) = channel::<Request>();
            let thread = std::thread::Builder::new()
                .name("owm-mpi".into())
                .spawn(move || {
                    let Some(universe) = mpi::initialize() else {
                        let _ = ready.send(None);
                        return;
                    };
                    let world = universe.world();
                    let _ = ready.send(Some((world.rank(), world.size())));
                    for request in incoming {
                        // A sum nobody waits for any more (the rank is failing) is dropped.
                        let _delivered = match request {
                            Request::Wide(values, reply) => reply.send(summed(&world, &values)).is_ok(),
                            Request::Narrow(values, reply) => reply.send(summed(&world, &values)).is_ok(),
                        };
                    }
                    // `universe` drops here: MPI_Finalize, on the thread that initialised MPI.
                })
                .map_err(|e| Error::Collective(format!("starting the MPI thread: {e}")))?;
            match is_ready.recv() {
                Ok(Some((rank, world))) => Ok(Self {
                    rank: usize::try_from(rank).unwrap_or(0),
                    world: usize::try_from(world).unwrap_or(1),
                    requests: Mutex::new(Some(requests)),
                    thread: Mutex::new(Some(thread)),
                    waited: Arc::new(AtomicU64::new(0)),
                }),
                _ => Err(Error::Collective("MPI was already initialised in this process".into())),
            }
        }
    }

    impl Collective for Mpi {
        fn rank(&self) -> usize {
            self.rank
        }

        fn world(&self) -> usize {
            self.world
        }

        fn all_reduce_sum(&self, values: &mut [f64]) -> Result<()> {
            let started = Instant::now();
            let (reply, sum) = channel();
            self.send(Request::Wide(values.to_vec(), reply))?;
            values.copy_from_slice(&sum.recv().map_err(|_| self.lost())?);
            add_since(&self.waited, started);
            Ok(())
        }

        fn start_all_reduce(&self, values: Vec<f32>) -> Result<Reduction> {
            let (reply, sum) = channel();
            self.send(Request::Narrow(values, reply))?;
            let (waited, lost) = (self.waited.clone(), self.lost());
            Ok(Reduction::later(move || {
                let started = Instant::now();
                let sum = sum.recv().map_err(|_| lost)?;
                add_since(&waited, started);
                Ok(sum)
            }))
        }
    }

    /// The element-wise sum of `values` over every rank of `world`.
    fn summed<T: Equivalence + Copy + Default>(world: &SimpleCommunicator, values: &[T]) -> Vec<T> {
        let mut sum = vec![T::default(); values.len()];
        world.all_reduce_into(values, &mut sum[..], SystemOperation::sum());
        sum
    }

    /// Adds the nanoseconds since `started` to `total`.
    fn add_since(total: &AtomicU64, started: Instant) {
        total.fetch_add(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    impl Mpi {
        fn lost(&self) -> Error {
            Error::Collective(format!("rank {}: the MPI thread has stopped", self.rank))
        }

        /// Hands `request` to the MPI thread.
        fn send(&self, request: Request) -> Result<()> {
            let requests = self.requests.lock().map_err(|_| self.lost())?;
            requests.as_ref().ok_or_else(|| self.lost())?.send(request).map_err(|_| self.lost())
        }

        /// Seconds this rank's training has spent waiting for sums so far, for slower ranks included (a
        /// bucket summed while the rank read back the next costs nothing here): with the run's training
        /// seconds, the share of a step that communication did not hide.
        pub fn all_reduce_seconds(&self) -> f64 {
            self.waited.load(Ordering::Relaxed) as f64 * 1e-9
        }

        /// Finalises MPI after a successful run (collective: every rank calls it). Later all-reduces fail.
        pub fn finish(&self) {
            // Closing the channel ends the MPI thread's loop; it then finalises MPI.
            if let Ok(mut requests) = self.requests.lock() {
                requests.take();
            }
            if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
                let _ = thread.join();
            }
        }
    }

    impl Drop for Mpi {
        /// Without [`Mpi::finish`]: the MPI thread is left waiting, unfinalised (see the type's docs).
        fn drop(&mut self) {
            if let Some(requests) = self.requests.get_mut().ok().and_then(Option::take) {
                std::mem::forget(requests);
            }
        }
    }
}
