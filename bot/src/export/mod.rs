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
/// failed or killed export never leaves a truncated file that looks finished. On Linux it has
/// no name until then (`O_TMPFILE`): an export killed halfway leaves nothing behind, not
/// gigabytes in a hidden file. Elsewhere it is a hidden temporary file, removed on failure.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    temp: Temp,
}

/// Where an [`AtomicFile`] is written.
#[derive(Debug)]
enum Temp {
    /// Linux: no name; linked through `/proc/self/fd` at commit.
    Unnamed(std::fs::File),
    /// Elsewhere: a hidden file beside the destination, removed if dropped.
    Named(tempfile::NamedTempFile),
}

/// The hidden names of files being written (an unnamed file's only between link and rename).
const TEMP_PREFIX: &str = ".reviewbot-export-";

impl AtomicFile {
    /// Starts writing `path` (its directory must exist).
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let dir = directory_of(path);
        let temp = match unnamed_file_in(dir) {
            Some(file) => Temp::Unnamed(file),
            None => Temp::Named(
                tempfile::Builder::new()
                    .prefix(TEMP_PREFIX)
                    .tempfile_in(dir)
                    .with_context(|| format!("create a file in {}", dir.display()))?,
            ),
        };
        Ok(Self {
            path: path.to_owned(),
            temp,
        })
    }

    fn file(&self) -> &std::fs::File {
        match &self.temp {
            Temp::Unnamed(file) => file,
            Temp::Named(temp) => temp.as_file(),
        }
    }

    /// A buffered writer into the file, past the page cache where it can be (flush it before
    /// [`commit`](Self::commit)).
    pub fn writer(&self) -> anyhow::Result<DirectWriter> {
        let file = self
            .file()
            .try_clone()
            .with_context(|| format!("open a file for {}", self.path.display()))?;
        let reopen = match &self.temp {
            Temp::Unnamed(file) => fd_path(file),
            Temp::Named(temp) => temp.path().to_owned(),
        };
        Ok(DirectWriter::new(file, &reopen))
    }

    /// Syncs the file and moves it to its path, replacing what was there.
    pub fn commit(self) -> anyhow::Result<()> {
        let context = || format!("write {}", self.path.display());
        self.file().sync_all().with_context(context)?;
        match self.temp {
            Temp::Named(temp) => {
                temp.persist(&self.path).with_context(context)?;
            }
            Temp::Unnamed(file) => {
                // A link cannot replace a file: link under a fresh hidden name, then rename.
                let dir = directory_of(&self.path);
                let (_, name) = tempfile::Builder::new()
                    .prefix(TEMP_PREFIX)
                    .make_in(dir, |name| link_unnamed(&file, name))
                    .with_context(context)?
                    .keep()
                    .with_context(context)?;
                if let Err(e) = std::fs::rename(&name, &self.path) {
                    let _ = std::fs::remove_file(&name);
                    return Err(e).with_context(context);
                }
            }
        }
        Ok(())
    }
}

fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A file in `dir` with no name (readable by its owner only), where the system has them and
/// `/proc/self/fd` can name it later.
#[cfg(target_os = "linux")]
fn unnamed_file_in(dir: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o600)
        .open(dir)
        .ok()?;
    fd_path(&file).exists().then_some(file)
}

#[cfg(not(target_os = "linux"))]
fn unnamed_file_in(_dir: &Path) -> Option<std::fs::File> {
    None
}

/// The path that reaches `file` through its descriptor.
fn fd_path(file: &std::fs::File) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// Gives the unnamed `file` the name `name`.
#[cfg(target_os = "linux")]
fn link_unnamed(file: &std::fs::File, name: &Path) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, CWD, linkat};
    linkat(CWD, fd_path(file), CWD, name, AtFlags::SYMLINK_FOLLOW)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn link_unnamed(_file: &std::fs::File, _name: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn write(file: &AtomicFile, bytes: &[u8]) {
        let mut out = file.writer().unwrap();
        out.write_all(bytes).unwrap();
        out.flush().unwrap();
    }

    #[test]
    fn an_export_file_appears_whole_under_its_name_on_commit_and_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("train.jsonl");
        std::fs::write(&out, "old\n").unwrap();
        let file = AtomicFile::create(&out).unwrap();
        write(&file, b"new\n");
        if cfg!(target_os = "linux") {
            assert_eq!(
                names(dir.path()),
                ["train.jsonl"],
                "no name until committed"
            );
        }
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
        file.commit().unwrap();
        assert_eq!(names(dir.path()), ["train.jsonl"]);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "new\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }

    #[test]
    fn an_abandoned_export_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = AtomicFile::create(&dir.path().join("train.jsonl")).unwrap();
        write(&file, b"half an example");
        drop(file);
        assert!(names(dir.path()).is_empty());
    }

    /// Run by [`a_killed_export_leaves_nothing`] in a process of its own.
    #[test]
    #[ignore = "a helper: run by a_killed_export_leaves_nothing"]
    fn write_an_export_and_wait_to_be_killed() {
        let Some(dir) = std::env::var_os("REVIEWBOT_TEST_KILL_DIR") else {
            return;
        };
        let file = AtomicFile::create(&Path::new(&dir).join("train.jsonl")).unwrap();
        write(&file, &vec![b'x'; 3 << 20]);
        println!("written");
        std::thread::sleep(std::time::Duration::from_secs(60));
    }

    #[test]
    fn a_killed_export_leaves_nothing() {
        use std::io::BufRead as _;
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "export::tests::write_an_export_and_wait_to_be_killed",
                "--ignored",
                "--nocapture",
            ])
            .env("REVIEWBOT_TEST_KILL_DIR", dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let written = stdout
            .lines()
            .any(|line| line.is_ok_and(|line| line.contains("written")));
        assert!(written, "the helper wrote its file");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if cfg!(target_os = "linux") {
            assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
        }
    }
}
