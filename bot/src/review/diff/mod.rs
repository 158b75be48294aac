//! Git unified diffs (GitHub's `application/vnd.github.diff` and the files API's `patch`
//! fields) parsed from bytes into files, hunks and numbered lines.
//!
//! Everything is kept as bytes: paths and line contents may be any bytes (non-UTF-8 content,
//! CR inside lines), and a lossy `&str` view is offered where text is wanted. A line ends
//! only at `\n`.
//!
//! # Errors versus skipped lines
//!
//! The parser is strict where a mistake would be silent downstream and lenient where git is:
//!
//! * **Error** ([`DiffError`], with the 1-based line and byte offset): anything that would
//!   make the file list, a path or a line number uncertain. A hunk body shorter or longer
//!   than its `@@` header says, a malformed `@@` header (including counts that overflow), a
//!   `\ No newline` marker with no line before it, a malformed quoted path, mode, similarity
//!   or `index` line, a file whose path cannot be determined, a hunk outside any file,
//!   combined (merge) diffs. A wrong line map would put review comments on the wrong lines
//!   without anyone noticing; a failed parse is visible and says where.
//! * **Skipped and recorded** ([`Diff::skipped`]): lines we do not recognise outside hunk
//!   bodies, such as a `git format-patch` preamble and signature, `diff -r` command lines,
//!   `Only in …` lines, and extended header lines of a future git. They carry nothing we
//!   extract, and git itself ignores them.
//!
//! Paths follow `git apply`'s default `-p1`: the first path component (`a/`, `b/`, or a
//! mnemonic prefix such as `i/`, `w/`) is stripped from `diff --git`, `---` and `+++`
//! names; `rename`/`copy` headers carry bare paths. Diffs made with `--no-prefix` are
//! therefore not supported (as with `git apply`). Plain (non-git) unified diffs that start
//! a file with a `---`/`+++` pair are accepted too.

mod parse;
mod path;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

pub use parse::{parse_diff, parse_patch};

/// A whole diff: its files in order, and the lines skipped because they were not understood.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// One entry per file section, in diff order.
    pub files: Vec<FileDiff>,
    /// Lines outside any hunk that were not recognised (see the module docs).
    pub skipped: Vec<SkippedLine>,
}

impl Diff {
    /// The file whose [`FileDiff::path`] (new path, else old) is exactly `path`.
    pub fn file(&self, path: &str) -> Option<&FileDiff> {
        self.files
            .iter()
            .find(|f| f.path_bytes() == path.as_bytes())
    }

    /// Added lines across all files.
    pub fn additions(&self) -> usize {
        self.files.iter().map(FileDiff::additions).sum()
    }

    /// Removed lines across all files.
    pub fn deletions(&self) -> usize {
        self.files.iter().map(FileDiff::deletions).sum()
    }
}

/// A line that the parser did not understand and left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// 1-based line number in the input.
    pub line: usize,
    /// The line's bytes, without its `\n`.
    pub text: Vec<u8>,
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileStatus {
    /// New file (`new file mode`, or `--- /dev/null`).
    Added,
    /// Removed file (`deleted file mode`, or `+++ /dev/null`).
    Deleted,
    /// Changed in place: content, mode, or both.
    Modified,
    /// Moved (`rename from`/`rename to`), possibly with edits.
    Renamed,
    /// Copied (`copy from`/`copy to`), possibly with edits.
    Copied,
}

impl FileStatus {
    /// The word GitHub's files API uses (`added`, `removed`, `modified`, `renamed`, `copied`).
    pub fn github_name(self) -> &'static str {
        match self {
            FileStatus::Added => "added",
            FileStatus::Deleted => "removed",
            FileStatus::Modified => "modified",
            FileStatus::Renamed => "renamed",
            FileStatus::Copied => "copied",
        }
    }
}

/// A git file mode (the octal number git prints, e.g. `0o100644`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileMode(pub u32);

impl FileMode {
    /// Mask of the object-type bits of a mode.
    const TYPE_MASK: u32 = 0o170000;

    /// A symbolic link (`120000`): the "content" is the link target.
    pub fn is_symlink(self) -> bool {
        self.0 & Self::TYPE_MASK == 0o120000
    }

    /// A submodule (gitlink, `160000`): the "content" is `Subproject commit <sha>`.
    pub fn is_submodule(self) -> bool {
        self.0 & Self::TYPE_MASK == 0o160000
    }

    /// A regular file with the executable bit (`100755`).
    pub fn is_executable(self) -> bool {
        self.0 & Self::TYPE_MASK == 0o100000 && self.0 & 0o111 != 0
    }
}

impl fmt::Display for FileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06o}", self.0)
    }
}

/// One file's section of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The path before the change; `None` for added files.
    pub old_path: Option<Vec<u8>>,
    /// The path after the change; `None` for deleted files.
    pub new_path: Option<Vec<u8>>,
    /// What happened to the file.
    pub status: FileStatus,
    /// `similarity index` of a rename or copy, in percent.
    pub similarity: Option<u8>,
    /// Mode before; `None` for added files and when the diff does not show it (a 100%
    /// rename or copy prints no mode, which then equals the new one).
    pub old_mode: Option<FileMode>,
    /// Mode after; `None` for deleted files and when the diff does not show it.
    pub new_mode: Option<FileMode>,
    /// Blob id before, abbreviated as printed on the `index` line; `None` when absent or
    /// all zeros (no old side).
    pub old_oid: Option<String>,
    /// Blob id after, as printed; `None` when absent or all zeros (no new side).
    pub new_oid: Option<String>,
    /// Git showed no text diff (`Binary files … differ` or `GIT binary patch`).
    pub binary: bool,
    /// The hunks, in order.
    pub hunks: Vec<Hunk>,
    /// 1-based line in the input where this file's section starts.
    pub header_line: usize,
}

impl FileDiff {
    /// The path as bytes: the new path, else the old one (GitHub's `filename`).
    pub fn path_bytes(&self) -> &[u8] {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or_default()
    }

    /// The path as text (new path, else old), non-UTF-8 bytes replaced by U+FFFD.
    pub fn path(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.path_bytes())
    }

    /// The old path as text, if any.
    pub fn old_path_str(&self) -> Option<Cow<'_, str>> {
        self.old_path.as_deref().map(String::from_utf8_lossy)
    }

    /// The new path as text, if any.
    pub fn new_path_str(&self) -> Option<Cow<'_, str>> {
        self.new_path.as_deref().map(String::from_utf8_lossy)
    }

    /// Number of added (`+`) lines.
    pub fn additions(&self) -> usize {
        self.count(LineKind::Added)
    }

    /// Number of removed (`-`) lines.
    pub fn deletions(&self) -> usize {
        self.count(LineKind::Removed)
    }

    fn count(&self, kind: LineKind) -> usize {
        self.hunks
            .iter()
            .flat_map(|h| &h.lines)
            .filter(|l| l.kind == kind)
            .count()
    }

    /// Either side is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.modes().any(FileMode::is_symlink)
    }

    /// Either side is a submodule.
    pub fn is_submodule(&self) -> bool {
        self.modes().any(FileMode::is_submodule)
    }

    /// Both modes are known and differ (`old mode`/`new mode`).
    pub fn mode_changed(&self) -> bool {
        matches!((self.old_mode, self.new_mode), (Some(a), Some(b)) if a != b)
    }

    fn modes(&self) -> impl Iterator<Item = FileMode> {
        self.old_mode.into_iter().chain(self.new_mode)
    }

    /// The diff shows that the new side's last line has no final newline.
    pub fn new_missing_newline_at_eof(&self) -> bool {
        self.missing_newline(|l| l.new_line.is_some())
    }

    /// The diff shows that the old side's last line has no final newline.
    pub fn old_missing_newline_at_eof(&self) -> bool {
        self.missing_newline(|l| l.old_line.is_some())
    }

    fn missing_newline(&self, on_side: impl Fn(&DiffLine) -> bool) -> bool {
        self.hunks
            .last()
            .and_then(|h| h.lines.iter().rev().find(|l| on_side(l)))
            .is_some_and(|l| l.no_newline_at_eof)
    }
}

/// The two sides of a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Before the change (GitHub's `LEFT`).
    Old,
    /// After the change (GitHub's `RIGHT`).
    New,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Old => "old",
            Side::New => "new",
        })
    }
}

/// One `@@ -a,b +c,d @@` hunk and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The raw `@@` line, without its `\n`.
    pub header: Vec<u8>,
    /// First old-side line (as printed; for an empty old range, the line before it).
    pub old_start: u32,
    /// Old-side line count (1 when the header omits it).
    pub old_lines: u32,
    /// First new-side line (as printed; for an empty new range, the line before it).
    pub new_start: u32,
    /// New-side line count (1 when the header omits it).
    pub new_lines: u32,
    /// The text after the closing `@@` (git's function context), without the separating
    /// space.
    pub section: Vec<u8>,
    /// Lines of this `@@` header below the file's first `@@` header (first hunk: 0). Body
    /// line `j` (counting `\` marker lines) is at GitHub "diff position" `position + 1 + j`.
    pub position: u32,
    /// The body, in order (`\ No newline` markers are flags on the line before them).
    pub lines: Vec<DiffLine>,
}

impl Hunk {
    /// New-side line numbers this hunk covers (empty for a pure deletion).
    pub fn new_range(&self) -> std::ops::Range<u32> {
        side_range(self.new_start, self.new_lines)
    }

    /// Old-side line numbers this hunk covers (empty for a pure addition).
    pub fn old_range(&self) -> std::ops::Range<u32> {
        side_range(self.old_start, self.old_lines)
    }

    /// The section text, non-UTF-8 bytes replaced by U+FFFD.
    pub fn section_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.section)
    }
}

fn side_range(start: u32, count: u32) -> std::ops::Range<u32> {
    if count == 0 {
        start..start
    } else {
        // The parser guarantees `start + count - 1` fits in u32; saturate to stay panic-free
        // for hand-built values.
        start..start.saturating_add(count)
    }
}

/// What a body line does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// `+`: only on the new side.
    Added,
    /// `-`: only on the old side.
    Removed,
    /// ` `: unchanged, on both sides.
    Context,
}

/// One body line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// Added, removed or context.
    pub kind: LineKind,
    /// Old-side line number (removed and context lines).
    pub old_line: Option<u32>,
    /// New-side line number (added and context lines).
    pub new_line: Option<u32>,
    /// The line's bytes without the leading `+`/`-`/` ` and without `\n` (a CR is kept).
    pub content: Vec<u8>,
    /// A `\ No newline at end of file` marker follows: this side's file ends here without `\n`.
    pub no_newline_at_eof: bool,
}

impl DiffLine {
    /// The content as text, non-UTF-8 bytes replaced by U+FFFD.
    pub fn content_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.content)
    }
}

/// Why a diff could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("diff line {line} (byte {offset}): {kind}")]
pub struct DiffError {
    /// 1-based line number in the input (one past the last line at end of input).
    pub line: usize,
    /// Byte offset of that line's start (the input length at end of input).
    pub offset: usize,
    /// What is wrong.
    pub kind: DiffErrorKind,
}

/// The ways a diff can be malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffErrorKind {
    /// An `@@` line that is not `@@ -a[,b] +c[,d] @@`, or whose numbers overflow.
    #[error("malformed hunk header")]
    BadHunkHeader,
    /// The body ended (end of input or a line that is not `+`, `-`, ` ` or `\`) before the
    /// header's counts were reached.
    #[error(
        "hunk at line {header_line} ends early: {old_missing} old and {new_missing} new lines missing"
    )]
    HunkTruncated {
        /// Line of the hunk's `@@` header.
        header_line: usize,
        /// Old-side lines still expected.
        old_missing: u32,
        /// New-side lines still expected.
        new_missing: u32,
    },
    /// A body line beyond what the header's count for that side allows.
    #[error("hunk at line {header_line} has more {side}-side lines than its header says")]
    HunkOverflow {
        /// Line of the hunk's `@@` header.
        header_line: usize,
        /// The side whose count was exceeded.
        side: Side,
    },
    /// A `\ No newline at end of file` line with no body line before it.
    #[error("`\\ No newline at end of file` marker without a line before it")]
    OrphanNoNewlineMarker,
    /// An `@@` header before any file header.
    #[error("hunk outside a file section")]
    HunkOutsideFile,
    /// `parse_patch` input that does not start with an `@@` header.
    #[error("expected a hunk header (`@@ -a,b +c,d @@`)")]
    ExpectedHunkHeader,
    /// A C-quoted path with a bad escape or no closing quote.
    #[error("malformed quoted path")]
    BadQuotedPath,
    /// No header gives the file's path on that side.
    #[error("cannot determine the file's {side} path")]
    MissingPath {
        /// The side without a path.
        side: Side,
    },
    /// A mode that is not an octal number.
    #[error("malformed file mode")]
    BadMode,
    /// A similarity that is not `N%` with N ≤ 100.
    #[error("malformed similarity index")]
    BadSimilarity,
    /// An `index` line that is not `index <hex>..<hex>[ <mode>]`.
    #[error("malformed index line")]
    BadIndexLine,
    /// `diff --cc` / `diff --combined` (merge commits), which GitHub never serves.
    #[error("combined diffs (merge commits) are not supported")]
    CombinedDiff,
}
