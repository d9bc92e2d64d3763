//! `generate`: shell completions (clap_complete) and the man page (clap_mangen), made from the
//! same clap definitions that parse the command line, so they cannot drift from it.

use std::io::{self, Write};
use std::path::Path;

use clap::Command;
use clap_complete::Shell;

use crate::args::{self, Generated};
use crate::exit::Failure;
use crate::{manpage, report, safe_write};

/// Prints a completion script or the main man page to `out`, or, with `dir`, writes every
/// man page there (the main page names one per subcommand under SEE ALSO).
pub(crate) fn generate(
    what: Generated,
    dir: Option<&Path>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let mut command = args::command();
    let name = command.get_name().to_string();
    let shell = match what {
        Generated::Bash => Shell::Bash,
        Generated::Zsh => Shell::Zsh,
        Generated::Fish => Shell::Fish,
        Generated::Man => {
            command = command.disable_help_subcommand(true);
            command.build();
            return match dir {
                Some(dir) => write_pages(&command, dir),
                None => to_stdout(out, |out| manpage::render(&command, out)),
            };
        }
    };
    // clap_complete panics when its writer fails (a closed pipe): it writes to memory here.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    to_stdout(out, |out| out.write_all(&script))
}

fn to_stdout(
    out: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Failure> {
    write(out)
        .and_then(|()| out.flush())
        .or_else(report::ignore_broken_pipe)
        .map_err(Failure::Output)
}

/// Writes the page of `command` and of each of its subcommands into `dir`, each through a
/// fresh temporary file renamed into place, so a link planted at a page's name is replaced,
/// never written through.
fn write_pages(command: &Command, dir: &Path) -> Result<(), Failure> {
    let failure = |path: &Path, error| Failure::FileWrite {
        path: path.to_path_buf(),
        error,
    };
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    let path = dir.join(clap_mangen::Man::new(command.clone()).get_filename());
    let mut page = Vec::new();
    manpage::render(command, &mut page).map_err(|e| failure(&path, e))?;
    safe_write::write_atomically(&path, &page).map_err(|e| failure(&path, e))
}
