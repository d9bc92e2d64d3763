//! Issue 16: the files that decide trust (settings, pins, token) are held to sshd's
//! `StrictModes`, for root and for an ordinary user alike. Each case runs the tool as root and
//! as uid 65534 (`setpriv`), with a third user (a bare uid) as the stranger whose files must not
//! be trusted. Also: token errors name their source, and `chmod` is advised for regular files
//! only (issue 20, items 5 and 12).

use std::fs;
use std::os::unix::fs::{chown, lchown, symlink};
use std::path::Path;
use std::process::Command;

use felhom_devagent::DevAgent;

use crate::common::agent;
use crate::harness::{BIN, Invocation, Outcome, TempDir, capable, chmod, mkfifo};

/// A user the tool runs as, and a stranger to it.
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// A user that is neither root nor `uid`: its files must be refused.
    pub stranger: u32,
}

impl Identity {
    /// `program` run as this user.
    pub fn command_for(&self, program: &str) -> Command {
        if self.uid == 0 {
            return Command::new(program);
        }
        let mut command = Command::new("setpriv");
        command
            .arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg(program);
        command
    }

    /// The tool run as this user.
    pub fn tool(&self) -> Invocation {
        Invocation::of(self.command_for(BIN))
    }

    /// The tool run as this user, with `agent`'s token in the environment.
    pub fn authed(&self, agent: &DevAgent) -> Invocation {
        self.tool()
            .env("FELHOM_AGENT_TOKEN", agent.token())
            .secret(agent.token())
    }

    /// Runs `invocation`, asserting that it refused `what` (exit 2) for being the stranger's.
    #[track_caller]
    pub fn refuses_theirs(&self, invocation: Invocation, what: &str) -> Outcome {
        let out = invocation.run().failure(2);
        out.stderr_has(what)
            .stderr_has(&format!("belongs to uid {}", self.stranger));
        out
    }

    /// Makes `path` (a link itself, not its target) this user's.
    pub fn own(&self, path: &Path) {
        lchown(path, Some(self.uid), Some(self.gid)).expect("chown to the identity");
    }

    /// Makes `path` (a link itself, not its target) the stranger's.
    pub fn give_away(&self, path: &Path) {
        lchown(path, Some(self.stranger), None).expect("chown to the stranger");
    }
}

/// Root, and uid 65534 where `setpriv` can switch to it. The cases need root to make files of
/// other users; without it, they say so and check nothing ([`capable`]: under CI, no root
/// fails the test). Without uid 65534 they run as root only, with a note.
pub fn identities() -> Vec<Identity> {
    if !capable(
        is_root(),
        "not root: the local trust cases need files of other users, not run",
    ) {
        return Vec::new();
    }
    let mut all = vec![Identity {
        uid: 0,
        gid: 0,
        stranger: 65534,
    }];
    let nobody = Identity {
        uid: 65534,
        gid: 65534,
        stranger: 12345,
    };
    // The built tool must be reachable for that user too (a checkout under /root is not).
    let runs = nobody
        .command_for(BIN)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    // Where the checkout is decides this, not the machine: a note, even under CI.
    if runs {
        all.push(nobody);
    } else {
        println!(
            "NOTE: cannot run {BIN} as uid 65534 here (no setpriv, or a private directory on \
             the way): the cases run as root only"
        );
    }
    all
}

/// Runs `case` once for each identity, each with a fresh directory.
fn each_identity(case: impl Fn(&Identity, &TempDir)) {
    for who in identities() {
        case(&who, &TempDir::new());
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // This test process's own /proc entry belongs to its effective user.
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn settings_text(agent: &DevAgent) -> String {
    format!(
        "FELHOM_AGENT_ENDPOINT={}\nFELHOM_AGENT_FINGERPRINT={}\n",
        agent.endpoint(),
        agent.fingerprint()
    )
}

/// The tool as `who`, with the agent's token in the environment and the settings in `config`.
fn storage_with_config(who: &Identity, agent: &DevAgent, config: &Path) -> Invocation {
    who.authed(agent)
        .arg("--config")
        .arg_path(config)
        .arg("storage")
}

/// The tool as `who`, pointed at `agent`, with the token in `token_file`.
fn storage_with_token_file(who: &Identity, agent: &DevAgent, token_file: &Path) -> Invocation {
    who.tool()
        .secret(agent.token())
        .at(agent)
        .arg("--token-file")
        .arg_path(token_file)
        .arg("storage")
}

#[test]
fn a_settings_or_pins_file_another_user_owns_is_refused() {
    let agent = agent();
    each_identity(|who, dir| {
        let settings = dir.file("agent.env", &settings_text(&agent), 0o644);
        who.give_away(&settings);
        let sent = agent.requests().len();
        let out = who.refuses_theirs(
            storage_with_config(who, &agent, &settings),
            &format!("settings file {}", settings.display()),
        );
        out.stderr_has("chown root");
        assert_eq!(agent.requests().len(), sent, "the agent was contacted");

        who.own(&settings);
        storage_with_config(who, &agent, &settings).run().status(0);

        let pins = dir.file("agent.pins", &format!("{}\n", agent.fingerprint()), 0o644);
        who.give_away(&pins);
        who.refuses_theirs(
            who.authed(&agent)
                .args(["--endpoint", &agent.endpoint(), "--fingerprint-file"])
                .arg_path(&pins)
                .arg("storage"),
            &format!("pins file {}", pins.display()),
        );
    });
}

#[test]
fn a_world_writable_directory_above_a_settings_file_is_refused_unless_sticky() {
    let agent = agent();
    each_identity(|who, dir| {
        let shared = dir.dir("shared", 0o777);
        let settings = shared.join("agent.env");
        fs::write(&settings, settings_text(&agent)).unwrap();
        who.own(&settings);
        let out = storage_with_config(who, &agent, &settings).run().failure(2);
        out.stderr_has(&format!("under the directory {}", shared.display()))
            .stderr_has("mode 0777");
        assert!(!out.stderr.contains("chmod"), "chmod advised: {out:#?}");
        // Sticky, as /tmp: no one may replace another user's file there.
        chmod(&shared, 0o1777);
        storage_with_config(who, &agent, &settings).run().status(0);
    });
}

#[test]
fn a_token_file_another_user_owns_is_refused_and_an_own_0640_one_is_not() {
    let agent = agent();
    each_identity(|who, dir| {
        let token = dir.file("agent.token", agent.token(), 0o640);
        // The group may read it, so `who` can: only its owner is wrong.
        chown(&token, Some(who.stranger), Some(who.gid)).unwrap();
        who.refuses_theirs(
            storage_with_token_file(who, &agent, &token),
            &format!("token file {}", token.display()),
        );
        who.own(&token);
        storage_with_token_file(who, &agent, &token).run().status(0);
    });
}

#[test]
fn a_symlinked_token_file_is_followed_only_when_root_or_the_user_made_the_link() {
    let agent = agent();
    each_identity(|who, dir| {
        // A sticky, world-writable directory, as /tmp: anyone can put a link there.
        let public = dir.dir("public", 0o1777);
        let token = dir.file("agent.token", agent.token(), 0o600);
        who.own(&token);
        let link = |name: &str, target: &Path| {
            let path = public.join(name);
            symlink(target, &path).unwrap();
            path
        };

        let admins = link("admins.token", &token);
        storage_with_token_file(who, &agent, &admins)
            .run()
            .status(0);

        let planted = link("planted.token", &token);
        who.give_away(&planted);
        who.refuses_theirs(
            storage_with_token_file(who, &agent, &planted),
            &format!("the symbolic link {}", planted.display()),
        );

        // The user's own link to a file the stranger owns: the target is refused.
        let theirs = dir.file("theirs.token", agent.token(), 0o640);
        chown(&theirs, Some(who.stranger), Some(who.gid)).unwrap();
        let to_theirs = link("to-theirs.token", &theirs);
        who.own(&to_theirs);
        who.refuses_theirs(
            storage_with_token_file(who, &agent, &to_theirs),
            &format!("({})", theirs.display()),
        );
    });
}

#[test]
fn a_fifo_is_refused_at_once_for_every_file_that_decides_trust() {
    let agent = agent();
    each_identity(|who, dir| {
        let fifo = dir.path().join("planted");
        mkfifo(&fifo);
        chmod(&fifo, 0o600);
        who.own(&fifo);
        let out = storage_with_token_file(who, &agent, &fifo).run().failure(2);
        out.stderr_has("is a FIFO (named pipe), not a regular file");
        let out = storage_with_config(who, &agent, &fifo).run().failure(2);
        out.stderr_has(&format!("settings file {} is a FIFO", fifo.display()));
        assert!(!out.stderr.contains("chmod"), "{out:#?}");
    });
}

#[test]
fn chmod_is_advised_for_regular_files_only() {
    let agent = agent();
    for who in identities() {
        let out = who
            .tool()
            .args(["check", "--config", "/dev/null"])
            .run()
            .exit_status(3);
        assert!(out.stdout.starts_with("FELHOM UNKNOWN"), "{out:#?}");
        assert!(out.stdout.contains("character device"), "{out:#?}");
        assert!(!out.stdout.contains("chmod"), "{out:#?}");
        let out = storage_with_config(&who, &agent, Path::new("/dev/null"))
            .run()
            .failure(2);
        assert!(!out.stderr.contains("chmod"), "{out:#?}");
        // A regular file's mode is still fixed with chmod.
        let dir = TempDir::new();
        let settings = dir.file("agent.env", &settings_text(&agent), 0o666);
        who.own(&settings);
        storage_with_config(&who, &agent, &settings)
            .run()
            .failure(2)
            .stderr_has(&format!("chmod go-w {}", settings.display()));
    }
}

#[test]
fn token_errors_name_where_the_token_came_from() {
    let agent = agent();
    let dir = TempDir::new();
    // Pointed at the agent, with no token of its own; a flawed token stops `storage`.
    let to = || Invocation::bare().secret(agent.token()).at(&agent);
    let storage_refused = |given: Invocation| given.arg("storage").run().failure(2);
    let spaced = dir.file("spaced.token", &format!("{} \n", agent.token()), 0o600);
    storage_refused(to().arg("--token-file").arg_path(&spaced)).stderr_has(&format!(
        "the token from token file {} holds white space",
        spaced.display()
    ));
    let doubled = dir.file("doubled.token", &format!("{}\n\n", agent.token()), 0o600);
    storage_refused(to().env("FELHOM_AGENT_TOKEN_FILE", &doubled))
        .stderr_has(&format!(
            "token file {} holds a line break",
            doubled.display()
        ))
        .stderr_has("(from FELHOM_AGENT_TOKEN_FILE)");
    storage_refused(to().env("FELHOM_AGENT_TOKEN", format!("{} ", agent.token())))
        .stderr_has("holds white space")
        .stderr_has("(from FELHOM_AGENT_TOKEN)");
    storage_refused(
        to().stdin(&format!("{} x\n", agent.token()))
            .arg("--token-stdin"),
    )
    .stderr_has("the token from standard input holds white space");
    let credentials = dir.dir("credentials", 0o755);
    let credential = credentials.join("felhom-agent-token");
    fs::write(&credential, format!("{}\n\n", agent.token())).unwrap();
    chmod(&credential, 0o400);
    storage_refused(to().env("CREDENTIALS_DIRECTORY", &credentials)).stderr_has(&format!(
        "systemd credential {} holds a line break",
        credential.display()
    ));
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(format!(
            "exec \"$0\" --endpoint {} --fingerprint {} --token-fd 3 storage 3< '{}'",
            agent.endpoint(),
            agent.fingerprint(),
            doubled.display()
        ))
        .arg(BIN);
    let out = Invocation::of(sh).secret(agent.token()).run().failure(2);
    out.stderr_has("the token from file descriptor 3 holds a line break");
    assert!(agent.requests().is_empty(), "a flawed token was sent");
}

#[test]
fn the_shipped_unit_leaves_the_settings_to_the_tool_s_checks() {
    let service = fs::read_to_string(
        crate::harness::repo_root().join("contrib/systemd/felhom-backup.service"),
    )
    .unwrap();
    let lines: Vec<&str> = service.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        lines.contains(&"Environment=FELHOM_AGENT_CONFIG=/etc/felhom/agent.env"),
        "{service}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("EnvironmentFile=")),
        "systemd would read the settings unchecked: {service}"
    );
    // The directory the tool uses from a root shell too, so both see the same lock.
    for line in [
        "RuntimeDirectory=felhom-agentctl",
        "RuntimeDirectoryMode=0700",
        "RuntimeDirectoryPreserve=yes",
    ] {
        assert!(lines.contains(&line), "no {line}: {service}");
    }
    let help = Invocation::bare()
        .args(["backup", "run", "--help"])
        .run()
        .status(0);
    assert!(help.stdout.contains("/run/felhom-agentctl"), "{help:#?}");
    assert!(
        !service.contains("readable by this service alone"),
        "{service}"
    );
    assert!(
        service.contains("What LoadCredential= does NOT check"),
        "{service}"
    );
}
