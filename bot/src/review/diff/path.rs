//! Path names in diff headers: git's C-style quoting, `-p1` prefix stripping, and the two
//! (possibly ambiguous) names of a `diff --git` line.

/// A `---`/`+++` name: `None` is `/dev/null`.
pub(super) type HeaderPath = Option<Vec<u8>>;

/// Decodes a C-quoted name at the start of `s` (which must begin with `"`), as git writes
/// names with control, `"`, `\` or (with `core.quotePath`) non-ASCII bytes. Returns the bytes
/// and how many input bytes the quoted string used, or `None` if it is malformed.
pub(super) fn unquote(s: &[u8]) -> Option<(Vec<u8>, usize)> {
    if s.first() != Some(&b'"') {
        return None;
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => return Some((out, i + 1)),
            b'\\' => {
                let escape = *s.get(i + 1)?;
                i += 2;
                let byte = match escape {
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'v' => 0x0b,
                    b'f' => 0x0c,
                    b'r' => b'\r',
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'0'..=b'3' => {
                        // Git always writes three octal digits; the first is at most 3 so
                        // the value fits in a byte.
                        let d1 = octal_digit(*s.get(i)?)?;
                        let d2 = octal_digit(*s.get(i + 1)?)?;
                        i += 2;
                        ((escape - b'0') << 6) | (d1 << 3) | d2
                    }
                    _ => return None,
                };
                out.push(byte);
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    None
}

fn octal_digit(b: u8) -> Option<u8> {
    matches!(b, b'0'..=b'7').then(|| b - b'0')
}

/// Strips the first path component (`a/`, `b/`, …), as `git apply -p1` does; a name
/// without `/` is kept whole.
pub(super) fn strip_prefix(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == b'/') {
        Some(slash) => &name[slash + 1..],
        None => name,
    }
}

/// The name on a `---`/`+++` line (text after the marker). Unquoted names end at a TAB: git
/// appends one when the name contains a space, and plain `diff -u` puts a timestamp after
/// it. `Err(())` means a malformed quoted name.
pub(super) fn parse_header_path(s: &[u8]) -> Result<HeaderPath, ()> {
    let name: Vec<u8> = if s.first() == Some(&b'"') {
        unquote(s).ok_or(())?.0
    } else {
        let end = s.iter().position(|&b| b == b'\t').unwrap_or(s.len());
        s[..end].to_vec()
    };
    if name == b"/dev/null" {
        return Ok(None);
    }
    Ok(Some(strip_prefix(&name).to_vec()))
}

/// The names on a `diff --git` line (text after `diff --git `), prefixes stripped. A side is
/// `None` when unquoted names with spaces make the split ambiguous; the caller then relies on
/// the `rename`/`copy`/`---`/`+++` headers. `Err(())` means a malformed quoted name.
pub(super) fn parse_git_names(rest: &[u8]) -> Result<(HeaderPath, HeaderPath), ()> {
    if rest.first() == Some(&b'"') {
        let (a, used) = unquote(rest).ok_or(())?;
        let tail = rest[used..].strip_prefix(b" ").ok_or(())?;
        let b = if tail.first() == Some(&b'"') {
            let (b, used) = unquote(tail).ok_or(())?;
            if used != tail.len() {
                return Err(());
            }
            b
        } else {
            tail.to_vec()
        };
        return Ok((
            Some(strip_prefix(&a).to_vec()),
            Some(strip_prefix(&b).to_vec()),
        ));
    }
    if rest.last() == Some(&b'"') {
        // Unquoted first name, quoted second. Inside a quoted name every `"` is escaped, so
        // the quoted name starts at the last ` "` of the line and must run to its end.
        let start = rest.windows(2).rposition(|w| w == b" \"").ok_or(())?;
        if let Some((b, used)) = unquote(&rest[start + 1..])
            && start + 1 + used == rest.len()
        {
            return Ok((
                Some(strip_prefix(&rest[..start]).to_vec()),
                Some(strip_prefix(&b).to_vec()),
            ));
        }
        return Err(());
    }
    // Git quotes every name that contains `"`, so one here means a broken quoted name.
    if rest.contains(&b'"') {
        return Err(());
    }
    Ok(split_unquoted(rest))
}

/// Splits `A B` where both names are unquoted and may contain spaces. Prefers the split
/// where both names are equal after prefix stripping (what git prints for anything but a
/// rename or copy); else a line with a single space; else ambiguous.
fn split_unquoted(rest: &[u8]) -> (HeaderPath, HeaderPath) {
    let first_slash = rest.iter().position(|&b| b == b'/');
    // The old name after stripping starts at `a_from`; for a split at space `i` it is
    // `rest[a_from..i]`, and the new one is `rest[j + 1..]` where `j` is the first slash
    // after `i`. Its length only grows with `i` while the other only shrinks, so at most one
    // split can have equal lengths; `j` only moves forward: this is linear.
    let a_from = first_slash.map_or(0, |s| s + 1);
    let mut j = 0usize;
    for i in 0..rest.len() {
        if rest[i] != b' ' || i < a_from {
            continue;
        }
        if j <= i {
            j = i + 1;
            while j < rest.len() && rest[j] != b'/' {
                j += 1;
            }
        }
        let b_from = if first_slash.is_some() && j < rest.len() {
            j + 1
        } else {
            i + 1
        };
        let a = &rest[a_from..i];
        let b = &rest[b_from..];
        if a == b {
            return (Some(a.to_vec()), Some(b.to_vec()));
        }
        if a.len() > b.len() {
            break;
        }
    }
    let mut spaces = rest.iter().enumerate().filter(|&(_, &b)| b == b' ');
    if let (Some((i, _)), None) = (spaces.next(), spaces.next()) {
        return (
            Some(strip_prefix(&rest[..i]).to_vec()),
            Some(strip_prefix(&rest[i + 1..]).to_vec()),
        );
    }
    (None, None)
}
