//! Colour, only where it helps and only where it is wanted.
//!
//! `NO_COLOR` (any non-empty value, <https://no-color.org>) always wins; `CLICOLOR_FORCE`
//! (non-empty, not `0`) colours output that is not a terminal; otherwise colour only on a
//! terminal.

use std::io::{self, IsTerminal};

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

fn wanted(is_terminal: bool) -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    env_set("CLICOLOR_FORCE") || is_terminal
}

pub fn color_stdout() -> bool {
    wanted(io::stdout().is_terminal())
}

pub fn color_stderr() -> bool {
    wanted(io::stderr().is_terminal())
}

fn paint(on: bool, sgr: &str, text: &str) -> String {
    if on {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

pub fn paint_stdout(sgr: &str, text: &str) -> String {
    paint(color_stdout(), sgr, text)
}

pub fn paint_stderr(sgr: &str, text: &str) -> String {
    paint(color_stderr(), sgr, text)
}
