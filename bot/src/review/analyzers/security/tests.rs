//! Every rule against code that has the weakness and the safe variant of the same code.

use std::collections::BTreeSet;

use super::*;
use Language::{Go, Java, JavaScript, Python, Rust, Tsx, TypeScript};

/// Rule ids found in `source` with every line counted as added.
fn flagged(language: Language, source: &str) -> Vec<String> {
    let all: BTreeSet<u32> = (1..=source.lines().count() as u32 + 1).collect();
    analyze("src/app.x", Some(language), source, &all)
        .into_iter()
        .map(|f| f.rule_id)
        .collect()
}

/// (language, rule, code with the weakness, the safe variant).
const CASES: &[(Language, &str, &str, &str)] = &[
    // ---- Python
    (
        Python,
        "python.subprocess-shell-true",
        "subprocess.run(f\"tar xf {name}\", shell=True)",
        "subprocess.run(\"tar xf archive.tar\", shell=True)",
    ),
    (
        Python,
        "python.subprocess-shell-true",
        "subprocess.check_output(\"ls \" + path, shell=True, text=True)",
        "subprocess.check_output([\"ls\", path], text=True)",
    ),
    (
        Python,
        "python.subprocess-shell-true",
        "from subprocess import run\nrun(cmd, shell=True)",
        "from subprocess import run\nrun(cmd, shell=False)",
    ),
    (
        Python,
        "python.os-system",
        "os.system(\"rm -rf \" + directory)",
        "os.system(\"make clean\")",
    ),
    (
        Python,
        "python.os-system",
        "stream = os.popen(command)",
        "stream = os.popen(DEFAULT_COMMAND)",
    ),
    (
        Python,
        "python.sql-string-formatting",
        "cursor.execute(f\"SELECT * FROM users WHERE name = '{name}'\")",
        "cursor.execute(\"SELECT * FROM users WHERE name = %s\", (name,))",
    ),
    (
        Python,
        "python.sql-string-formatting",
        "cursor.execute(\"DELETE FROM users WHERE id = %s\" % user_id)",
        "cursor.execute(\"DELETE FROM users WHERE id = %s\", [user_id])",
    ),
    (
        Python,
        "python.sql-string-formatting",
        "db.execute(\"SELECT id FROM t WHERE a = {}\".format(a))",
        "db.execute(f\"SELECT id FROM {TABLE} WHERE a = ?\", (a,))",
    ),
    (
        Python,
        "python.sql-string-formatting",
        "conn.execute(\n    \"UPDATE accounts SET owner = '\" + owner + \"' WHERE id = 1\"\n)",
        "runner.execute(f\"deploy {target}\")",
    ),
    (
        Python,
        "python.eval",
        "result = eval(request.args[\"expr\"])",
        "result = ast.literal_eval(text)",
    ),
    (
        Python,
        "python.eval",
        "exec(code, namespace)",
        "exec(\"import os\")",
    ),
    (
        Python,
        "python.pickle-load",
        "obj = pickle.loads(request.data)",
        "obj = json.loads(request.data)",
    ),
    (
        Python,
        "python.marshal-load",
        "code = marshal.loads(blob)",
        "blob = marshal.dumps(code)",
    ),
    (
        Python,
        "python.yaml-unsafe-load",
        "config = yaml.load(stream)",
        "config = yaml.safe_load(stream)",
    ),
    (
        Python,
        "python.yaml-unsafe-load",
        "config = yaml.load(stream, Loader=yaml.FullLoader)",
        "config = yaml.load(stream, Loader=yaml.SafeLoader)",
    ),
    (
        Python,
        "python.yaml-unsafe-load",
        "config = yaml.load(stream, yaml.UnsafeLoader)",
        "config = yaml.load(stream, yaml.CSafeLoader)",
    ),
    (
        Python,
        "python.yaml-unsafe-load",
        "docs = yaml.unsafe_load_all(stream)",
        "docs = yaml.safe_load_all(stream)",
    ),
    (
        Python,
        "python.requests-verify-false",
        "response = requests.get(url, timeout=5, verify=False)",
        "response = requests.get(url, timeout=5, verify=True)",
    ),
    (
        Python,
        "python.requests-verify-false",
        "self.session.verify = False",
        "self.session.verify = \"/etc/ssl/ca.pem\"",
    ),
    (
        Python,
        "python.ssl-unverified-context",
        "ssl._create_default_https_context = ssl._create_unverified_context",
        "context = ssl.create_default_context()",
    ),
    (
        Python,
        "python.ssl-unverified-context",
        "context.verify_mode = ssl.CERT_NONE",
        "context.verify_mode = ssl.CERT_REQUIRED",
    ),
    (
        Python,
        "python.weak-password-hash",
        "digest = hashlib.md5(password.encode()).hexdigest()",
        "digest = hashlib.md5(body).hexdigest()",
    ),
    (
        Python,
        "python.weak-password-hash",
        "h = hashlib.sha1()\nh.update(form[\"password\"].encode())",
        "h = hashlib.sha256()\nh.update(form[\"password\"].encode())",
    ),
    (
        Python,
        "python.weak-password-hash",
        "hashed = hashlib.new(\"md5\", user.passwd)",
        "etag = hashlib.md5(password_page_html, usedforsecurity=False)",
    ),
    // ---- JavaScript (TypeScript and TSX cases below)
    (
        JavaScript,
        "javascript.child-process-exec",
        "child_process.exec(`git log ${ref}`, done);",
        "child_process.execFile(\"git\", [\"log\", ref], done);",
    ),
    (
        JavaScript,
        "javascript.child-process-exec",
        "const { execSync } = require(\"child_process\");\nexecSync(\"rm -rf \" + dir);",
        "const { execSync } = require(\"child_process\");\nexecSync(\"npm ci\");",
    ),
    (
        JavaScript,
        "javascript.child-process-exec",
        "require('child_process').exec('convert ' + file);",
        "const match = /(\\d+)/.exec(`${prefix}-${id}`);",
    ),
    (
        JavaScript,
        "javascript.sql-string-building",
        "await pool.query(`SELECT * FROM users WHERE email = '${email}'`);",
        "await pool.query(\"SELECT * FROM users WHERE email = $1\", [email]);",
    ),
    (
        JavaScript,
        "javascript.sql-string-building",
        "db.query(\"DELETE FROM sessions WHERE user = \" + userId);",
        "db.query(`SELECT * FROM ${TABLE} WHERE user = ?`, [userId]);",
    ),
    (
        JavaScript,
        "javascript.eval",
        "eval(userInput);",
        "eval(\"1 + 1\");",
    ),
    (
        JavaScript,
        "javascript.new-function",
        "const f = new Function(\"x\", body);",
        "const f = new Function(\"x\", \"return x * 2\");",
    ),
    (
        JavaScript,
        "javascript.timer-string",
        "setTimeout(\"refresh(\" + id + \")\", 100);",
        "setTimeout(() => refresh(id), 100);",
    ),
    (
        JavaScript,
        "javascript.timer-string",
        "window.setInterval(`poll(${id})`, 1000);",
        "window.setInterval(poll, 1000);",
    ),
    (
        JavaScript,
        "javascript.reject-unauthorized-false",
        "const agent = new https.Agent({ rejectUnauthorized: false });",
        "const agent = new https.Agent({ rejectUnauthorized: true, ca });",
    ),
    (
        JavaScript,
        "javascript.reject-unauthorized-false",
        "options.rejectUnauthorized = false;",
        "options.rejectUnauthorized = process.env.NODE_ENV === \"production\" || true;",
    ),
    (
        JavaScript,
        "javascript.node-tls-reject-unauthorized",
        "process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';",
        "process.env.NODE_TLS_REJECT_UNAUTHORIZED = '1';",
    ),
    (
        JavaScript,
        "javascript.node-tls-reject-unauthorized",
        "spawn(cmd, { env: { NODE_TLS_REJECT_UNAUTHORIZED: \"0\" } });",
        "spawn(cmd, { env: { NODE_EXTRA_CA_CERTS: \"/etc/ca.pem\" } });",
    ),
    (
        JavaScript,
        "javascript.weak-password-hash",
        "const hash = crypto.createHash('md5').update(password).digest('hex');",
        "const etag = crypto.createHash('md5').update(body).digest('hex');",
    ),
    (
        JavaScript,
        "javascript.weak-password-hash",
        "const h = crypto.createHash(\"sha1\");\nh.update(user.password);",
        "const h = crypto.createHash(\"sha256\");\nh.update(user.password);",
    ),
    (
        TypeScript,
        "javascript.sql-string-building",
        "const rows = await prisma.$queryRawUnsafe(`SELECT * FROM t WHERE id = ${id as string}`);",
        "const rows = await prisma.$queryRaw`SELECT * FROM t WHERE id = ${id}`;",
    ),
    (
        TypeScript,
        "javascript.eval",
        "const value: number = eval(expression!);",
        "const value: number = JSON.parse(expression!);",
    ),
    (
        Tsx,
        "javascript.reject-unauthorized-false",
        "const App = () => <Client tls={{ rejectUnauthorized: false }} />;",
        "const App = () => <Client tls={{ rejectUnauthorized: true }} />;",
    ),
    // ---- Go
    (
        Go,
        "go.exec-shell-command",
        "package main\nfunc f() { exec.Command(\"sh\", \"-c\", \"tar xf \"+name).Run() }",
        "package main\nfunc f() { exec.Command(\"tar\", \"xf\", name).Run() }",
    ),
    (
        Go,
        "go.exec-shell-command",
        "package main\nfunc f() { exec.CommandContext(ctx, \"/bin/bash\", \"-c\", script) }",
        "package main\nfunc f() { exec.CommandContext(ctx, \"/bin/bash\", \"-c\", \"make all\") }",
    ),
    (
        Go,
        "go.sql-string-building",
        "package main\nfunc f() { db.Query(fmt.Sprintf(\"SELECT * FROM users WHERE name = '%s'\", name)) }",
        "package main\nfunc f() { db.Query(\"SELECT * FROM users WHERE name = $1\", name) }",
    ),
    (
        Go,
        "go.sql-string-building",
        "package main\nfunc f() { tx.ExecContext(ctx, \"DELETE FROM t WHERE id = \"+id) }",
        "package main\nfunc f() { tx.ExecContext(ctx, \"DELETE FROM t WHERE id = ?\", id) }",
    ),
    (
        Go,
        "go.insecure-skip-verify",
        "package main\nvar c = &tls.Config{InsecureSkipVerify: true}",
        "package main\nvar c = &tls.Config{InsecureSkipVerify: false, RootCAs: pool}",
    ),
    (
        Go,
        "go.insecure-skip-verify",
        "package main\nfunc f() { cfg.InsecureSkipVerify = true }",
        "package main\nfunc f() { cfg.InsecureSkipVerify = *insecure && false }",
    ),
    (
        Go,
        "go.weak-password-hash",
        "package main\nfunc f() { sum := md5.Sum([]byte(password)); _ = sum }",
        "package main\nfunc f() { sum := md5.Sum(body); _ = sum }",
    ),
    (
        Go,
        "go.weak-password-hash",
        "package main\nfunc f() { h := sha1.New(); h.Write([]byte(req.Password)) }",
        "package main\nfunc f() { h := sha256.New(); h.Write([]byte(req.Password)) }",
    ),
    // ---- Java
    (
        Java,
        "java.runtime-exec",
        "class A { void f() { Runtime.getRuntime().exec(\"ping \" + host); } }",
        "class A { void f() { Runtime.getRuntime().exec(\"ping localhost\"); } }",
    ),
    (
        Java,
        "java.runtime-exec",
        "class A { void f() { rt.exec(new String[] {\"sh\", \"-c\", script}); } }",
        "class A { void f() { rt.exec(new String[] {\"ping\", \"-c\", \"1\", host}); } }",
    ),
    (
        Java,
        "java.process-builder-shell",
        "class A { void f() { new ProcessBuilder(\"bash\", \"-c\", \"tar xf \" + name).start(); } }",
        "class A { void f() { new ProcessBuilder(\"tar\", \"xf\", name).start(); } }",
    ),
    (
        Java,
        "java.sql-string-building",
        "class A { void f() { stmt.executeQuery(\"SELECT * FROM users WHERE name = '\" + name + \"'\"); } }",
        "class A { void f() { conn.prepareStatement(\"SELECT * FROM users WHERE name = ?\"); } }",
    ),
    (
        Java,
        "java.sql-string-building",
        "class A { void f() { jdbc.update(String.format(\"DELETE FROM t WHERE id = %s\", id)); } }",
        "class A { void f() { jdbc.update(\"DELETE FROM t WHERE id = \" + MAX_ID); } }",
    ),
    (
        Java,
        "java.object-input-stream",
        "class A { Object f(InputStream in) throws Exception {\n  ObjectInputStream ois = new ObjectInputStream(in);\n  return ois.readObject();\n} }",
        "class A { Object f(InputStream in) throws Exception {\n  ObjectInputStream ois = new ObjectInputStream(in);\n  ois.setObjectInputFilter(ObjectInputFilter.Config.createFilter(\"com.acme.*;!*\"));\n  return ois.readObject();\n} }",
    ),
    (
        Java,
        "java.trust-all-certificates",
        "class T implements X509TrustManager {\n  public void checkServerTrusted(X509Certificate[] c, String a) {\n    // trust everyone\n  }\n}",
        "class T implements X509TrustManager {\n  public void checkServerTrusted(X509Certificate[] c, String a) throws CertificateException {\n    delegate.checkServerTrusted(c, a);\n  }\n}",
    ),
    (
        Java,
        "java.hostname-verifier-accept-all",
        "class V implements HostnameVerifier {\n  public boolean verify(String host, SSLSession session) { return true; }\n}",
        "class V implements HostnameVerifier {\n  public boolean verify(String host, SSLSession session) { return host.equals(expected); }\n}",
    ),
    (
        Java,
        "java.hostname-verifier-accept-all",
        "class A { void f() { conn.setHostnameVerifier((host, session) -> true); } }",
        "class A { void f() { conn.setHostnameVerifier((host, session) -> host.endsWith(\".acme.com\")); } }",
    ),
    (
        Java,
        "java.hostname-verifier-accept-all",
        "class A { Object v = NoopHostnameVerifier.INSTANCE; }",
        "class A { Object v = new DefaultHostnameVerifier(); }",
    ),
    (
        Java,
        "java.weak-password-hash",
        "class A { byte[] f() { return MessageDigest.getInstance(\"MD5\").digest(password.getBytes()); } }",
        "class A { byte[] f() { return MessageDigest.getInstance(\"MD5\").digest(fileBytes); } }",
    ),
    (
        Java,
        "java.weak-password-hash",
        "class A { void f() {\n  MessageDigest md = MessageDigest.getInstance(\"SHA-1\");\n  md.update(user.getPassword().getBytes());\n} }",
        "class A { void f() {\n  MessageDigest md = MessageDigest.getInstance(\"SHA-256\");\n  md.update(user.getPassword().getBytes());\n} }",
    ),
    // ---- Rust
    (
        Rust,
        "rust.shell-command-format",
        "fn f() { Command::new(\"sh\").arg(\"-c\").arg(format!(\"tar xf {name}\")).status(); }",
        "fn f() { Command::new(\"tar\").arg(\"xf\").arg(name).status(); }",
    ),
    (
        Rust,
        "rust.shell-command-format",
        "fn f() { std::process::Command::new(\"bash\").args([\"-c\", &script]).output(); }",
        "fn f() { std::process::Command::new(\"bash\").args([\"-c\", \"make all\"]).output(); }",
    ),
    (
        Rust,
        "rust.sql-format",
        "async fn f() { sqlx::query(&format!(\"SELECT * FROM users WHERE name = '{name}'\")).fetch_all(&pool).await; }",
        "async fn f() { sqlx::query(\"SELECT * FROM users WHERE name = $1\").bind(name).fetch_all(&pool).await; }",
    ),
    (
        Rust,
        "rust.sql-format",
        "fn f() { conn.execute(&format!(\"DELETE FROM t WHERE id = {}\", id), []); }",
        "fn f() { conn.execute(&format!(\"DELETE FROM {TABLE} WHERE id = ?1\"), [id]); }",
    ),
    (
        Rust,
        "rust.sql-format",
        "fn f() { sqlx::query_as::<_, User>(format!(\"SELECT * FROM users WHERE id = {}\", id).as_str()); }",
        "fn f() { sqlx::query(sqlx::AssertSqlSafe(format!(\"SELECT * FROM {} WHERE id = $1\", table))); }",
    ),
    (
        Rust,
        "rust.danger-accept-invalid-certs",
        "fn f() { reqwest::Client::builder().danger_accept_invalid_certs(true).build(); }",
        "fn f() { reqwest::Client::builder().danger_accept_invalid_certs(false).build(); }",
    ),
    (
        Rust,
        "rust.weak-password-hash",
        "fn f() { let digest = md5::compute(password.as_bytes()); }",
        "fn f() { let digest = md5::compute(body.as_bytes()); }",
    ),
    (
        Rust,
        "rust.weak-password-hash",
        "fn f() { let mut hasher = Sha1::new(); hasher.update(user.password.as_bytes()); }",
        "fn f() { let mut hasher = Sha256::new(); hasher.update(user.password.as_bytes()); }",
    ),
    // ---- values that reach the call through a local variable
    (
        Python,
        "python.sql-string-formatting",
        "sql = f\"SELECT * FROM t WHERE id = {uid}\"\ncursor.execute(sql)",
        "sql = \"SELECT * FROM t WHERE id = %s\"\ncursor.execute(sql, (uid,))",
    ),
    (
        Python,
        "python.os-system",
        "def clean(directory):\n    os.system(\"rm -rf \" + directory)",
        "def clean():\n    command = \"make clean\"\n    os.system(command)",
    ),
    (
        JavaScript,
        "javascript.sql-string-building",
        "const sql = `SELECT * FROM t WHERE id = ${id}`;\nawait db.query(sql);",
        "const sql = `SELECT * FROM t WHERE id = $1`;\nawait db.query(sql, [id]);",
    ),
    (
        Go,
        "go.sql-string-building",
        "package main\nfunc f() {\n q := fmt.Sprintf(\"SELECT * FROM t WHERE id = %s\", id)\n db.Query(q)\n}",
        "package main\nfunc f() {\n q := \"SELECT * FROM t WHERE id = $1\"\n db.Query(q, id)\n}",
    ),
    (
        Go,
        "go.exec-shell-command",
        "package main\nfunc f(name string) {\n script := \"tar xf \"\n script += name\n exec.Command(\"sh\", \"-c\", script)\n}",
        "package main\nfunc f() {\n script := \"make all\"\n exec.Command(\"sh\", \"-c\", script)\n}",
    ),
    (
        Java,
        "java.sql-string-building",
        "class A { void f() {\n  String sql = \"SELECT * FROM t WHERE id = \" + id;\n  stmt.executeQuery(sql);\n} }",
        "class A { void f() {\n  String sql = \"SELECT * FROM t WHERE id = ?\";\n  conn.prepareStatement(sql);\n} }",
    ),
    (
        Rust,
        "rust.sql-format",
        "fn f() {\n    let sql = format!(\"SELECT * FROM t WHERE id = {id}\");\n    sqlx::query(&sql);\n}",
        "fn f() {\n    let sql = \"SELECT * FROM t WHERE id = $1\";\n    sqlx::query(sql).bind(id);\n}",
    ),
];

#[test]
fn security_rules_flag_weaknesses_and_pass_safe_variants() {
    let mut failures = Vec::new();
    for &(language, rule, positive, negative) in CASES {
        let found = flagged(language, positive);
        if !found.iter().any(|id| id == rule) {
            failures.push(format!(
                "{language:?} {rule} missed:\n{positive}\n  found {found:?}"
            ));
        }
        let found = flagged(language, negative);
        if !found.is_empty() {
            failures.push(format!(
                "{language:?} {rule} flagged safe code:\n{negative}\n  found {found:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn security_every_query_rule_has_positive_and_negative_cases() {
    let missing: Vec<&str> = catalog::RULES
        .iter()
        .map(|rule| rule.id)
        .filter(|id| !CASES.iter().any(|case| case.1 == *id))
        .collect();
    assert!(missing.is_empty(), "rules without cases: {missing:?}");
}

#[test]
fn security_rule_files_compile_for_every_language() {
    for language in Language::ALL {
        let ruleset = Ruleset::compile(language).unwrap_or_else(|e| panic!("{e}"));
        assert!(ruleset.query.pattern_count() > 0, "{language:?}");
    }
}

#[test]
fn security_every_catalog_rule_has_a_pattern_in_each_of_its_languages() {
    for rule in catalog::RULES {
        for &language in rule.languages {
            let Ok(ruleset) = ruleset(language) else {
                panic!("{language:?} does not compile");
            };
            assert!(
                ruleset.patterns.iter().any(|p| p.rule.id == rule.id),
                "{} has no pattern for {language:?}",
                rule.id
            );
        }
    }
}

#[test]
fn security_rules_list_is_unique_and_complete() {
    let rules = rules();
    let ids: BTreeSet<&str> = rules.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), rules.len(), "duplicate rule ids");
    for rule in &rules {
        let (prefix, name) = rule.id.split_once('.').expect("<language>.<name>");
        let languages: Vec<&str> = rule.languages.iter().map(|l| l.name()).collect();
        assert!(
            prefix == "secrets" && languages.is_empty() || languages.contains(&prefix),
            "{}",
            rule.id
        );
        assert!(
            !name.is_empty() && rule.cwe.starts_with("CWE-"),
            "{}",
            rule.id
        );
        assert!((0.0..=1.0).contains(&rule.confidence), "{}", rule.id);
        assert!(rule.description.len() > 40, "{}", rule.id);
    }
    assert!(ids.contains("python.subprocess-shell-true"));
    assert!(ids.contains("secrets.github-token"));
}

#[test]
fn security_reports_only_added_lines() {
    let source = "import os\nos.system(\"rm \" + a)\nos.system(\"rm \" + b)\n";
    let findings = analyze("x.py", Some(Python), source, &BTreeSet::from([3]));
    assert_eq!(findings.len(), 1, "{findings:?}");
    let finding = &findings[0];
    assert_eq!(
        (finding.rule_id.as_str(), finding.line, finding.column),
        ("python.os-system", 3, Some(1))
    );
    assert_eq!(finding.cwe.as_deref(), Some("CWE-78"));
    assert_eq!(finding.kind, FindingKind::Security);
    assert!(analyze("x.py", Some(Python), source, &BTreeSet::from([1])).is_empty());
    assert!(analyze("x.py", Some(Python), source, &BTreeSet::new()).is_empty());
}

#[test]
fn security_multi_line_call_is_reported_on_its_added_line() {
    let source = "subprocess.run(\n    cmd,\n    shell=True,\n)\n";
    let findings = analyze("x.py", Some(Python), source, &BTreeSet::from([3]));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!((findings[0].line, findings[0].column), (3, None));
    assert_eq!(findings[0].end_line, Some(4));
}

#[test]
fn security_syntax_errors_do_not_crash() {
    let broken = [
        (Python, "def f(:\n  os.system(\"rm \" + x\n  eval(("),
        (
            JavaScript,
            "function ( { eval(x + ; child_process.exec(`a ${",
        ),
        (TypeScript, "const x: = <T>(y: ) => eval(y"),
        (Tsx, "const A = () => <div>{eval(x)</div"),
        (
            Go,
            "package main\nfunc f( { db.Query(fmt.Sprintf(\"SELECT %s\", x)",
        ),
        (
            Java,
            "class { void f( { Runtime.getRuntime().exec(\"a\" + b",
        ),
        (
            Rust,
            "fn f( { Command::new(\"sh\").arg(\"-c\").arg(format!(\"{x}\"",
        ),
    ];
    for (language, source) in broken {
        // No assertion on what is found: only that nothing panics.
        let _ = flagged(language, source);
    }
    for language in Language::ALL {
        let _ = flagged(language, "");
        let _ = flagged(language, "\u{0}\u{fffd}\r\r\n\t");
    }
}

#[test]
fn security_runs_secrets_on_files_without_a_language() {
    let token = format!("ghp_{}", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ0bC2eF4hJ6");
    let source = format!("[auth]\ntoken = \"{token}\"\n");
    let findings = analyze("config/app.ini", None, &source, &BTreeSet::from([2]));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].rule_id, "secrets.github-token");
    assert!(!findings[0].message.contains(&token));
}

/// Everyday code near each rule's territory, none of it vulnerable.
const SAFE_CODE: &[(Language, &str)] = &[
    (
        Python,
        r#"import subprocess, os, hashlib, yaml, json, requests, ssl

def build(target: str, password: str) -> None:
    subprocess.run(["make", target], check=True)
    subprocess.run("make all", shell=True, check=True)
    os.system("clear")
    model.eval()
    self.exec(query)
    match = re.compile(pattern).match(text)
    cursor.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    cursor.execute(query, params)
    logger.info("SELECT count FROM %s" % table)
    digest = hashlib.sha256(password.encode()).hexdigest()
    checksum = hashlib.md5(data).hexdigest()
    config = yaml.safe_load(stream)
    config = yaml.load(stream, Loader=yaml.CSafeLoader)
    response = requests.get(url, verify=certifi.where())
    payload = json.loads(body)
    value = ast.literal_eval(text)
    context = ssl.create_default_context()
    if context.verify_mode == ssl.CERT_NONE:
        raise ValueError("insecure")
    for command in ("ls", "pwd"):
        print(command)
    print(f"where {target}")
"#,
    ),
    (
        JavaScript,
        r#"import { execFile } from "child_process";
const m = /(\d+)/.exec(`${a}-${b}`);
const users = await client.query(`query { users(where: {id: {_eq: ${id}}}) { name } }`);
execFile("git", ["log", ref]);
setTimeout(() => poll(), 1000);
setInterval(poll, 1000);
const rows = await db.query("SELECT * FROM t WHERE id = $1", [id]);
const rows2 = await sql`SELECT * FROM t WHERE id = ${id}`;
const hash = crypto.createHash("sha256").update(password).digest("hex");
const etag = crypto.createHash("md5").update(body).digest("hex");
const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: true });
const globalObject = new Function("return this")();
const data = JSON.parse(text);
document.querySelector(`#${id}`);
console.log("SELECT * FROM " + table);
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "1";
"#,
    ),
    (
        Tsx,
        r#"export function Search({ query }: { query: string }) {
  const results = useQuery(`search ${query}`);
  return <List items={results} onSelect={(item: Item) => setTimeout(() => open(item), 0)} />;
}
"#,
    ),
    (
        Go,
        r#"package main

func f(ctx context.Context, password string) {
	exec.Command("git", "log", ref).Run()
	exec.Command("sh", "-c", "make all").Run()
	db.Query("SELECT * FROM t WHERE id = $1", id)
	rows, err := db.QueryContext(ctx, query, id)
	log.Printf("SELECT %s", x)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	sum := sha256.Sum256([]byte(password))
	etag := md5.Sum(body)
	msg := fmt.Sprintf("where is %s", x)
}
"#,
    ),
    (
        Java,
        r#"class A {
  void f(String password) throws Exception {
    new ProcessBuilder("git", "log", ref).start();
    Runtime.getRuntime().exec(new String[] {"git", "log", ref});
    PreparedStatement ps = conn.prepareStatement("SELECT * FROM t WHERE id = ?");
    ps.setString(1, id);
    log.info("SELECT * FROM t WHERE id = " + id);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update(password.getBytes());
    MessageDigest md5 = MessageDigest.getInstance("MD5");
    md5.update(fileBytes);
    executor.execute(task);
    map.update(key, value);
    ObjectOutputStream out = new ObjectOutputStream(stream);
  }
  public boolean verify(String host, SSLSession session) {
    return HttpsURLConnection.getDefaultHostnameVerifier().verify(host, session);
  }
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate.checkServerTrusted(chain, authType);
  }
}
"#,
    ),
    (
        Rust,
        r#"fn f(password: &str) {
    Command::new("git").args(["log", &reference]).status();
    Command::new("sh").arg("-c").arg("make all").status();
    Command::new("git").arg("-c").arg(format!("user.name={name}")).status();
    sqlx::query("SELECT * FROM users WHERE id = $1").bind(id);
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table} WHERE id = $1")));
    let digest = Sha256::digest(password.as_bytes());
    let etag = md5::compute(&body);
    let client = reqwest::Client::builder().danger_accept_invalid_certs(false).build();
    let message = format!("SELECT from {name}");
}
"#,
    ),
];

#[test]
fn security_everyday_code_is_not_flagged() {
    for &(language, source) in SAFE_CODE {
        let found = flagged(language, source);
        assert!(found.is_empty(), "{language:?}: {found:?}");
    }
}

/// Precision and speed on real code: every line of every file under `CORPUS` counts as
/// added, and each finding is printed with its line for a human to judge.
#[test]
#[ignore = "survey: CORPUS=dir cargo test --release -p bot --lib corpus_survey -- --ignored --nocapture"]
fn security_corpus_survey_prints_findings_and_timing() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        std::path::Path::new(&std::env::var("CORPUS").unwrap()),
        &mut files,
    );
    let (mut lines, mut elapsed, mut count) = (0, std::time::Duration::ZERO, 0);
    let mut parse = std::time::Duration::ZERO;
    for file in files {
        let Ok(source) = std::fs::read_to_string(&file) else {
            continue;
        };
        let path = file.to_string_lossy();
        let language = Language::detect(&path, source.lines().next());
        let all: BTreeSet<u32> = (1..=source.lines().count() as u32).collect();
        lines += all.len();
        if let Some(language) = language {
            let start = std::time::Instant::now();
            let _ = language.parser().parse(&source, None);
            parse += start.elapsed();
        }
        let start = std::time::Instant::now();
        let findings = analyze(&path, language, &source, &all);
        elapsed += start.elapsed();
        for f in findings {
            count += 1;
            let text = source.lines().nth(f.line as usize - 1).unwrap_or("").trim();
            println!(
                "{} {}:{} {}",
                f.rule_id,
                path,
                f.line,
                &text[..text.len().min(150)]
            );
        }
    }
    println!("TOTAL {lines} lines, {count} findings, {elapsed:?} (parsing alone {parse:?})");
}

#[test]
fn security_analyze_tree_reuses_a_parsed_tree() {
    let source = "import yaml\nconfig = yaml.load(stream)\n";
    let tree = Python.parser().parse(source, None).expect("a tree");
    let added = BTreeSet::from([2]);
    let findings = analyze_tree("x.py", Python, &tree, source, &added);
    assert_eq!(findings, analyze("x.py", Some(Python), source, &added));
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule_id, "python.yaml-unsafe-load");
}

#[test]
fn security_emptied_method_body_is_reported_on_the_changed_line() {
    let source = "class T implements X509TrustManager {\n  @Override\n  public void checkServerTrusted(X509Certificate[] c, String a) {\n    // accept everything while testing\n  }\n}\n";
    let findings = analyze("T.java", Some(Java), source, &BTreeSet::from([4]));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].rule_id, "java.trust-all-certificates");
    assert_eq!((findings[0].line, findings[0].column), (4, None));
    let findings = analyze("T.java", Some(Java), source, &BTreeSet::from([3]));
    assert_eq!((findings[0].line, findings[0].column), (3, Some(15)));
}
