//! One worker thread per model owns its [`ServedModel`]. Requests wait in a bounded queue; each pass takes every
//! request waiting (up to the batch limit) and runs the model once over all their records, so concurrent
//! requests share a forward pass without any request waiting for a timer.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use owm_data::{Inputs, Records};
use owm_train::Predictions;
use tokio::sync::oneshot;

use crate::model::ServedModel;
use crate::protocol::{InferRequest, InferResponse};
use crate::{Error, Result};

/// A request waiting for its model, and where its answer goes.
pub(crate) struct Job {
    request: InferRequest,
    rows: usize,
    reply: oneshot::Sender<Result<InferResponse>>,
}

/// The queue of one model's worker.
#[derive(Clone)]
pub(crate) struct Queue {
    jobs: SyncSender<Job>,
    max_batch: usize,
}

impl Queue {
    /// Starts `model`'s worker thread with a queue of `max_queue` requests and passes of up to `max_batch` records.
    pub(crate) fn start(model: ServedModel, max_batch: usize, max_queue: usize) -> Result<Self> {
        let (jobs, waiting) = sync_channel(max_queue);
        std::thread::Builder::new()
            .name(format!("owm-serve {}", model.name()))
            .spawn(move || work(&model, &waiting, max_batch))
            .map_err(|e| Error::Start(format!("a worker thread: {e}")))?;
        Ok(Self { jobs, max_batch })
    }

    /// Queues `request`; the receiver gets its answer.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] for more records than one pass takes; [`Error::Busy`] when the queue is full or the
    /// worker has stopped.
    pub(crate) fn submit(&self, request: InferRequest) -> Result<oneshot::Receiver<Result<InferResponse>>> {
        let rows = request.inputs.iter().map(crate::protocol::Input::rows).max().unwrap_or(0);
        if rows > self.max_batch {
            return Err(Error::TooLarge(format!("{rows} records; this server takes at most {} per request", self.max_batch)));
        }
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job { request, rows, reply }) {
            Ok(()) => Ok(answer),
            Err(TrySendError::Full(_)) => Err(Error::Busy("the model's queue is full".into())),
            Err(TrySendError::Disconnected(_)) => Err(Error::Busy("the model's worker has stopped".into())),
        }
    }
}

fn work(model: &ServedModel, waiting: &Receiver<Job>, max_batch: usize) {
    while let Ok(first) = waiting.recv() {
        let mut rows = first.rows;
        let mut batch = vec![first];
        while rows < max_batch {
            let Ok(job) = waiting.try_recv() else { break };
            rows += job.rows;
            batch.push(job);
        }
        answer(model, batch);
    }
}

/// Prepares each job's records (answering those that do not fit), predicts on all of them in one pass, and
/// answers each job with its share. A pass that fails (one request's values the model cannot take) is
/// repeated job by job, so each request gets its own answer.
fn answer(model: &ServedModel, batch: Vec<Job>) {
    let mut prepared = Vec::with_capacity(batch.len());
    for job in batch.into_iter().filter(|j| !j.reply.is_closed()) {
        match model.records(&job.request) {
            Ok(records) => prepared.push((job, records)),
            Err(e) => {
                let _ = job.reply.send(Err(e));
            }
        }
    }
    let together = concat(prepared.iter().map(|(_, r)| r)).and_then(|all| predict(model, &all).ok());
    let Some(mut all) = together else {
        for (job, records) in prepared {
            let answer = predict(model, &records).and_then(|p| model.response(&job.request, &p));
            let _ = job.reply.send(answer);
        }
        return;
    };
    let mut rest = std::mem::take(&mut all.predictions).into_iter();
    for (job, records) in prepared {
        let share = Predictions { predictions: rest.by_ref().take(records.len()).collect(), imputed: records.imputed, ..all.clone() };
        let _ = job.reply.send(model.response(&job.request, &share));
    }
}

/// The model's predictions; a panic in the model is an internal error, and the worker goes on.
fn predict(model: &ServedModel, records: &Records) -> Result<Predictions> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| model.predictor().predict(records))) {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(owm_train::Error::Data(e))) => Err(Error::Request(e.to_string())),
        Ok(Err(e)) => Err(Error::Model(e.to_string())),
        Err(_) => Err(Error::Model("the model panicked on these records".into())),
    }
}

/// The records of several requests as one, when their inputs are of one kind and shape.
fn concat<'a>(mut parts: impl Iterator<Item = &'a Records>) -> Option<Records> {
    let mut all = parts.next()?.clone();
    for r in parts {
        match (&mut all.inputs, &r.inputs) {
            (Inputs::Dense { shape, values }, Inputs::Dense { shape: s, values: v }) if shape == s => values.extend(v),
            (Inputs::Pixels { shape, values }, Inputs::Pixels { shape: s, values: v }) if shape == s => values.extend(v),
            (Inputs::Tokens { len, vocab, ids }, Inputs::Tokens { len: l, vocab: w, ids: i }) if (*len, *vocab) == (*l, *w) => ids.extend(i),
            (Inputs::Ids { cardinalities, ids }, Inputs::Ids { cardinalities: c, ids: i }) if cardinalities == c => ids.extend(i),
            _ => return None,
        }
        all.ids.extend(r.ids.iter().cloned());
        all.known.extend(r.known.iter().cloned());
    }
    Some(all)
}
