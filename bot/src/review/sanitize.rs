//! Model output is data: before anything the model wrote reaches a pull request, mentions are
//! neutralised, HTML and our hidden markers are removed, and length is bounded. Code goes in a
//! fence that its content cannot close.

/// The longest prose field we post, in characters; longer text is cut with a marker.
pub const MAX_PROSE_CHARS: usize = 2_000;
/// The longest code block we post, in characters.
pub const MAX_CODE_CHARS: usize = 8_000;

/// A zero-width joiner after `@` stops GitHub from notifying (or linking) the user or team,
/// while the text still reads the same.
const MENTION_BREAK: char = '\u{200D}';

/// Cleans model prose for a comment: no HTML (so no hidden markers or comments), no live
/// `@mentions`, no control characters, at most `max_chars` characters.
pub fn sanitize_prose(text: &str, max_chars: usize) -> String {
    let without_html = strip_html(text);
    let mut out = String::with_capacity(without_html.len());
    let mut previous: Option<char> = None;
    for c in without_html.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            continue;
        }
        out.push(c);
        // `@name` at a word start is a mention; `a@b.c` (an e-mail) is not.
        if c == '@' && previous.is_none_or(|p| !p.is_alphanumeric()) {
            out.push(MENTION_BREAK);
        }
        previous = Some(c);
    }
    truncate(out.trim(), max_chars)
}

/// Removes HTML tags and comments (`<!-- … -->`, which is also how markers hide). A `<` that
/// does not start a tag (`a < b`) is kept.
fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let candidate = &rest[start..];
        if let Some(comment) = candidate.strip_prefix("<!--") {
            // An unclosed comment hides everything after it on GitHub: drop it all.
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let looks_like_tag = candidate[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
        match (looks_like_tag, candidate.find('>')) {
            (true, Some(end)) => rest = &candidate[end + 1..],
            _ => {
                out.push('<');
                rest = &candidate[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}… (truncated)", &text[..cut]),
    }
}

/// Code in a fenced block whose fence is longer than any backtick run inside, so the code
/// cannot end the block early and have the rest rendered as markdown.
pub fn fence_code(code: &str, language: &str) -> String {
    let code = truncate(code.trim_end(), MAX_CODE_CHARS);
    let longest_run = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let language: String = language
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{fence}{language}\n{code}\n{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_neutralised_but_emails_kept() {
        let clean = sanitize_prose("cc @octocat and @org/team, mail a@b.io", 100);
        assert!(
            !clean.contains("@octocat") && !clean.contains("@org/team"),
            "{clean:?}"
        );
        assert!(clean.contains("@\u{200D}octocat"));
        assert!(clean.contains("a@b.io"));
    }

    #[test]
    fn html_comments_and_our_markers_are_removed() {
        let forged =
            "Looks fine <!-- reviewbot:s=42 --> <img src=x onerror=alert(1)> <b>ok</b> if a < b";
        let clean = sanitize_prose(forged, 200);
        assert_eq!(clean, "Looks fine   ok if a < b");
        assert!(!sanitize_prose("x <!-- reviewbot:s=1", 100).contains("reviewbot"));
    }

    #[test]
    fn length_and_control_characters_are_bounded() {
        let long = "é".repeat(50);
        let cut = sanitize_prose(&long, 10);
        assert!(cut.starts_with(&"é".repeat(10)) && cut.ends_with("… (truncated)"));
        assert_eq!(sanitize_prose("a\u{7}b\u{1b}[31mc\nd", 50), "ab[31mc\nd");
    }

    #[test]
    fn code_cannot_close_its_fence() {
        let code = "let s = \"```\";\n``````\nend";
        let fenced = fence_code(code, "rust");
        assert!(fenced.starts_with("```````rust\n"), "{fenced}");
        assert!(fenced.ends_with("\n```````"));
        assert_eq!(fence_code("x", "py!"), "```py\nx\n```");
    }
}
