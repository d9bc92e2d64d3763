//! Configuration for unattended use: the same rules for the command-line tool and for daemons.
//!
//! [`Settings`] gathers the endpoint, the pins, the token source and the time limits from three
//! layers, the first that has a setting winning: [`Overrides`] (the tool's flags), the
//! environment (`FELHOM_AGENT_*`), and a settings file in systemd's `EnvironmentFile=` syntax
//! (`FELHOM_AGENT_CONFIG`). The token may also come from a systemd credential. It yields a
//! [`ClientBuilder`], so a daemon configured like `felhom-agentctl` behaves exactly like it,
//! with the same errors.

mod duration;
mod envfile;
mod files;
mod pins;
mod token;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Client, ClientBuilder, Error, Fingerprint};

pub use duration::{ParseDurationError, parse_duration};
pub use token::{TOKEN_CREDENTIAL, TokenSource};

pub use pins::{read_pins_file, write_pins_file};

use files::Policy;

/// The variables [`Settings`] reads, each also a key of the settings file (but the two noted).
pub mod vars {
    /// The agent's `host:port`.
    pub const ENDPOINT: &str = "FELHOM_AGENT_ENDPOINT";
    /// Pins, comma-separated.
    pub const FINGERPRINT: &str = "FELHOM_AGENT_FINGERPRINT";
    /// A pins file: one pin per line, `#` comments.
    pub const FINGERPRINT_FILE: &str = "FELHOM_AGENT_FINGERPRINT_FILE";
    /// A private file holding the token.
    pub const TOKEN_FILE: &str = "FELHOM_AGENT_TOKEN_FILE";
    /// The token itself. Environment only: refused in a settings file, which systemd would put
    /// into the unit's environment, readable by more than the service.
    pub const TOKEN: &str = "FELHOM_AGENT_TOKEN";
    /// The time limit of each call.
    pub const TIMEOUT: &str = "FELHOM_AGENT_TIMEOUT";
    /// The time limit of connecting plus the TLS handshake.
    pub const CONNECT_TIMEOUT: &str = "FELHOM_AGENT_CONNECT_TIMEOUT";
    /// The settings file. Environment only.
    pub const CONFIG: &str = "FELHOM_AGENT_CONFIG";
    /// Set by systemd for a unit with `LoadCredential=`; the token is the credential
    /// [`TOKEN_CREDENTIAL`](super::TOKEN_CREDENTIAL) in it.
    pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";
}

/// The keys a settings file may set.
const FILE_KEYS: [&str; 6] = [
    vars::ENDPOINT,
    vars::FINGERPRINT,
    vars::FINGERPRINT_FILE,
    vars::TOKEN_FILE,
    vars::TIMEOUT,
    vars::CONNECT_TIMEOUT,
];

/// Settings that win over the environment and the settings file: what `felhom-agentctl` takes
/// from its flags. Messages about them name the flag (`--endpoint`).
///
/// ```
/// use felhom_agentapi::settings::{Overrides, TokenSource};
///
/// let mut flags = Overrides::default();
/// flags.endpoint = Some("10.0.0.1:8443".into());
/// flags.token = Some(TokenSource::File("/etc/felhom/agent.token".into()));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Overrides {
    /// The settings file (`--config`), instead of `FELHOM_AGENT_CONFIG`.
    pub config: Option<PathBuf>,
    /// The endpoint (`--endpoint`).
    pub endpoint: Option<String>,
    /// Pins (`--fingerprint`), each possibly comma-separated. With `fingerprint_file`, these
    /// replace every pin of the environment and the settings file.
    pub fingerprints: Vec<String>,
    /// A pins file (`--fingerprint-file`).
    pub fingerprint_file: Option<PathBuf>,
    /// The token source (`--token-file`, `--token-fd`, `--token-stdin`).
    pub token: Option<TokenSource>,
    /// The time limit of each call (`--timeout`).
    pub timeout: Option<Duration>,
    /// The time limit of connecting plus the handshake (`--connect-timeout`).
    pub connect_timeout: Option<Duration>,
}

/// Where a setting came from, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Flag(&'static str),
    Env(&'static str),
    File {
        key: &'static str,
        path: PathBuf,
        line: usize,
    },
    Credential,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Env(var) => f.write_str(var),
            Origin::File { key, path, line } => {
                write!(f, "{key} in settings file {} line {line}", path.display())
            }
            Origin::Credential => write!(f, "{}", vars::CREDENTIALS_DIRECTORY),
        }
    }
}

/// The client's configuration, gathered from [`Overrides`], the environment and a settings file.
///
/// Each setting comes from the first layer that has it: overrides (flags), then the
/// environment, then the settings file named by `FELHOM_AGENT_CONFIG` (or
/// [`Overrides::config`]). Pins from one layer replace those of the layers below, so a flag can
/// narrow what the environment trusts. The token comes, in order, from: the override; the
/// environment's `FELHOM_AGENT_TOKEN_FILE`, then `FELHOM_AGENT_TOKEN`; the systemd credential
/// `$CREDENTIALS_DIRECTORY/felhom-agent-token`; the settings file's `FELHOM_AGENT_TOKEN_FILE`.
///
/// Every file (settings, pins, token, credential) is read through
/// [`local_trust`](crate::local_trust): a regular file owned by root or this user that no one
/// else can change or swap.
///
/// Everything but the token is read and checked when the settings are loaded; the token is read
/// by [`Settings::client_builder`]. A pins file that does not exist yet is no error until then
/// (the client cannot be built, and says to learn the pin with `felhom-agentctl fingerprint
/// --save`), so that the settings can name the file that trust on first use writes. A variable
/// that is set but empty is an error naming it, as is an unknown `FELHOM_AGENT_*` key in the
/// settings file (a typo would otherwise be ignored). `Debug` never shows the token.
///
/// The settings file uses systemd's `EnvironmentFile=` syntax, so one file can configure a unit
/// and the tool alike:
///
/// ```text
/// # /etc/felhom/agent.env
/// FELHOM_AGENT_ENDPOINT=10.0.0.1:8443
/// FELHOM_AGENT_FINGERPRINT_FILE=/etc/felhom/agent.pins
/// FELHOM_AGENT_TIMEOUT="30s"
/// ```
///
/// ```
/// # let agent = felhom_devagent::DevAgent::start()?;
/// use felhom_agentapi::Settings;
/// use felhom_agentapi::settings::{Overrides, TokenSource};
///
/// // A daemon started by systemd with FELHOM_AGENT_CONFIG and LoadCredential= needs only
/// // `Settings::from_env()?.client()?`; here the same settings come as overrides.
/// let mut given = Overrides::default();
/// given.endpoint = Some(agent.endpoint());
/// given.fingerprints = vec![agent.fingerprint().to_string()];
/// given.token = Some(TokenSource::Value(agent.token().into()));
/// let client = Settings::load(&given)?.client()?;
/// println!("{} mounts", client.storage()?.mounts.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Settings {
    config_file: Option<PathBuf>,
    endpoint: Option<(String, Origin)>,
    pins: Vec<Fingerprint>,
    /// A pins file named by the layer the pins come from that does not exist yet: the
    /// trust-on-first-use step that writes it is still to be done.
    missing_pins_file: Option<(PathBuf, Origin)>,
    token: Option<(TokenSource, Origin)>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("config_file", &self.config_file)
            .field("endpoint", &self.endpoint.as_ref().map(|(e, _)| e))
            .field("pins", &self.pins)
            // TokenSource's Debug redacts a token value.
            .field("token", &self.token.as_ref().map(|(t, _)| t))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// A settings layer: a function from a variable's name to its value.
type Lookup<'a> = &'a dyn Fn(&'static str) -> Result<Option<(String, Origin)>, String>;

impl Settings {
    /// The settings of the environment and the settings file it names, with no overrides.
    ///
    /// # Errors
    ///
    /// [`Error::Config`], naming the variable, file and line at fault.
    pub fn from_env() -> Result<Settings, Error> {
        Settings::load(&Overrides::default())
    }

    /// The settings of `overrides`, the environment and the settings file.
    ///
    /// # Errors
    ///
    /// [`Error::Config`], naming the flag, variable, file and line at fault.
    pub fn load(overrides: &Overrides) -> Result<Settings, Error> {
        Settings::load_with(overrides, &|name| std::env::var_os(name))
    }

    pub(crate) fn load_with(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<Settings, Error> {
        load(overrides, env).map_err(|message| Error::Config { message })
    }

    /// The endpoint, if one is configured.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_ref().map(|(e, _)| e.as_str())
    }

    /// The endpoint, or an error saying how to configure one.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when no layer sets it.
    pub fn require_endpoint(&self) -> Result<&str, Error> {
        let in_file = self.config_file.as_ref().map_or_else(String::new, |path| {
            format!(" (settings file {} sets none)", path.display())
        });
        self.endpoint().ok_or_else(|| Error::Config {
            message: format!(
                "no endpoint: set {} to the agent's HOST:PORT{in_file} (felhom-agentctl: \
                 --endpoint)",
                vars::ENDPOINT
            ),
        })
    }

    /// The endpoint as a client built from these settings names it ([`Client::endpoint`]):
    /// `host:port`, without `https://`, a host name in lower case, an IPv6 address in its
    /// shortest form. For what must be keyed by the agent without a client (the CLI's lock
    /// file, which `backup thaw` finds without a token).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when no layer sets the endpoint or it is not valid.
    pub fn normalized_endpoint(&self) -> Result<String, Error> {
        let endpoint = self.require_endpoint()?;
        crate::endpoint::parse(endpoint)
            .map(|e| e.authority)
            .map_err(|message| Error::Config { message })
    }

    /// The pins, from the highest layer that has any. A pins file named there that does not
    /// exist yet adds none, and [`Settings::client_builder`] refuses to build a client.
    pub fn pins(&self) -> &[Fingerprint] {
        &self.pins
    }

    /// Where the token will be read from, if anywhere.
    pub fn token_source(&self) -> Option<&TokenSource> {
        self.token.as_ref().map(|(t, _)| t)
    }

    /// The time limit of each call, if configured (the client's default is 15 s).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The connect-plus-handshake time limit, if configured (the client's default is 5 s).
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The settings file that was read, if any.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// Reads the token and returns a builder with the endpoint, every pin and the time limits.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the endpoint, the pins or the token are missing (a pins file that
    /// does not exist yet included), or the token cannot be read (see [`TokenSource::read`]).
    pub fn client_builder(&self) -> Result<ClientBuilder, Error> {
        let endpoint = self.require_endpoint()?;
        if let Some((path, origin)) = &self.missing_pins_file {
            let quoted = crate::shell::quote(&path.to_string_lossy()).into_owned();
            return Err(Error::Config {
                message: format!(
                    "pins file {} does not exist yet (from {origin}): learn the agent's pin once, \
                     over a path you trust, with: felhom-agentctl fingerprint --save {quoted}",
                    path.display()
                ),
            });
        }
        let Some((first, rest)) = self.pins.split_first() else {
            return Err(Error::Config {
                message: format!(
                    "no fingerprint: set {} or {} (felhom-agentctl: --fingerprint, \
                     --fingerprint-file); learn it with 'felhom-agentctl fingerprint'",
                    vars::FINGERPRINT,
                    vars::FINGERPRINT_FILE
                ),
            });
        };
        let Some((source, origin)) = &self.token else {
            return Err(Error::Config {
                message: format!(
                    "no token: set {} or {}, or load the systemd credential {TOKEN_CREDENTIAL} \
                     (felhom-agentctl: --token-file, --token-fd, --token-stdin)",
                    vars::TOKEN_FILE,
                    vars::TOKEN
                ),
            });
        };
        let token = source.read().map_err(|e| match e {
            Error::Config { message } if !matches!(origin, Origin::Flag(_)) => Error::Config {
                message: format!("{message} (from {origin})"),
            },
            other => other,
        })?;
        let mut builder = Client::builder(endpoint, &token, *first);
        for pin in rest {
            builder = builder.also_pin(*pin);
        }
        if let Some(t) = self.timeout {
            builder = builder.timeout(t);
        }
        if let Some(t) = self.connect_timeout {
            builder = builder.connect_timeout(t);
        }
        Ok(builder)
    }

    /// [`Settings::client_builder`], built.
    ///
    /// # Errors
    ///
    /// [`Error::Config`], as [`Settings::client_builder`] and [`ClientBuilder::build`].
    pub fn client(&self) -> Result<Client, Error> {
        self.client_builder()?.build()
    }
}

fn load(overrides: &Overrides, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Settings, String> {
    let from_env = |name: &'static str| -> Result<Option<(String, Origin)>, String> {
        match env(name) {
            None => Ok(None),
            Some(value) => {
                let value = value
                    .into_string()
                    .map_err(|_| format!("{name} is not valid UTF-8"))?;
                if value.trim().is_empty() {
                    return Err(format!(
                        "{name} is set but empty: give it a value, or unset it"
                    ));
                }
                Ok(Some((value, Origin::Env(name))))
            }
        }
    };

    let config_file = match &overrides.config {
        Some(path) => Some(path.clone()),
        None => from_env(vars::CONFIG)?.map(|(p, _)| PathBuf::from(p)),
    };
    let file = match &config_file {
        Some(path) => read_settings_file(path)?,
        None => Vec::new(),
    };
    let from_file = |name: &'static str| -> Result<Option<(String, Origin)>, String> {
        Ok(file
            .iter()
            .find(|a| a.key == name)
            .map(|a| (a.value.clone(), a.origin.clone())))
    };
    let layers: [Lookup<'_>; 2] = [&from_env, &from_file];
    let first = |name: &'static str| -> Result<Option<(String, Origin)>, String> {
        for layer in layers {
            if let Some(found) = layer(name)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    };

    let endpoint = match &overrides.endpoint {
        Some(e) => Some((e.clone(), Origin::Flag("--endpoint"))),
        None => first(vars::ENDPOINT)?,
    };
    if let Some((e, origin)) = &endpoint
        && e.trim().is_empty()
    {
        return Err(format!("{origin} is empty: give the agent's HOST:PORT"));
    }

    let (pins, missing_pins_file) = pins(overrides, &layers)?;
    let token = token(overrides, &from_env, env, &from_file)?;
    let timeout = duration_setting(overrides.timeout, "--timeout", first(vars::TIMEOUT)?)?;
    let connect_timeout = duration_setting(
        overrides.connect_timeout,
        "--connect-timeout",
        first(vars::CONNECT_TIMEOUT)?,
    )?;
    Ok(Settings {
        config_file,
        endpoint,
        pins,
        missing_pins_file,
        token,
        timeout,
        connect_timeout,
    })
}

/// A pins file that does not exist, and where it was named.
type MissingPinsFile = Option<(PathBuf, Origin)>;

/// The pins of the highest layer that has any: the union of its fingerprints and pins file.
/// A layer that names a pins file that does not exist yet is the highest all the same (a
/// lower layer's pins must not stand in for it): it is returned, for the client to say which
/// step is missing, while `fingerprint --save` can still write the file.
fn pins(
    overrides: &Overrides,
    layers: &[Lookup<'_>],
) -> Result<(Vec<Fingerprint>, MissingPinsFile), String> {
    let mut pins = Vec::new();
    let mut missing = None;
    for text in &overrides.fingerprints {
        add_pins(&mut pins, text, &Origin::Flag("--fingerprint"))?;
    }
    if let Some(path) = &overrides.fingerprint_file {
        let origin = Origin::Flag("--fingerprint-file");
        missing = add_file_pins(&mut pins, path, origin)?;
    }
    for layer in layers {
        if !pins.is_empty() || missing.is_some() {
            break;
        }
        if let Some((text, origin)) = layer(vars::FINGERPRINT)? {
            add_pins(&mut pins, &text, &origin)?;
        }
        if let Some((path, origin)) = layer(vars::FINGERPRINT_FILE)? {
            missing = add_file_pins(&mut pins, Path::new(&path), origin)?;
        }
    }
    Ok((pins, missing))
}

fn add_pins(pins: &mut Vec<Fingerprint>, text: &str, origin: &Origin) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!(
            "{origin} is empty: give the agent's certificate SHA-256"
        ));
    }
    for part in text.split(',') {
        let pin: Fingerprint = part.parse().map_err(|e| format!("{origin}: {e}"))?;
        if !pins.contains(&pin) {
            pins.push(pin);
        }
    }
    Ok(())
}

/// Adds the pins of the file at `path`; a file that does not exist is returned instead.
fn add_file_pins(
    pins: &mut Vec<Fingerprint>,
    path: &Path,
    origin: Origin,
) -> Result<MissingPinsFile, String> {
    if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Ok(Some((path.to_path_buf(), origin)));
    }
    for pin in pins::read(path).map_err(|e| format!("{e} (from {origin})"))? {
        if !pins.contains(&pin) {
            pins.push(pin);
        }
    }
    Ok(None)
}

fn token(
    overrides: &Overrides,
    from_env: Lookup<'_>,
    env: &dyn Fn(&str) -> Option<OsString>,
    from_file: Lookup<'_>,
) -> Result<Option<(TokenSource, Origin)>, String> {
    if let Some(source) = &overrides.token {
        let flag = match source {
            TokenSource::Stdin => "--token-stdin",
            TokenSource::Fd(_) => "--token-fd",
            _ => "--token-file",
        };
        return Ok(Some((source.clone(), Origin::Flag(flag))));
    }
    if let Some((path, origin)) = from_env(vars::TOKEN_FILE)? {
        return Ok(Some((TokenSource::File(path.into()), origin)));
    }
    // Read here rather than through `from_env`: an empty token gets the token's own message.
    if let Some(value) = env(vars::TOKEN) {
        let value = value
            .into_string()
            .map_err(|_| format!("{} is not valid UTF-8", vars::TOKEN))?;
        return Ok(Some((TokenSource::Value(value), Origin::Env(vars::TOKEN))));
    }
    if let Some(dir) = env(vars::CREDENTIALS_DIRECTORY).filter(|d| !d.is_empty()) {
        let path = PathBuf::from(dir).join(TOKEN_CREDENTIAL);
        if path.exists() {
            return Ok(Some((TokenSource::Credential(path), Origin::Credential)));
        }
    }
    Ok(from_file(vars::TOKEN_FILE)?.map(|(path, origin)| (TokenSource::File(path.into()), origin)))
}

fn duration_setting(
    flag: Option<Duration>,
    flag_name: &'static str,
    text: Option<(String, Origin)>,
) -> Result<Option<Duration>, String> {
    let (value, origin) = match (flag, text) {
        (Some(d), _) => (d, Origin::Flag(flag_name)),
        (None, Some((text, origin))) => (
            parse_duration(&text).map_err(|e| format!("{origin}: {e}"))?,
            origin,
        ),
        (None, None) => return Ok(None),
    };
    if value.is_zero() {
        return Err(format!("{origin}: a time limit must be longer than zero"));
    }
    Ok(Some(value))
}

/// One assignment of the settings file, checked.
struct FileSetting {
    key: &'static str,
    value: String,
    origin: Origin,
}

fn read_settings_file(path: &Path) -> Result<Vec<FileSetting>, String> {
    let text = files::read(path, "settings file", Policy::Trusted)?;
    let shown = path.display();
    let assignments = envfile::parse(&text)
        .map_err(|e| format!("settings file {shown} line {}: {}", e.line, e.message))?;
    let mut out = Vec::new();
    for a in assignments {
        let at = |message: String| format!("settings file {shown} line {}: {message}", a.line);
        if !a.key.starts_with("FELHOM_AGENT_") {
            // The file may configure more of a unit than this client.
            continue;
        }
        if a.key == vars::TOKEN {
            return Err(at(format!(
                "{} is not accepted in a settings file, which systemd would put into the \
                 unit's environment: put the token in a private file and set {} to its path, \
                 or use LoadCredential={TOKEN_CREDENTIAL}:PATH",
                vars::TOKEN,
                vars::TOKEN_FILE
            )));
        }
        let Some(key) = FILE_KEYS.iter().copied().find(|k| *k == a.key) else {
            return Err(at(format!(
                "unknown setting {}: the settings are {}",
                crate::terminal::shorten(&a.key),
                FILE_KEYS.join(", ")
            )));
        };
        if a.value.trim().is_empty() {
            return Err(at(format!(
                "{key} is empty: give it a value, or remove the line"
            )));
        }
        if matches!(key, vars::FINGERPRINT_FILE | vars::TOKEN_FILE) && !a.value.starts_with('/') {
            // The token file's value may be the token itself, put where its path belongs.
            let shown = match key {
                vars::TOKEN_FILE => "a relative one (the value is not shown: it may be the \
                                     token itself)"
                    .to_string(),
                _ => crate::terminal::shorten(&a.value),
            };
            return Err(at(format!(
                "{key} must be an absolute path (a unit starts in /, the tool wherever it is \
                 run), not {shown}"
            )));
        }
        out.push(FileSetting {
            key,
            value: a.value,
            origin: Origin::File {
                key,
                path: path.to_path_buf(),
                line: a.line,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
