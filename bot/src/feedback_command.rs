//! Feedback commands in replies to our review comments, parsed into typed values at the edge:
//! the ledger never sees raw text.
//!
//! The forms (see [`VALID_FORMS`]): `/accept [note]`,
//! `/reject duplicate|incorrect|out-of-scope|noisy|other [note]`, `/modify [note]` followed by
//! a fenced code block (the human's version), and
//! `/triage tp|fp|wontfix|used-in-tests|needs-info [note]`.
//!
//! # What counts as a command
//! - A command is a line that starts with `/word`, after at most three spaces of indentation
//!   and any number of leading `@login` mentions (`@reviewbot-app[bot] /accept`). A line
//!   indented by four or more columns (a tab counts as four) is not one: Markdown may show it as
//!   code. Text before the command on the same line (`please /accept`) makes it prose.
//! - The word is letters, digits, `-` and `_`, starting with a letter, and may be followed by
//!   `.,:;!?` (`/accept.`). Anything else glued to it makes it prose: `/usr/bin/env` or
//!   `/etc/hosts` (a second slash), `/accept's`, `/2`, `/ accept`.
//! - Quoted lines (`>` at any depth), fenced code blocks (``` or ~~~ of any length ≥ 3, also
//!   inside list items; an unclosed fence runs to the end of the reply, as Markdown shows it)
//!   and HTML comments (`<!-- … -->`, invisible once rendered) are never commands: people
//!   quote-reply the bot's instructions, which list every command. Inline code (`` `/accept` ``)
//!   is not at the start of a line, so it is not one either. A line right after a quote that
//!   does not start with `>` is the human's own text (Markdown would render it as a lazy
//!   continuation of the quote, but nobody types a command there to quote it).
//! - The first command of the reply wins; one reply carries one command.
//! - Command words, reasons and states are case-insensitive; spaces may be repeated; CRLF (and a
//!   lone CR) count as line ends.
//! - `/reviewbot …` belongs to the conversation commands (`handlers::pr_commands`): when it is
//!   the reply's first command, [`parse_reply`] returns `None`. Any other unknown `/word` at the
//!   start of a line is `Err(Unknown)`, so the human gets [`VALID_FORMS`]: in a reply to one of
//!   our comments a slash word is almost surely meant for us.
//!
//! # Arguments
//! - The reason (`/reject`) or state (`/triage`) is the first word after the command word.
//!   Surrounding `` ` `` `"` `'` `*` `_` and trailing `.,:;!?` are ignored (`` /reject `noisy`, ``),
//!   `_` reads as `-` (`out_of_scope`, `used_in_tests`, `needs_info`), and a few unambiguous
//!   aliases are read: `outofscope` → `out-of-scope`; `false-positive` → `fp`,
//!   `true-positive` → `tp`, `wont-fix` → `wontfix`. Nothing else (no multi-word forms, no
//!   guessing of typos: the error lists the valid values).
//! - The note of `/accept`, `/reject` and `/triage` is the rest of the command line plus the
//!   lines after it, up to the next line that is itself a command, without quoted lines and
//!   HTML comments (code blocks in it are kept as written). The note of `/modify` is the rest of
//!   its line plus the lines between it and its code block; text after the block is not part of
//!   it. Text before the command is never part of a note. Notes are trimmed, runs of blank lines
//!   become one, an empty note is `None`, and a note longer than [`MAX_NOTE_CHARS`] characters
//!   is cut to that many, ending in `…`.
//! - `/modify`'s code is the first fenced block after it (quoted lines in between are skipped;
//!   a command line in between, or no block, is [`CommandError::MissingCode`]). A fence typed
//!   on the `/modify` line itself (`` /modify ```rust ``) opens the block too: a common slip
//!   whose intent is plain. The code is exactly the block's content with the fence's own
//!   indentation removed (as Markdown does), LF line ends, trailing blank lines dropped and one
//!   final newline; blank content is [`CommandError::EmptyCode`], more than [`MAX_CODE_BYTES`]
//!   is [`CommandError::CodeTooLong`]. The language is the first word of the info string,
//!   lowercased, if it is at most 32 characters of letters, digits and `_+#.-`.
//! - Words echoed back in errors keep only printable ASCII (other characters, `` ` `` and `@`
//!   become `?`) and at most 40 characters, so a reply quoting them cannot format or mention.
//!
//! # Edits
//! [`new_in_edit`] runs the command of the edited text only if it differs from the command of
//! the text before (compared as parsed values). An edit that fixes a typo elsewhere runs
//! nothing; an edit that changes the note does count as a new command, since the note is part
//! of the verdict's content (the ledger keeps the latest explicit command of each person).

use feedback::{RejectReason, TriageState};

/// The longest note kept, in characters; longer notes are cut and end in `…`.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// The largest `/modify` code block accepted, in bytes (after normalisation).
pub const MAX_CODE_BYTES: usize = 64 * 1024;

/// The valid forms, for the one reply to an unknown or malformed command.
pub const VALID_FORMS: &str = "`/accept [note]`, `/reject duplicate|incorrect|out-of-scope|noisy|other [note]`, \
`/modify [note]` followed by your version in a fenced code block, or (security reviewers) \
`/triage tp|fp|wontfix|used-in-tests|needs-info [note]`.";

/// The reject reasons, as listed in error messages (the texts of [`RejectReason::ALL`]).
const REASONS: &str = "duplicate, incorrect, out-of-scope, noisy, other";

/// The triage states, as listed in error messages (the texts of [`TriageState::ALL`]).
const STATES: &str = "tp, fp, wontfix, used-in-tests, needs-info";

/// The most characters of a human's word echoed back in an error.
const MAX_ECHO_CHARS: usize = 40;

/// The longest language name read from a code fence's info string.
const MAX_LANGUAGE_CHARS: usize = 32;

/// A feedback command from a reply in one of our review comments' threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedbackCommand {
    /// `/accept [note]`.
    Accept {
        /// Why, if the human said.
        note: Option<String>,
    },
    /// `/reject <reason> [note]`.
    Reject {
        /// The reason.
        reason: RejectReason,
        /// Details, if the human gave them.
        note: Option<String>,
    },
    /// `/modify [note]` followed by a fenced code block.
    Modify {
        /// The human's version: the block's content, ending in exactly one newline.
        code: String,
        /// The block's language (its info string's first word, lowercased), if it named one.
        language: Option<String>,
        /// The text between `/modify` and the block, if any.
        note: Option<String>,
    },
    /// `/triage <state> [note]` (security reviewers, on findings).
    Triage {
        /// The state.
        state: TriageState,
        /// Details, if the reviewer gave them.
        note: Option<String>,
    },
}

impl FeedbackCommand {
    /// The command word: `accept`, `reject`, `modify` or `triage`.
    pub fn name(&self) -> &'static str {
        match self {
            FeedbackCommand::Accept { .. } => "accept",
            FeedbackCommand::Reject { .. } => "reject",
            FeedbackCommand::Modify { .. } => "modify",
            FeedbackCommand::Triage { .. } => "triage",
        }
    }

    /// The note, if any.
    pub fn note(&self) -> Option<&str> {
        match self {
            FeedbackCommand::Accept { note }
            | FeedbackCommand::Reject { note, .. }
            | FeedbackCommand::Modify { note, .. }
            | FeedbackCommand::Triage { note, .. } => note.as_deref(),
        }
    }
}

/// Why a command could not be read. Each message is one line, meant to be followed by
/// [`VALID_FORMS`] in the reply; the words it quotes are made safe to echo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A `/word` that is none of ours (the word as typed, made safe to echo).
    #[error("`/{0}` is not a feedback command")]
    Unknown(String),
    /// `/reject` without a reason.
    #[error("`/reject` needs a reason: one of {REASONS}")]
    MissingReason,
    /// `/reject` with a reason that is none of ours.
    #[error("`{0}` is not a reject reason: use one of {REASONS}")]
    BadReason(String),
    /// `/modify` with no fenced code block after it.
    #[error("`/modify` needs your version in a fenced code block (``` or ~~~) after it")]
    MissingCode,
    /// `/modify` whose code block is blank.
    #[error("the code block after `/modify` is empty")]
    EmptyCode,
    /// `/modify` whose code block is too large (its size in bytes).
    #[error("the code block after `/modify` has {0} bytes; at most {MAX_CODE_BYTES} are accepted")]
    CodeTooLong(usize),
    /// `/triage` without a state.
    #[error("`/triage` needs a state: one of {STATES}")]
    MissingTriageState,
    /// `/triage` with a state that is none of ours.
    #[error("`{0}` is not a triage state: use one of {STATES}")]
    BadTriageState(String),
}

/// The feedback command in a reply: `None` if there is none (or the first command is a
/// `/reviewbot …` one, handled elsewhere), otherwise the first command, read or refused.
pub fn parse_reply(body: &str) -> Option<Result<FeedbackCommand, CommandError>> {
    let blocks = scan(body);
    blocks.iter().enumerate().find_map(|(at, block)| {
        let Block::Text(line) = block else {
            return None;
        };
        let (word, rest) = command_start(line)?;
        Some(command(word, rest, &blocks[at + 1..]))
    })?
}

/// The command an edit adds: the command of `after`, unless it is the same (as parsed, note
/// included) as the command of `before`.
pub fn new_in_edit(before: &str, after: &str) -> Option<Result<FeedbackCommand, CommandError>> {
    let after = parse_reply(after)?;
    (parse_reply(before).as_ref() != Some(&after)).then_some(after)
}

fn command(
    word: &str,
    rest: &str,
    following: &[Block],
) -> Option<Result<FeedbackCommand, CommandError>> {
    Some(match word.to_ascii_lowercase().as_str() {
        "reviewbot" => return None,
        "accept" => Ok(FeedbackCommand::Accept {
            note: note(rest, following),
        }),
        "reject" => reject(rest, following),
        "triage" => triage(rest, following),
        "modify" => modify(rest, following),
        _ => Err(CommandError::Unknown(echo(word))),
    })
}

fn reject(rest: &str, following: &[Block]) -> Result<FeedbackCommand, CommandError> {
    let (word, after) = argument(rest).ok_or(CommandError::MissingReason)?;
    let reason = match canonical(word).as_str() {
        "outofscope" => Ok(RejectReason::OutOfScope),
        other => RejectReason::parse(other),
    }
    .map_err(|_| CommandError::BadReason(echo(word)))?;
    Ok(FeedbackCommand::Reject {
        reason,
        note: note(after, following),
    })
}

fn triage(rest: &str, following: &[Block]) -> Result<FeedbackCommand, CommandError> {
    let (word, after) = argument(rest).ok_or(CommandError::MissingTriageState)?;
    let state = match canonical(word).as_str() {
        "false-positive" => Ok(TriageState::FalsePositive),
        "true-positive" => Ok(TriageState::TruePositive),
        "wont-fix" => Ok(TriageState::WontFix),
        other => TriageState::parse(other),
    }
    .map_err(|_| CommandError::BadTriageState(echo(word)))?;
    Ok(FeedbackCommand::Triage {
        state,
        note: note(after, following),
    })
}

fn modify(rest: &str, following: &[Block]) -> Result<FeedbackCommand, CommandError> {
    let mut note = Note::new(rest);
    for block in following {
        match block {
            Block::Text(line) if command_start(line).is_some() => break,
            Block::Text(line) => note.push_text(line),
            Block::Quote => {}
            Block::Code(code) => {
                return Ok(FeedbackCommand::Modify {
                    code: payload(&code.content)?,
                    language: code.fence.language(),
                    note: note.finish(),
                });
            }
        }
    }
    Err(CommandError::MissingCode)
}

/// The reason or state: the first word of `rest` without the formatting around it, and the
/// text after it.
fn argument(rest: &str) -> Option<(&str, &str)> {
    const FORMATTING: [char; 5] = ['`', '"', '\'', '*', '_'];
    const PUNCTUATION: [char; 6] = ['.', ',', ':', ';', '!', '?'];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (word, after) = rest.split_at(end);
    let word = word
        .trim_matches(FORMATTING)
        .trim_end_matches(PUNCTUATION)
        .trim_matches(FORMATTING);
    (!word.is_empty()).then_some((word, after))
}

/// An argument as looked up: lowercase, `_` read as `-`.
fn canonical(word: &str) -> String {
    word.to_ascii_lowercase().replace('_', "-")
}

/// A human's word as it may be quoted back: printable ASCII without `` ` `` or `@`, bounded.
fn echo(word: &str) -> String {
    let safe: String = word
        .chars()
        .take(MAX_ECHO_CHARS)
        .map(|c| {
            if c.is_ascii_graphic() && c != '`' && c != '@' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if safe.is_empty() {
        "?".to_owned()
    } else {
        safe
    }
}

/// The note of `/accept`, `/reject` and `/triage`: `first` (the rest of the command line) and
/// the lines after it up to the next command.
fn note(first: &str, following: &[Block]) -> Option<String> {
    let mut note = Note::new(first);
    for block in following {
        match block {
            Block::Text(line) if command_start(line).is_some() => break,
            Block::Text(line) => note.push_text(line),
            Block::Quote => {}
            Block::Code(code) => note.push_code(code),
        }
    }
    note.finish()
}

/// A note being gathered, line by line.
#[derive(Debug)]
struct Note {
    text: String,
    blank: bool,
}

impl Note {
    fn new(first: &str) -> Note {
        Note {
            text: first.to_owned(),
            blank: first.trim().is_empty(),
        }
    }

    fn push_text(&mut self, line: &str) {
        let blank = line.trim().is_empty();
        if !(blank && self.blank) {
            self.text.push('\n');
            self.text.push_str(line);
        }
        self.blank = blank;
    }

    fn push_code(&mut self, code: &CodeBlock) {
        for line in &code.raw {
            self.text.push('\n');
            self.text.push_str(line);
        }
        self.blank = false;
    }

    /// Trimmed, bounded, `None` when empty.
    fn finish(self) -> Option<String> {
        let text = self.text.trim();
        if text.is_empty() {
            return None;
        }
        if text.chars().count() <= MAX_NOTE_CHARS {
            return Some(text.to_owned());
        }
        let mut cut: String = text.chars().take(MAX_NOTE_CHARS - 1).collect();
        cut.truncate(cut.trim_end().len());
        cut.push('…');
        Some(cut)
    }
}

/// `/modify`'s code: the block's lines without trailing blank ones, ending in one newline.
fn payload(lines: &[String]) -> Result<String, CommandError> {
    let end = lines
        .iter()
        .rposition(|line| !line.trim().is_empty())
        .ok_or(CommandError::EmptyCode)?;
    let mut code = lines[..=end].join("\n");
    code.push('\n');
    if code.len() > MAX_CODE_BYTES {
        return Err(CommandError::CodeTooLong(code.len()));
    }
    Ok(code)
}

/// `(word, rest)` when a visible line is a command: `/word` at its start, after at most three
/// columns of indentation and any `@login` mentions. `rest` is a suffix of `line`.
fn command_start(line: &str) -> Option<(&str, &str)> {
    if indentation(line) > 3 {
        return None;
    }
    let mut text = line.trim_start();
    while let Some(mention) = text.strip_prefix('@') {
        let (login, rest) = mention.split_once(char::is_whitespace)?;
        if login.is_empty() {
            return None;
        }
        text = rest.trim_start();
    }
    let token = text.strip_prefix('/')?;
    let token_end = token.find(char::is_whitespace).unwrap_or(token.len());
    let (token, rest) = token.split_at(token_end);
    let word_end = token
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(token.len());
    let (word, tail) = token.split_at(word_end);
    let is_word = word.starts_with(|c: char| c.is_ascii_alphabetic())
        && tail.chars().all(|c| ".,:;!?".contains(c));
    is_word.then_some((word, rest.trim_start()))
}

/// The columns of leading whitespace; a tab reaches the next multiple of four.
fn indentation(line: &str) -> usize {
    line.chars()
        .take_while(|c| c.is_whitespace())
        .fold(0, |column, c| {
            if c == '\t' {
                (column / 4 + 1) * 4
            } else {
                column + 1
            }
        })
}

/// A reply cut into what matters for commands.
#[derive(Debug)]
enum Block {
    /// A visible line outside quotes, code and HTML comments (trailing whitespace trimmed).
    Text(String),
    /// A quoted line.
    Quote,
    /// A fenced code block.
    Code(CodeBlock),
}

#[derive(Debug)]
struct CodeBlock {
    fence: Fence,
    /// The content, with the fence's indentation removed.
    content: Vec<String>,
    /// The lines as written, fences included (for notes).
    raw: Vec<String>,
}

#[derive(Debug)]
struct Fence {
    /// `` ` `` or `~`.
    ch: char,
    /// At least three.
    len: usize,
    /// Columns before the fence: removed (as spaces) from the content lines.
    indent: usize,
    /// The info string, trimmed.
    info: String,
}

impl Fence {
    /// A line opening a fenced block, possibly inside list items (`- ```rust`).
    fn opening(line: &str) -> Option<Fence> {
        let mut text = line.trim_start();
        while let Some(rest) = strip_list_marker(text) {
            text = rest;
        }
        let indent = line[..line.len() - text.len()].chars().count();
        Fence::at(text, indent)
    }

    /// A fence at the start of `text`.
    fn at(text: &str, indent: usize) -> Option<Fence> {
        let ch = text.chars().next().filter(|&c| c == '`' || c == '~')?;
        let len = text.len() - text.trim_start_matches(ch).len();
        let info = &text[len..];
        if len < 3 || (ch == '`' && info.contains('`')) {
            return None;
        }
        Some(Fence {
            ch,
            len,
            indent,
            info: info.trim().to_owned(),
        })
    }

    /// Whether `line` closes this fence: the same character, at least as many, nothing after.
    fn closes(&self, line: &str) -> bool {
        let text = line.trim_start();
        let run = text.len() - text.trim_start_matches(self.ch).len();
        run >= self.len && text[run..].trim().is_empty()
    }

    /// A content line without (up to) the fence's indentation.
    fn dedent<'a>(&self, line: &'a str) -> &'a str {
        let spaces = line.len() - line.trim_start_matches(' ').len();
        &line[spaces.min(self.indent)..]
    }

    /// The info string's first word, lowercased, if it looks like a language name.
    fn language(&self) -> Option<String> {
        let word = self.info.split_whitespace().next()?;
        let plausible = word.chars().count() <= MAX_LANGUAGE_CHARS
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+#.-".contains(c));
        plausible.then(|| word.to_ascii_lowercase())
    }
}

/// `text` after a list item's marker (`-`, `*`, `+`, `1.`, `1)`) and its spaces.
fn strip_list_marker(text: &str) -> Option<&str> {
    let after = match text.strip_prefix(['-', '*', '+']) {
        Some(after) => after,
        None => {
            let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 || digits > 9 {
                return None;
            }
            text[digits..].strip_prefix(['.', ')'])?
        }
    };
    let rest = after.trim_start_matches([' ', '\t']);
    (rest.len() < after.len()).then_some(rest)
}

/// The fence a `/modify` line opens on itself (`` /modify ```rust ``): the byte offset where
/// it starts, and the fence.
fn inline_modify_fence(line: &str) -> Option<(usize, Fence)> {
    let (word, rest) = command_start(line)?;
    if !word.eq_ignore_ascii_case("modify") {
        return None;
    }
    let at = [rest.find("```"), rest.find("~~~")]
        .into_iter()
        .flatten()
        .min()?;
    let fence = Fence::at(&rest[at..], 0)?;
    Some((line.len() - rest.len() + at, fence))
}

/// The visible part of a line outside HTML comments; `in_comment` carries an open comment
/// over to the next line.
fn strip_comments(line: &str, in_comment: &mut bool) -> String {
    let mut visible = String::new();
    let mut rest = line;
    loop {
        if *in_comment {
            let Some(at) = rest.find("-->") else { break };
            rest = &rest[at + 3..];
            *in_comment = false;
        } else {
            let Some(at) = rest.find("<!--") else {
                visible.push_str(rest);
                break;
            };
            visible.push_str(&rest[..at]);
            rest = &rest[at + 4..];
            *in_comment = true;
        }
    }
    visible
}

/// Cuts a reply into visible lines, quoted lines and fenced code blocks.
fn scan(body: &str) -> Vec<Block> {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut blocks = Vec::new();
    let mut open: Option<CodeBlock> = None;
    let mut in_comment = false;
    for raw in body.split('\n') {
        if let Some(mut code) = open.take() {
            code.raw.push(raw.to_owned());
            if code.fence.closes(raw) {
                blocks.push(Block::Code(code));
            } else {
                code.content.push(code.fence.dedent(raw).to_owned());
                open = Some(code);
            }
            continue;
        }
        let mut line = raw;
        if in_comment {
            let Some(at) = line.find("-->") else {
                continue;
            };
            in_comment = false;
            line = &line[at + 3..];
            if line.trim().is_empty() {
                continue;
            }
        }
        if line.trim_start().starts_with('>') {
            blocks.push(Block::Quote);
            continue;
        }
        if let Some(fence) = Fence::opening(line) {
            open = Some(CodeBlock {
                fence,
                content: Vec::new(),
                raw: vec![line.to_owned()],
            });
            continue;
        }
        // What is left once HTML comments are gone reads like a line of its own (a quote or a
        // fence whose start was behind a comment is taken as one: never a command).
        let visible = strip_comments(line, &mut in_comment);
        let visible = visible.trim_end();
        if visible.trim_start().starts_with('>') {
            blocks.push(Block::Quote);
            continue;
        }
        if let Some(fence) = Fence::opening(visible) {
            in_comment = false;
            open = Some(CodeBlock {
                fence,
                content: Vec::new(),
                raw: vec![visible.to_owned()],
            });
            continue;
        }
        if let Some((at, fence)) = inline_modify_fence(visible) {
            blocks.push(Block::Text(visible[..at].trim_end().to_owned()));
            open = Some(CodeBlock {
                fence,
                content: Vec::new(),
                raw: vec![visible[at..].to_owned()],
            });
            continue;
        }
        blocks.push(Block::Text(visible.to_owned()));
    }
    if let Some(code) = open {
        blocks.push(Block::Code(code));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> FeedbackCommand {
        match parse_reply(body) {
            Some(Ok(command)) => command,
            other => panic!("{body:?}: expected a command, got {other:?}"),
        }
    }

    fn err(body: &str) -> CommandError {
        match parse_reply(body) {
            Some(Err(error)) => error,
            other => panic!("{body:?}: expected an error, got {other:?}"),
        }
    }

    fn none(body: &str) {
        assert_eq!(parse_reply(body), None, "{body:?}");
    }

    fn accept(note: Option<&str>) -> FeedbackCommand {
        FeedbackCommand::Accept {
            note: note.map(str::to_owned),
        }
    }

    fn reject(reason: RejectReason, note: Option<&str>) -> FeedbackCommand {
        FeedbackCommand::Reject {
            reason,
            note: note.map(str::to_owned),
        }
    }

    fn triage(state: TriageState, note: Option<&str>) -> FeedbackCommand {
        FeedbackCommand::Triage {
            state,
            note: note.map(str::to_owned),
        }
    }

    fn modify(code: &str, language: Option<&str>, note: Option<&str>) -> FeedbackCommand {
        FeedbackCommand::Modify {
            code: code.to_owned(),
            language: language.map(str::to_owned),
            note: note.map(str::to_owned),
        }
    }

    /// The bot's own instructions, as `review::render` posts them under every suggestion.
    const BOT_HELP: &str = "Reply `/accept`, `/reject duplicate|incorrect|out-of-scope|noisy|other [note]`, \
or `/modify` with your version in a code block; or react 👍 / 👎. \
Security reviewers: `/triage tp|fp|wontfix|used-in-tests|needs-info [note]`.";

    // ---- the forms ----

    #[test]
    fn accept_with_and_without_a_note() {
        assert_eq!(ok("/accept"), accept(None));
        assert_eq!(ok("/accept   "), accept(None));
        assert_eq!(
            ok("/accept good catch, thanks"),
            accept(Some("good catch, thanks"))
        );
        assert_eq!(ok("/accept\n\n  \n"), accept(None));
    }

    #[test]
    fn every_reject_reason() {
        for &reason in RejectReason::ALL {
            let body = format!("/reject {}", reason.as_str());
            assert_eq!(
                ok(&body),
                super::FeedbackCommand::Reject { reason, note: None }
            );
            let body = format!("/reject {} we test this elsewhere", reason.as_str());
            assert_eq!(ok(&body), reject(reason, Some("we test this elsewhere")));
        }
    }

    #[test]
    fn every_triage_state() {
        for &state in TriageState::ALL {
            let body = format!("/triage {}", state.as_str());
            assert_eq!(ok(&body), triage(state, None));
            let body = format!("/triage {} input is validated upstream", state.as_str());
            assert_eq!(
                ok(&body),
                triage(state, Some("input is validated upstream"))
            );
        }
    }

    #[test]
    fn modify_with_a_backtick_fence_and_a_language() {
        let body = "/modify\n```rust\n#[test]\nfn adds() {\n    assert_eq!(add(1, 2), 3);\n}\n```";
        assert_eq!(
            ok(body),
            modify(
                "#[test]\nfn adds() {\n    assert_eq!(add(1, 2), 3);\n}\n",
                Some("rust"),
                None
            )
        );
    }

    #[test]
    fn modify_with_a_tilde_fence() {
        assert_eq!(
            ok("/modify\n~~~python\ndef test_x():\n    assert x() == 1\n~~~\n"),
            modify("def test_x():\n    assert x() == 1\n", Some("python"), None)
        );
        assert_eq!(
            ok("/modify\n~~~\nplain\n~~~"),
            modify("plain\n", None, None)
        );
    }

    #[test]
    fn modify_with_a_longer_fence_holding_shorter_ones() {
        let body = "/modify\n`````markdown\n```rust\nfn x() {}\n```\n~~~\n`````\nafter";
        assert_eq!(
            ok(body),
            modify("```rust\nfn x() {}\n```\n~~~\n", Some("markdown"), None)
        );
        // A tilde fence is not closed by backticks, nor by fewer tildes.
        let body = "/modify\n~~~~\n```\n~~~\nx\n~~~~~\n";
        assert_eq!(ok(body), modify("```\n~~~\nx\n", None, None));
    }

    #[test]
    fn modify_notes_come_from_its_line_and_the_lines_before_the_block() {
        assert_eq!(
            ok("/modify kept the name, fixed the assert\n```go\nx\n```"),
            modify("x\n", Some("go"), Some("kept the name, fixed the assert"))
        );
        assert_eq!(
            ok(
                "/modify\nthe fixture is shared:\n\n```\nx\n```\nThis text after the block is not the note."
            ),
            modify("x\n", None, Some("the fixture is shared:"))
        );
        assert_eq!(
            ok("/modify first\nsecond\n```\nx\n```"),
            modify("x\n", None, Some("first\nsecond"))
        );
    }

    #[test]
    fn modify_keeps_indentation_and_normalises_the_trailing_newline() {
        assert_eq!(
            ok("/modify\n```\n\n    indented\n\ttabbed  \n\n\n   \n```"),
            modify("\n    indented\n\ttabbed  \n", None, None)
        );
        assert_eq!(ok("/modify\n```\nx```"), modify("x```\n", None, None));
    }

    #[test]
    fn modify_removes_the_fence_indentation_as_markdown_does() {
        // A fence inside a list item.
        let body = "/modify\n- ```js\n  it('works', () => {\n    expect(1).toBe(1);\n  });\n  ```";
        assert_eq!(
            ok(body),
            modify(
                "it('works', () => {\n  expect(1).toBe(1);\n});\n",
                Some("js"),
                None
            )
        );
        let body = "/modify\n  ```\n    a\n b\n  ```";
        assert_eq!(ok(body), modify("  a\nb\n", None, None));
    }

    #[test]
    fn an_unclosed_fence_runs_to_the_end() {
        assert_eq!(
            ok("/modify\n```rust\nfn x() {}\n"),
            modify("fn x() {}\n", Some("rust"), None)
        );
    }

    #[test]
    fn a_fence_on_the_modify_line_opens_the_block() {
        assert_eq!(
            ok("/modify ```rust\nfn x() {}\n```"),
            modify("fn x() {}\n", Some("rust"), None)
        );
        assert_eq!(
            ok("/modify smaller fixture ~~~py\nx = 1\n~~~"),
            modify("x = 1\n", Some("py"), Some("smaller fixture"))
        );
        // Inline code on the line is a note, not a fence.
        assert_eq!(
            ok("/modify use ```x``` here\n```\ny\n```"),
            modify("y\n", None, Some("use ```x``` here"))
        );
    }

    #[test]
    fn modify_languages() {
        let lang = |info: &str| match ok(&format!("/modify\n```{info}\nx\n```")) {
            FeedbackCommand::Modify { language, .. } => language,
            other => panic!("{other:?}"),
        };
        assert_eq!(lang("Rust"), Some("rust".to_owned()));
        assert_eq!(lang(" c++ title=x"), Some("c++".to_owned()));
        assert_eq!(lang("c#"), Some("c#".to_owned()));
        assert_eq!(lang("objective-c"), Some("objective-c".to_owned()));
        assert_eq!(lang(""), None);
        assert_eq!(lang("{.python}"), None);
        assert_eq!(lang(&"a".repeat(33)), None);
        assert_eq!(lang(&"a".repeat(32)), Some("a".repeat(32)));
    }

    #[test]
    fn modify_skips_quotes_before_its_block() {
        assert_eq!(
            ok("/modify\n> ```\n> the bot's version\n> ```\n```\nmine\n```"),
            modify("mine\n", None, None)
        );
    }

    #[test]
    fn modify_without_a_block() {
        assert_eq!(err("/modify"), CommandError::MissingCode);
        assert_eq!(
            err("/modify use a smaller fixture"),
            CommandError::MissingCode
        );
        assert_eq!(
            err("/modify\n    indented code is not a fence"),
            CommandError::MissingCode
        );
        assert_eq!(err("/modify\n> ```\n> x\n> ```"), CommandError::MissingCode);
        // A command before the block ends the search: the block is not this command's.
        assert_eq!(
            err("/modify\n/accept\n```\nx\n```"),
            CommandError::MissingCode
        );
        assert_eq!(err("/modify\n```\n```"), CommandError::EmptyCode);
        assert_eq!(err("/modify\n```\n  \n\t\n```"), CommandError::EmptyCode);
    }

    // ---- tolerance ----

    #[test]
    fn case_insensitive_words_reasons_and_states() {
        assert_eq!(ok("/ACCEPT"), accept(None));
        assert_eq!(ok("/Accept Fine"), accept(Some("Fine")));
        assert_eq!(ok("/Reject Noisy"), reject(RejectReason::Noisy, None));
        assert_eq!(
            ok("/REJECT OUT-OF-SCOPE Later"),
            reject(RejectReason::OutOfScope, Some("Later"))
        );
        assert_eq!(ok("/TrIaGe FP"), triage(TriageState::FalsePositive, None));
        assert_eq!(ok("/Modify\n```\nx\n```"), modify("x\n", None, None));
    }

    #[test]
    fn aliases() {
        for alias in ["out_of_scope", "OUT_OF_SCOPE", "outofscope", "OutOfScope"] {
            assert_eq!(
                ok(&format!("/reject {alias}")),
                reject(RejectReason::OutOfScope, None),
                "{alias}"
            );
        }
        for (alias, state) in [
            ("false-positive", TriageState::FalsePositive),
            ("false_positive", TriageState::FalsePositive),
            ("true-positive", TriageState::TruePositive),
            ("wont-fix", TriageState::WontFix),
            ("wont_fix", TriageState::WontFix),
            ("used_in_tests", TriageState::UsedInTests),
            ("needs_info", TriageState::NeedsInfo),
            ("NEEDS-INFO", TriageState::NeedsInfo),
        ] {
            assert_eq!(
                ok(&format!("/triage {alias}")),
                triage(state, None),
                "{alias}"
            );
        }
        // Nothing else is guessed.
        assert_eq!(
            err("/reject out of scope"),
            CommandError::BadReason("out".into())
        );
        assert_eq!(err("/reject dup"), CommandError::BadReason("dup".into()));
        assert_eq!(
            err("/triage falsepositive"),
            CommandError::BadTriageState("falsepositive".into())
        );
    }

    #[test]
    fn formatting_and_punctuation_around_arguments() {
        assert_eq!(ok("/reject `noisy`"), reject(RejectReason::Noisy, None));
        assert_eq!(
            ok("/reject **duplicate**: see the other thread"),
            reject(RejectReason::Duplicate, Some("see the other thread"))
        );
        assert_eq!(
            ok("/reject incorrect, the input is never empty"),
            reject(RejectReason::Incorrect, Some("the input is never empty"))
        );
        assert_eq!(
            ok("/triage \"tp\"."),
            triage(TriageState::TruePositive, None)
        );
        assert_eq!(ok("/accept."), accept(None));
        assert_eq!(ok("/accept: thanks!"), accept(Some("thanks!")));
        assert_eq!(ok("/reject: noisy"), reject(RejectReason::Noisy, None));
    }

    #[test]
    fn mentions() {
        assert_eq!(ok("@reviewbot-app[bot] /accept"), accept(None));
        assert_eq!(
            ok("@reviewbot /reject noisy meh"),
            reject(RejectReason::Noisy, Some("meh"))
        );
        assert_eq!(ok("@reviewbot, /accept"), accept(None));
        assert_eq!(ok("  @reviewbot   @alice\t/accept ok"), accept(Some("ok")));
        assert_eq!(ok("@reviewbot\n/accept"), accept(None));
        // A mention followed by prose is prose.
        none("@alice what do you think about /accept here?");
        none("@reviewbot");
        none("@ /accept");
    }

    #[test]
    fn extra_spaces() {
        assert_eq!(
            ok("   /reject     noisy     too   many   "),
            reject(RejectReason::Noisy, Some("too   many"))
        );
        assert_eq!(
            ok("/reject\tother\tsee below"),
            reject(RejectReason::Other, Some("see below"))
        );
        assert_eq!(ok("\n\n\n/accept\n\n"), accept(None));
    }

    #[test]
    fn crlf_and_lone_cr() {
        assert_eq!(
            ok("@reviewbot /reject noisy\r\nsecond line\r\n"),
            reject(RejectReason::Noisy, Some("second line"))
        );
        assert_eq!(
            ok("/modify note\r\n```rust\r\nfn x() {\r\n    y();\r\n}\r\n```\r\n"),
            modify("fn x() {\n    y();\n}\n", Some("rust"), Some("note"))
        );
        assert_eq!(ok("> /reject noisy\r/accept"), accept(None));
        none("> /accept\r\n> /reject noisy\r\n");
    }

    #[test]
    fn indentation_of_four_columns_is_code() {
        assert_eq!(ok("   /accept"), accept(None));
        none("    /accept");
        none("\t/accept");
        none("  \t/accept");
    }

    // ---- notes ----

    #[test]
    fn notes_take_the_following_lines_up_to_the_next_command() {
        assert_eq!(
            ok(
                "/reject incorrect\nThe function validates its input at line 40,\nso this cannot fail."
            ),
            reject(
                RejectReason::Incorrect,
                Some("The function validates its input at line 40,\nso this cannot fail.")
            )
        );
        assert_eq!(
            ok("/accept\n\n\n\nfirst\n\n\n\nsecond\n/reject noisy\nignored"),
            accept(Some("first\n\nsecond"))
        );
        // Quoted lines and HTML comments are not the human's note; code blocks are kept.
        assert_eq!(
            ok(
                "/reject incorrect\n> the bot said\nit is wrong: <!-- hidden -->\n```\nassert x\n```"
            ),
            reject(
                RejectReason::Incorrect,
                Some("it is wrong:\n```\nassert x\n```")
            )
        );
        // Text before the command is not the note.
        assert_eq!(ok("Thanks!\n\n/accept"), accept(None));
    }

    #[test]
    fn notes_are_bounded() {
        let exact = "n".repeat(MAX_NOTE_CHARS);
        assert_eq!(ok(&format!("/accept {exact}")), accept(Some(&exact)));
        let long = "é".repeat(MAX_NOTE_CHARS + 500);
        let command = ok(&format!("/reject other {long}"));
        let note = command.note().unwrap_or_default();
        assert_eq!(note.chars().count(), MAX_NOTE_CHARS);
        assert!(note.ends_with('…'));
        assert!(note.starts_with("éé"));
        // A cut never leaves trailing whitespace before the ellipsis.
        let spaced = format!("{} {}", "a".repeat(MAX_NOTE_CHARS - 2), "b".repeat(10));
        let command = ok(&format!("/accept {spaced}"));
        assert_eq!(
            command.note(),
            Some(format!("{}…", "a".repeat(MAX_NOTE_CHARS - 2)).as_str())
        );
    }

    // ---- bounds of code ----

    #[test]
    fn code_is_bounded() {
        let line = "x".repeat(MAX_CODE_BYTES - 1);
        assert_eq!(
            ok(&format!("/modify\n```\n{line}\n```")),
            modify(&format!("{line}\n"), None, None)
        );
        let line = "x".repeat(MAX_CODE_BYTES);
        assert_eq!(
            err(&format!("/modify\n```\n{line}\n```")),
            CommandError::CodeTooLong(MAX_CODE_BYTES + 1)
        );
    }

    // ---- not commands ----

    #[test]
    fn quotes_are_not_commands() {
        none("> /accept");
        none(">/accept");
        none("> > /reject noisy");
        none(">>> /triage tp");
        none("   > /accept");
        none("> ```\n> /accept\n> ```");
        assert_eq!(ok("> /reject noisy\n\n/accept"), accept(None));
        // A line right after a quote is the human's own.
        assert_eq!(ok("> what about this?\n/accept"), accept(None));
    }

    #[test]
    fn the_bots_own_instructions_are_not_commands() {
        none(BOT_HELP);
        none(&format!("> {BOT_HELP}"));
        none(&format!("> <sub>{BOT_HELP}</sub>\n\nI'm not sure yet."));
        none(VALID_FORMS);
        none(&format!("> {VALID_FORMS}"));
        // The whole comment quote-replied, then the human's answer.
        let comment = format!(
            "**🧪 Suggested test** · unit · confidence 0.80\n**Test empty input**\n\nIn `src/a.rs`:\n```rust\n#[test]\nfn empty() {{}}\n```\n\n<sub>{BOT_HELP}</sub>\n<!-- reviewbot:s=12 -->"
        );
        let quoted: String = comment.lines().map(|l| format!("> {l}\n")).collect();
        none(&quoted);
        assert_eq!(
            ok(&format!(
                "{quoted}\n/reject duplicate covered by test_empty"
            )),
            reject(RejectReason::Duplicate, Some("covered by test_empty"))
        );
    }

    #[test]
    fn code_blocks_are_not_commands() {
        none("```\n/accept\n```");
        none("~~~\n/reject noisy\n~~~");
        none("````\n```\n/accept\n```\n````");
        none("```text\n/accept");
        none("- ```\n  /accept\n  ```");
        none("1. ```\n   /accept\n   ```");
        assert_eq!(ok("```\n/reject noisy\n```\n/accept"), accept(None));
        // The block after /modify is its payload, not a command.
        assert_eq!(
            ok("/modify\n```\n/reject noisy\n```\n/accept"),
            modify("/reject noisy\n", None, None)
        );
    }

    #[test]
    fn inline_code_and_prose_are_not_commands() {
        none("`/accept`");
        none("Use `/accept` if you agree.");
        none("please /accept this");
        none("and/or /accept");
        none("`` /reject noisy ``");
    }

    #[test]
    fn paths_and_non_words_are_not_commands() {
        none("/usr/bin/env is missing");
        none("/path/like/this");
        none("/accept/reject");
        none("/ accept");
        none("/");
        none("/2 of these are fine");
        none("/accept's scope");
        none("/-x");
        none("//accept");
        none("/é");
    }

    #[test]
    fn html_comments_are_not_commands() {
        none("<!-- /accept -->");
        none("<!--\n/accept\n-->");
        none("<!--\n/accept\n--> ");
        none("text <!--\n/accept");
        assert_eq!(ok("<!-- hidden -->\n/accept"), accept(None));
        assert_eq!(ok("<!-- x --> /accept"), accept(None));
        // A comment inside a quote does not hide what follows the quote.
        assert_eq!(ok("> <!-- reviewbot:s=1\n/accept"), accept(None));
    }

    // ---- unknown words ----

    #[test]
    fn unknown_words_are_errors() {
        assert_eq!(err("/foo"), CommandError::Unknown("foo".into()));
        assert_eq!(err("/acept"), CommandError::Unknown("acept".into()));
        assert_eq!(
            err("@reviewbot /Approve this"),
            CommandError::Unknown("Approve".into())
        );
        assert_eq!(
            err("/etc is where it lives"),
            CommandError::Unknown("etc".into())
        );
        // The first command wins, even an unknown one.
        assert_eq!(
            err("/cc @alice\n/accept"),
            CommandError::Unknown("cc".into())
        );
        let long = format!("/{}", "a".repeat(100));
        assert_eq!(
            err(&long),
            CommandError::Unknown("a".repeat(MAX_ECHO_CHARS))
        );
    }

    #[test]
    fn reviewbot_commands_belong_elsewhere() {
        none("/reviewbot pause");
        none("@reviewbot-app[bot] /ReviewBot review");
        // It is the reply's first command: a later one does not run.
        none("/reviewbot pause\n/accept");
        assert_eq!(ok("/accept\n/reviewbot pause"), accept(None));
    }

    // ---- malformed commands ----

    #[test]
    fn reject_without_or_with_a_bad_reason() {
        assert_eq!(err("/reject"), CommandError::MissingReason);
        assert_eq!(err("/reject   "), CommandError::MissingReason);
        assert_eq!(err("/reject **"), CommandError::MissingReason);
        assert_eq!(err("/reject\nnoisy"), CommandError::MissingReason);
        assert_eq!(
            err("/reject wrong"),
            CommandError::BadReason("wrong".into())
        );
        assert_eq!(
            err("/reject Wrong"),
            CommandError::BadReason("Wrong".into())
        );
    }

    #[test]
    fn triage_without_or_with_a_bad_state() {
        assert_eq!(err("/triage"), CommandError::MissingTriageState);
        assert_eq!(
            err("/triage maybe"),
            CommandError::BadTriageState("maybe".into())
        );
        assert_eq!(
            err("/triage tp-ish"),
            CommandError::BadTriageState("tp-ish".into())
        );
    }

    #[test]
    fn echoed_words_cannot_mention_or_format() {
        assert_eq!(
            err("/reject @org/security-team"),
            CommandError::BadReason("?org/security-team".into())
        );
        assert_eq!(err("/reject ``a`b"), CommandError::BadReason("a?b".into()));
        assert_eq!(err("/triage ü"), CommandError::BadTriageState("?".into()));
        let CommandError::BadReason(word) = err(&format!("/reject {}", "z".repeat(500))) else {
            panic!("expected a bad reason");
        };
        assert_eq!(word.len(), MAX_ECHO_CHARS);
    }

    #[test]
    fn error_messages_are_one_line_and_name_the_valid_values() {
        let reasons: Vec<&str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(REASONS, reasons.join(", "));
        let states: Vec<&str> = TriageState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(STATES, states.join(", "));
        assert!(VALID_FORMS.contains(&reasons.join("|")));
        assert!(VALID_FORMS.contains(&states.join("|")));
        for error in [
            CommandError::Unknown("foo".into()),
            CommandError::MissingReason,
            CommandError::BadReason("x".into()),
            CommandError::MissingCode,
            CommandError::EmptyCode,
            CommandError::CodeTooLong(70_000),
            CommandError::MissingTriageState,
            CommandError::BadTriageState("x".into()),
        ] {
            let message = error.to_string();
            assert!(!message.contains('\n'), "{message}");
            assert!(!message.is_empty());
        }
        assert_eq!(
            CommandError::BadReason("wrong".into()).to_string(),
            "`wrong` is not a reject reason: use one of duplicate, incorrect, out-of-scope, noisy, other"
        );
        assert_eq!(
            CommandError::Unknown("foo".into()).to_string(),
            "`/foo` is not a feedback command"
        );
    }

    #[test]
    fn names_and_notes() {
        assert_eq!(ok("/accept hi").name(), "accept");
        assert_eq!(ok("/accept hi").note(), Some("hi"));
        assert_eq!(ok("/reject noisy").name(), "reject");
        assert_eq!(ok("/modify\n```\nx\n```").name(), "modify");
        assert_eq!(ok("/triage tp").name(), "triage");
        assert_eq!(ok("/triage tp").note(), None);
    }

    #[test]
    fn no_command() {
        none("");
        none("   \n\n");
        none("LGTM, thanks!");
        none("👍");
    }

    // ---- edits ----

    #[test]
    fn edits_run_only_new_commands() {
        // A command added by the edit.
        assert_eq!(
            new_in_edit(
                "I think this is noise",
                "I think this is noise\n/reject noisy"
            ),
            Some(Ok(reject(RejectReason::Noisy, None)))
        );
        // A typo fixed elsewhere: nothing runs.
        assert_eq!(new_in_edit("Thnaks\n/accept", "Thanks\n/accept"), None);
        assert_eq!(
            new_in_edit("> quoet\n/reject noisy", "> quote\n/reject   noisy"),
            None
        );
        // Case and spacing of the command are not a change.
        assert_eq!(new_in_edit("/accept", "@reviewbot /ACCEPT"), None);
        // A changed verdict.
        assert_eq!(
            new_in_edit("/accept", "/reject incorrect"),
            Some(Ok(reject(RejectReason::Incorrect, None)))
        );
        // A changed note counts: it is part of the verdict's content.
        assert_eq!(
            new_in_edit("/reject noisy too long", "/reject noisy too long and vague"),
            Some(Ok(reject(RejectReason::Noisy, Some("too long and vague"))))
        );
        // A changed version of the code counts.
        assert_eq!(
            new_in_edit("/modify\n```\na\n```", "/modify\n```\nb\n```"),
            Some(Ok(modify("b\n", None, None)))
        );
        // A command removed, or turned into a quote: nothing runs.
        assert_eq!(new_in_edit("/accept", "never mind"), None);
        assert_eq!(new_in_edit("/accept", "> /accept"), None);
        // A malformed command fixed runs; the same mistake kept is not answered twice.
        assert_eq!(
            new_in_edit("/reject wrong", "/reject incorrect"),
            Some(Ok(reject(RejectReason::Incorrect, None)))
        );
        assert_eq!(new_in_edit("/reject wrong", "/reject wrong!"), None);
        assert_eq!(
            new_in_edit("/accept", "/acept"),
            Some(Err(CommandError::Unknown("acept".into())))
        );
        // From a /reviewbot line to one of ours.
        assert_eq!(
            new_in_edit("/reviewbot pause", "/accept"),
            Some(Ok(accept(None)))
        );
    }

    // ---- properties over generated text ----

    /// A small deterministic generator (xorshift64*), so no new crates and reproducible runs.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    const FRAGMENTS: &[&str] = &[
        "/accept",
        "/reject",
        "/modify",
        "/triage",
        "/ACCEPT",
        "/reviewbot",
        "/foo",
        "/a/b",
        "/",
        "\n/reject noisy ",
        "\n/Reject out_of_scope",
        "\n/triage fp ",
        "\n/triage wont-fix",
        "\n/modify ",
        "\n@bot /accept ",
        "noisy",
        "out_of_scope",
        "tp",
        "fp",
        "needs-info",
        "wrong",
        "note",
        "é",
        "🦀",
        "\u{202e}",
        "```",
        "````",
        "~~~",
        "```rust",
        "`",
        ">",
        "> ",
        "@bot",
        "@",
        "<!--",
        "-->",
        " ",
        "  ",
        "    ",
        "\t",
        "\n",
        "\n",
        "\n",
        "- ",
        "1. ",
        "*",
        "_",
        "\"",
        ".",
        ",",
        ":",
        "!",
        "\\",
        "\u{a0}",
        "\u{0}",
        "x",
        "fn x() {}",
    ];

    fn generate(rng: &mut Rng, with_cr: bool) -> String {
        let len = rng.below(40);
        let mut text = String::new();
        for _ in 0..len {
            match rng.below(20) {
                0 if with_cr => text.push_str(rng.pick(&["\r\n", "\r"])),
                1 => {
                    let c = char::from_u32(rng.below(0x3000) as u32).unwrap_or('?');
                    if with_cr || c != '\r' {
                        text.push(c);
                    }
                }
                _ => text.push_str(rng.pick(FRAGMENTS)),
            }
        }
        text
    }

    /// A body that reads back as `command` (for the round-trip property), if one is easy to
    /// write unambiguously.
    fn render(command: &FeedbackCommand) -> Option<String> {
        // The note's first line goes on the command line; a fence there would read
        // differently on the command line and on a line of its own, so such notes are skipped.
        let with_note = |head: String, note: Option<&str>| match note {
            None => Some(head),
            Some(note) => {
                let first = note.lines().next().unwrap_or("");
                let fence = first.contains("```") || first.contains("~~~");
                (!fence).then(|| format!("{head} {note}"))
            }
        };
        match command {
            FeedbackCommand::Accept { note } => with_note("/accept".into(), note.as_deref()),
            FeedbackCommand::Reject { reason, note } => {
                with_note(format!("/reject {reason}"), note.as_deref())
            }
            FeedbackCommand::Triage { state, note } => {
                with_note(format!("/triage {state}"), note.as_deref())
            }
            FeedbackCommand::Modify {
                code,
                language,
                note,
            } => {
                let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
                let fence = "`".repeat(longest.max(2) + 1);
                let head = with_note("/modify".into(), note.as_deref())?;
                let language = language.as_deref().unwrap_or("");
                Some(format!("{head}\n{fence}{language}\n{code}{fence}"))
            }
        }
    }

    #[test]
    fn generated_text_never_panics_and_keeps_the_bounds() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let body = generate(&mut rng, true);
            let Some(Ok(command)) = parse_reply(&body) else {
                continue;
            };
            if let Some(note) = command.note() {
                assert!(!note.is_empty(), "{body:?}");
                assert_eq!(note, note.trim(), "{body:?}");
                assert!(note.chars().count() <= MAX_NOTE_CHARS, "{body:?}");
            }
            if let FeedbackCommand::Modify { code, language, .. } = &command {
                assert!(code.len() <= MAX_CODE_BYTES);
                assert!(code.ends_with('\n') && !code.ends_with("\n\n"), "{body:?}");
                assert!(!code.contains('\r'), "{body:?}");
                assert!(
                    language
                        .as_ref()
                        .is_none_or(|l| !l.is_empty() && !l.contains('`'))
                );
            }
        }
    }

    #[test]
    fn generated_text_reads_the_same_with_crlf() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for _ in 0..20_000 {
            let body = generate(&mut rng, false);
            let crlf = body.replace('\n', "\r\n");
            assert_eq!(parse_reply(&body), parse_reply(&crlf), "{body:?}");
        }
    }

    #[test]
    fn generated_text_quoted_or_fenced_is_never_a_command() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        for _ in 0..20_000 {
            let body = generate(&mut rng, true);
            let normalised = body.replace("\r\n", "\n").replace('\r', "\n");
            let quoted: String = normalised.split('\n').map(|l| format!("> {l}\n")).collect();
            assert_eq!(parse_reply(&quoted), None, "{quoted:?}");
            let fence = "`".repeat(normalised.len() + 3);
            let fenced = format!("{fence}\n{normalised}\n{fence}\n");
            assert_eq!(parse_reply(&fenced), None, "{fenced:?}");
        }
    }

    #[test]
    fn generated_text_edited_to_itself_runs_nothing() {
        let mut rng = Rng(0x5555_aaaa_1234_8765);
        for _ in 0..10_000 {
            let body = generate(&mut rng, true);
            assert_eq!(new_in_edit(&body, &body), None, "{body:?}");
            // Text added before the command, outside it, is not a new command.
            let prefixed = format!("Edited: typo fixed.\n\n{body}");
            if parse_reply(&body).is_some() {
                assert_eq!(new_in_edit(&body, &prefixed), None, "{body:?}");
            }
        }
    }

    #[test]
    fn generated_commands_read_back_the_same() {
        let mut rng = Rng(0x0f0f_0f0f_1357_9bdf);
        let mut checked = std::collections::BTreeMap::<&str, usize>::new();
        for _ in 0..50_000 {
            let body = generate(&mut rng, true);
            let Some(Ok(command)) = parse_reply(&body) else {
                continue;
            };
            let Some(rendered) = render(&command) else {
                continue;
            };
            *checked.entry(command.name()).or_default() += 1;
            assert_eq!(
                parse_reply(&rendered),
                Some(Ok(command)),
                "{body:?} → {rendered:?}"
            );
        }
        eprintln!("read back: {checked:?}");
        for name in ["accept", "reject", "modify", "triage"] {
            let count = checked.get(name).copied().unwrap_or(0);
            assert!(count >= 20, "only {count} {name} commands generated");
        }
    }
}
