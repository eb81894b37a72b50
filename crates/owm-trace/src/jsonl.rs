use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use owm_core::{Control, StepRecord, TraceEvent, TraceSink, WeightsAt, WeightsRecord};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Writes events to a JSON Lines file, one flushed line per event, hashing what it writes.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    file: File,
    hasher: Sha256,
    events: u64,
}

impl JsonlSink {
    /// Creates the trace file; it must not exist yet.
    ///
    /// # Errors
    ///
    /// [`Error::Exists`] if the file exists; [`Error::Io`] if it cannot be created.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Exists(path.clone())
            } else {
                Error::Io { op: "create", path: path.clone(), source }
            }
        })?;
        Ok(Self { path, file, hasher: Sha256::new(), events: 0 })
    }

    /// Opens an existing trace to append to it, hashing and counting what it already holds (which must be
    /// whole lines: cut a torn tail first with [`truncate_after_checkpoint`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read or opened; [`Error::Parse`] if it ends in a torn line.
    pub fn append(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let bytes = std::fs::read(&path).map_err(|source| Error::Io { op: "read", path: path.clone(), source })?;
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            let line = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
            return Err(Error::Parse { path, line, source: "torn last line; cannot append after it".into() });
        }
        let file = std::fs::OpenOptions::new().append(true).open(&path).map_err(|source| Error::Io { op: "open", path: path.clone(), source })?;
        let events = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let mut hasher = Sha256::new();
        hasher.update(&bytes);
        Ok(Self { path, file, hasher, events })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The SHA-256 (hex) of the bytes written so far.
    pub fn digest(&self) -> String {
        format!("{:x}", self.hasher.clone().finalize())
    }

    /// Syncs the file to disk and returns the digest of its content.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the sync fails.
    pub fn finish(self) -> Result<String> {
        self.file.sync_all().map_err(|source| Error::Io { op: "sync", path: self.path.clone(), source })?;
        Ok(self.digest())
    }
}

impl TraceSink for JsonlSink {
    fn on_event(&mut self, event: &TraceEvent) -> owm_core::Result<Control> {
        let mut line = serde_json::to_vec(event).map_err(|e| owm_core::Error::Sink(e.to_string()))?;
        line.push(b'\n');
        // One write of the whole line, then a flush: a crash tears at most the last line.
        self.file.write_all(&line).and_then(|()| self.file.flush()).map_err(|source| owm_core::Error::Io { op: "write", path: self.path.clone(), source })?;
        self.hasher.update(&line);
        self.events += 1;
        Ok(Control::Continue)
    }
}

/// A trace read back from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Every complete event, in order.
    pub events: Vec<TraceEvent>,
    /// Whether the file ended in a torn line (a run killed mid-write); the torn line is dropped.
    pub torn_tail: bool,
}

impl Trace {
    /// The validation records, in order.
    pub fn validations(&self) -> impl Iterator<Item = &owm_core::ValidationRecord> {
        self.events.iter().filter_map(|e| match e {
            TraceEvent::Validation(r) => Some(r),
            _ => None,
        })
    }

    /// The end-of-epoch records, in order.
    pub fn epochs(&self) -> impl Iterator<Item = &owm_core::EpochRecord> {
        self.events.iter().filter_map(|e| match e {
            TraceEvent::EpochEnd(r) => Some(r),
            _ => None,
        })
    }

    /// The step records, in order.
    pub fn steps(&self) -> impl Iterator<Item = &StepRecord> {
        self.events.iter().filter_map(|e| match e {
            TraceEvent::Step(s) => Some(s),
            _ => None,
        })
    }
}

/// Reads a JSON Lines trace.
///
/// A last line without its newline that does not parse is taken as torn by a crash and reported in
/// [`Trace::torn_tail`]; any other bad line is an error.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] naming the line of a corrupt event.
pub fn read_trace(path: impl AsRef<Path>) -> Result<Trace> {
    let path = path.as_ref();
    let io = |op, source| Error::Io { op, path: path.to_path_buf(), source };
    let mut reader = BufReader::new(File::open(path).map_err(|e| io("open", e))?);
    let mut events = Vec::new();
    let mut line = String::new();
    for number in 1.. {
        line.clear();
        if reader.read_line(&mut line).map_err(|e| io("read", e))? == 0 {
            break;
        }
        let complete = line.ends_with('\n');
        match serde_json::from_str::<TraceEvent>(line.trim_end()) {
            Ok(event) => events.push(event),
            Err(_) if !complete => return Ok(Trace { events, torn_tail: true }),
            Err(e) => return Err(Error::Parse { path: path.to_path_buf(), line: number, source: e.into() }),
        }
    }
    Ok(Trace { events, torn_tail: false })
}

/// Finds the checkpoint record of step `step` in a trace (the [`WeightsAt::Checkpoint`] digests written just
/// before the checkpoint file) and returns it with the byte offset just after its line.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read; [`Error::NoCheckpoint`] if it holds no such record.
pub fn find_checkpoint(path: impl AsRef<Path>, step: u64) -> Result<(WeightsRecord, u64)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io { op: "read", path: path.to_path_buf(), source })?;
    let mut offset = 0usize;
    let mut found = None;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        offset += line.len();
        if !line.ends_with(b"\n") {
            break;
        }
        if let Ok(TraceEvent::Weights(w)) = serde_json::from_slice::<TraceEvent>(line)
            && w.at == WeightsAt::Checkpoint
            && w.step == step
        {
            found = Some((w, offset as u64));
        }
    }
    found.ok_or_else(|| Error::NoCheckpoint { path: path.to_path_buf(), step })
}

/// Cuts a trace back to just after its checkpoint record of step `step`, dropping what a killed run wrote
/// after that checkpoint (a torn last line included), and returns the record.
///
/// # Errors
///
/// As [`find_checkpoint`], and [`Error::Io`] if the file cannot be cut.
pub fn truncate_after_checkpoint(path: impl AsRef<Path>, step: u64) -> Result<WeightsRecord> {
    let path = path.as_ref();
    let (record, offset) = find_checkpoint(path, step)?;
    let io = |source| Error::Io { op: "truncate", path: path.to_path_buf(), source };
    let file = std::fs::OpenOptions::new().write(true).open(path).map_err(io)?;
    file.set_len(offset).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(record)
}

/// SHA-256 (hex) of a trace file's bytes: the digest [`JsonlSink`] reports for the same content.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read.
pub fn file_digest(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io { op: "read", path: path.to_path_buf(), source })?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use owm_core::{EpochRecord, LayerStats, StopReason};

    fn step(n: u64) -> TraceEvent {
        TraceEvent::Step(StepRecord {
            step: n,
            epoch: 1,
            loss: 1.0 / n as f64,
            lr: 0.1,
            group_lrs: Default::default(),
            batch: Some("0123456789abcdef".into()),
            layers: vec![LayerStats {
                path: "fc.weight".into(),
                grad_norm: 1.0,
                weight_norm: 2.0,
                update_norm: 0.125,
                update_ratio: 0.0625,
                sign_flips: 0.5,
                zero_grads: 0.0,
            }],
            notes: Vec::new(),
            privacy: Some(owm_core::StepPrivacy { items: 31, clip_fraction: 0.25, noise_std: 1.1 }),
        })
    }

    #[test]
    fn should_round_trip_events() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("t.jsonl");
        let mut sink = JsonlSink::create(&path).unwrap();
        let events = vec![
            step(1),
            TraceEvent::EpochEnd(EpochRecord { epoch: 1, steps: 1, train_loss: 1.0, train_accuracy: None }),
            TraceEvent::Stopped { reason: StopReason::MaxEpochs { max_epochs: 1 }, steps: 1, epochs: 1 },
        ];
        for e in &events {
            assert_eq!(sink.on_event(e).unwrap(), Control::Continue);
        }
        let digest = sink.finish().unwrap();
        assert_eq!(read_trace(&path).unwrap(), Trace { events, torn_tail: false });
        assert_eq!(file_digest(&path).unwrap(), digest);
    }

    #[test]
    fn should_keep_complete_lines_of_a_torn_trace() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("t.jsonl");
        let mut sink = JsonlSink::create(&path).unwrap();
        for n in 1..=3 {
            let _ = sink.on_event(&step(n)).unwrap();
        }
        drop(sink);
        // Simulate a kill in the middle of writing the fourth line.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(br#"{"event":"step","step":4,"ep"#);
        std::fs::write(&path, bytes).unwrap();
        let trace = read_trace(&path).unwrap();
        assert!(trace.torn_tail);
        assert_eq!(trace.steps().map(|s| s.step).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn should_name_the_line_of_a_corrupt_event() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, format!("{}\nnot json\n", serde_json::to_string(&step(1)).unwrap())).unwrap();
        let err = read_trace(&path).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 2, .. }), "{err}");
    }

    #[test]
    fn should_cut_back_to_a_checkpoint_and_append_after_it() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("t.jsonl");
        let mut sink = JsonlSink::create(&path).unwrap();
        let marker = WeightsRecord { step: 2, at: WeightsAt::Checkpoint, digests: vec![("fc.weight".into(), "ab".into())] };
        for event in [step(1), step(2), TraceEvent::Weights(marker.clone()), step(3)] {
            let _ = sink.on_event(&event).unwrap();
        }
        drop(sink);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(br#"{"event":"st"#);
        std::fs::write(&path, bytes).unwrap();
        assert!(matches!(truncate_after_checkpoint(&path, 3), Err(Error::NoCheckpoint { step: 3, .. })));
        assert_eq!(truncate_after_checkpoint(&path, 2).unwrap(), marker);
        let mut sink = JsonlSink::append(&path).unwrap();
        assert_eq!(sink.events(), 3);
        let _ = sink.on_event(&step(3)).unwrap();
        let digest = sink.finish().unwrap();
        let trace = read_trace(&path).unwrap();
        assert_eq!((trace.events.len(), trace.torn_tail), (4, false));
        assert_eq!(file_digest(&path).unwrap(), digest);
    }

    #[test]
    fn should_refuse_to_overwrite_a_trace() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "").unwrap();
        assert!(matches!(JsonlSink::create(&path), Err(Error::Exists(_))));
    }
}
