//! The parser: a line cursor over the input bytes and a small state machine (outside a file,
//! in a file's extended header, in a hunk body).

use super::path::{HeaderPath, parse_git_names, parse_header_path, unquote};
use super::{
    Diff, DiffError, DiffErrorKind, DiffLine, FileDiff, FileMode, FileStatus, Hunk, LineKind, Side,
    SkippedLine,
};

/// Parses a whole diff (`git diff`, GitHub's `application/vnd.github.diff`, or a plain
/// unified diff). See the module docs for what is an error and what is skipped.
pub fn parse_diff(input: &[u8]) -> Result<Diff, DiffError> {
    let mut parser = Parser {
        cur: Cursor::new(input),
        diff: Diff::default(),
    };
    parser.run()?;
    Ok(parser.diff)
}

/// Parses the hunks of one file's `patch` field from GitHub's files API (hunks only, no file
/// header; a missing final newline is fine). Empty input gives no hunks.
pub fn parse_patch(patch: &[u8]) -> Result<Vec<Hunk>, DiffError> {
    let mut cur = Cursor::new(patch);
    let (hunks, last_header) = parse_hunks(&mut cur)?;
    match cur.peek() {
        None => Ok(hunks),
        // After a complete hunk only another hunk may follow: a body line means the hunk
        // was longer than its header said.
        Some(line) => Err(
            line.error(match (body_overflow_side(line.text), last_header) {
                (Some(side), Some(header_line)) => {
                    DiffErrorKind::HunkOverflow { header_line, side }
                }
                _ => DiffErrorKind::ExpectedHunkHeader,
            }),
        ),
    }
}

/// Every `@@` hunk from the cursor on, and the line of the last `@@` header.
fn parse_hunks(cur: &mut Cursor<'_>) -> Result<(Vec<Hunk>, Option<usize>), DiffError> {
    let mut hunks = Vec::new();
    let mut first_header = None;
    let mut last_header = None;
    while let Some(line) = cur.peek().filter(|l| l.text.starts_with(b"@@")) {
        cur.next_line();
        let first = *first_header.get_or_insert(line.no);
        last_header = Some(line.no);
        hunks.push(parse_hunk(cur, &line, first)?);
    }
    Ok((hunks, last_header))
}

/// One input line: its bytes without `\n`, 1-based number and starting offset.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    text: &'a [u8],
    no: usize,
    offset: usize,
}

impl Line<'_> {
    fn error(&self, kind: DiffErrorKind) -> DiffError {
        DiffError {
            line: self.no,
            offset: self.offset,
            kind,
        }
    }

    /// The text without a trailing CR, for header lines (a CR in a real path is quoted by
    /// git, so a bare trailing CR only comes from a diff saved with CRLF line ends).
    fn header_text(&self) -> &[u8] {
        self.text.strip_suffix(b"\r").unwrap_or(self.text)
    }
}

/// Walks the input one `\n`-terminated line at a time.
#[derive(Debug, Clone, Copy)]
struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
    line_no: usize,
}

impl<'a> Cursor<'a> {
    fn new(input: &'a [u8]) -> Self {
        Cursor {
            input,
            pos: 0,
            line_no: 0,
        }
    }

    fn next_line(&mut self) -> Option<Line<'a>> {
        let line = self.peek()?;
        // Past the `\n`, or to the end when the last line has none.
        self.pos = (self.pos + line.text.len() + 1).min(self.input.len());
        self.line_no += 1;
        Some(line)
    }

    fn peek(&self) -> Option<Line<'a>> {
        let rest = self.input.get(self.pos..).filter(|r| !r.is_empty())?;
        let len = find_newline(rest).unwrap_or(rest.len());
        Some(Line {
            text: &rest[..len],
            no: self.line_no + 1,
            offset: self.pos,
        })
    }

    fn peek_starts_with(&self, prefix: &[u8]) -> bool {
        self.peek().is_some_and(|l| l.text.starts_with(prefix))
    }

    /// An error located just past the last line.
    fn eof_error(&self, kind: DiffErrorKind) -> DiffError {
        DiffError {
            line: self.line_no + 1,
            offset: self.input.len(),
            kind,
        }
    }
}

/// The index of the first `\n` in `s`. Tests eight bytes at a time (SWAR): diff lines are
/// tens of bytes long, and this search touches every input byte.
pub(super) fn find_newline(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NL;
        // Non-zero exactly when some byte of `x` is zero, i.e. that byte was `\n`; the
        // lowest flagged byte is always a true match.
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| at + i)
}

struct Parser<'a> {
    cur: Cursor<'a>,
    diff: Diff,
}

/// What the headers of one file section said, before paths and status are resolved.
#[derive(Default)]
struct Headers {
    git_old: HeaderPath,
    git_new: HeaderPath,
    /// `---` name: outer `None` when there is no `---` line, inner `None` for `/dev/null`.
    minus: Option<HeaderPath>,
    plus: Option<HeaderPath>,
    rename_from: Option<Vec<u8>>,
    rename_to: Option<Vec<u8>>,
    copy_from: Option<Vec<u8>>,
    copy_to: Option<Vec<u8>>,
    new_file: bool,
    deleted_file: bool,
    old_mode: Option<FileMode>,
    new_mode: Option<FileMode>,
    index_mode: Option<FileMode>,
    old_oid: Option<String>,
    new_oid: Option<String>,
    similarity: Option<u8>,
    binary: bool,
}

impl Parser<'_> {
    fn run(&mut self) -> Result<(), DiffError> {
        while let Some(line) = self.cur.next_line() {
            let text = line.text;
            if text.starts_with(b"diff --git ") {
                self.git_file(&line)?;
            } else if text.starts_with(b"diff --cc ") || text.starts_with(b"diff --combined ") {
                return Err(line.error(DiffErrorKind::CombinedDiff));
            } else if text.starts_with(b"--- ") && self.cur.peek_starts_with(b"+++ ") {
                self.plain_file(&line)?;
            } else if text.starts_with(b"@@") {
                return Err(line.error(DiffErrorKind::HunkOutsideFile));
            } else {
                self.skip(&line);
            }
        }
        Ok(())
    }

    fn skip(&mut self, line: &Line<'_>) {
        self.diff.skipped.push(SkippedLine {
            line: line.no,
            text: line.text.to_vec(),
        });
    }

    /// A `diff --git` section: extended headers, then hunks.
    fn git_file(&mut self, header: &Line<'_>) -> Result<(), DiffError> {
        let rest = &header.header_text()[b"diff --git ".len()..];
        let (git_old, git_new) =
            parse_git_names(rest).map_err(|()| header.error(DiffErrorKind::BadQuotedPath))?;
        let mut h = Headers {
            git_old,
            git_new,
            ..Headers::default()
        };
        while let Some(line) = self.cur.peek() {
            let text = line.header_text();
            if text.starts_with(b"diff ") || text.starts_with(b"@@") {
                break;
            }
            self.cur.next_line();
            if text == b"GIT binary patch" {
                h.binary = true;
                // Base85 data lines never contain a space, so none looks like `diff --git `.
                while self
                    .cur
                    .peek()
                    .is_some_and(|l| !l.text.starts_with(b"diff "))
                {
                    self.cur.next_line();
                }
                break;
            }
            if !self.extended_header(&line, text, &mut h)? {
                self.skip(&line);
            }
        }
        let (hunks, last_header) = parse_hunks(&mut self.cur)?;
        self.after_hunks(last_header, false)?;
        let file = resolve(h, hunks, header)?;
        self.diff.files.push(file);
        Ok(())
    }

    /// Reads one known extended header line into `h`; `false` if the line is not one.
    fn extended_header(
        &self,
        line: &Line<'_>,
        text: &[u8],
        h: &mut Headers,
    ) -> Result<bool, DiffError> {
        let bad_path = || line.error(DiffErrorKind::BadQuotedPath);
        if let Some(v) = text.strip_prefix(b"--- ") {
            h.minus = Some(parse_header_path(v).map_err(|()| bad_path())?);
        } else if let Some(v) = text.strip_prefix(b"+++ ") {
            h.plus = Some(parse_header_path(v).map_err(|()| bad_path())?);
        } else if let Some(v) = text.strip_prefix(b"index ") {
            parse_index(v, h).ok_or_else(|| line.error(DiffErrorKind::BadIndexLine))?;
        } else if let Some(v) = text.strip_prefix(b"new file mode ") {
            h.new_file = true;
            h.new_mode = Some(mode(line, v)?);
        } else if let Some(v) = text.strip_prefix(b"deleted file mode ") {
            h.deleted_file = true;
            h.old_mode = Some(mode(line, v)?);
        } else if let Some(v) = text.strip_prefix(b"old mode ") {
            h.old_mode = Some(mode(line, v)?);
        } else if let Some(v) = text.strip_prefix(b"new mode ") {
            h.new_mode = Some(mode(line, v)?);
        } else if let Some(v) = strip_any(text, &[b"rename from ", b"rename old "]) {
            h.rename_from = Some(bare_path(v).ok_or_else(bad_path)?);
        } else if let Some(v) = strip_any(text, &[b"rename to ", b"rename new "]) {
            h.rename_to = Some(bare_path(v).ok_or_else(bad_path)?);
        } else if let Some(v) = text.strip_prefix(b"copy from ") {
            h.copy_from = Some(bare_path(v).ok_or_else(bad_path)?);
        } else if let Some(v) = text.strip_prefix(b"copy to ") {
            h.copy_to = Some(bare_path(v).ok_or_else(bad_path)?);
        } else if let Some(v) = text.strip_prefix(b"similarity index ") {
            h.similarity =
                Some(percent(v).ok_or_else(|| line.error(DiffErrorKind::BadSimilarity))?);
        } else if let Some(v) = text.strip_prefix(b"dissimilarity index ") {
            // A rewrite (`-B`) score; validated but not kept.
            percent(v).ok_or_else(|| line.error(DiffErrorKind::BadSimilarity))?;
        } else if text.starts_with(b"Binary files ") && text.ends_with(b" differ") {
            h.binary = true;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// A plain unified diff file: `--- old` and `+++ new`, then hunks.
    fn plain_file(&mut self, minus: &Line<'_>) -> Result<(), DiffError> {
        let bad_path = |l: &Line<'_>| l.error(DiffErrorKind::BadQuotedPath);
        let old = parse_header_path(&minus.header_text()[4..]).map_err(|()| bad_path(minus))?;
        let Some(plus) = self.cur.next_line() else {
            return Err(self
                .cur
                .eof_error(DiffErrorKind::MissingPath { side: Side::New }));
        };
        let new = parse_header_path(&plus.header_text()[4..]).map_err(|()| bad_path(&plus))?;
        let h = Headers {
            minus: Some(old),
            plus: Some(new),
            ..Headers::default()
        };
        let (hunks, last_header) = parse_hunks(&mut self.cur)?;
        self.after_hunks(last_header, true)?;
        let file = resolve(h, hunks, minus)?;
        self.diff.files.push(file);
        Ok(())
    }

    /// After a file's last complete hunk, a body line means the hunk was longer than its
    /// header said. Exceptions: `-- ` (a `git format-patch` signature) and, in a plain diff,
    /// the `---`/`+++` pair of the next file.
    fn after_hunks(&self, last_header: Option<usize>, plain: bool) -> Result<(), DiffError> {
        let (Some(line), Some(header_line)) = (self.cur.peek(), last_header) else {
            return Ok(());
        };
        let text = line.header_text();
        if text == b"-- " || text == b"--" {
            return Ok(());
        }
        if plain && text.starts_with(b"--- ") {
            let mut ahead = self.cur;
            ahead.next_line();
            if ahead.peek_starts_with(b"+++ ") {
                return Ok(());
            }
        }
        match body_overflow_side(line.text) {
            Some(side) => Err(line.error(DiffErrorKind::HunkOverflow { header_line, side })),
            None => Ok(()),
        }
    }
}

/// Which side's count a body line after a complete hunk would exceed, if it is a body line.
fn body_overflow_side(text: &[u8]) -> Option<Side> {
    match text.first() {
        Some(b'+') => Some(Side::New),
        Some(b'-' | b' ') => Some(Side::Old),
        _ => None,
    }
}

fn strip_any<'t>(text: &'t [u8], prefixes: &[&[u8]]) -> Option<&'t [u8]> {
    prefixes.iter().find_map(|p| text.strip_prefix(*p))
}

/// A `rename`/`copy` path: bare (no `a/` prefix), possibly C-quoted.
fn bare_path(v: &[u8]) -> Option<Vec<u8>> {
    if v.first() == Some(&b'"') {
        let (path, used) = unquote(v)?;
        (used == v.len()).then_some(path)
    } else {
        Some(v.to_vec())
    }
}

fn mode(line: &Line<'_>, v: &[u8]) -> Result<FileMode, DiffError> {
    parse_octal(v)
        .map(FileMode)
        .ok_or_else(|| line.error(DiffErrorKind::BadMode))
}

fn parse_octal(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 7 {
        return None;
    }
    v.iter().try_fold(0u32, |acc, &b| match b {
        b'0'..=b'7' => Some(acc * 8 + u32::from(b - b'0')),
        _ => None,
    })
}

fn percent(v: &[u8]) -> Option<u8> {
    let digits = v.strip_suffix(b"%")?;
    let n = parse_u32(digits)?;
    u8::try_from(n).ok().filter(|&n| n <= 100)
}

/// `index <hex>..<hex>[ <mode>]`.
fn parse_index(v: &[u8], h: &mut Headers) -> Option<()> {
    let (ids, mode) = match v.iter().position(|&b| b == b' ') {
        Some(space) => (&v[..space], Some(parse_octal(&v[space + 1..])?)),
        None => (v, None),
    };
    let dots = ids.windows(2).position(|w| w == b"..")?;
    let oid = |s: &[u8]| -> Option<Option<String>> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let zero = s.iter().all(|&b| b == b'0');
        Some((!zero).then(|| String::from_utf8_lossy(s).into_owned()))
    };
    h.old_oid = oid(&ids[..dots])?;
    h.new_oid = oid(&ids[dots + 2..])?;
    h.index_mode = mode.map(FileMode);
    Some(())
}

/// Turns a section's headers into a [`FileDiff`]: the status, then each path from the most
/// reliable header that has it (`rename`/`copy`, then `---`/`+++`, then `diff --git`).
fn resolve(h: Headers, hunks: Vec<Hunk>, header: &Line<'_>) -> Result<FileDiff, DiffError> {
    let minus_null = matches!(h.minus, Some(None));
    let plus_null = matches!(h.plus, Some(None));
    let status = if h.new_file || (minus_null && !plus_null) {
        FileStatus::Added
    } else if h.deleted_file || (plus_null && !minus_null) {
        FileStatus::Deleted
    } else if h.rename_from.is_some() || h.rename_to.is_some() {
        FileStatus::Renamed
    } else if h.copy_from.is_some() || h.copy_to.is_some() {
        FileStatus::Copied
    } else {
        FileStatus::Modified
    };
    let missing = |side| header.error(DiffErrorKind::MissingPath { side });
    let old_path = match status {
        FileStatus::Added => None,
        _ => Some(
            h.rename_from
                .or(h.copy_from)
                .or(h.minus.flatten())
                .or(h.git_old)
                .ok_or_else(|| missing(Side::Old))?,
        ),
    };
    let new_path = match status {
        FileStatus::Deleted => None,
        _ => Some(
            h.rename_to
                .or(h.copy_to)
                .or(h.plus.flatten())
                .or(h.git_new)
                .ok_or_else(|| missing(Side::New))?,
        ),
    };
    let (old_mode, new_mode) = match status {
        FileStatus::Added => (None, h.new_mode.or(h.index_mode)),
        FileStatus::Deleted => (h.old_mode.or(h.index_mode), None),
        _ => (h.old_mode.or(h.index_mode), h.new_mode.or(h.index_mode)),
    };
    Ok(FileDiff {
        old_path,
        new_path,
        status,
        similarity: h.similarity,
        old_mode,
        new_mode,
        old_oid: h.old_oid,
        new_oid: h.new_oid,
        binary: h.binary,
        hunks,
        header_line: header.no,
    })
}

/// Parses `@@ -a[,b] +c[,d] @@[ section]` into (a, b, c, d, section).
fn parse_hunk_header(text: &[u8]) -> Option<(u32, u32, u32, u32, &[u8])> {
    let rest = text.strip_prefix(b"@@ -")?;
    let (old_start, old_lines, rest) = parse_range(rest)?;
    let rest = rest.strip_prefix(b" +")?;
    let (new_start, new_lines, rest) = parse_range(rest)?;
    let rest = rest.strip_prefix(b" @@")?;
    let section = rest.strip_prefix(b" ").unwrap_or(rest);
    for (start, count) in [(old_start, old_lines), (new_start, new_lines)] {
        // A non-empty range starts at line 1 or later and must end within u32.
        if count > 0 && (start == 0 || start.checked_add(count - 1).is_none()) {
            return None;
        }
    }
    Some((old_start, old_lines, new_start, new_lines, section))
}

/// `start[,count]`; the count defaults to 1.
fn parse_range(s: &[u8]) -> Option<(u32, u32, &[u8])> {
    let (start, rest) = parse_number(s)?;
    match rest.strip_prefix(b",") {
        Some(after) => {
            let (count, rest) = parse_number(after)?;
            Some((start, count, rest))
        }
        None => Some((start, 1, rest)),
    }
}

fn parse_number(s: &[u8]) -> Option<(u32, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    Some((parse_u32(&s[..digits])?, &s[digits..]))
}

fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })
}

/// The most body lines reserved up front for one hunk (about 0.8 MB of `DiffLine`s); longer
/// hunks grow as they are read, so memory follows the input rather than a header's claim.
const MAX_RESERVED_LINES: usize = 1 << 14;

/// Parses one hunk whose `@@` line is `header` (already consumed) and its body, including a
/// `\ No newline` marker right after the last line.
fn parse_hunk(
    cur: &mut Cursor<'_>,
    header: &Line<'_>,
    first_header: usize,
) -> Result<Hunk, DiffError> {
    let (old_start, old_lines, new_start, new_lines, section) =
        parse_hunk_header(header.header_text())
            .ok_or_else(|| header.error(DiffErrorKind::BadHunkHeader))?;
    let mut old_no = old_start;
    let mut new_no = new_start;
    let mut old_left = old_lines;
    let mut new_left = new_lines;
    // The body has at most `old + new` lines (context lines count on both sides); reserving
    // that avoids regrowing the vector, which costs more than the slack. A malformed header
    // may claim billions of lines, so never reserve more than the rest of the input could
    // hold (a body line takes at least one byte), nor more than MAX_RESERVED_LINES.
    let remaining = cur.input.len() - cur.pos;
    let expected = (old_lines as usize + new_lines as usize)
        .min(remaining)
        .min(MAX_RESERVED_LINES);
    let mut lines: Vec<DiffLine> = Vec::with_capacity(expected);
    let header_line = header.no;
    while old_left > 0 || new_left > 0 {
        let Some(line) = cur.next_line() else {
            return Err(cur.eof_error(DiffErrorKind::HunkTruncated {
                header_line,
                old_missing: old_left,
                new_missing: new_left,
            }));
        };
        let overflow = |side| line.error(DiffErrorKind::HunkOverflow { header_line, side });
        let (kind, content) = match line.text.split_first() {
            // An empty line is an empty context line whose space was stripped (by an editor
            // or mailer); `git apply` accepts it too.
            None => (LineKind::Context, &[][..]),
            Some((b' ', rest)) => (LineKind::Context, rest),
            Some((b'-', rest)) => (LineKind::Removed, rest),
            Some((b'+', rest)) => (LineKind::Added, rest),
            Some((b'\\', _)) => {
                let last = lines
                    .last_mut()
                    .ok_or_else(|| line.error(DiffErrorKind::OrphanNoNewlineMarker))?;
                last.no_newline_at_eof = true;
                continue;
            }
            Some(_) => {
                return Err(line.error(DiffErrorKind::HunkTruncated {
                    header_line,
                    old_missing: old_left,
                    new_missing: new_left,
                }));
            }
        };
        let (old_line, new_line) = match kind {
            LineKind::Context => {
                if old_left == 0 {
                    return Err(overflow(Side::Old));
                }
                if new_left == 0 {
                    return Err(overflow(Side::New));
                }
                old_left -= 1;
                new_left -= 1;
                let at = (Some(old_no), Some(new_no));
                old_no = old_no.wrapping_add(1);
                new_no = new_no.wrapping_add(1);
                at
            }
            LineKind::Removed => {
                if old_left == 0 {
                    return Err(overflow(Side::Old));
                }
                old_left -= 1;
                let at = (Some(old_no), None);
                old_no = old_no.wrapping_add(1);
                at
            }
            LineKind::Added => {
                if new_left == 0 {
                    return Err(overflow(Side::New));
                }
                new_left -= 1;
                let at = (None, Some(new_no));
                new_no = new_no.wrapping_add(1);
                at
            }
        };
        lines.push(DiffLine {
            kind,
            old_line,
            new_line,
            content: content.to_vec(),
            no_newline_at_eof: false,
        });
    }
    // The marker for the hunk's last line comes after the counts are complete.
    while let Some(line) = cur.peek().filter(|l| l.text.first() == Some(&b'\\')) {
        cur.next_line();
        let last = lines
            .last_mut()
            .ok_or_else(|| line.error(DiffErrorKind::OrphanNoNewlineMarker))?;
        last.no_newline_at_eof = true;
    }
    Ok(Hunk {
        header: header.text.to_vec(),
        old_start,
        old_lines,
        new_start,
        new_lines,
        section: section.to_vec(),
        // Hunks of a file are contiguous, so the distance in lines is the GitHub position.
        position: u32::try_from(header.no - first_header).unwrap_or(u32::MAX),
        lines,
    })
}
