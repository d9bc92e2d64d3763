//! What a hook inherits: never the token, nor where it is, nor its descriptor.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use super::{BIN, BackupTest, Running, SHORT_JOB};

#[test]
fn hooks_are_not_given_the_token() {
    let t = BackupTest::new(SHORT_JOB);
    let env = t.sandbox.path("env.txt");
    let token_file = t.sandbox.path("agent.token");
    fs::write(&token_file, t.agent.token()).unwrap();
    fs::set_permissions(&token_file, fs::Permissions::from_mode(0o600)).unwrap();
    t.backup_run()
        .token_file(&token_file)
        .post(&format!("env > '{}'", env.display()))
        .exits(0);
    let seen = fs::read_to_string(&env).unwrap();
    assert!(!seen.contains(t.agent.token()), "a hook saw the token");
    assert!(
        !seen.contains("FELHOM_AGENT_TOKEN"),
        "a hook saw where it is: {seen}"
    );
    assert!(seen.contains("FELHOM_BACKUP_PHASE=done"), "{seen}");
    assert!(seen.contains("FELHOM_BACKUP_JOB_ID=job-1"), "{seen}");
}

/// `--token-fd N`: the descriptor was handed over for the token alone, so no hook inherits it.
#[test]
fn hooks_do_not_inherit_the_token_descriptor() {
    let t = BackupTest::new(SHORT_JOB);
    let token_file = t.sandbox.path("token");
    fs::write(&token_file, t.agent.token()).unwrap();
    fs::set_permissions(&token_file, fs::Permissions::from_mode(0o600)).unwrap();
    let leak = t.sandbox.path("leak.txt");
    let fds = t.sandbox.path("fds.txt");
    let post = format!(
        "ls /proc/$$/fd > '{}'; (cat <&3) > '{}' 2>/dev/null; true",
        fds.display(),
        leak.display()
    );
    // As a shell passes one: `3< FILE`, then the tool.
    let script = format!(
        "exec \"$0\" --endpoint {} --fingerprint {} --token-fd 3 backup run --poll 20ms \
         --lock '{}' --post \"$1\" 3< '{}'",
        t.agent.endpoint(),
        t.agent.fingerprint(),
        t.sandbox.lock().display(),
        token_file.display()
    );
    // Kept from the caller's environment (`isolate`), and the token checked absent from the
    // output: it is in play here though no variable holds it.
    let mut sh = Command::new("sh");
    sh.args(["-c", &script, BIN, &post]);
    crate::harness::isolate(&mut sh);
    sh.stdout(Stdio::piped()).stderr(Stdio::piped());
    Running::spawn(sh)
        .secret(t.agent.token())
        .finish()
        .status(0);
    let open: Vec<String> = fs::read_to_string(&fds)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        !open.iter().any(|fd| fd == "3"),
        "the hook has fd 3: {open:?}"
    );
    let leaked = fs::read_to_string(&leak).unwrap();
    assert!(
        !leaked.contains(t.agent.token()),
        "a hook read the token from fd 3"
    );
}
