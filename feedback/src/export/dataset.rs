//! Writes a fine-tuning dataset (SFT, DPO or TRL JSONL) from the calls the store streams:
//! one example per call ([`build_example`]), secrets redacted in every message, tokens
//! counted as `validate` counts them, over-long examples and exact duplicates dropped, and a
//! deterministic train/validation split. Everything is counted for the summary.
//!
//! Work comes in batches: the per-call work (parse, redact, render, count, hash) runs on
//! every core, then the examples are taken in call order (duplicates, split, writing), so the
//! output does not depend on the number of threads.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::sync::{Arc, mpsc};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::answer_tokens::{AnswerItem, AnswerTokens, Frame};
use super::example::{
    CallExample, ChatMessage, Messages, Skipped, Unlabeled, answer_item_texts, build_example,
};
use super::redact::{Found, RedactionCounts, Redactor};
use super::source::ExportCall;
use super::validate::{
    DatasetFormat, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, TOKENS_REPLY_PRIMING, default_epochs,
};
use crate::verdict::VerdictState;

/// Azure's training-example context length for current models (gpt-4o, gpt-4.1).
pub const DEFAULT_MAX_TOKENS: usize = 65_536;

/// What to write and what to leave out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DatasetOptions {
    /// The layout.
    pub format: DatasetFormat,
    /// What to do with suggestions that have no verdict.
    pub unlabeled: Unlabeled,
    /// Examples with more tokens are dropped.
    pub max_tokens: usize,
    /// Calls with fewer decided suggestions (accepted, modified, rejected) are skipped.
    pub min_verdicts: usize,
    /// The share of examples written to the validation file (0 = none).
    pub validation_ratio: f64,
}

impl DatasetOptions {
    /// The defaults for `format`: unlabeled calls skipped, Azure's token limit, no split.
    pub fn new(format: DatasetFormat) -> Self {
        Self {
            format,
            unlabeled: Unlabeled::Skip,
            max_tokens: DEFAULT_MAX_TOKENS,
            min_verdicts: 0,
            validation_ratio: 0.0,
        }
    }
}

/// Why a call is not in the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// The call failed or its answer was invalid.
    Failed,
    /// None of its suggestions was shown.
    NothingShown,
    /// Some suggestions have no verdict (see `--unlabeled`).
    Unlabeled,
    /// Fewer decided suggestions than `--min-verdicts`.
    FewVerdicts,
    /// Humans kept the answer as it was: no preference pair (DPO, TRL).
    NoPreference,
    /// More tokens than `--max-tokens`.
    TooLong,
    /// The same example was already written.
    Duplicate,
    /// The stored messages or answer are not the JSON they should be.
    Corrupt,
}

impl SkipReason {
    /// How the summary names it.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Failed => "failed or invalid call",
            SkipReason::NothingShown => "nothing shown",
            SkipReason::Unlabeled => "unlabeled (see --unlabeled)",
            SkipReason::FewVerdicts => "fewer verdicts than --min-verdicts",
            SkipReason::NoPreference => "kept as answered (no preference pair)",
            SkipReason::TooLong => "over --max-tokens",
            SkipReason::Duplicate => "exact duplicate",
            SkipReason::Corrupt => "corrupt row",
        }
    }
}

impl From<Skipped> for SkipReason {
    fn from(skipped: Skipped) -> Self {
        match skipped {
            Skipped::NotOk => SkipReason::Failed,
            Skipped::NothingShown => SkipReason::NothingShown,
            Skipped::Unlabeled => SkipReason::Unlabeled,
            Skipped::Corrupt => SkipReason::Corrupt,
        }
    }
}

/// What an export did.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSummary {
    /// The layout written.
    pub format: DatasetFormat,
    /// Model calls read.
    pub calls: u64,
    /// Examples written to the training file.
    pub train: u64,
    /// Examples written to the validation file.
    pub validation: u64,
    /// Calls left out, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Secrets redacted in written examples, by kind.
    pub redactions: RedactionCounts,
    /// Tokens of the written examples (training and validation).
    pub tokens: u64,
    /// Tokens of the written training examples.
    pub train_tokens: u64,
    /// The largest example's tokens.
    pub max_example_tokens: usize,
    /// The token limit applied.
    pub max_tokens: usize,
}

impl DatasetSummary {
    fn new(options: &DatasetOptions) -> Self {
        Self {
            format: options.format,
            calls: 0,
            train: 0,
            validation: 0,
            skipped: BTreeMap::new(),
            redactions: RedactionCounts::default(),
            tokens: 0,
            train_tokens: 0,
            max_example_tokens: 0,
            max_tokens: options.max_tokens,
        }
    }

    /// Examples written, both files.
    pub fn written(&self) -> u64 {
        self.train + self.validation
    }

    /// Calls skipped for `reason`.
    pub fn skipped(&self, reason: SkipReason) -> u64 {
        self.skipped.get(&reason).copied().unwrap_or(0)
    }

    /// Epochs a fine-tuning job would run by default (the cookbook's rule).
    pub fn default_epochs(&self) -> u64 {
        default_epochs(usize::try_from(self.train).unwrap_or(usize::MAX)) as u64
    }

    /// Tokens a training job would bill: training tokens × default epochs (the cookbook's
    /// estimate; examples are within the limit, so none is truncated).
    pub fn estimated_training_tokens(&self) -> u64 {
        self.train_tokens * self.default_epochs()
    }
}

impl fmt::Display for DatasetSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = self.format.name();
        writeln!(f, "{format} export: {} model calls read", self.calls)?;
        writeln!(f, "written: {} examples", self.written())?;
        writeln!(f, "  training: {}", self.train)?;
        if self.validation > 0 {
            writeln!(f, "  validation: {}", self.validation)?;
        }
        let skipped: u64 = self.skipped.values().sum();
        writeln!(f, "skipped: {skipped} calls")?;
        for (reason, n) in &self.skipped {
            writeln!(f, "  {}: {n}", reason.as_str())?;
        }
        writeln!(f, "redacted: {}", self.redactions)?;
        let mean = self.tokens.checked_div(self.written()).unwrap_or(0);
        writeln!(
            f,
            "tokens: {} in all, {mean} per example on average, {} in the largest (limit {})",
            self.tokens, self.max_example_tokens, self.max_tokens
        )?;
        write!(
            f,
            "estimated training tokens: {} ({} training tokens x {} epochs)",
            self.estimated_training_tokens(),
            self.train_tokens,
            self.default_epochs()
        )
    }
}

/// A call's example, ready to be taken or left.
struct Prepared {
    line: String,
    tokens: usize,
    /// Hash of the line: equal lines are duplicates.
    key: u128,
    validation: bool,
    redactions: RedactionCounts,
}

/// Hashes a key that is already a digest by taking its bits: hashing SHA-256 output again
/// (SipHash, the default) showed in profiles of large exports.
#[derive(Debug, Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 ^= key as u64 ^ (key >> 64) as u64;
    }
}

/// The tokenizer an export counts with (the bot's o200k counter), shared by its workers.
pub type TokenCounter = Arc<dyn Fn(&str) -> usize + Send + Sync>;

/// Writes examples to the training file and, with a split, the validation file.
pub struct DatasetWriter<W: Write> {
    options: DatasetOptions,
    train: W,
    validation: Option<W>,
    count_tokens: TokenCounter,
    threads: usize,
    /// Threads that prepare examples, started with the first batch and kept (each with its
    /// own [`Preparer`], so no regex cache is shared between threads).
    workers: Vec<Worker>,
    /// For a single thread: prepared here.
    preparer: Option<Preparer>,
    /// The batch the workers are preparing, not yet written: how many workers got a part.
    in_flight: Option<usize>,
    /// Hashes of the lines written so far (16 bytes each: the one thing that grows).
    seen: HashSet<u128, BuildHasherDefault<DigestHasher>>,
    summary: DatasetSummary,
}

/// A thread preparing the examples of the calls it is sent.
struct Worker {
    jobs: mpsc::Sender<Vec<ExportCall>>,
    results: mpsc::Receiver<Vec<Result<Prepared, SkipReason>>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    fn start(options: DatasetOptions, count_tokens: TokenCounter) -> io::Result<Self> {
        let (jobs, job_rx) = mpsc::channel::<Vec<ExportCall>>();
        let (result_tx, results) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("export-worker".into())
            .spawn(move || {
                let preparer = Preparer::new(count_tokens);
                for calls in job_rx {
                    let prepared: Vec<_> = calls
                        .iter()
                        .map(|call| prepare(call, &options, &preparer))
                        .collect();
                    if result_tx.send(prepared).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Self {
            jobs,
            results,
            handle: Some(handle),
        })
    }

    /// The worker's results for the calls last sent; a worker that died passes its panic on.
    fn receive(&mut self) -> Vec<Result<Prepared, SkipReason>> {
        match self.results.recv() {
            Ok(prepared) => prepared,
            Err(_) => match self.handle.take().map(std::thread::JoinHandle::join) {
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                _ => panic!("an export worker stopped without an answer"),
            },
        }
    }
}

impl<W: Write> fmt::Debug for DatasetWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatasetWriter")
            .field("options", &self.options)
            .field("threads", &self.threads)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl<W: Write> DatasetWriter<W> {
    /// A writer; `validation` receives the split when `options.validation_ratio` > 0.
    /// `count_tokens` is the tokenizer (the bot's o200k counter).
    pub fn new(
        options: DatasetOptions,
        train: W,
        validation: Option<W>,
        count_tokens: TokenCounter,
    ) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            summary: DatasetSummary::new(&options),
            options,
            train,
            validation,
            count_tokens,
            threads,
            workers: Vec::new(),
            preparer: None,
            in_flight: None,
            seen: HashSet::default(),
        }
    }

    /// Sets how many threads prepare examples (the default: one per core).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Adds the examples of `calls`, in order. With worker threads the batch is handed to
    /// them and the previous batch is written meanwhile, so the workers never wait for the
    /// writing (the last batch is written by [`finish`](Self::finish)).
    pub fn add_batch(&mut self, calls: Vec<ExportCall>) -> io::Result<()> {
        if self.threads <= 1 {
            let count_tokens = &self.count_tokens;
            let preparer = self
                .preparer
                .get_or_insert_with(|| Preparer::new(Arc::clone(count_tokens)));
            let prepared: Vec<_> = calls
                .iter()
                .map(|call| prepare(call, &self.options, preparer))
                .collect();
            for result in prepared {
                self.take(result)?;
            }
            return Ok(());
        }
        while self.workers.len() < self.threads {
            let worker = Worker::start(self.options, Arc::clone(&self.count_tokens))?;
            self.workers.push(worker);
        }
        let chunk = calls.len().div_ceil(self.threads).max(1);
        let mut calls = calls.into_iter();
        let mut sent = 0;
        for worker in &self.workers {
            let part: Vec<ExportCall> = calls.by_ref().take(chunk).collect();
            if part.is_empty() {
                break;
            }
            worker
                .jobs
                .send(part)
                .map_err(|_| io::Error::other("an export worker stopped"))?;
            sent += 1;
        }
        match self.in_flight.replace(sent) {
            Some(previous) => self.take_batch(previous),
            None => Ok(()),
        }
    }

    /// Takes, in order, the results of the batch whose parts went to the first `parts`
    /// workers (each worker answers in the order it was sent work).
    fn take_batch(&mut self, parts: usize) -> io::Result<()> {
        for i in 0..parts {
            for result in self.workers[i].receive() {
                self.take(result)?;
            }
        }
        Ok(())
    }

    /// The figures so far (with worker threads, up to the batch before the last one added).
    pub fn summary(&self) -> &DatasetSummary {
        &self.summary
    }

    /// Writes the last batch, flushes the files, stops the workers and returns the summary.
    pub fn finish(mut self) -> io::Result<DatasetSummary> {
        if let Some(parts) = self.in_flight.take() {
            self.take_batch(parts)?;
        }
        for worker in self.workers.drain(..) {
            drop(worker.jobs);
            if let Some(handle) = worker.handle {
                let _ = handle.join();
            }
        }
        self.train.flush()?;
        if let Some(validation) = &mut self.validation {
            validation.flush()?;
        }
        Ok(self.summary)
    }

    fn take(&mut self, result: Result<Prepared, SkipReason>) -> io::Result<()> {
        self.summary.calls += 1;
        let prepared = match result {
            Ok(prepared) if prepared.tokens > self.options.max_tokens => Err(SkipReason::TooLong),
            Ok(prepared) if !self.seen.insert(prepared.key) => Err(SkipReason::Duplicate),
            other => other,
        };
        let prepared = match prepared {
            Ok(prepared) => prepared,
            Err(reason) => {
                *self.summary.skipped.entry(reason).or_insert(0) += 1;
                return Ok(());
            }
        };
        let out = match (&mut self.validation, prepared.validation) {
            (Some(validation), true) => {
                self.summary.validation += 1;
                validation
            }
            _ => {
                self.summary.train += 1;
                self.summary.train_tokens += prepared.tokens as u64;
                &mut self.train
            }
        };
        out.write_all(prepared.line.as_bytes())?;
        out.write_all(b"\n")?;
        self.summary.tokens += prepared.tokens as u64;
        self.summary.max_example_tokens = self.summary.max_example_tokens.max(prepared.tokens);
        self.summary.redactions.merge(&prepared.redactions);
        Ok(())
    }
}

/// Whether a call goes to the validation file: the first 8 bytes of the SHA-256 of its
/// stored messages, as a fraction of 2^64, below the ratio. Stable across runs, machines and
/// versions; identical prompts land on the same side.
pub fn in_validation(messages: &str, ratio: f64) -> bool {
    if ratio <= 0.0 {
        return false;
    }
    let digest = Sha256::digest(messages.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(head) as f64) / 18_446_744_073_709_551_616.0 < ratio
}

/// What a thread preparing examples keeps: its redactor, and its tokenizer with the counts
/// every example needs made once (counting even a short text costs about a microsecond).
struct Preparer {
    redactor: Redactor,
    count_tokens: TokenCounter,
    /// Tokens of `assistant`, every target's role.
    assistant: usize,
    /// The answer frames counted so far (one per schema key).
    frames: RefCell<Vec<Frame>>,
}

impl Preparer {
    fn new(count_tokens: TokenCounter) -> Self {
        Self {
            redactor: Redactor::new(),
            assistant: count_tokens("assistant"),
            count_tokens,
            frames: RefCell::new(Vec::new()),
        }
    }

    /// The frame of answers whose items are under `key`.
    fn frame(&self, key: &'static str) -> Frame {
        let mut frames = self.frames.borrow_mut();
        match frames.iter().find(|frame| frame.key == key) {
            Some(frame) => *frame,
            None => {
                let frame = Frame::count(key, &*self.count_tokens);
                frames.push(frame);
                frame
            }
        }
    }
}

/// The per-call work, safe to run on any thread.
fn prepare(
    call: &ExportCall,
    options: &DatasetOptions,
    preparer: &Preparer,
) -> Result<Prepared, SkipReason> {
    let redactor = &preparer.redactor;
    let count_tokens = &*preparer.count_tokens;
    let decided = call
        .suggestions
        .iter()
        .filter(|s| {
            matches!(
                s.verdict.state,
                VerdictState::Accepted
                    | VerdictState::Modified { .. }
                    | VerdictState::Rejected { .. }
            )
        })
        .count();
    let example = build_example(call, options.unlabeled)?;
    if decided < options.min_verdicts {
        return Err(SkipReason::FewVerdicts);
    }
    if options.format != DatasetFormat::Sft && !example.differs() {
        return Err(SkipReason::NoPreference);
    }
    let mut redactions = RedactionCounts::default();
    let CallExample {
        messages,
        kept,
        original,
        key,
        kept_from,
        kept_items,
        items,
    } = example;
    // Every text is redacted, the model's own answer too even where it is not written: a
    // secret found anywhere in the example is then removed wherever else it appears (a model
    // quoting a key in prose, with nothing around it that marks it as one). Messages in which
    // these same patterns matched nothing when the call was recorded are not scanned again.
    let mut found = Found::default();
    let mut unwritten = RedactionCounts::default();
    let writes_original = options.format != DatasetFormat::Sft;
    // Where humans kept the answer as it was, the two texts are one: scanned once.
    let same = kept == original;
    let mut kept_counts = RedactionCounts::default();
    let (mut kept, mut kept_redacted) =
        redacted(redactor.redact_noting(&kept, &mut kept_counts, &mut found));
    redactions.merge(&kept_counts);
    let original_counts = if writes_original {
        &mut redactions
    } else {
        &mut unwritten
    };
    let (mut original, mut original_redacted) = if same {
        original_counts.merge(&kept_counts);
        (kept.clone(), kept_redacted)
    } else {
        redacted(redactor.redact_noting(&original, original_counts, &mut found))
    };
    let prompt_scanned = call.messages_scan.as_deref() == Some(redactor.fingerprint());
    // The stored messages go into the line as they are when nothing in them can change (the
    // same patterns found nothing, no secret of the answers to remove from them), their count
    // is recorded, and they are what serialising them would write anyway.
    let stored_prompt = match messages {
        Messages::Canonical(text)
            if prompt_scanned && found.is_empty() && call.message_tokens.is_some() =>
        {
            Some(text)
        }
        _ => None,
    };
    let mut prompt: Vec<ChatMessage> = Vec::new();
    let mut prompt_redacted = false;
    if stored_prompt.is_none() {
        let messages = messages.list().ok_or(SkipReason::Corrupt)?;
        prompt.reserve(messages.len());
        for m in &messages {
            let m = m.decode().ok_or(SkipReason::Corrupt)?;
            if prompt_scanned {
                prompt.push(m);
                continue;
            }
            let content = match redactor.redact_noting(&m.content, &mut redactions, &mut found) {
                Cow::Borrowed(_) => m.content,
                Cow::Owned(redacted) => {
                    prompt_redacted = true;
                    redacted
                }
            };
            prompt.push(ChatMessage { content, ..m });
        }
    }
    if !found.is_empty() {
        let echo = |text: &mut String, counts: &mut RedactionCounts| {
            let echoed = match redactor.redact_echoes(text, counts, &found) {
                Cow::Borrowed(_) => None,
                Cow::Owned(redacted) => Some(redacted),
            };
            echoed.map(|redacted| *text = redacted).is_some()
        };
        for m in &mut prompt {
            prompt_redacted |= echo(&mut m.content, &mut redactions);
        }
        kept_redacted |= echo(&mut kept, &mut redactions);
        original_redacted |= echo(
            &mut original,
            if writes_original {
                &mut redactions
            } else {
                &mut unwritten
            },
        );
    }
    let assistant = |content: String| ChatMessage {
        role: "assistant".into(),
        content,
        name: None,
    };
    let tokens_of = |messages: &[ChatMessage]| -> usize {
        messages
            .iter()
            .map(|m| chat_message_tokens(m, count_tokens))
            .sum()
    };
    // The counts made when the call was recorded hold for the items unless redaction changed
    // the answer (and only for the answer they were made for).
    let item_counts = call
        .answer_tokens
        .as_ref()
        .filter(|counts| counts.0.len() == items.len());
    let frame = preparer.frame(key);
    let answer_tokens = |content: &str, changed: bool, texts: &[String], from: &[Option<usize>]| {
        let content_tokens = match item_counts {
            Some(counts) if !changed => {
                let items: Vec<AnswerItem<'_>> = texts
                    .iter()
                    .zip(from)
                    .map(|(text, from)| AnswerItem {
                        text,
                        counted: from.map(|i| counts.0[i]),
                    })
                    .collect();
                frame.compose(&items, count_tokens)
            }
            _ => count_tokens(content),
        };
        TOKENS_PER_MESSAGE + preparer.assistant + content_tokens
    };
    let kept_tokens = answer_tokens(&kept, kept_redacted, &kept_items, &kept_from);
    let kept = assistant(kept);
    // The count made when the call was recorded holds unless redaction changed the prompt.
    let prompt_tokens = match call.message_tokens {
        Some(stored) if !prompt_redacted => usize::try_from(stored).unwrap_or(usize::MAX),
        _ => tokens_of(&prompt),
    };
    let (line, tokens) = match (options.format, stored_prompt) {
        (DatasetFormat::Sft, Some(stored)) => {
            let kept = json_line(&kept)?;
            let mut line = String::with_capacity(stored.len() + kept.len() + 16);
            line.push_str("{\"messages\":");
            line.push_str(&stored[..stored.len() - 1]);
            if stored.len() > 2 {
                line.push(',');
            }
            line.push_str(&kept);
            line.push_str("]}");
            (line, prompt_tokens + kept_tokens)
        }
        (DatasetFormat::Sft, None) => {
            let tokens = prompt_tokens + kept_tokens;
            let mut messages = prompt;
            messages.push(kept);
            (json_line(&Sft { messages })?, tokens)
        }
        (DatasetFormat::Dpo | DatasetFormat::Trl, stored) => {
            let all: Vec<Option<usize>> = (0..items.len()).map(Some).collect();
            let rejected_tokens = answer_tokens(&original, original_redacted, &items, &all);
            let rejected = assistant(original);
            let tokens = prompt_tokens + kept_tokens + rejected_tokens;
            let line = if let Some(stored) = stored {
                let (kept, rejected) = (json_line(&kept)?, json_line(&rejected)?);
                if options.format == DatasetFormat::Dpo {
                    format!(
                        "{{\"input\":{{\"messages\":{stored}}},\"preferred_output\":[{kept}],\
                         \"non_preferred_output\":[{rejected}]}}"
                    )
                } else {
                    format!("{{\"prompt\":{stored},\"chosen\":[{kept}],\"rejected\":[{rejected}]}}")
                }
            } else if options.format == DatasetFormat::Dpo {
                json_line(&Dpo {
                    input: DpoInput { messages: prompt },
                    preferred_output: [kept],
                    non_preferred_output: [rejected],
                })?
            } else {
                json_line(&Trl {
                    prompt,
                    chosen: [kept],
                    rejected: [rejected],
                })?
            };
            (line, tokens)
        }
    };
    let digest = Sha256::digest(line.as_bytes());
    let mut head = [0u8; 16];
    head.copy_from_slice(&digest[..16]);
    Ok(Prepared {
        line,
        tokens: tokens + TOKENS_REPLY_PRIMING,
        key: u128::from_be_bytes(head),
        validation: in_validation(&call.messages, options.validation_ratio),
        redactions,
    })
}

/// A redaction's result and whether it changed anything.
fn redacted(text: Cow<'_, str>) -> (String, bool) {
    match text {
        Cow::Borrowed(text) => (text.to_owned(), false),
        Cow::Owned(text) => (text, true),
    }
}

/// Tokens of a call's stored messages as exports (and `validate`) count them, to record
/// with the call; `None` when the messages are not a list of chat messages.
pub fn message_tokens(messages: &str, count_tokens: &dyn Fn(&str) -> usize) -> Option<i64> {
    let messages: Vec<ChatMessage> = serde_json::from_str(messages).ok()?;
    let tokens: usize = messages
        .iter()
        .map(|m| chat_message_tokens(m, count_tokens))
        .sum();
    i64::try_from(tokens).ok()
}

/// Tokens of each item of a call's answer, to record with the call (exports add them up, see
/// [`answer_tokens`](super::answer_tokens)); `None` for a failed call or an answer that is not
/// the prompt's schema.
pub fn answer_tokens(
    prompt_id: &str,
    raw_answer: Option<&str>,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Option<AnswerTokens> {
    AnswerTokens::count(&answer_item_texts(prompt_id, raw_answer?)?, count_tokens)
}

/// The redaction scan of a call's messages, to record with the call: `redactor`'s fingerprint
/// when none of its patterns matches in any message's content (an export with the same
/// patterns then leaves the messages as they are without scanning them), else `None`.
pub fn messages_scan(messages: &str, redactor: &Redactor) -> Option<String> {
    let messages: Vec<ChatMessage> = serde_json::from_str(messages).ok()?;
    messages
        .iter()
        .all(|m| redactor.finds_nothing(&m.content))
        .then(|| redactor.fingerprint().to_owned())
}

/// A message's tokens as `validate` counts them.
fn chat_message_tokens(m: &ChatMessage, count_tokens: &dyn Fn(&str) -> usize) -> usize {
    let name = m
        .name
        .as_deref()
        .map_or(0, |name| count_tokens(name) + TOKENS_PER_NAME);
    TOKENS_PER_MESSAGE + count_tokens(&m.role) + count_tokens(&m.content) + name
}

fn json_line<T: Serialize>(value: &T) -> Result<String, SkipReason> {
    serde_json::to_string(value).map_err(|_| SkipReason::Corrupt)
}

#[derive(Serialize)]
struct Sft {
    messages: Vec<ChatMessage>,
}

#[derive(Serialize)]
struct DpoInput {
    messages: Vec<ChatMessage>,
}

#[derive(Serialize)]
struct Dpo {
    input: DpoInput,
    preferred_output: [ChatMessage; 1],
    non_preferred_output: [ChatMessage; 1],
}

#[derive(Serialize)]
struct Trl {
    prompt: Vec<ChatMessage>,
    chosen: [ChatMessage; 1],
    rejected: [ChatMessage; 1],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::verdict::Verdict;
    use chrono::Utc;

    fn words(text: &str) -> usize {
        text.split_whitespace().count()
    }

    /// A tests call whose one suggestion was accepted (or, with `reject`, rejected).
    fn export_call(user: &str, item: &str, reject: bool) -> ExportCall {
        let call = ModelCall {
            id: ModelCallId(1),
            call: NewModelCall {
                installation_id: None,
                repo: "o/r".into(),
                pr: Some(1),
                head_sha: None,
                job_id: None,
                analysis: "tests".into(),
                prompt_id: "tests".into(),
                prompt_version: "v1".into(),
                provider: "azure".into(),
                model: "gpt-4o".into(),
                deployment: None,
                messages: serde_json::json!([{"role": "user", "content": user}]).to_string(),
                response_format: None,
                raw_answer: Some(format!(r#"{{"suggestions":[{item}]}}"#)),
                finish_reason: None,
                status: ModelCallStatus::Ok,
                error: None,
                tokens_in: None,
                tokens_out: None,
                message_tokens: Some(1_000),
                answer_tokens: None,
                messages_scan: None,
                latency_ms: 1,
                attempt: 1,
                created_at: Utc::now(),
            },
        };
        let suggestion = Suggestion {
            id: SuggestionId(1),
            github_comment_id: Some(9),
            suggestion: NewSuggestion {
                model_call_id: Some(ModelCallId(1)),
                review_id: None,
                repo: "o/r".into(),
                pr: 1,
                head_sha: "h".into(),
                kind: SuggestionKind::Test,
                source: SuggestionSource::Model,
                category: "unit".into(),
                path: "a.py".into(),
                line: Some(1),
                anchor: Anchor::Line,
                severity: None,
                confidence: None,
                cwe: None,
                fingerprint: "f".into(),
                title: "t".into(),
                body: String::new(),
                original: item.into(),
                created_at: Utc::now(),
            },
        };
        let state = if reject {
            VerdictState::Rejected { reason: None }
        } else {
            VerdictState::Accepted
        };
        let verdict = Verdict {
            state,
            triage: None,
            decided_by: None,
            first_verdict_at: None,
            time_to_first_verdict: None,
        };
        ExportCall::from_call(&call, &[(suggestion, verdict)])
    }

    fn run(format: DatasetFormat, calls: &[ExportCall]) -> (String, DatasetSummary) {
        let mut out = Vec::new();
        let mut writer =
            DatasetWriter::new(DatasetOptions::new(format), &mut out, None, Arc::new(words))
                .with_threads(1);
        writer.add_batch(calls.to_vec()).unwrap();
        let summary = writer.finish().unwrap();
        (String::from_utf8(out).unwrap(), summary)
    }

    #[test]
    fn a_secret_the_model_echoes_in_prose_is_redacted_and_counted_once_per_place() {
        let secret = format!("{}{}", "Xk9vQ2mL7pR4", "tZ8wB3nC6yH1");
        let user = format!("+DB_PASSWORD = \"{secret}\"");
        let item = format!(
            r#"{{"title":"uses {secret} directly","code":"def test_db(): connect('{secret}')"}}"#
        );
        let (line, summary) = run(DatasetFormat::Sft, &[export_call(&user, &item, false)]);
        assert!(!line.contains(&secret), "{line}");
        // Once in the prompt (an assignment), twice in the answer (echoes).
        assert_eq!(summary.redactions.get("generic-secret"), 3, "{summary:?}");
        // The prompt changed, so its stored count (1,000) was not used.
        assert!(summary.tokens < 1_000, "{summary:?}");
    }

    #[test]
    fn an_sft_export_counts_only_redactions_in_what_it_writes() {
        let secret = format!("{}{}", "Xk9vQ2mL7pR4", "tZ8wB3nC6yH1");
        let item = format!(r#"{{"title":"t","code":"API_TOKEN = '{secret}'"}}"#);
        // Rejected: the answer holding the secret is not in the SFT line.
        let call = export_call("+def f(): pass", &item, true);
        let (line, summary) = run(DatasetFormat::Sft, std::slice::from_ref(&call));
        assert!(line.contains(r#"{\"suggestions\":[]}"#), "{line}");
        assert_eq!(summary.redactions.total(), 0);
        assert_eq!(
            summary.tokens,
            1_000 + 3 + 1 + 1 + 3,
            "stored prompt count used"
        );
        let (line, summary) = run(DatasetFormat::Dpo, &[call]);
        assert!(!line.contains(&secret));
        assert_eq!(summary.redactions.total(), 1);
    }
}
