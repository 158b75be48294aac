//! Secret redaction for exported examples: every message's content passes through
//! [`Redactor::redact`] before anything is written, and each secret found is replaced by
//! `[REDACTED:<kind>]` (see [`KINDS`]). A leaked token in a fine-tuning file is a security
//! incident, so the patterns favour recall; the checks below keep ordinary code untouched.
//!
//! # What it is applied to
//! The caller applies it to the *decoded* content string of each message (not to the raw
//! JSON line) and serialises the result afterwards, so the output is always valid JSON. The
//! content itself may hold JSON text (a diff of a service-account file, a tool result); the
//! patterns handle that too: PEM blocks are matched across real newlines, `\n` escapes and
//! doubly escaped `\\n`, quoted values may be written `"…"` or `\"…\"`, and a replaced span
//! never starts or ends inside an escape sequence (it never leaves a dangling backslash), so
//! JSON text in a content string stays JSON. Replacements are plain ASCII (`[`, `]`, letters,
//! `:`, `-`): never a quote or a backslash.
//!
//! # Rules
//! Format rules (prefix/shape of a known credential) run first, in a fixed order, then the
//! assignment rule. Anything already `[REDACTED:…]` is never matched again, so redaction is
//! idempotent. All patterns use the `regex` crate (linear time, no backtracking).
//!
//! Prefixed tokens (GitHub, GitLab, npm, Hugging Face, OpenAI, Anthropic, Slack, Stripe, GCP
//! `AIza`, AWS `AKIA`/`ASIA`, JWTs) are redacted whole, documented example values included.
//! Partial redactions keep the context readable: only the password of
//! `postgres|mysql|mariadb|mongodb(+srv)|redis(s)|amqp(s)|mssql|sqlserver://user:PASSWORD@host`
//! (except template variables, a password equal to the user, and well-known local defaults
//! such as `postgres`, `guest`, `root`, `password`), the value after `AccountKey=`,
//! `SharedAccessKey=` and a SAS `sig=`, the path after `hooks.slack.com/services/`, the token
//! after `Bearer`/`Authorization: Basic`, and the string of `"private_key": "-----BEGIN …"`.
//!
//! # The generic-secret rule
//! A value assigned to a secret-like name (`password`, `passwd`, `pwd`, `passphrase`, `secret`,
//! `token`, `api_key`/`apikey`/`api-key`, `access_key`, `private_key`, `auth_key`,
//! `signing_key`, `encryption_key`, `master_key`, `account_key`, `subscription_key`,
//! `openai_key`, `credential`, as part of any identifier such as `DB_PASSWORD` or
//! `githubToken`) in the forms `NAME = "…"`, `NAME: type = "…"`, `NAME := …`, `NAME => …`,
//! `NAME: …`, `"NAME": "…"`, env `NAME=…` and query `?token=…` has only its value replaced,
//! and only when the value looks random:
//! - at least [`MIN_SECRET_LEN`] characters, at least one ASCII letter, no whitespace, no `://`;
//! - Shannon entropy (bits per character, over the value's characters) of at least
//!   `min(3.0, 0.85 × log2(len))` — 3.0 for values of 12 characters or more, a little lower
//!   for 8–11 (an 8-character value cannot exceed 3.0); see [`entropy_threshold`];
//! - not "word-like": every piece between `- _ . / : @ + #` is a plain word (lower, UPPER,
//!   or camel/Pascal case averaging 3+ letters a word, acronyms allowed) optionally followed
//!   by up to 3 digits, a short alphanumeric (≤ 5: `e2e`, `o200k`), or a number of up to 4
//!   digits. So `changeme`, `password123`, `X-Hub-Signature-256`, `access_token`,
//!   `SeCreateTokenPrivilege`, `/etc/ssl/key.pem` are left alone, and dictionary passphrases
//!   are not detected;
//! - not a placeholder: contains `xxx`, `***`, `...`, `<`, `>`, `${`, `{{`, `{`…`}`, `%(`,
//!   `%s`, `your`, `changeme`/`change_me`/`change-me`, `placeholder`, `redacted`, or starts
//!   with `$` or `%`;
//! - unquoted values must not look like code: they stop at `( ) [ ] { } < > : , ; & | \`,
//!   whitespace and quotes, and are dropped when followed by `( [ { < :` (a call, a generic,
//!   a path: `pkcs1v15::SigningKey::<Sha256>::new(…)`), when they are an identifier path
//!   (`os.environ`, `settings.SECRET_KEY`, `get_token`, `tokenValue`, `parenthesized!`), or a
//!   numeric literal of up to 20 digits (`16384u32`, `0x8004E105_u32`);
//! - names containing `tokeniz` (`tokenizer`, `tokenizers:`) are not secret names.
//!
//! Two assignments get a more specific kind and skip the randomness checks: a 40-character
//! base64 value under a name with `aws` or `secret_access` is `aws-secret-key`; a 32-hex (or
//! 84-character base62) value under `api-key`, `subscription-key`, `azure…key`, `openai…key`
//! names is `azure-key`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use regex::{Captures, Regex, RegexSet};
use sha2::{Digest, Sha256};

/// Every kind [`Redactor`] reports, in rule order (stable names: they appear in the export
/// summary and in the replacement text).
pub const KINDS: &[&str] = &[
    "gcp-service-account-key",
    "private-key",
    "connection-string",
    "azure-connection-string",
    "azure-sas-token",
    "jwt",
    "github-token",
    "gitlab-token",
    "npm-token",
    "huggingface-token",
    "openai-key",
    "anthropic-key",
    "slack-webhook",
    "slack-token",
    "stripe-key",
    "gcp-api-key",
    "aws-access-key",
    "bearer-token",
    "basic-auth",
    "aws-secret-key",
    "azure-key",
    "generic-secret",
];

/// The shortest value the generic-secret rule redacts.
pub const MIN_SECRET_LEN: usize = 8;

/// Redactions by kind, for the export summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RedactionCounts(pub BTreeMap<&'static str, u64>);

/// `N secrets`, then one `  <kind>: n` line per kind.
impl std::fmt::Display for RedactionCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} secrets", self.total())?;
        for (kind, n) in &self.0 {
            write!(f, "\n  {kind}: {n}")?;
        }
        Ok(())
    }
}

impl RedactionCounts {
    /// Total redactions of every kind.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Redactions of one kind (0 when none).
    pub fn get(&self, kind: &str) -> u64 {
        self.0.get(kind).copied().unwrap_or(0)
    }

    /// Adds another tally to this one (e.g. per-message counts into the export's).
    pub fn merge(&mut self, other: &RedactionCounts) {
        for (kind, n) in &other.0 {
            *self.0.entry(kind).or_insert(0) += n;
        }
    }

    fn add(&mut self, kind: &'static str) {
        *self.0.entry(kind).or_insert(0) += 1;
    }
}

/// Decides whether a match is a secret, and of which kind. `secret` is the span that would be
/// replaced; `None` keeps the text.
type Classify = fn(&Captures<'_>, &str, &'static str) -> Option<&'static str>;

#[derive(Debug)]
struct Rule {
    kind: &'static str,
    re: Regex,
    pattern: String,
    /// Named groups holding the secret, first participating one wins; empty: the whole match.
    groups: &'static [&'static str],
    classify: Classify,
}

/// Compiled patterns, built once; share it (it is `Send + Sync`) across the whole export.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// Every rule's pattern in one set: a single pass says which rules can match at all, so
    /// text without secrets (nearly all of it) is scanned once, not once per rule.
    prefilter: RegexSet,
    /// Names the patterns (see [`fingerprint`](Self::fingerprint)).
    fingerprint: String,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

// PEM armour: `-----BEGIN RSA PRIVATE KEY-----`, `… OPENSSH PRIVATE KEY …`, `… ENCRYPTED …`,
// `… PGP PRIVATE KEY BLOCK …`. The body may be split by real newlines, `\n` or `\\n` escapes,
// diff markers, and hold `Proc-Type: 4,ENCRYPTED` style headers; it never holds a quote, so a
// BEGIN and an END in two separate string literals of ordinary code do not pair up.
const PEM_BEGIN: &str = r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----";
const PEM_END: &str = r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----";
const PEM_BODY: &str = r"(?P<body>[A-Za-z0-9+/=\s\\:,.\-]*?)";
// A truncated block (no END): the BEGIN line and the base64 lines that follow it.
const PEM_LINES: &str =
    r"(?P<body>(?:(?:\\\\[rn]|\\[rn]|[\r\n])+[ \t+]*[A-Za-z0-9+/=]{16,}[ \t]*)+)";

const ASSIGN_NAME: &str = r"(?P<name>[a-z0-9_.\-]*(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|auth[_\-]?key|signing[_\-]?key|encryption[_\-]?key|master[_\-]?key|account[_\-]?key|subscription[_\-]?key|openai[_\-]?key|credential)[a-z0-9_.\-]*)";
// `=`, `:=`, `=>`, `==`, `:`, and `: <type annotation> =` (Python, Rust, TypeScript).
const ASSIGN_SEP: &str =
    r#"\\?["']?[ \t]*(?:(?::[^=\r\n;"{}()]{1,40}?[ \t]*)?(?::=|=>|==|=)|:)[ \t]*"#;
const ASSIGN_VALUE: &str = r#"(?:\\?"(?P<dq>(?:[^"\\\r\n]|\\[^"\r\n])*)\\?"|'(?P<sq>(?:[^'\\\r\n]|\\[^'\r\n])*)'|`(?P<bt>[^`\\\r\n]*)`|(?P<uq>[^\s"'`,;(){}\[\]<>&|\\:][^\s"'`,;(){}\[\]<>&|\\:]*)(?P<code>[(\[{<:])?)"#;

impl Redactor {
    /// Compiles every pattern (a few milliseconds: build one and reuse it).
    pub fn new() -> Redactor {
        fn rule(
            kind: &'static str,
            pattern: &str,
            groups: &'static [&'static str],
            classify: Classify,
        ) -> Rule {
            Rule {
                kind,
                re: Regex::new(pattern).expect("redaction patterns are valid"),
                pattern: pattern.to_owned(),
                groups,
                classify,
            }
        }
        const S: &[&str] = &["s"];
        let rules = vec![
            // Service-account JSON: the PEM in `"private_key": "…"`, and the key's id.
            rule(
                "gcp-service-account-key",
                &format!(
                    r#"\\?"private_key\\?"[ \t]*:[ \t]*\\?"(?P<s>{PEM_BEGIN}{PEM_BODY}{PEM_END})"#
                ),
                S,
                pem,
            ),
            rule(
                "gcp-service-account-key",
                r#"\\?"private_key_id\\?"[ \t]*:[ \t]*\\?"(?P<s>[0-9a-f]{40})\\?""#,
                S,
                keep_kind,
            ),
            rule(
                "private-key",
                &format!("{PEM_BEGIN}{PEM_BODY}{PEM_END}"),
                &[],
                pem,
            ),
            rule("private-key", &format!("{PEM_BEGIN}{PEM_LINES}"), &[], pem),
            // `scheme://user:PASSWORD@host`: only the password goes.
            rule(
                "connection-string",
                r#"(?i)(?-u:\b)(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver)://(?P<user>[^:/@\s"'`]*):(?P<s>(?:[^@\s"'`\\/]|\\[^\s])+)@"#,
                S,
                connection_password,
            ),
            rule(
                "azure-connection-string",
                r"(?i)(?-u:\b)(?:AccountKey|SharedAccessKey|SharedSecretValue)[ \t]*=[ \t]*(?P<s>[A-Za-z0-9+/]{20,}={0,2})",
                S,
                keep_kind,
            ),
            rule(
                "azure-sas-token",
                r"(?:[?&;]|(?-u:\b))sig=(?P<s>[A-Za-z0-9%+/]{30,}(?:%3D|=)*)",
                S,
                keep_kind,
            ),
            rule(
                "jwt",
                r"(?-u:\b)eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}(?:\.[A-Za-z0-9_\-]*){1,3}",
                &[],
                keep_kind,
            ),
            rule(
                "github-token",
                r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{40,255})(?-u:\b)",
                &[],
                keep_kind,
            ),
            rule(
                "gitlab-token",
                r"(?-u:\b)glpat-[A-Za-z0-9_\-]{20,}",
                &[],
                keep_kind,
            ),
            rule(
                "npm-token",
                r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)",
                &[],
                keep_kind,
            ),
            rule(
                "huggingface-token",
                r"(?-u:\b)hf_[A-Za-z]{34}(?-u:\b)",
                &[],
                keep_kind,
            ),
            rule(
                "anthropic-key",
                r"(?-u:\b)sk-ant-[a-z0-9]+-[A-Za-z0-9_\-]{40,}",
                &[],
                keep_kind,
            ),
            rule(
                "openai-key",
                r"(?-u:\b)sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48}(?-u:\b))",
                &[],
                keep_kind,
            ),
            rule(
                "slack-webhook",
                r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/\-]{10,})",
                S,
                slack_webhook,
            ),
            rule(
                "slack-token",
                r"(?-u:\b)(?:xox[abeoprs](?:\.xox[bp])?|xapp)-[A-Za-z0-9\-]{10,}",
                &[],
                slack_token,
            ),
            rule(
                "stripe-key",
                r"(?-u:\b)(?:[sr]k_(?:live|test)|whsec)_[A-Za-z0-9]{16,}",
                &[],
                keep_kind,
            ),
            rule(
                "gcp-api-key",
                r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}",
                &[],
                keep_kind,
            ),
            rule(
                "aws-access-key",
                r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?-u:\b)",
                &[],
                keep_kind,
            ),
            rule(
                "bearer-token",
                r"(?i)(?-u:\b)bearer[ \t]+(?P<s>[A-Za-z0-9\-._~+/]{16,}=*)",
                S,
                random_token,
            ),
            rule(
                "basic-auth",
                r#"(?i)(?-u:\b)authorization\\?["']?[ \t]*[:=][ \t]*\\?["']?basic[ \t]+(?P<s>[A-Za-z0-9+/]{12,}={0,2})"#,
                S,
                keep_kind,
            ),
            rule(
                "generic-secret",
                &format!("(?i){ASSIGN_NAME}{ASSIGN_SEP}{ASSIGN_VALUE}"),
                &["dq", "sq", "bt", "uq"],
                assignment,
            ),
        ];
        let prefilter = RegexSet::new(rules.iter().map(|r| r.pattern.as_str()))
            .expect("redaction patterns are valid");
        let mut hasher = Sha256::new();
        for rule in &rules {
            hasher.update(rule.pattern.as_bytes());
            hasher.update([0]);
        }
        let fingerprint = hex::encode(&hasher.finalize()[..16]);
        Redactor {
            rules,
            prefilter,
            fingerprint,
        }
    }

    /// Replaces every secret in `text` by `[REDACTED:<kind>]` and counts it in `counts`.
    /// Borrows when nothing was found. Idempotent: redacting the output again changes
    /// nothing and counts nothing.
    ///
    /// `text` is a message's decoded content string (see the module docs).
    pub fn redact<'a>(&self, text: &'a str, counts: &mut RedactionCounts) -> Cow<'a, str> {
        self.redact_noting(text, counts, &mut Found::default())
    }

    /// [`redact`](Self::redact), noting each secret in `found`, so that
    /// [`redact_echoes`](Self::redact_echoes) can remove the same values elsewhere in the
    /// document.
    pub fn redact_noting<'a>(
        &self,
        text: &'a str,
        counts: &mut RedactionCounts,
        found: &mut Found,
    ) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        // Most text holds nothing: one unanchored yes/no search, which stops at the first hit
        // and can skip ahead on literals, is cheaper than asking which rules match.
        if self.finds_nothing(&text) {
            return text;
        }
        let mut candidates = self.prefilter.matches(&text);
        for (i, rule) in self.rules.iter().enumerate() {
            if !candidates.matched(i) {
                continue;
            }
            if let Some(replaced) = apply(rule, &text, counts, found) {
                text = Cow::Owned(replaced);
                // A replacement changes what later rules see: ask again.
                candidates = self.prefilter.matches(&text);
            }
        }
        text
    }

    /// Names the patterns: the first 16 bytes of the SHA-256 of every rule's pattern, in
    /// order, as hex. Text in which [`finds_nothing`](Self::finds_nothing) held is returned
    /// unchanged by any redactor with the same fingerprint, whatever its other code, so a
    /// scan recorded with the fingerprint stands until a pattern changes.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether no pattern matches anywhere in `text`: [`redact`](Self::redact) would then
    /// return it as it is and count nothing.
    pub fn finds_nothing(&self, text: &str) -> bool {
        !self.prefilter.is_match(text)
    }

    /// Replaces what `found` holds wherever it still appears in `text`: a value recognised as
    /// a secret in one place (`KEY = "…"`) is one everywhere, also where a model quotes it in
    /// prose. Each replacement is counted.
    pub fn redact_echoes<'a>(
        &self,
        text: &'a str,
        counts: &mut RedactionCounts,
        found: &Found,
    ) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for (value, kind) in &found.0 {
            let n = text.matches(value.as_str()).count();
            if n > 0 {
                text = Cow::Owned(text.replace(value.as_str(), &format!("[REDACTED:{kind}]")));
                for _ in 0..n {
                    counts.add(kind);
                }
            }
        }
        text
    }
}

/// Secrets redacted so far in one document (an example, a SARIF log), longest first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Found(Vec<(String, &'static str)>);

/// Shorter values are too likely to be ordinary text to replace wherever they appear.
const MIN_ECHO: usize = 8;

impl Found {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn note(&mut self, secret: &str, kind: &'static str) {
        // A multi-line secret (a key's body) may be quoted a line at a time.
        let lines = secret
            .split(['\r', '\n'])
            .flat_map(|line| line.split("\\n"))
            .map(|line| line.trim_matches(|c: char| c.is_whitespace() || c == '+' || c == '\\'))
            .filter(|line| line.len() >= 16);
        for value in std::iter::once(secret.trim()).chain(lines) {
            if value.len() >= MIN_ECHO && !self.0.iter().any(|(v, _)| v == value) {
                self.0.push((value.to_owned(), kind));
            }
        }
        self.0
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    }
}

fn apply(
    rule: &Rule,
    text: &str,
    counts: &mut RedactionCounts,
    found: &mut Found,
) -> Option<String> {
    let mut out: Option<String> = None;
    let mut last = 0;
    for caps in rule.re.captures_iter(text) {
        let secret = if rule.groups.is_empty() {
            caps.get(0)
        } else {
            rule.groups.iter().find_map(|g| caps.name(g))
        };
        let Some(secret) = secret else { continue };
        if secret.as_str().contains("[REDACTED:") {
            continue;
        }
        let Some(kind) = (rule.classify)(&caps, secret.as_str(), rule.kind) else {
            continue;
        };
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[last..secret.start()]);
        out.push_str("[REDACTED:");
        out.push_str(kind);
        out.push(']');
        last = secret.end();
        counts.add(kind);
        found.note(secret.as_str(), kind);
    }
    let mut out = out?;
    out.push_str(&text[last..]);
    Some(out)
}

fn keep_kind(_: &Captures<'_>, _: &str, kind: &'static str) -> Option<&'static str> {
    Some(kind)
}

/// A PEM block needs real key material: a base64 run of 20 or more characters.
fn pem(caps: &Captures<'_>, _: &str, kind: &'static str) -> Option<&'static str> {
    let body = caps.name("body").map_or("", |m| m.as_str());
    let longest_run = body
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
        .map(str::len)
        .max()
        .unwrap_or(0);
    (longest_run >= 20).then_some(kind)
}

/// Well-known local defaults and template variables are not secrets; any other password is.
fn connection_password(
    caps: &Captures<'_>,
    password: &str,
    kind: &'static str,
) -> Option<&'static str> {
    let user = caps.name("user").map_or("", |m| m.as_str());
    const DEFAULTS: &[&str] = &[
        "password", "pass", "passwd", "postgres", "root", "guest", "admin", "secret", "changeme",
        "test", "example", "user", "mysql", "mongo", "redis",
    ];
    let lower = password.to_ascii_lowercase();
    // `[user[:password]@]`: documentation syntax.
    let syntax = password.contains(['[', ']']);
    if password == user || DEFAULTS.contains(&lower.as_str()) || syntax || is_placeholder(password)
    {
        return None;
    }
    Some(kind)
}

/// Slack tokens carry numeric team/user ids: `xoxb-your-token-here` is a placeholder.
fn slack_token(_: &Captures<'_>, token: &str, kind: &'static str) -> Option<&'static str> {
    (token.bytes().filter(u8::is_ascii_digit).count() >= 4 && !is_placeholder(token))
        .then_some(kind)
}

/// A webhook path carries numeric-looking ids: `TEAM/CHANNEL/TOKEN` and `T000/B000/XXXX` are
/// documentation placeholders.
fn slack_webhook(_: &Captures<'_>, path: &str, kind: &'static str) -> Option<&'static str> {
    (path.bytes().any(|b| b.is_ascii_digit()) && !is_placeholder(path)).then_some(kind)
}

/// A bearer token must look random (the generic-secret checks, quoted form).
fn random_token(_: &Captures<'_>, token: &str, kind: &'static str) -> Option<&'static str> {
    looks_random(token).then_some(kind)
}

fn assignment(caps: &Captures<'_>, value: &str, _: &'static str) -> Option<&'static str> {
    let name = caps
        .name("name")
        .map_or("", |m| m.as_str())
        .to_ascii_lowercase();
    let squash: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let templated = ["${", "{{", "<", "$("].iter().any(|p| value.contains(p));
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '/' || c == '+';
    if !templated
        && (squash.contains("aws") || squash.contains("secretaccess"))
        && value.len() == 40
        && value.chars().all(b64)
    {
        return Some("aws-secret-key");
    }
    if !templated
        && ["apikey", "subscriptionkey", "openai", "azure", "cognitive"]
            .iter()
            .any(|n| squash.contains(n))
        && ((value.len() == 32 && value.chars().all(|c| c.is_ascii_hexdigit()))
            || (value.len() == 84 && value.chars().all(|c| c.is_ascii_alphanumeric())))
    {
        return Some("azure-key");
    }
    if name.contains("tokeniz") {
        return None; // `tokenizer = …`, `tokenizers: Cl100kBase, …`
    }
    if caps.name("uq").is_some()
        && (caps.name("code").is_some() || is_reference(value) || is_number(value))
    {
        return None;
    }
    looks_random(value).then_some("generic-secret")
}

/// The generic-secret test on a value (see the module docs).
fn looks_random(value: &str) -> bool {
    let len = value.chars().count();
    len >= MIN_SECRET_LEN
        && value.chars().any(|c| c.is_ascii_alphabetic())
        && !value.chars().any(char::is_whitespace)
        && !value.contains("://")
        && !is_placeholder(value)
        && !is_wordlike(value)
        && shannon_entropy(value) >= entropy_threshold(len)
}

/// Bits per character a value of `len` characters needs: `min(3.0, 0.85 × log2(len))`.
pub fn entropy_threshold(len: usize) -> f64 {
    (0.85 * (len.max(1) as f64).log2()).min(3.0)
}

/// Shannon entropy of the value's characters, in bits per character.
pub fn shannon_entropy(value: &str) -> f64 {
    let mut freq: BTreeMap<char, u32> = BTreeMap::new();
    let mut n = 0u32;
    for c in value.chars() {
        *freq.entry(c).or_insert(0) += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    freq.values()
        .map(|&k| {
            let p = f64::from(k) / n;
            -p * p.log2()
        })
        .sum()
}

fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    const MARKERS: &[&str] = &[
        "xxx",
        "***",
        "...",
        "<",
        ">",
        "${",
        "{{",
        "%(",
        "%s",
        "your",
        "changeme",
        "change_me",
        "change-me",
        "placeholder",
        "redacted",
    ];
    MARKERS.iter().any(|m| lower.contains(m))
        || lower.starts_with('$')
        || lower.starts_with('%')
        || (lower.contains('{') && lower.contains('}'))
        || lower
            .chars()
            .next()
            .is_some_and(|first| lower.chars().all(|c| c == first))
}

/// An unquoted identifier path (`os.environ`, `self.token`, `get_secret`, `tokenValue`,
/// `parenthesized!`) is
/// code referring to a secret, not one.
fn is_reference(value: &str) -> bool {
    let ident = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    let value = value.strip_suffix('!').unwrap_or(value); // a macro: `bracketed!(…)`
    let value = value.trim_start_matches(['*', '!', '-']); // `*secret_key`, `!token`
    value.split('.').all(ident)
        && (value.contains('.')
            || value.contains('_')
            || !value.chars().any(|c| c.is_ascii_digit()))
}

/// A numeric literal (`16384u32`, `0x8004E105_u32`, `-1540i32`, `3.5`) of at most 20 digits;
/// a long hex value (`0x4c08…` 64 digits) may be a key and is not exempt.
fn is_number(value: &str) -> bool {
    let v = value.trim_start_matches(['-', '+']);
    let v = ["8", "16", "32", "64", "128", "size"]
        .iter()
        .flat_map(|bits| ["u", "i", "f"].map(|t| format!("{t}{bits}")))
        .find_map(|suffix| v.strip_suffix(suffix.as_str()))
        .unwrap_or(v);
    let (digits, ok) = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => (hex, hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_')),
        None => (
            v,
            v.chars()
                .all(|c| c.is_ascii_digit() || c == '_' || c == '.'),
        ),
    };
    ok && !digits.is_empty() && digits.chars().filter(char::is_ascii_alphanumeric).count() <= 20
}

/// Every piece is a word (lower, UPPER, Capitalised, camelCase) with up to 3 trailing digits,
/// or a number of up to 4 digits.
fn is_wordlike(value: &str) -> bool {
    value
        .split(['-', '_', '.', '/', ':', '@', '+', '#', ' '])
        .all(|piece| piece.is_empty() || is_word(piece))
}

fn is_word(piece: &str) -> bool {
    let letters = piece.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = piece.len() - letters.len();
    if letters.is_empty() {
        return digits <= 4;
    }
    // `e2e`, `s3`, `ipv6`, `o200k`: short alphanumerics are words too.
    if piece.len() <= 5 && piece.chars().all(|c| c.is_ascii_alphanumeric()) {
        return true;
    }
    if digits > 3 || !letters.chars().all(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    if letters.chars().all(|c| c.is_ascii_uppercase()) {
        return true;
    }
    // camelCase / PascalCase with acronyms: split into words (`XMLHttpRequest` → XML, Http,
    // Request); real identifiers average 3 letters a word or more, random strings about 2.
    let bytes = letters.as_bytes();
    let mut words = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_uppercase() {
            i += 1;
        }
        // `XMLHttp`: the last capital of a run followed by lowercase starts the next word.
        if i - start > 1 && i < bytes.len() {
            i -= 1;
        } else {
            while i < bytes.len() && bytes[i].is_ascii_lowercase() {
                i += 1;
            }
        }
        words += 1;
    }
    words * 3 <= letters.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> (String, RedactionCounts) {
        let mut counts = RedactionCounts::default();
        let out = Redactor::new().redact(text, &mut counts).into_owned();
        (out, counts)
    }

    /// `text` holds `secret`; after redaction it does not, `[REDACTED:kind]` is there once,
    /// and the count says one of `kind`.
    #[track_caller]
    fn assert_redacted(text: &str, secret: &str, kind: &str) {
        assert!(text.contains(secret), "test text must hold the secret");
        let (out, counts) = redact(text);
        assert!(!out.contains(secret), "{kind}: secret survived in {out:?}");
        assert!(
            out.contains(&format!("[REDACTED:{kind}]")),
            "{kind}: wrong kind in {out:?}"
        );
        assert_eq!(counts.get(kind), 1, "{kind}: {counts:?} for {out:?}");
        assert_eq!(counts.total(), 1, "{kind}: {counts:?} for {out:?}");
    }

    #[track_caller]
    fn assert_kept(text: &str) {
        let (out, counts) = redact(text);
        assert_eq!(out, text, "changed: {counts:?}");
        assert_eq!(counts.total(), 0);
    }

    // Fake values assembled at run time so no credential-shaped literal sits in the source.
    fn fake(prefix: &str, body: &str) -> String {
        format!("{prefix}{body}")
    }

    const B62_36: &str = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";

    #[test]
    fn the_fingerprint_names_the_patterns_and_finds_nothing_agrees_with_redact() {
        let (a, b) = (Redactor::new(), Redactor::new());
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 32);
        assert!(a.fingerprint().bytes().all(|c| c.is_ascii_hexdigit()));
        let code = "fn main() {\n    let password_hint = read();\n}";
        assert!(a.finds_nothing("fn main() {}"));
        let secret = format!("GITHUB_TOKEN={}", fake("ghp_", B62_36));
        assert!(!a.finds_nothing(&secret));
        // A pattern may match where nothing is redacted in the end, never the other way.
        assert!(!a.finds_nothing(code));
        assert_kept(code);
    }

    #[test]
    fn github_tokens() {
        for p in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            let t = fake(p, B62_36);
            assert_redacted(&format!("GITHUB_TOKEN={t}\n"), &t, "github-token");
        }
        let pat = fake(
            "github_pat_",
            "11ABCDEFG0123456789abc_defGHIJKLmnopQRSTuvwxYZ0123456789abcdefghijklmnopqrstuvwx",
        );
        assert_redacted(&format!("let token = \"{pat}\";"), &pat, "github-token");
        assert_kept("tokens start with `ghp_` (classic) or `github_pat_` (fine-grained): ghp_xxx");
    }

    #[test]
    fn aws_access_key() {
        let k = fake("AKIA", "Z7Q2M4N8R1T5W3X9");
        assert_redacted(&format!("aws_access_key_id = {k}\n"), &k, "aws-access-key");
        let s = fake("ASIA", "Y6P3L9K2J5H8G1F4");
        assert_redacted(
            &format!("{{\"AccessKeyId\": \"{s}\"}}"),
            &s,
            "aws-access-key",
        );
        assert_kept(
            "AKIA prefixes mark long-term keys; AKIA1234 is too short; AKIAZ7Q2M4N8R1T5W3X9EXTRA",
        );
    }

    #[test]
    fn aws_secret_key() {
        let s = "k9Xv2Lq8Rt4Wz7Yb1Nc5Md3Pf6Gh0Js/TuA+BeEk";
        assert_redacted(
            &format!("aws_secret_access_key = {s}\n"),
            s,
            "aws-secret-key",
        );
        assert_redacted(
            &format!("AWS_SECRET_ACCESS_KEY=\"{s}\""),
            s,
            "aws-secret-key",
        );
        assert_kept("aws_secret_access_key = os.environ[\"AWS_SECRET_ACCESS_KEY\"]\n");
        assert_kept("aws_secret_access_key = ${AWS_SECRET}\n");
    }

    #[test]
    fn azure() {
        let key = "Zq8Vb3Nx7Lm2Kp9Jr4Ht6Gw1Fy5Dc0Sa8Qe3Wu7Io2Pl9Mk4Nj6Bh1Vg5Cf0Xd8Rs3Tz7Ya2Ue9Wi4Oq6Ln1Pm5Ek0==";
        assert_redacted(
            &format!(
                "DefaultEndpointsProtocol=https;AccountName=reviewbot;AccountKey={key};EndpointSuffix=core.windows.net"
            ),
            key,
            "azure-connection-string",
        );
        let sak = "Hq7Lm2Vb9Nx4Kp8Jr3Ht6Gw1Fy5Dc0Sa8Qe3Wu7Io=";
        let (out, _) = redact(&format!(
            "Endpoint=sb://bot.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={sak}"
        ));
        assert!(
            out.contains(
                "SharedAccessKeyName=send;SharedAccessKey=[REDACTED:azure-connection-string]"
            ),
            "{out}"
        );
        assert_kept("AccountName=reviewbot;AccountKey=<storage-account-key>;");

        let hex = "0f3a9c7e5b1d2f4a6c8e0b9d7f5a3c1e";
        assert_redacted(
            &format!("curl -H \"api-key: {hex}\" $ENDPOINT"),
            hex,
            "azure-key",
        );
        assert_redacted(
            &format!("client = AzureOpenAI(api_key=\"{hex}\")"),
            hex,
            "azure-key",
        );
        assert_kept("client = AzureOpenAI(api_key=os.environ[\"AZURE_OPENAI_API_KEY\"])");
    }

    #[test]
    fn gcp() {
        let k = fake("AIza", "SyB3x9Qm2Lk7Vw4Rt8Np1Hc6Jd0Fg5Ez3Ab");
        assert_redacted(
            &format!("const firebaseConfig = {{ apiKey: \"{k}\" }};"),
            &k,
            "gcp-api-key",
        );
        assert_kept("keys look like AIza followed by 35 characters: AIzaShort");

        let json = concat!(
            "{\n  \"type\": \"service_account\",\n  \"project_id\": \"reviewbot-test\",\n",
            "  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            "BKcwggSjAgEAAoIBAQC7\\nq8Xz3v1Lm0Nk2Pj4Rh6Tg8Wf0Yd2Bc4Ve6Sa8Ux0Ko\\n-----END PRIVATE",
            " KEY-----\\n\",\n  \"client_email\": \"bot@reviewbot-test.iam.gserviceaccount.com\"\n}\n"
        );
        let (out, counts) = redact(json);
        assert!(
            !out.contains("MIIEvQ") && !out.contains("BEGIN PRIVATE"),
            "{out}"
        );
        assert!(
            out.contains("\"private_key\": \"[REDACTED:gcp-service-account-key]\\n\""),
            "{out}"
        );
        assert_eq!(counts.get("gcp-service-account-key"), 1);
        // Still JSON, and the rest survives.
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["client_email"],
            "bot@reviewbot-test.iam.gserviceaccount.com"
        );
        assert_kept("{\"type\": \"service_account\", \"private_key\": \"\"}");
    }

    #[test]
    fn private_keys() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3q8Xz3v1Lm0Nk2Pj4Rh6Tg8Wf0Yd2Bc4Ve6Sa8Ux0Ko\nZ9y7W5u3S1q/O+M2k4I6g8E0c2A4b6D8f0H2j4L6n8P0r2T4v6X8z0B2d4F6h8\n-----END RSA PRIVATE KEY-----";
        let text = format!("key.pem:\n{pem}\ndone");
        let (out, counts) = redact(&text);
        assert_eq!(out, "key.pem:\n[REDACTED:private-key]\ndone");
        assert_eq!(counts.get("private-key"), 1);

        // Added in a diff.
        let diff = format!("+{}", pem.replace('\n', "\n+"));
        let (out, _) = redact(&diff);
        assert_eq!(out, "+[REDACTED:private-key]");

        // Inside a JSON string, with `\n` escapes and with doubly escaped `\\n`.
        for sep in ["\\n", "\\\\n"] {
            let json = format!("{{\"key\": \"{}\"}}", pem.replace('\n', sep));
            let (out, _) = redact(&json);
            assert_eq!(out, "{\"key\": \"[REDACTED:private-key]\"}");
        }
        // OpenSSH and a truncated block.
        let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";
        assert_redacted(
            ssh,
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
            "private-key",
        );
        let cut = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oGWxLtyLvX7RoAoGCCqGSM49\n(truncated)";
        let (out, _) = redact(cut);
        assert_eq!(out, "[REDACTED:private-key]\n(truncated)");

        // Code that merely names the markers.
        assert_kept(
            "const BEGIN: &str = \"-----BEGIN PRIVATE KEY-----\";\nconst END: &str = \"-----END PRIVATE KEY-----\";\nif pem.starts_with(\"-----BEGIN RSA PRIVATE KEY-----\") {}\n",
        );
        assert_kept(
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE3q8Xz3v1Lm0Nk2Pj4Rh6Tg8Wf0Yd2Bc4\n-----END PUBLIC KEY-----",
        );
    }

    #[test]
    fn slack() {
        let t = fake(
            "xoxb-",
            "2480193847261-2480193910517-Qx7Lm2Vb9Nx4Kp8Jr3Ht6Gw1",
        );
        assert_redacted(&format!("SLACK_BOT_TOKEN={t}"), &t, "slack-token");
        let p = fake(
            "xoxp-",
            "1029384756-1029384756-1029384756-4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c",
        );
        assert_redacted(
            &format!("client = WebClient(token='{p}')"),
            &p,
            "slack-token",
        );
        assert_kept("SLACK_BOT_TOKEN=xoxb-your-bot-token-here");

        let path = "T0AB12CD3/B0EF45GH6/Xy7Zq2Lm9Vb4Nx8Kp3Jr6Ht1";
        let hook = format!("https://hooks.slack.com/services/{path}");
        let (out, counts) = redact(&format!("webhook_url: {hook}\n"));
        assert_eq!(
            out,
            "webhook_url: https://hooks.slack.com/services/[REDACTED:slack-webhook]\n"
        );
        assert_eq!(counts.get("slack-webhook"), 1);
        assert_eq!(counts.total(), 1);
        assert_kept(
            "See https://api.slack.com/messaging/webhooks and hooks.slack.com/services/ for details.",
        );
        assert_kept(
            "url = \"https://hooks.slack.com/services/TEAM/CHANNEL/TOKEN\"\nhttps://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        );
    }

    #[test]
    fn stripe() {
        for p in ["sk_live_", "rk_live_", "sk_test_"] {
            let k = fake(p, "51Hq7Lm2Vb9Nx4Kp8Jr3Ht6Gw1Fy5Dc0Sa8Qe");
            assert_redacted(&format!("stripe.api_key = \"{k}\""), &k, "stripe-key");
        }
        assert_kept(
            "Stripe secret keys start with sk_live_ or sk_test_; publishable ones with pk_.",
        );
    }

    #[test]
    fn jwt() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IlJldmlld2JvdCJ9.Zq8Vb3Nx7Lm2Kp9Jr4Ht6Gw1Fy5Dc0Sa8Qe3Wu7Io2";
        assert_redacted(&format!("session={jwt}; Path=/"), jwt, "jwt");
        // A JWT sent as a bearer token counts once, as a JWT.
        let (out, counts) = redact(&format!("Authorization: Bearer {jwt}"));
        assert_eq!(out, "Authorization: Bearer [REDACTED:jwt]");
        assert_eq!(counts.total(), 1);
        assert_kept(
            "header = base64url('{\"alg\":\"HS256\"}') gives eyJhbGciOiJIUzI1NiJ9, the start of a JWT.",
        );
    }

    #[test]
    fn bearer() {
        let t = "Qx7Lm2Vb9Nx4Kp8Jr3Ht6Gw1Fy5Dc0Sa";
        assert_redacted(
            &format!("curl -H 'Authorization: Bearer {t}' https://api.example.com"),
            t,
            "bearer-token",
        );
        assert_kept(
            "headers = {\"Authorization\": f\"Bearer {token}\"}\nreq.header(\"Authorization\", format!(\"Bearer {}\", self.token));\n-H \"Authorization: Bearer $TOKEN\" and Bearer YOUR_ACCESS_TOKEN_HERE",
        );
        let basic = "cmV2aWV3Ym90OnM0cDNyLXMzY3IzdA==";
        assert_redacted(
            &format!("Authorization: Basic {basic}"),
            basic,
            "basic-auth",
        );
    }

    #[test]
    fn connection_strings() {
        let (out, counts) = redact(
            "DATABASE_URL=postgres://reviewbot:q7Lm2Vb9Nx4Kp8@db.internal:5432/reviewbot?sslmode=require",
        );
        assert_eq!(
            out,
            "DATABASE_URL=postgres://reviewbot:[REDACTED:connection-string]@db.internal:5432/reviewbot?sslmode=require"
        );
        assert_eq!(counts.get("connection-string"), 1);
        assert_eq!(counts.total(), 1);
        for url in [
            "mysql://app:Hq7%40Lm2Vb9@mysql.prod:3306/app",
            "mongodb+srv://svc:Zq8Vb3Nx7Lm2@cluster0.abcde.mongodb.net/db",
            "redis://:Rt4Wz7Yb1Nc5@cache:6379/0",
            "amqps://worker:Kp9Jr4Ht6Gw1@mq.internal/vhost",
        ] {
            let (out, counts) = redact(url);
            assert!(out.contains(":[REDACTED:connection-string]@"), "{out}");
            assert_eq!(counts.total(), 1, "{url}");
        }
        assert_kept(
            "postgres://postgres:postgres@localhost:5432/test\namqp://guest:guest@localhost\nredis://localhost:6379\npostgres://user:${DB_PASSWORD}@db/app\nmongodb://db.internal:27017/app",
        );
    }

    #[test]
    fn generic_secrets() {
        let v = "Tq8#vB3n!Lm2Kp9w";
        for text in [
            format!("password = \"{v}\""),
            format!("DB_PASSWORD={v}\n"),
            format!("{{\"client_secret\": \"{v}\"}}"),
            format!("  api_key: {v}\n"),
            format!("const API_TOKEN: &str = \"{v}\";"),
            format!("export APIKEY='{v}'"),
            format!("access_key := `{v}`"),
            format!("{{\\\"secret\\\": \\\"{v}\\\"}}"),
            format!("https://api.example.com/v1/items?token={v}&page=2"),
        ] {
            assert_redacted(&text, v, "generic-secret");
        }
        let django = "django-insecure-8k#z2m!v9q@x4w7p$l0b3n6c1r5t";
        assert_redacted(
            &format!("SECRET_KEY = '{django}'"),
            django,
            "generic-secret",
        );
        assert_kept(concat!(
            "password = \"changeme\"\npassword = \"password123\"\ntoken = \"<your-token>\"\n",
            "api_key = \"xxxxxxxxxxxxxxxx\"\nsecret = \"${SECRET}\"\nTOKEN = os.environ[\"TOKEN\"]\n",
            "password = os.getenv(\"DB_PASSWORD\")\ntoken = self.config.slack_token\n",
            "token_type = \"access_token\"\nSIGNATURE_HEADER = \"X-Hub-Signature-256\"\n",
            "private_key_path = \"/etc/ssl/private/server.key.pem\"\nTOKEN_URL = \"https://oauth2.googleapis.com/token\"\n",
            "password: str = \"\"\nmax_tokens = 65536\napi_key = settings.OPENAI_API_KEY\nsecret: 12345678\n",
            "apiKey: process.env.API_KEY,\npassword = \"aaaaaaaaaaaa\"\nsecret = \"{secret}\"\n",
            "use tiktoken_rs::CoreBPE;\nlet bpe = tiktoken_rs::o200k_base();\n",
            "let paren_token = parenthesized!(content in input);\n",
            "let signing_key = pkcs1v15::SigningKey::<Sha256>::new(private_key);\n",
            "pub const NO_CACHED_PASSWORD: u32 = 16384u32;\nconst E_TOKEN: HRESULT = 0x8031004C_u32 as _;\n",
            "pub const SE_CREATE_TOKEN_NAME: &str = \"SeCreateTokenPrivilege\";\n",
            "const P: PCWSTR = w!(\"PeerInvokePasswordDialog\");\nsecret_key: *secret_key,\n",
            "postgresql://[user[:password]@][host][:port][/dbname]\n",
            "credentials: yegor256/home#assets/crates-credentials\n",
            "let tokenizer = Tokenizer::Cl100kBase;\nSupported tokenizers: Cl100kBase, O200kBase.\n",
            "pub const WEBHOOK_SECRET: &str = \"e2e-webhook-secret\";\n",
        ));
    }

    #[test]
    fn planted_in_a_diff() {
        let diff = concat!(
            "diff --git a/.env b/.env\n+++ b/.env\n@@ -0,0 +1,9 @@\n",
            "+AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
            "+AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
            "+DB_PASSWORD=S3cureP@ssw0rd!\n",
            "+OPENAI_API_KEY=sk-Zq8Vb3Nx7Lm2Kp9Jr4Ht6Gw1Fy5Dc0Sa8Qe3Wu7Io2Pl9Mk4N\n",
            "+AZURE_OPENAI_API_KEY=0f3a9c7e5b1d2f4a6c8e0b9d7f5a3c1e\n",
            "+Ocp-Apim-Subscription-Key: 9d7f5a3c1e0f3a9c7e5b1d2f4a6c8e0b\n",
            "+MONGO_URL=mongodb://admin:Zq8Vb3Nx7Lm2@mongo:27017/app\n",
            "+GOOGLE_CLIENT_SECRET=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\n",
            "+maps = requests.get(f\"https://maps.googleapis.com/api?key=AIzaSyB3x9Qm2Lk7Vw4Rt8Np1Hc6Jd0Fg5Ez3Ab\")\n",
        );
        let (out, counts) = redact(diff);
        for secret in [
            "IOSFODNN7",
            "bPxRfiCY",
            "P@ssw0rd",
            "Zq8Vb3Nx7Lm2Kp9",
            "0f3a9c7e",
            "9d7f5a3c",
            "Zq8Vb3Nx7Lm2@",
            "GOCSPX-Zq8",
            "SyB3x9Qm",
        ] {
            assert!(!out.contains(secret), "{secret} survived:\n{out}");
        }
        assert_eq!(counts.total(), 9, "{counts:?}\n{out}");
        assert!(out.contains("mongodb://admin:[REDACTED:connection-string]@mongo:27017/app"));
    }

    #[test]
    fn json_text_stays_json() {
        // Content strings holding JSON (once and twice encoded) stay parseable.
        let once = serde_json::json!({ "role": "user", "content": planted() }).to_string();
        let twice = serde_json::json!({ "tool_result": once }).to_string();
        for text in [once, twice] {
            let (out, counts) = redact(&text);
            assert!(counts.total() >= 10, "{counts:?}\n{out}");
            let parsed: serde_json::Value = serde_json::from_str(&out).expect(&out);
            assert!(!parsed.to_string().contains("MIIEvQ"), "{out}");
        }
    }

    #[test]
    fn a_secret_found_once_is_removed_where_it_is_quoted_without_context() {
        let redactor = Redactor::new();
        let secret = fake("q8Rw2ZtN5vXk9LmB3cYh/", "GpD4sJf6TaE1uWn0VbK");
        let mut counts = RedactionCounts::default();
        let mut found = Found::default();
        let code = format!("aws_secret_access_key = \"{secret}\"\n");
        let prose = format!("Rotate {secret} now; it is in the history.");
        // Alone, the prose gives no sign that the value is a secret.
        assert_eq!(
            redactor.redact(&prose, &mut RedactionCounts::default()),
            prose
        );
        let code = redactor.redact_noting(&code, &mut counts, &mut found);
        assert!(!code.contains(&secret));
        let prose = redactor.redact_echoes(&prose, &mut counts, &found);
        assert_eq!(
            prose,
            "Rotate [REDACTED:aws-secret-key] now; it is in the history."
        );
        assert_eq!(counts.get("aws-secret-key"), 2);
        // Short values are not chased through the text.
        let mut short = Found::default();
        short.note("abc123", "generic-secret");
        assert!(short.is_empty());
    }

    #[test]
    fn a_private_keys_lines_are_removed_where_they_are_quoted_one_by_one() {
        let redactor = Redactor::new();
        let line = fake("MIIEowIBAAKCAQEA7Vx", "3p9Qm2Lk8Zr4Tn6Yw1Hs5Jd0");
        let block = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{line}\n{line}Ab\n-----END RSA PRIVATE KEY-----\n"
        );
        let mut counts = RedactionCounts::default();
        let mut found = Found::default();
        assert!(
            !redactor
                .redact_noting(&block, &mut counts, &mut found)
                .contains(&line)
        );
        let quoted = format!("the key starts with {line}Ab and more");
        let echoed = redactor.redact_echoes(&quoted, &mut counts, &found);
        assert!(!echoed.contains(&line), "{echoed}");
    }

    #[test]
    fn redactor_is_shareable() {
        fn shareable<T: Send + Sync + Default>() {}
        shareable::<Redactor>();
    }

    #[test]
    fn entropy_threshold_is_documented() {
        assert!(entropy_threshold(8) < 2.6 && entropy_threshold(8) > 2.5);
        assert_eq!(entropy_threshold(12), 3.0);
        assert_eq!(entropy_threshold(64), 3.0);
        assert!((shannon_entropy("abcdefgh") - 3.0).abs() < 1e-9);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        // Low entropy even though random-ish in shape.
        assert_kept("password = \"ab12ab12ab12\"");
    }

    fn planted() -> String {
        [
            format!("GITHUB_TOKEN={}", fake("ghp_", B62_36)),
            format!("aws_access_key_id={}", fake("AKIA", "Z7Q2M4N8R1T5W3X9")),
            "aws_secret_access_key=k9Xv2Lq8Rt4Wz7Yb1Nc5Md3Pf6Gh0Js/TuA+BeEk".to_string(),
            format!("slack = \"{}\"", fake("xoxb-", "2480193847261-2480193910517-Qx7Lm2Vb9Nx4Kp8Jr3Ht6Gw1")),
            format!("stripe = \"{}\"", fake("sk_live_", "51Hq7Lm2Vb9Nx4Kp8Jr3Ht6Gw1Fy5Dc0Sa8Qe")),
            format!("maps = \"{}\"", fake("AIza", "SyB3x9Qm2Lk7Vw4Rt8Np1Hc6Jd0Fg5Ez3Ab")),
            "db = \"postgres://app:q7Lm2Vb9Nx4Kp8@db:5432/app\"".to_string(),
            "password = \"Tq8#vB3n!Lm2Kp9w\"".to_string(),
            "Authorization: Bearer Qx7Lm2Vb9Nx4Kp8Jr3Ht6Gw1Fy5Dc0Sa".to_string(),
            "hook = https://hooks.slack.com/services/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".to_string(),
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----".to_string(),
        ]
        .join("\n")
    }

    #[test]
    fn counts_by_kind_and_idempotence() {
        let r = Redactor::new();
        let text = planted();
        let mut counts = RedactionCounts::default();
        let once = r.redact(&text, &mut counts).into_owned();
        let expected: BTreeMap<&str, u64> = [
            "github-token",
            "aws-access-key",
            "aws-secret-key",
            "slack-token",
            "stripe-key",
            "gcp-api-key",
            "connection-string",
            "generic-secret",
            "bearer-token",
            "slack-webhook",
            "private-key",
        ]
        .into_iter()
        .map(|k| (k, 1))
        .collect();
        assert_eq!(counts.0, expected, "{once}");
        for kind in counts.0.keys() {
            assert!(KINDS.contains(kind), "{kind} missing from KINDS");
        }

        let mut again = RedactionCounts::default();
        let twice = r.redact(&once, &mut again);
        assert!(matches!(twice, Cow::Borrowed(_)));
        assert_eq!(twice, once);
        assert_eq!(again.total(), 0);

        let mut total = RedactionCounts::default();
        total.merge(&counts);
        total.merge(&counts);
        assert_eq!(total.total(), 2 * counts.total());
    }

    const PYTHON: &str = r#"import os
import hashlib
from dataclasses import dataclass

TOKEN_ENV = "GITHUB_TOKEN"
MAX_TOKENS = 65536


@dataclass
class Settings:
    api_key: str
    password: str | None = None
    token_type: str = "bearer"


def load_settings() -> Settings:
    api_key = os.environ["OPENAI_API_KEY"]
    password = os.getenv("DB_PASSWORD", "")
    return Settings(api_key=api_key, password=password)


def hash_password(password: str, salt: bytes) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)
    return digest.hex()


def count_tokens(text: str) -> int:
    tokens = text.split()
    return len(tokens)


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Request-Id": "req-1234"}
"#;

    const JS: &str = r#"const crypto = require("crypto");

const config = {
  apiKey: process.env.API_KEY,
  tokenUrl: "https://github.com/login/oauth/access_token",
  secretName: "reviewbot-webhook-secret",
  maxTokens: 4096,
};

function verifySignature(secret, payload, signature) {
  const hmac = crypto.createHmac("sha256", secret);
  const expected = "sha256=" + hmac.update(payload).digest("hex");
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
}

async function fetchUser(token) {
  const res = await fetch("https://api.github.com/user", {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/vnd.github+json" },
  });
  const { access_token: accessToken, token_type: tokenType } = await res.json();
  return { accessToken, tokenType };
}

module.exports = { config, verifySignature, fetchUser };
"#;

    const RUST: &str = r#"use std::env;

/// Reads the GitHub App's credentials from the environment.
pub struct Credentials {
    pub app_id: u64,
    pub private_key_pem: String,
    pub webhook_secret: String,
}

const PEM_HEADER: &str = "-----BEGIN RSA PRIVATE KEY-----";
const TOKEN_PREFIXES: [&str; 2] = ["ghp_", "github_pat_"];

impl Credentials {
    pub fn from_env() -> Result<Self, env::VarError> {
        let private_key_pem = env::var("GITHUB_APP_PRIVATE_KEY")?;
        let webhook_secret = env::var("GITHUB_WEBHOOK_SECRET")?;
        let app_id = env::var("GITHUB_APP_ID")?.parse().unwrap_or_default();
        Ok(Self { app_id, private_key_pem, webhook_secret })
    }

    pub fn looks_like_pem(&self) -> bool {
        self.private_key_pem.starts_with(PEM_HEADER)
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn is_token(s: &str) -> bool {
    TOKEN_PREFIXES.iter().any(|p| s.starts_with(p)) && s.len() > 20
}
"#;

    #[test]
    fn ordinary_code_is_byte_identical() {
        let r = Redactor::new();
        for source in [PYTHON, JS, RUST] {
            let mut counts = RedactionCounts::default();
            let out = r.redact(source, &mut counts);
            assert!(
                matches!(out, Cow::Borrowed(_)),
                "changed: {counts:?}\n{out}"
            );
            assert_eq!(counts.total(), 0);
        }
    }

    #[test]
    fn ten_megabytes_of_code_is_fast() {
        let chunk = [PYTHON, JS, RUST].concat();
        let mut big = String::with_capacity(10 << 20);
        while big.len() < 10 << 20 {
            big.push_str(&chunk);
        }
        let r = Redactor::new();
        let start = std::time::Instant::now();
        let mut counts = RedactionCounts::default();
        let out = r.redact(&big, &mut counts);
        assert_eq!(out.len(), big.len());
        assert_eq!(counts.total(), 0);
        // Generous: the point is linear time, not a benchmark (debug builds are slow).
        assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
    }
}
