//! Tokens of an example's target answer without tokenizing it at export time: each item of a
//! call's answer is counted once, when the call is recorded ([`AnswerTokens::count`]), and an
//! export adds up the counts of the items it keeps ([`Frame::compose`]). The sum is exact, not
//! an estimate, because of where o200k's pre-tokenizer must cut the answer.
//!
//! # Why the sum is exact
//! An answer is `{"KEY":[` + item₁ + `,` + item₂ … + `]}` in compact JSON, and every item is
//! an object whose first key starts with an ASCII letter: `{"a…`. The tokenizer first splits
//! text into pieces with a regex, then encodes each piece on its own, so a count is the sum
//! over pieces. Take the position of that letter, right after `{"`. The piece holding the `"`
//! before it cannot be a word (a word piece holds at most one leading non-letter, and `{"`
//! are two), a number or whitespace: it is a punctuation run (` ?[^\s\p{L}\p{N}]+[\r\n/]*`),
//! which takes every punctuation character in a row and stops at the letter. So a piece
//! always ends right before each item's first key, whatever precedes it, and the pieces from
//! there on depend only on the text from there on. The answer therefore splits into
//! segments counted independently: `{"KEY":[{"`, then per item its text after `{"` followed
//! by `,{"` (another item follows) or `]}` (the last). Recording both counts per item covers
//! any subset of items in any order. A segment ends in punctuation, so no whitespace
//! look-ahead (`\s+(?!\S)`) reaches across a cut.
//!
//! Items a human changed are counted when exported, the same way. An answer with an item not
//! shaped that way (never one the bot's schemas produce, but a store is data) has no recorded
//! counts and is counted whole. The bot's tests check the sum against direct counts on
//! generated answers whose values begin and end in every way that could move a cut.

use serde::{Deserialize, Serialize};

/// The text between two items, and after the last.
const BETWEEN: &str = ",{\"";
const END: &str = "]}";

/// Per item of a call's answer, in the answer's order: the tokens of the item's text after
/// its leading `{"`, followed by `,{"` and followed by `]}` (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AnswerTokens(pub Vec<[u32; 2]>);

impl AnswerTokens {
    /// Counts each item of `items` (compact JSON objects, as exports write them); `None` when
    /// one is not shaped for counting apart or a count does not fit.
    pub fn count(items: &[String], count_tokens: &dyn Fn(&str) -> usize) -> Option<Self> {
        items
            .iter()
            .map(|item| {
                let rest = item_rest(item)?;
                let between = u32::try_from(segment_tokens(rest, false, count_tokens)).ok()?;
                let last = u32::try_from(segment_tokens(rest, true, count_tokens)).ok()?;
                Some([between, last])
            })
            .collect::<Option<Vec<_>>>()
            .map(AnswerTokens)
    }

    /// The stored form (a JSON array of pairs).
    pub fn to_text(&self) -> String {
        // A list of integers always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored form.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// An item's text after `{"`, when its first key starts with an ASCII letter.
fn item_rest(item: &str) -> Option<&str> {
    let rest = item.strip_prefix("{\"")?;
    rest.starts_with(|c: char| c.is_ascii_alphabetic())
        .then_some(rest)
}

/// Tokens of an item's segment: its text after `{"`, then the next item's start or the end.
fn segment_tokens(rest: &str, last: bool, count_tokens: &dyn Fn(&str) -> usize) -> usize {
    count_tokens(&format!("{rest}{}", if last { END } else { BETWEEN }))
}

/// One item of an answer being counted: its compact JSON text and, when the call recorded
/// them and the item is the model's own, its counts.
#[derive(Debug, Clone, Copy)]
pub struct AnswerItem<'a> {
    /// The item as written in the answer.
    pub text: &'a str,
    /// Its [`AnswerTokens`] entry, if counted when recorded.
    pub counted: Option<[u32; 2]>,
}

/// The tokens of an answer's frame for one schema key: `{"KEY":[{"` before the first item,
/// and `{"KEY":[]}` for an answer without items. An export counts them once, not per example:
/// counting a short text costs about a microsecond, a million times over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The schema key holding the items.
    pub key: &'static str,
    open: usize,
    empty: usize,
}

impl Frame {
    /// Counts the frame of `key`.
    pub fn count(key: &'static str, count_tokens: &dyn Fn(&str) -> usize) -> Self {
        Self {
            key,
            open: count_tokens(&format!("{{\"{key}\":[{{\"")),
            empty: count_tokens(&format!("{{\"{key}\":[]}}")),
        }
    }

    /// Tokens of `{"key":[items…]}` (compact, items joined by `,`): the recorded counts
    /// where there are some, the rest counted now.
    pub fn compose(&self, items: &[AnswerItem<'_>], count_tokens: &dyn Fn(&str) -> usize) -> usize {
        let key = self.key;
        let Some(rests) = items
            .iter()
            .map(|item| item_rest(item.text))
            .collect::<Option<Vec<_>>>()
        else {
            // An item whose start is not a cut: the answer is counted as one text.
            let texts: Vec<&str> = items.iter().map(|item| item.text).collect();
            return count_tokens(&format!("{{\"{key}\":[{}]}}", texts.join(",")));
        };
        if items.is_empty() {
            return self.empty;
        }
        let mut tokens = self.open;
        for (i, (item, rest)) in items.iter().zip(rests).enumerate() {
            let last = i + 1 == items.len();
            tokens += match item.counted {
                Some([between, end]) => (if last { end } else { between }) as usize,
                None => segment_tokens(rest, last, count_tokens),
            };
        }
        tokens
    }
}
