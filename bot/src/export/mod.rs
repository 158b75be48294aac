//! `reviewbot export`: datasets and SARIF from the store, for ML engineers and security teams.

pub mod dataset;
pub mod direct_write;
pub mod progress;
pub mod sarif;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use direct_write::DirectWriter;
use feedback::SuggestionKind;
use feedback::export::source::ExportFilter;

use crate::cli::{ExportFilterArgs, ExportKind};

/// The store filter the command line asks for.
pub fn export_filter(args: &ExportFilterArgs) -> ExportFilter {
    ExportFilter {
        kind: args.kind.map(|kind| match kind {
            ExportKind::Test => SuggestionKind::Test,
            ExportKind::Security => SuggestionKind::Security,
        }),
        repo: args.repo.clone(),
        since: args.since,
        until: args.until,
        prompt_version: args.prompt_version.clone(),
        model: args.model.clone(),
    }
}

/// A file written beside its destination and moved into place only when complete, so a
/// failed or killed export never leaves a truncated file that looks finished.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl AtomicFile {
    /// Starts writing `path` (its directory must exist).
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".reviewbot-export-")
            .tempfile_in(dir)
            .with_context(|| format!("create a file in {}", dir.display()))?;
        Ok(Self {
            path: path.to_owned(),
            temp,
        })
    }

    /// A buffered writer into the file, past the page cache where it can be (flush it before
    /// [`commit`](Self::commit)).
    pub fn writer(&self) -> anyhow::Result<DirectWriter> {
        let file = self
            .temp
            .as_file()
            .try_clone()
            .with_context(|| format!("open a file for {}", self.path.display()))?;
        Ok(DirectWriter::new(file, self.temp.path()))
    }

    /// Syncs the file and moves it to its path, replacing what was there.
    pub fn commit(self) -> anyhow::Result<()> {
        self.temp
            .as_file()
            .sync_all()
            .with_context(|| format!("write {}", self.path.display()))?;
        self.temp
            .persist(&self.path)
            .with_context(|| format!("write {}", self.path.display()))?;
        Ok(())
    }
}

/// `reviewbot export sarif`: every shown security finding `args` selects, built-in and
/// model ones, with triage as suppressions and secrets redacted (counted by kind). Fails
/// (writing nothing) when the log would be over GitHub's upload limit, saying how to narrow it.
pub async fn export_sarif(
    store: &feedback::Store,
    args: &crate::cli::SarifArgs,
) -> anyhow::Result<(
    sarif::SarifSummary,
    feedback::export::redact::RedactionCounts,
)> {
    use std::io::Write as _;

    let filter = ExportFilter {
        repo: args.repo.clone(),
        since: args.since,
        until: args.until,
        ..ExportFilter::default()
    };
    let mut builder = sarif::SarifBuilder::new();
    let mut findings = store.export_suggestions(SuggestionKind::Security, &filter);
    while let Some(finding) = findings.next().await {
        let (suggestion, verdict) = finding.context("read the store")?;
        builder.add(&suggestion, &verdict);
    }
    let mut export = builder.finish();
    // Findings quote code, and model output may echo secrets: nothing leaves unredacted.
    let redactor = feedback::export::redact::Redactor::new();
    let mut redactions = feedback::export::redact::RedactionCounts::default();
    let mut found = feedback::export::redact::Found::default();
    redact_strings(
        &mut export.log,
        &mut |text, counts| {
            redactor
                .redact_noting(text, counts, &mut found)
                .into_owned()
        },
        &mut redactions,
    );
    // A secret recognised in one result is removed wherever else the log quotes it.
    if !found.is_empty() {
        redact_strings(
            &mut export.log,
            &mut |text, counts| redactor.redact_echoes(text, counts, &found).into_owned(),
            &mut redactions,
        );
    }
    if export.summary.over_upload_limit() {
        anyhow::bail!(
            "the SARIF log would be {} bytes gzip-compressed, over GitHub's {} byte upload \
             limit: narrow it with --repo, --since or --until",
            export.summary.gzip_bytes,
            sarif::MAX_UPLOAD_GZIP_BYTES
        );
    }
    let file = AtomicFile::create(&args.out)?;
    let mut out = file.writer()?;
    serde_json::to_writer(&mut out, &export.log)
        .with_context(|| format!("write {}", args.out.display()))?;
    out.write_all(b"\n")
        .and_then(|()| out.flush())
        .with_context(|| format!("write {}", args.out.display()))?;
    drop(out);
    file.commit()?;
    Ok((export.summary, redactions))
}

/// Applies `redact` to every string in `value` except fingerprints (hashes, and the identity
/// of a result).
fn redact_strings(
    value: &mut serde_json::Value,
    redact: &mut dyn FnMut(&str, &mut feedback::export::redact::RedactionCounts) -> String,
    counts: &mut feedback::export::redact::RedactionCounts,
) {
    use serde_json::Value;
    match value {
        Value::String(text) => *text = redact(text, counts),
        Value::Array(items) => {
            for item in items {
                redact_strings(item, redact, counts);
            }
        }
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                if key != "partialFingerprints" {
                    redact_strings(member, redact, counts);
                }
            }
        }
        _ => {}
    }
}
