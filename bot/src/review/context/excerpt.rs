//! Line-addressed access to a file's source, and bounded excerpts of long definitions.

use std::ops::RangeInclusive;

/// The most source text one definition contributes to a hunk's context, about 4k
/// tokens: enough for any function a reviewer reads in one go, and it keeps a single
/// giant function from crowding the rest of a change out of the model's prompt. Longer
/// definitions keep their head (the signature) and the lines around the change, with
/// `omitted_marker` lines where text was left out.
pub const MAX_DEFINITION_SOURCE_BYTES: usize = 16 * 1024;

/// Share of the budget for a truncated definition's head (signature, first lines).
const HEAD_SHARE: usize = 4;

/// Lines kept before the first changed line in a truncated definition.
const LINES_BEFORE_FOCUS: u32 = 3;

/// The line that stands for `count` lines left out of an excerpt.
pub fn omitted_marker(count: u32) -> String {
    format!("… [reviewbot: {count} lines omitted] …")
}

/// A source split into lines (1-based), without copying it.
#[derive(Debug)]
pub(super) struct Lines<'s> {
    source: &'s str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'s> Lines<'s> {
    pub fn new(source: &'s str) -> Lines<'s> {
        let mut starts = Vec::with_capacity(source.len() / 32 + 1);
        if !source.is_empty() {
            starts.push(0);
        }
        starts.extend(
            source
                .bytes()
                .enumerate()
                // A final newline ends the last line; it does not start another.
                .filter(|&(i, byte)| byte == b'\n' && i + 1 < source.len())
                .map(|(i, _)| i + 1),
        );
        Lines { source, starts }
    }

    /// How many lines there are.
    pub fn count(&self) -> u32 {
        u32::try_from(self.starts.len()).unwrap_or(u32::MAX)
    }

    /// Lines `first..=last` (both within `1..=count`), without the final newline.
    fn span(&self, first: u32, last: u32) -> &'s str {
        let start = self.starts[first as usize - 1];
        let end = self
            .starts
            .get(last as usize)
            .map_or(self.source.len(), |&next| next);
        let text = &self.source[start..end];
        text.strip_suffix('\n').unwrap_or(text)
    }

    /// The text of `lines` (clamped to the file), whole when it fits in
    /// [`MAX_DEFINITION_SOURCE_BYTES`], else its head and the lines around `focus`;
    /// the flag says whether anything was left out.
    pub fn excerpt(
        &self,
        lines: RangeInclusive<u32>,
        focus: &RangeInclusive<u32>,
    ) -> (String, bool) {
        let first = (*lines.start()).max(1);
        let last = (*lines.end()).min(self.count());
        if first > last {
            return (String::new(), false);
        }
        let whole = self.span(first, last);
        if whole.len() <= MAX_DEFINITION_SOURCE_BYTES {
            return (whole.to_string(), false);
        }

        let mut out = String::with_capacity(MAX_DEFINITION_SOURCE_BYTES + 128);
        let head_budget = MAX_DEFINITION_SOURCE_BYTES / HEAD_SHARE;
        let head_last = match self.fit(first, last, head_budget) {
            Some(line) => {
                out.push_str(self.span(first, line));
                line
            }
            None => {
                // One line longer than the head budget (minified code): cut it.
                out.push_str(cut(self.span(first, first), head_budget));
                first
            }
        };
        let window_first = focus
            .start()
            .saturating_sub(LINES_BEFORE_FOCUS)
            .max(head_last + 1);
        let mut kept_last = head_last;
        if window_first <= last {
            let budget = MAX_DEFINITION_SOURCE_BYTES.saturating_sub(out.len());
            if let Some(window_last) = self.fit(window_first, last, budget) {
                if window_first > head_last + 1 {
                    out.push('\n');
                    out.push_str(&omitted_marker(window_first - head_last - 1));
                }
                out.push('\n');
                out.push_str(self.span(window_first, window_last));
                kept_last = window_last;
            }
        }
        if kept_last < last {
            out.push('\n');
            out.push_str(&omitted_marker(last - kept_last));
        }
        (out, true)
    }

    /// The last line from `first` such that `first..=line` fits in `budget` bytes.
    fn fit(&self, first: u32, last: u32, budget: usize) -> Option<u32> {
        let start = self.starts[first as usize - 1];
        let mut fitting = None;
        for line in first..=last {
            let end = self
                .starts
                .get(line as usize)
                .map_or(self.source.len(), |&next| next);
            if end - start > budget {
                break;
            }
            fitting = Some(line);
        }
        fitting
    }
}

/// The longest prefix of `text` within `budget` bytes that ends on a char boundary.
fn cut(text: &str, budget: usize) -> &str {
    let mut end = budget.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_lines_count_and_slice() {
        let lines = Lines::new("a\nbb\r\nccc\n");
        assert_eq!(lines.count(), 3);
        assert_eq!(lines.span(2, 3), "bb\r\nccc");
        assert_eq!(Lines::new("").count(), 0);
        assert_eq!(Lines::new("x").count(), 1);
        assert_eq!(Lines::new("\n\n").count(), 2);
    }

    #[test]
    fn context_excerpt_keeps_short_definitions_whole() {
        let lines = Lines::new("fn a() {\n    1\n}\n");
        assert_eq!(
            lines.excerpt(1..=3, &(2..=2)),
            ("fn a() {\n    1\n}".to_string(), false)
        );
        // Past the end of the file: clamped.
        assert_eq!(lines.excerpt(3..=90, &(3..=3)).0, "}");
        assert_eq!(lines.excerpt(50..=90, &(50..=50)), (String::new(), false));
    }

    #[test]
    fn context_excerpt_truncates_long_definitions_around_the_change() {
        let body: Vec<String> = (1..=2000).map(|i| format!("    line_{i:04}();")).collect();
        let source = format!("fn huge() {{\n{}\n}}\n", body.join("\n"));
        let lines = Lines::new(&source);
        let (text, truncated) = lines.excerpt(1..=2002, &(1000..=1000));
        assert!(truncated);
        assert!(
            text.len() <= MAX_DEFINITION_SOURCE_BYTES + 200,
            "{}",
            text.len()
        );
        assert!(text.starts_with("fn huge() {\n"));
        assert!(text.contains("line_0999();"), "the changed line is kept");
        assert!(text.contains("line_0996();"), "with the lines before it");
        assert!(!text.contains("line_0995();"));
        assert!(text.contains("lines omitted"));
        assert!(text.ends_with("lines omitted] …"));
    }

    #[test]
    fn context_excerpt_cuts_a_single_enormous_line_on_a_char_boundary() {
        let source = "é".repeat(MAX_DEFINITION_SOURCE_BYTES);
        let lines = Lines::new(&source);
        let (text, truncated) = lines.excerpt(1..=1, &(1..=1));
        assert!(truncated);
        assert!(text.len() <= MAX_DEFINITION_SOURCE_BYTES / HEAD_SHARE);
    }
}
