//! `generate`: shell completions (clap_complete) and the man page (clap_mangen), made from the
//! same clap definitions that parse the command line, so they cannot drift from it.

use std::io::{self, Write};

use clap_complete::Shell;

use crate::args::{self, Generated};

pub fn generate(what: Generated, out: &mut dyn Write) -> io::Result<()> {
    let mut command = args::command();
    let name = command.get_name().to_string();
    let shell = match what {
        Generated::Bash => Shell::Bash,
        Generated::Zsh => Shell::Zsh,
        Generated::Fish => Shell::Fish,
        Generated::Man => return clap_mangen::Man::new(command).render(out),
    };
    clap_complete::generate(shell, &mut command, name, out);
    Ok(())
}
