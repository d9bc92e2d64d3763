//! `generate`: shell completions (clap_complete) and the man page (clap_mangen), made from the
//! same clap definitions that parse the command line, so they cannot drift from it.

use std::io::{self, Write};
use std::path::Path;

use clap_complete::Shell;

use crate::args::{self, Generated};

/// Prints a completion script or the main man page to `out`, or, with `dir`, writes every
/// man page there (the main page names one per subcommand under SEE ALSO).
pub fn generate(what: Generated, dir: Option<&Path>, out: &mut dyn Write) -> io::Result<()> {
    let mut command = args::command();
    let name = command.get_name().to_string();
    let shell = match what {
        Generated::Bash => Shell::Bash,
        Generated::Zsh => Shell::Zsh,
        Generated::Fish => Shell::Fish,
        Generated::Man => {
            return match dir {
                Some(dir) => clap_mangen::generate_to(command, dir),
                None => clap_mangen::Man::new(command).render(out),
            };
        }
    };
    clap_complete::generate(shell, &mut command, name, out);
    Ok(())
}
