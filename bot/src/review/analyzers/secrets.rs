//! Hard-coded credentials in well-known token formats, found line by line in any file.
//!
//! Only formats with a distinctive shape are detected (a prefix plus a fixed length or a
//! fixed structure), never "high-entropy strings", which flag hashes and ids. A finding names
//! the line and shows only the first four characters of the secret.
//!
//! Known placeholders are skipped: values containing `EXAMPLE`/`example`, `FAKE`/`fake`,
//! `DUMMY`/`dummy` or a run of five identical characters (`ghp_xxxxx…`), hence AWS's
//! documented example key id `AKIAIOSFODNN7EXAMPLE`; and, by value, the token in GitHub's
//! OAuth documentation, the jwt.io example token and the Azure Storage emulator's published
//! account key. These appear in docs and tests everywhere and unlock nothing.
//!
//! Findings in test, fixture and example paths keep their severity but have their confidence
//! halved: such values are usually dummies, yet a real key there leaks all the same.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::security::RuleInfo;
use crate::review::finding::{Finding, Severity};

/// The detectors' metadata, in [`DETECTORS`] order.
pub(crate) static RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "secrets.github-token",
        title: "GitHub token in source",
        description: "A GitHub token (ghp_, gho_, ghu_, ghs_, ghr_ or github_pat_) acts as its \
            owner on every repository it can reach, and anything pushed is copied to every \
            clone. Revoke it now in GitHub's settings, then load the token from the \
            environment or a secret store.",
        cwe: "CWE-798",
        severity: Severity::Critical,
        confidence: 0.9,
        languages: &[],
    },
    RuleInfo {
        id: "secrets.aws-access-key-id",
        title: "AWS access key id in source",
        description: "An AWS access key id (AKIA…/ASIA…) in source usually travels with its \
            secret key. Deactivate the key pair in IAM, then use roles, the default \
            credential chain or a secret manager instead of literals.",
        cwe: "CWE-798",
        severity: Severity::High,
        confidence: 0.8,
        languages: &[],
    },
    RuleInfo {
        id: "secrets.slack-token",
        title: "Slack token in source",
        description: "A Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-) reads and posts as its \
            bot or user. Revoke it in the Slack app settings and load it from the environment \
            or a secret store.",
        cwe: "CWE-798",
        severity: Severity::High,
        confidence: 0.85,
        languages: &[],
    },
    RuleInfo {
        id: "secrets.slack-webhook",
        title: "Slack incoming-webhook URL in source",
        description: "Anyone with an incoming-webhook URL can post to its channel. Regenerate \
            the webhook and keep the URL in a secret store.",
        cwe: "CWE-798",
        severity: Severity::Medium,
        confidence: 0.85,
        languages: &[],
    },
    RuleInfo {
        id: "secrets.stripe-secret-key",
        title: "Stripe live secret key in source",
        description: "A live Stripe secret or restricted key (sk_live_/rk_live_) can move real \
            money and read customer data. Roll the key in the Stripe dashboard and load it \
            from a secret store; test keys (sk_test_) are not reported.",
        cwe: "CWE-798",
        severity: Severity::Critical,
        confidence: 0.9,
        languages: &[],
    },
    RuleInfo {
        id: "secrets.google-api-key",
        title: "Google API key in source",
        description: "A Google API key (AIza…) bills its project for every call made with it. \
            Browser keys are public by design, so confidence is lower; for server keys, \
            rotate the key and load it from the environment, and restrict every key by API \
            and referrer.",
        cwe: "CWE-798",
        severity: Severity::Medium,
        confidence: 0.6,
        languages: &[],
    },
    RuleInfo {
        id: "secrets.private-key",
        title: "Private key in source",
        description: "A PEM private key (a BEGIN … PRIVATE KEY header followed by key data) \
            lets anyone impersonate its owner or decrypt its traffic. Treat it as leaked: \
            replace the key pair, and load keys from files or a secret store kept out of \
            the repository.",
        cwe: "CWE-798",
        severity: Severity::Critical,
        confidence: 0.85,
        languages: &[],
    },
    RuleInfo {
        id: "secrets.jwt",
        title: "JSON Web Token in source",
        description: "A signed JWT is a bearer credential until it expires, and long-lived \
            ones are common. Remove it, revoke it if your issuer allows, and build tokens at \
            run time (tests can sign their own with a test key).",
        cwe: "CWE-798",
        severity: Severity::Medium,
        confidence: 0.5,
        languages: &[],
    },
    RuleInfo {
        id: "secrets.azure-storage-account-key",
        title: "Azure Storage account key in source",
        description: "An AccountKey= in a connection string gives full control of the storage \
            account. Rotate the key in the Azure portal and use a managed identity, a SAS with \
            narrow rights or Key Vault instead.",
        cwe: "CWE-798",
        severity: Severity::Critical,
        confidence: 0.9,
        languages: &[],
    },
];

/// An extra check on a match: the secret, the rest of its line, the next line.
type Accept = fn(secret: &str, rest: &str, next_line: Option<&str>) -> bool;

/// One detector: a pattern whose whole match is the secret, and an extra check on it.
struct Detector {
    rule: &'static RuleInfo,
    pattern: Regex,
    accept: Accept,
}

/// The patterns, in [`RULES`] order. Lengths are open-ended (`{36,}`) and checked exactly in
/// `accept`, because the regex crate has no look-ahead to say "and no more token characters".
const PATTERNS: [(&str, Accept); 9] = [
    (
        r"\b(?:gh[pousr]_[0-9A-Za-z]{36,}|github_pat_[0-9A-Za-z_]{82,})",
        |s, _, _| matches!(s.len(), 40 | 93) && not_placeholder(s) && s != GITHUB_DOCS_TOKEN,
    ),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16,}", |s, _, _| {
        s.len() == 20 && not_placeholder(s)
    }),
    (r"\bxox[baprs]-(?:[0-9]+-)+[0-9A-Za-z]{20,}", |s, _, _| {
        not_placeholder(s)
    }),
    (
        r"https://hooks\.slack\.com/services/T[0-9A-Z]{8,}/B[0-9A-Z]{8,}/[0-9A-Za-z]{24}",
        |s, _, _| not_placeholder(s),
    ),
    (r"\b[rs]k_live_[0-9A-Za-z]{24,}", |s, _, _| {
        not_placeholder(s)
    }),
    (r"\bAIza[0-9A-Za-z_\-]{35,}", |s, _, _| {
        s.len() == 39 && not_placeholder(s)
    }),
    (
        r"-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
        |_, rest, next| has_key_material(rest, next),
    ),
    (
        r"\beyJ[0-9A-Za-z_\-]{8,}\.eyJ[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{16,}",
        |s, _, _| not_placeholder(s) && !s.ends_with(JWT_IO_EXAMPLE_SIGNATURE),
    ),
    (r"AccountKey=[0-9A-Za-z+/]{86}==", |s, _, _| {
        !s.ends_with(AZURITE_ACCOUNT_KEY)
    }),
];

/// The OAuth token in GitHub's documentation of the web application flow.
const GITHUB_DOCS_TOKEN: &str = concat!("gho_", "16C7e42F292c6912E7710c838347Ae178B4a");

/// The signature of the example token on jwt.io, pasted into countless docs and tests.
const JWT_IO_EXAMPLE_SIGNATURE: &str = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

/// The Azure Storage emulator's (Azurite's) account key, published in Microsoft's docs.
const AZURITE_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

static DETECTORS: LazyLock<Vec<Detector>> = LazyLock::new(|| {
    RULES
        .iter()
        .zip(PATTERNS)
        .filter_map(|(rule, (pattern, accept))| {
            // The patterns are fixed and covered by tests; a bad one disables only itself.
            let pattern = Regex::new(pattern).ok()?;
            Some(Detector {
                rule,
                pattern,
                accept,
            })
        })
        .collect()
});

/// Whether a match is not an obvious placeholder or documentation example.
fn not_placeholder(secret: &str) -> bool {
    const MARKERS: [&str; 6] = ["EXAMPLE", "example", "FAKE", "fake", "DUMMY", "dummy"];
    if MARKERS.iter().any(|marker| secret.contains(marker)) {
        return false;
    }
    let bytes = secret.as_bytes();
    !bytes.windows(5).any(|run| run.iter().all(|&b| b == run[0]))
}

/// A private key header counts only with key data after it (on the same line, as in a
/// `"…-----\nMIIE…"` string, or on the next line), not in code that looks for headers.
fn has_key_material(rest: &str, next_line: Option<&str>) -> bool {
    let base64_run = |text: &str| {
        let text = text.replace("\\n", " ").replace("\\r", " ");
        text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
            .any(|run| run.len() >= 40)
    };
    base64_run(rest)
        || next_line.is_some_and(|line| {
            let line = line.trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '+' | '#' | '/' | '*')
            });
            base64_run(line) || line.starts_with("Proc-Type:")
        })
}

/// Paths that usually hold dummies: tests, fixtures, examples.
fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let mut parts = lower.split(['/', '\\']);
    let file = parts.next_back().unwrap_or("");
    let in_test_directory = lower.split(['/', '\\']).rev().skip(1).any(|dir| {
        matches!(
            dir,
            "test"
                | "tests"
                | "__tests__"
                | "spec"
                | "specs"
                | "testdata"
                | "fixtures"
                | "fixture"
                | "examples"
                | "example"
                | "mocks"
                | "__mocks__"
        )
    });
    in_test_directory
        || file.starts_with("test_")
        || file.contains("_test.")
        || file.contains(".test.")
        || file.contains(".spec.")
        || file.ends_with("test.java")
        || file.ends_with("tests.java")
}

/// Masks a secret for messages: its first four characters, then `…`.
fn mask(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    format!("{shown}…")
}

/// Finds hard-coded secrets on the `added_lines` (1-based) of `source`.
pub fn scan(path: &str, source: &str, added_lines: &BTreeSet<u32>) -> Vec<Finding> {
    let Some(&last) = added_lines.last() else {
        return Vec::new();
    };
    let lines: Vec<&str> = source
        .split('\n')
        .take(last as usize + 1)
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let test_path = is_test_path(path);
    let mut findings = Vec::new();
    for &number in added_lines {
        let Some(line) = number
            .checked_sub(1)
            .and_then(|index| lines.get(index as usize))
        else {
            continue;
        };
        for detector in DETECTORS.iter() {
            for found in detector.pattern.find_iter(line) {
                let next_line = lines.get(number as usize).copied();
                if !(detector.accept)(found.as_str(), &line[found.end()..], next_line) {
                    continue;
                }
                let mut finding =
                    detector
                        .rule
                        .finding(path, number, Some(found.start() as u32 + 1));
                finding.message = format!(
                    "Found `{}` ({} characters). {}",
                    mask(found.as_str()),
                    found.as_str().chars().count(),
                    detector.rule.description
                );
                if test_path {
                    finding.confidence /= 2.0;
                }
                findings.push(finding);
                // One finding per rule and line is enough for a reviewer.
                break;
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    // Secrets are assembled at run time so that this file itself holds none.

    /// Deterministic base62 noise standing in for a random token body.
    fn noise(len: usize, seed: u64) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ALPHABET[(state >> 33) as usize % ALPHABET.len()] as char
            })
            .collect()
    }

    fn upper(len: usize, seed: u64) -> String {
        noise(len * 3, seed)
            .chars()
            .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            .take(len)
            .collect()
    }

    fn rules_on(path: &str, source: &str) -> Vec<String> {
        let all: BTreeSet<u32> = (1..=source.lines().count() as u32).collect();
        scan(path, source, &all)
            .into_iter()
            .map(|f| f.rule_id)
            .collect()
    }

    fn private_key_header() -> String {
        ["-----BEGIN", " RSA PRIVATE KEY-----"].concat()
    }

    /// (rule, a line with the secret, a line with a look-alike that is not one).
    fn cases() -> Vec<(&'static str, String, String)> {
        let jwt_header = ["ey", "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"].concat();
        let jwt_payload = ["ey", "JzdWIiOiJyZXZpZXdib3QiLCJpYXQiOjE3MDAwMDAwMDB9"].concat();
        vec![
            (
                "secrets.github-token",
                format!("GITHUB_TOKEN = \"ghp_{}\"", noise(36, 1)),
                format!("GITHUB_TOKEN = \"ghp_{}\"", "x".repeat(36)),
            ),
            (
                "secrets.github-token",
                format!("token: github_pat_{}_{}", noise(22, 2), noise(59, 3)),
                format!("token: github_pat_{}", noise(40, 3)),
            ),
            (
                "secrets.github-token",
                format!("{{\"access_token\":\"gho_{}\"}}", noise(36, 15)),
                format!("{{\"access_token\":\"{GITHUB_DOCS_TOKEN}\"}}"),
            ),
            (
                "secrets.aws-access-key-id",
                format!("aws_access_key_id = AKIA{}", upper(16, 4)),
                ["aws_access_key_id = AKIA", "IOSFODNN7EXAMPLE"].concat(),
            ),
            (
                "secrets.slack-token",
                format!(
                    "SLACK = 'xoxb-{}-{}-{}'",
                    1234567890,
                    9876543210_u64,
                    noise(24, 5)
                ),
                "SLACK = 'xoxb-your-bot-token-here'".to_owned(),
            ),
            (
                "secrets.slack-webhook",
                format!(
                    "url = \"https://hooks.slack.com/services/T{}/B{}/{}\"",
                    upper(10, 6),
                    upper(10, 7),
                    noise(24, 8)
                ),
                "url = \"https://hooks.slack.com/services/TEAM/CHANNEL/TOKEN\"".to_owned(),
            ),
            (
                "secrets.stripe-secret-key",
                format!("stripe.api_key = \"sk_live_{}\"", noise(24, 9)),
                format!("stripe.api_key = \"sk_test_{}\"", noise(24, 9)),
            ),
            (
                "secrets.google-api-key",
                format!("apiKey: \"AIza{}\",", noise(35, 10)),
                format!("apiKey: \"AIza{}\",", noise(20, 10)),
            ),
            (
                "secrets.private-key",
                format!("{}\n{}", private_key_header(), noise(64, 11)),
                format!("if pem.starts_with(\"{}\") {{", private_key_header()),
            ),
            (
                "secrets.private-key",
                format!("KEY = \"{}\\n{}\\n\"", private_key_header(), noise(64, 12)),
                format!("KEY = \"{}\\n...\\n\"", private_key_header()),
            ),
            (
                "secrets.jwt",
                format!(
                    "Authorization: Bearer {jwt_header}.{jwt_payload}.{}",
                    noise(43, 13)
                ),
                format!(
                    "Authorization: Bearer {jwt_header}.{}.{JWT_IO_EXAMPLE_SIGNATURE}",
                    [
                        "ey",
                        "JzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
                    ]
                    .concat()
                ),
            ),
            (
                "secrets.azure-storage-account-key",
                format!(
                    "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={}==;",
                    noise(86, 14)
                ),
                format!(
                    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_ACCOUNT_KEY};"
                ),
            ),
        ]
    }

    #[test]
    fn secrets_are_found_and_look_alikes_are_not() {
        for (rule, positive, negative) in cases() {
            assert_eq!(rules_on("src/config.py", &positive), [rule], "{positive}");
            assert_eq!(rules_on("src/config.py", &negative), [""; 0], "{negative}");
        }
    }

    #[test]
    fn secrets_every_rule_has_cases() {
        let cases = cases();
        for rule in RULES {
            assert!(cases.iter().any(|case| case.0 == rule.id), "{}", rule.id);
        }
        assert_eq!(DETECTORS.len(), RULES.len(), "a pattern does not compile");
    }

    #[test]
    fn secrets_messages_mask_the_value() {
        let token = format!("ghp_{}", noise(36, 20));
        let source = format!("let token = \"{token}\";");
        let findings = scan("src/main.rs", &source, &BTreeSet::from([1]));
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert!(
            !finding.message.contains(&token[4..]),
            "{}",
            finding.message
        );
        assert!(
            finding
                .message
                .starts_with("Found `ghp_…` (40 characters).")
        );
        assert_eq!((finding.line, finding.column), (1, Some(14)));
        assert_eq!(finding.cwe.as_deref(), Some("CWE-798"));
        assert_eq!(finding.severity, Severity::Critical);
    }

    #[test]
    fn secrets_only_added_lines_are_scanned() {
        let source = format!(
            "a = \"sk_live_{}\"\r\nb = 1\r\nc = \"sk_live_{}\"\r\n",
            noise(30, 21),
            noise(30, 22)
        );
        let lines = |added: &[u32]| -> Vec<u32> {
            scan("x.py", &source, &added.iter().copied().collect())
                .iter()
                .map(|f| f.line)
                .collect()
        };
        assert_eq!(lines(&[2, 3]), [3]);
        assert_eq!(lines(&[1, 3]), [1, 3]);
        assert_eq!(lines(&[0, 2, 99]), [0_u32; 0]);
    }

    #[test]
    fn secrets_in_test_paths_have_half_confidence() {
        let line = format!("key = \"sk_live_{}\"", noise(30, 23));
        let confidence = |path: &str| scan(path, &line, &BTreeSet::from([1]))[0].confidence;
        assert_eq!(confidence("app/billing.py"), 0.9);
        for path in [
            "tests/billing.py",
            "app/test_billing.py",
            "pkg/billing_test.go",
            "web/billing.spec.ts",
            "src/test/java/BillingTest.java",
            "fixtures/keys.txt",
        ] {
            assert_eq!(confidence(path), 0.45, "{path}");
        }
    }
}
