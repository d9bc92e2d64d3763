//! Issue 16 for `backup run` and `fingerprint --save`: hooks held to the rules of the files that
//! decide trust, hooks that see neither the token's whereabouts nor inherited descriptors,
//! `/bin/sh` by path, a lock no other user can block, and a pins file read safely. Each case
//! runs as root and as uid 65534 ([`identities`]).

use std::fs;
use std::os::unix::fs::{chown, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

use felhom_devagent::DevAgent;

use crate::backup_run::agent_with_jobs_of;
use crate::harness::{BIN, Invocation, TempDir, chmod, mkfifo};
use crate::local_trust::{Identity, identities};

fn agent() -> DevAgent {
    agent_with_jobs_of(Duration::from_millis(200))
}

/// A sandbox for one identity: root's 0755 directory, with a `work` directory `who` owns (the
/// lock, the hook log) and a hooks directory.
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new(who: &Identity) -> Sandbox {
        let sandbox = Sandbox {
            dir: TempDir::new(),
        };
        for sub in ["work", "hooks"] {
            fs::create_dir(sandbox.path(sub)).unwrap();
        }
        who.own(&sandbox.path("work"));
        sandbox
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Makes the directory `name` with `mode`, and returns its path.
    fn dir(&self, name: &str, mode: u32) -> PathBuf {
        self.dir.dir(name, mode)
    }

    fn log(&self) -> PathBuf {
        self.path("work/hooks.log")
    }

    fn logged(&self) -> String {
        fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// A hook in the hooks directory that logs its argument, owned by `who` with `mode`.
    fn hook(&self, who: &Identity, name: &str, mode: u32) -> PathBuf {
        let path = self.path("hooks").join(name);
        let body = format!(
            "#!/bin/sh\necho \"{name} $1\" >> '{}'\n",
            self.log().display()
        );
        fs::write(&path, body).unwrap();
        chmod(&path, mode);
        who.own(&path);
        path
    }
}

/// Runs `case` once for each identity, with a fresh agent and sandbox.
fn each_identity(case: impl Fn(&Identity, &DevAgent, &Sandbox)) {
    for who in identities() {
        let agent = agent();
        let sandbox = Sandbox::new(&who);
        case(&who, &agent, &sandbox);
    }
}

/// `backup run` as `who`, against `agent`, with the lock where the tool puts it by default.
fn backup_run_default_lock(who: &Identity, agent: &DevAgent) -> Invocation {
    who.authed(agent)
        .at(agent)
        .args(["backup", "run", "--poll", "20ms"])
}

/// `backup run` as `who`, against `agent`, with a lock in the sandbox.
fn backup_run(who: &Identity, agent: &DevAgent, sandbox: &Sandbox) -> Invocation {
    backup_run_locked(who, agent, &sandbox.path("work/backup.lock"))
}

/// `backup run` as `who`, against `agent`, with the lock `lock`.
fn backup_run_locked(who: &Identity, agent: &DevAgent, lock: &Path) -> Invocation {
    backup_run_default_lock(who, agent)
        .arg("--lock")
        .arg_path(lock)
}

fn with_hooks(invocation: Invocation, sandbox: &Sandbox) -> Invocation {
    invocation
        .arg("--hooks-dir")
        .arg_path(&sandbox.path("hooks"))
}

#[test]
fn a_hook_others_can_change_stops_the_run_before_anything_is_frozen() {
    each_identity(|who, agent, sandbox| {
        sandbox.hook(who, "10-good", 0o755);
        let bad = sandbox.hook(who, "20-writable", 0o777);
        let out = with_hooks(backup_run(who, agent, sandbox), sandbox)
            .run()
            .failure(2);
        out.stderr_has(&format!("hook {} has mode 0777", bad.display()))
            .stderr_has("no hook ran");
        assert_eq!(sandbox.logged(), "", "a hook ran");
        assert!(agent.requests().is_empty(), "the agent was asked");
        chmod(&bad, 0o755);
        with_hooks(backup_run(who, agent, sandbox), sandbox)
            .run()
            .exit_status(0);
        assert!(
            sandbox.logged().contains("20-writable freeze"),
            "{}",
            sandbox.logged()
        );
    });
}

#[test]
fn a_hook_linked_to_another_user_s_script_or_in_a_writable_directory_is_refused() {
    each_identity(|who, agent, sandbox| {
        let theirs = sandbox.path("theirs.sh");
        fs::write(
            &theirs,
            format!("#!/bin/sh\necho theirs >> '{}'\n", sandbox.log().display()),
        )
        .unwrap();
        chmod(&theirs, 0o755);
        chown(&theirs, Some(who.stranger), None).unwrap();
        let link = sandbox.path("hooks").join("10-linked");
        symlink(&theirs, &link).unwrap();
        who.own(&link);
        who.refuses_theirs(
            with_hooks(backup_run(who, agent, sandbox), sandbox),
            &format!("hook {} ({})", link.display(), theirs.display()),
        );
        assert_eq!(sandbox.logged(), "", "their script ran");

        fs::remove_file(&link).unwrap();
        sandbox.hook(who, "10-good", 0o755);
        chmod(&sandbox.path("hooks"), 0o777);
        let out = with_hooks(backup_run(who, agent, sandbox), sandbox)
            .run()
            .failure(2);
        out.stderr_has("--hooks-dir").stderr_has("mode 0777");
        assert_eq!(sandbox.logged(), "", "a hook ran");
        assert!(agent.requests().is_empty(), "the agent was asked");
    });
}

#[test]
fn hooks_see_no_credentials_directory_and_no_inherited_descriptor() {
    each_identity(|who, agent, sandbox| {
        // The unit's credential, as systemd hands it over: the tool's token source here.
        let credentials = sandbox.dir("work/credentials", 0o700);
        who.own(&credentials);
        let credential = credentials.join("felhom-agent-token");
        fs::write(&credential, agent.token()).unwrap();
        chmod(&credential, 0o400);
        who.own(&credential);
        let seen = sandbox.path("work/seen.txt");
        let post = format!(
            "{{ env; [ -e /proc/$$/fd/9 ] && echo fd9-open || echo fd9-closed; }} > '{}'",
            seen.display()
        );
        // A caller that leaves descriptor 9 open (on a file of its own) when it starts the tool.
        let script = format!(
            "exec \"$0\" --endpoint {} --fingerprint {} backup run --poll 20ms --lock '{}' \
             --post \"$1\" 9< /etc/hostname",
            agent.endpoint(),
            agent.fingerprint(),
            sandbox.path("work/backup.lock").display(),
        );
        let mut sh = who.command_for("/bin/sh");
        sh.args(["-c", &script, BIN, &post]);
        Invocation::of(sh)
            .env("CREDENTIALS_DIRECTORY", &credentials)
            .secret(agent.token())
            .run()
            .exit_status(0);
        let seen = fs::read_to_string(&seen).unwrap();
        assert!(seen.contains("FELHOM_BACKUP_PHASE=done"), "{seen}");
        assert!(!seen.contains("CREDENTIALS_DIRECTORY"), "{seen}");
        assert!(
            seen.contains("fd9-closed"),
            "the hook inherited fd 9: {seen}"
        );
    });
}

#[test]
fn pre_and_post_run_bin_sh_not_the_first_sh_on_path() {
    each_identity(|who, agent, sandbox| {
        let fake = sandbox.dir("fakebin", 0o755);
        let log = sandbox.log().display().to_string();
        fs::write(
            fake.join("sh"),
            format!("#!/bin/sh\necho fake >> '{log}'\n"),
        )
        .unwrap();
        chmod(&fake.join("sh"), 0o755);
        backup_run(who, agent, sandbox)
            .env("PATH", format!("{}:/usr/bin:/bin", fake.display()))
            .args(["--pre", &format!("echo real >> '{log}'")])
            .run()
            .exit_status(0);
        assert_eq!(sandbox.logged(), "real\n");
    });
}

#[test]
fn a_lock_another_user_planted_in_run_lock_no_longer_blocks_the_default_path() {
    if !Path::new("/run/lock").is_dir() {
        println!("NOTE: no /run/lock here; the planted lock is not tried");
        return;
    }
    each_identity(|who, agent, sandbox| {
        let safe = agent.endpoint().replace(':', "_");
        let planted = PathBuf::from(format!("/run/lock/felhom-agentctl-backup-{safe}.lock"));
        fs::write(&planted, "").unwrap();
        chmod(&planted, 0o600);
        chown(&planted, Some(who.stranger), None).unwrap();
        let runtime = sandbox.dir("work/runtime", 0o700);
        who.own(&runtime);
        // Root's default without a unit is /run/felhom-agentctl; a user's is $XDG_RUNTIME_DIR.
        let out = backup_run_default_lock(who, agent)
            .env("XDG_RUNTIME_DIR", &runtime)
            .run();
        let _ = fs::remove_file(&planted);
        out.exit_status(0);
        let private = if who.uid == 0 {
            PathBuf::from("/run/felhom-agentctl")
        } else {
            runtime.clone()
        };
        assert!(
            private
                .join(format!("felhom-agentctl-backup-{safe}.lock"))
                .is_file(),
            "no lock in {}",
            private.display()
        );
        let _ = fs::remove_file(private.join(format!("felhom-agentctl-backup-{safe}.lock")));
    });
}

#[test]
fn a_runtime_directory_of_another_user_is_refused() {
    each_identity(|who, agent, sandbox| {
        let runtime = sandbox.dir("runtime", 0o700);
        chown(&runtime, Some(who.stranger), None).unwrap();
        let var = if who.uid == 0 {
            "RUNTIME_DIRECTORY"
        } else {
            "XDG_RUNTIME_DIR"
        };
        let out = backup_run_default_lock(who, agent)
            .env(var, &runtime)
            .run()
            .failure(2);
        out.stderr_has(&format!(
            "{} belongs to uid {}",
            runtime.display(),
            who.stranger
        ))
        .stderr_has("--lock");
        assert!(
            !agent.requests().iter().any(|r| r.method == "POST"),
            "a backup was started"
        );
    });
}

#[test]
fn a_lock_in_a_directory_others_can_change_is_refused() {
    each_identity(|who, agent, sandbox| {
        let shared = sandbox.dir("shared", 0o777);
        let lock = shared.join("backup.lock");
        let out = backup_run_locked(who, agent, &lock).run().failure(2);
        out.stderr_has(&format!("its directory {} has mode 0777", shared.display()));
        assert!(!lock.exists(), "the lock was made");
        // Sticky, as /run/lock: accepted.
        chmod(&shared, 0o1777);
        backup_run_locked(who, agent, &lock).run().exit_status(0);
    });
}

#[test]
fn fingerprint_save_refuses_a_planted_fifo_or_link_instead_of_hanging() {
    each_identity(|who, agent, sandbox| {
        let save = |path: &Path| {
            // Bounded: a tool that hangs on the FIFO is killed (`Running::finish`).
            who.tool()
                .args(["--endpoint", &agent.endpoint(), "fingerprint", "--save"])
                .arg_path(path)
                .run()
        };
        let fifo = sandbox.path("work/fifo.pins");
        mkfifo(&fifo);
        who.own(&fifo);
        save(&fifo).failure(2).stderr_has("is a FIFO");
        let planted = sandbox.path("work/planted.pins");
        symlink("/dev/zero", &planted).unwrap();
        // The link itself, never /dev/zero.
        who.give_away(&planted);
        save(&planted)
            .failure(2)
            .stderr_has(&format!("the symbolic link {}", planted.display()));
        let own_link = sandbox.path("work/own-link.pins");
        symlink("/dev/zero", &own_link).unwrap();
        who.own(&own_link);
        save(&own_link).failure(2).stderr_has("character device");
        // A fresh file is written, as before.
        let fresh = sandbox.path("work/agent.pins");
        save(&fresh).exit_status(0);
        let text = fs::read_to_string(&fresh).unwrap();
        assert!(text.contains(&agent.fingerprint().to_string()), "{text}");
    });
}
