//! The query rules' metadata: id, title, why and fix, CWE, severity, confidence, languages.
//!
//! Severity says how bad the weakness is when the input is hostile; confidence says how often
//! a match is a real problem, which is lower where the rule cannot see where data comes from
//! (an `eval` of a variable may be fed by a constant elsewhere).

use super::RuleInfo;
use crate::review::finding::Severity::{High, Medium};
use crate::review::languages::Language;

const RUST: &[Language] = &[Language::Rust];
const PYTHON: &[Language] = &[Language::Python];
const JAVASCRIPT: &[Language] = &[Language::JavaScript, Language::TypeScript, Language::Tsx];
const GO: &[Language] = &[Language::Go];
const JAVA: &[Language] = &[Language::Java];

/// The rule with this id, if any.
pub(super) fn rule(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|rule| rule.id == id)
}

/// Every query rule, grouped by language.
pub(super) static RULES: &[RuleInfo] = &[
    // Python
    RuleInfo {
        id: "python.subprocess-shell-true",
        title: "Shell command built from a variable, run with shell=True",
        description: "With shell=True the command string is parsed by /bin/sh, so any \
            quote, `;`, `|` or `$( )` in the interpolated value runs as a command (OS command \
            injection). Pass an argument list without shell=True, e.g. \
            subprocess.run([\"ls\", path]), or quote values with shlex.quote.",
        cwe: "CWE-78",
        severity: High,
        confidence: 0.8,
        languages: PYTHON,
    },
    RuleInfo {
        id: "python.os-system",
        title: "Shell command built from a variable (os.system / os.popen)",
        description: "os.system, os.popen and subprocess.getoutput hand their string to the \
            shell, so metacharacters in a variable part run as commands (OS command \
            injection). Use subprocess.run with an argument list and no shell.",
        cwe: "CWE-78",
        severity: High,
        confidence: 0.75,
        languages: PYTHON,
    },
    RuleInfo {
        id: "python.sql-string-formatting",
        title: "SQL built by string formatting passed to execute",
        description: "Formatting values into SQL (f-string, %, .format or +) lets a value \
            change the statement (SQL injection). Pass the values as parameters: \
            cursor.execute(\"SELECT … WHERE id = %s\", (user_id,)), with your driver's \
            placeholder style.",
        cwe: "CWE-89",
        severity: High,
        confidence: 0.8,
        languages: PYTHON,
    },
    RuleInfo {
        id: "python.eval",
        title: "eval/exec of a non-constant string",
        description: "eval and exec run their argument as Python code; if any part of it can \
            come from a user, so can the code (code injection). Parse data instead: \
            ast.literal_eval for literals, json.loads for JSON, or a lookup table of allowed \
            operations.",
        cwe: "CWE-95",
        severity: High,
        confidence: 0.6,
        languages: PYTHON,
    },
    RuleInfo {
        id: "python.pickle-load",
        title: "Unpickling data (pickle.load / pickle.loads)",
        description: "Unpickling runs code chosen by whoever produced the bytes, so pickle \
            from any source an attacker can write to (uploads, caches, queues, network) is \
            remote code execution. Use a data-only format such as JSON, or sign the payload and \
            verify it before loading.",
        cwe: "CWE-502",
        severity: High,
        confidence: 0.6,
        languages: PYTHON,
    },
    RuleInfo {
        id: "python.marshal-load",
        title: "Loading marshal data",
        description: "marshal is not safe against malicious data: crafted input can crash the \
            interpreter or build code objects. Use JSON or another data-only format for \
            anything not produced by this process.",
        cwe: "CWE-502",
        severity: Medium,
        confidence: 0.6,
        languages: PYTHON,
    },
    RuleInfo {
        id: "python.yaml-unsafe-load",
        title: "yaml.load without a safe loader",
        description: "yaml.load with the default, Loader, FullLoader or UnsafeLoader can \
            construct arbitrary Python objects from tags in the document, which is code \
            execution for untrusted YAML. Use yaml.safe_load(data) or \
            yaml.load(data, Loader=yaml.SafeLoader).",
        cwe: "CWE-502",
        severity: High,
        confidence: 0.8,
        languages: PYTHON,
    },
    RuleInfo {
        id: "python.requests-verify-false",
        title: "TLS certificate verification disabled (verify=False)",
        description: "verify=False accepts any certificate, so anyone on the network path can \
            impersonate the server and read or change the traffic. Keep verification on; for \
            a private CA pass verify=\"/path/to/ca-bundle.pem\".",
        cwe: "CWE-295",
        severity: High,
        confidence: 0.85,
        languages: PYTHON,
    },
    RuleInfo {
        id: "python.ssl-unverified-context",
        title: "TLS certificate verification disabled (ssl)",
        description: "ssl._create_unverified_context and CERT_NONE accept any certificate, so \
            a man in the middle can impersonate the server. Use ssl.create_default_context() \
            and load a private CA with cafile= if needed.",
        cwe: "CWE-295",
        severity: High,
        confidence: 0.9,
        languages: PYTHON,
    },
    RuleInfo {
        id: "python.weak-password-hash",
        title: "MD5/SHA-1 used to hash a password or secret",
        description: "MD5 and SHA-1 are fast, unsalted hashes (CWE-327): leaked hashes are \
            cracked at billions of guesses per second. Hash passwords with a slow, salted \
            KDF: argon2 (argon2-cffi), bcrypt, scrypt or hashlib.pbkdf2_hmac.",
        cwe: "CWE-916",
        severity: Medium,
        confidence: 0.7,
        languages: PYTHON,
    },
    // JavaScript, TypeScript, TSX
    RuleInfo {
        id: "javascript.child-process-exec",
        title: "Shell command built from a template or concatenation (child_process.exec)",
        description: "exec and execSync run their string through the shell, so metacharacters \
            in an interpolated value run as commands (OS command injection). Use \
            execFile/spawn with an argument array, e.g. execFile(\"git\", [\"log\", ref]).",
        cwe: "CWE-78",
        severity: High,
        confidence: 0.8,
        languages: JAVASCRIPT,
    },
    RuleInfo {
        id: "javascript.sql-string-building",
        title: "SQL built from a template or concatenation passed to a query call",
        description: "Interpolating values into SQL lets a value change the statement (SQL \
            injection). Use placeholders and pass values separately: \
            db.query(\"SELECT … WHERE id = $1\", [id]), or a tagged template your driver \
            escapes (sql`…`, Prisma.$queryRaw`…`).",
        cwe: "CWE-89",
        severity: High,
        confidence: 0.75,
        languages: JAVASCRIPT,
    },
    RuleInfo {
        id: "javascript.eval",
        title: "eval of a non-constant string",
        description: "eval runs its argument as code with the caller's privileges; if any part \
            of it can come from a user, so can the code (code injection, XSS in browsers). \
            Use JSON.parse for data and a lookup of allowed functions for behaviour.",
        cwe: "CWE-95",
        severity: High,
        confidence: 0.6,
        languages: JAVASCRIPT,
    },
    RuleInfo {
        id: "javascript.new-function",
        title: "new Function built from a non-constant string",
        description: "new Function(...) compiles its string arguments as code, like eval, so \
            a user-influenced part becomes code injection. Pass a real function, or select \
            behaviour from a fixed table.",
        cwe: "CWE-95",
        severity: High,
        confidence: 0.6,
        languages: JAVASCRIPT,
    },
    RuleInfo {
        id: "javascript.timer-string",
        title: "setTimeout/setInterval with a built string",
        description: "A string passed to setTimeout or setInterval is evaluated as code, so an \
            interpolated value becomes code injection. Pass a function: \
            setTimeout(() => update(id), 100).",
        cwe: "CWE-95",
        severity: Medium,
        confidence: 0.7,
        languages: JAVASCRIPT,
    },
    RuleInfo {
        id: "javascript.reject-unauthorized-false",
        title: "TLS certificate verification disabled (rejectUnauthorized: false)",
        description: "rejectUnauthorized: false accepts any certificate, so anyone on the \
            network path can impersonate the server. Keep verification on; for a private CA \
            pass its certificate with the ca option.",
        cwe: "CWE-295",
        severity: High,
        confidence: 0.9,
        languages: JAVASCRIPT,
    },
    RuleInfo {
        id: "javascript.node-tls-reject-unauthorized",
        title: "TLS certificate verification disabled process-wide (NODE_TLS_REJECT_UNAUTHORIZED=0)",
        description: "Setting NODE_TLS_REJECT_UNAUTHORIZED to 0 turns off certificate checks \
            for every TLS connection of the process. Remove it; trust a private CA with \
            NODE_EXTRA_CA_CERTS or the ca option instead.",
        cwe: "CWE-295",
        severity: High,
        confidence: 0.95,
        languages: JAVASCRIPT,
    },
    RuleInfo {
        id: "javascript.weak-password-hash",
        title: "MD5/SHA-1 used to hash a password or secret",
        description: "MD5 and SHA-1 are fast, unsalted hashes (CWE-327): leaked hashes are \
            cracked at billions of guesses per second. Use crypto.scrypt, argon2 or bcrypt \
            with a per-user salt.",
        cwe: "CWE-916",
        severity: Medium,
        confidence: 0.7,
        languages: JAVASCRIPT,
    },
    // Go
    RuleInfo {
        id: "go.exec-shell-command",
        title: "Shell command built from a variable (exec.Command(\"sh\", \"-c\", …))",
        description: "sh -c parses its script, so metacharacters in a variable part run as \
            commands (OS command injection). Run the program directly with separate \
            arguments: exec.Command(\"git\", \"log\", ref).",
        cwe: "CWE-78",
        severity: High,
        confidence: 0.8,
        languages: GO,
    },
    RuleInfo {
        id: "go.sql-string-building",
        title: "SQL built with fmt.Sprintf or concatenation passed to Query/Exec",
        description: "Formatting values into SQL lets a value change the statement (SQL \
            injection). Use placeholders and pass the values as arguments: \
            db.Query(\"SELECT … WHERE id = $1\", id).",
        cwe: "CWE-89",
        severity: High,
        confidence: 0.8,
        languages: GO,
    },
    RuleInfo {
        id: "go.insecure-skip-verify",
        title: "TLS certificate verification disabled (InsecureSkipVerify: true)",
        description: "InsecureSkipVerify accepts any certificate and host name, so anyone on \
            the network path can impersonate the server. Remove it; for a private CA set \
            RootCAs to a pool holding its certificate.",
        cwe: "CWE-295",
        severity: High,
        confidence: 0.9,
        languages: GO,
    },
    RuleInfo {
        id: "go.weak-password-hash",
        title: "MD5/SHA-1 used to hash a password or secret",
        description: "MD5 and SHA-1 are fast, unsalted hashes (CWE-327): leaked hashes are \
            cracked at billions of guesses per second. Use golang.org/x/crypto/bcrypt or \
            argon2.IDKey with a per-user salt.",
        cwe: "CWE-916",
        severity: Medium,
        confidence: 0.7,
        languages: GO,
    },
    // Java
    RuleInfo {
        id: "java.runtime-exec",
        title: "Runtime.exec of a command built from a variable",
        description: "A command string built from input lets the input add arguments or, run \
            through a shell, whole commands (OS command injection). Use ProcessBuilder with a \
            fixed program and each argument as its own element, and validate the values.",
        cwe: "CWE-78",
        severity: High,
        confidence: 0.7,
        languages: JAVA,
    },
    RuleInfo {
        id: "java.process-builder-shell",
        title: "Shell script built from a variable (ProcessBuilder(\"sh\", \"-c\", …))",
        description: "sh -c parses its script, so metacharacters in a variable part run as \
            commands (OS command injection). Run the program directly with separate \
            arguments: new ProcessBuilder(\"git\", \"log\", ref).",
        cwe: "CWE-78",
        severity: High,
        confidence: 0.8,
        languages: JAVA,
    },
    RuleInfo {
        id: "java.sql-string-building",
        title: "SQL built by concatenation or String.format passed to a JDBC/JPA call",
        description: "Concatenating values into SQL lets a value change the statement (SQL \
            injection). Use a PreparedStatement with ? placeholders and setString/setInt, or \
            named parameters in JPA queries.",
        cwe: "CWE-89",
        severity: High,
        confidence: 0.8,
        languages: JAVA,
    },
    RuleInfo {
        id: "java.object-input-stream",
        title: "Java deserialisation with ObjectInputStream.readObject",
        description: "readObject instantiates whatever classes the stream names, and gadget \
            chains in common libraries turn that into remote code execution for untrusted \
            bytes. Use a data format (JSON) or set an ObjectInputFilter that allows only the \
            expected classes.",
        cwe: "CWE-502",
        severity: High,
        confidence: 0.6,
        languages: JAVA,
    },
    RuleInfo {
        id: "java.trust-all-certificates",
        title: "TrustManager that trusts every certificate",
        description: "An empty checkServerTrusted accepts any certificate, so anyone on the \
            network path can impersonate the server. Use the default TrustManager; for a \
            private CA load it into a KeyStore and build the TrustManagerFactory from it.",
        cwe: "CWE-295",
        severity: High,
        confidence: 0.9,
        languages: JAVA,
    },
    RuleInfo {
        id: "java.hostname-verifier-accept-all",
        title: "HostnameVerifier that accepts every host",
        description: "A verifier that always returns true accepts a valid certificate for any \
            other host, so a man in the middle with any certificate passes. Remove it and use \
            the default verifier.",
        cwe: "CWE-295",
        severity: High,
        confidence: 0.85,
        languages: JAVA,
    },
    RuleInfo {
        id: "java.weak-password-hash",
        title: "MD5/SHA-1 MessageDigest used to hash a password or secret",
        description: "MD5 and SHA-1 are fast, unsalted hashes (CWE-327): leaked hashes are \
            cracked at billions of guesses per second. Use a password hashing function: \
            PBKDF2WithHmacSHA256 via SecretKeyFactory, bcrypt or Argon2.",
        cwe: "CWE-916",
        severity: Medium,
        confidence: 0.7,
        languages: JAVA,
    },
    // Rust
    RuleInfo {
        id: "rust.shell-command-format",
        title: "Shell script built from a variable (Command::new(\"sh\").arg(\"-c\"))",
        description: "sh -c parses its script, so metacharacters in a formatted value run as \
            commands (OS command injection). Run the program directly and pass each value \
            with .arg(value).",
        cwe: "CWE-78",
        severity: High,
        confidence: 0.75,
        languages: RUST,
    },
    RuleInfo {
        id: "rust.sql-format",
        title: "SQL built with format! passed to a query",
        description: "Formatting values into SQL lets a value change the statement (SQL \
            injection). Use bind parameters: sqlx::query(\"SELECT … WHERE id = $1\").bind(id), \
            or params![] with rusqlite.",
        cwe: "CWE-89",
        severity: High,
        confidence: 0.8,
        languages: RUST,
    },
    RuleInfo {
        id: "rust.danger-accept-invalid-certs",
        title: "TLS certificate verification disabled (danger_accept_invalid_certs)",
        description: "Accepting invalid certificates or host names lets anyone on the network \
            path impersonate the server. Remove it; for a private CA add it with \
            add_root_certificate.",
        cwe: "CWE-295",
        severity: High,
        confidence: 0.9,
        languages: RUST,
    },
    RuleInfo {
        id: "rust.weak-password-hash",
        title: "MD5/SHA-1 used to hash a password or secret",
        description: "MD5 and SHA-1 are fast, unsalted hashes (CWE-327): leaked hashes are \
            cracked at billions of guesses per second. Use the argon2, bcrypt or scrypt crate \
            (password-hash API) with a random salt.",
        cwe: "CWE-916",
        severity: Medium,
        confidence: 0.7,
        languages: RUST,
    },
];
