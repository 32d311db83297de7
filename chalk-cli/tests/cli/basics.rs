//! Help, version, completions, colour.

use crate::common::{Env, fails, run};

#[test]
fn help_version_and_completions() {
    let env = Env::new();
    let version = run(env.chalk().arg("--version"));
    assert_eq!(version.code, 0);
    assert!(version.stdout.starts_with("chalk "), "{}", version.stdout);

    let help = run(env.chalk().arg("--help"));
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("Exit codes") && help.stdout.contains("Examples"),
        "{}",
        help.stdout
    );
    for args in [
        vec!["tenants", "create", "--help"],
        vec!["tenants", "delete", "--help"],
        vec!["config", "set", "--help"],
        vec!["keys", "create", "--help"],
        vec!["token", "inspect", "--help"],
        vec!["login", "--help"],
        vec!["profiles", "use", "--help"],
        vec!["completions", "--help"],
        vec!["rooms", "end", "--help"],
        vec!["participants", "add", "--help"],
    ] {
        let out = run(env.chalk().args(&args));
        assert_eq!(out.code, 0, "{args:?}");
        assert!(out.stdout.contains("Example"), "{args:?}: {}", out.stdout);
    }

    for (shell, needle) in [
        ("bash", "_chalk()"),
        ("zsh", "#compdef chalk"),
        ("fish", "complete -c chalk"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(env.chalk().args(["completions", shell]));
        assert_eq!(out.code, 0, "{shell}");
        assert!(out.stdout.contains(needle), "{shell}");
        assert!(
            out.stdout.contains("rotate-key"),
            "{shell} completes subcommands"
        );
    }
    fails(env.chalk().args(["completions", "tcsh"]), 2);
}

#[test]
fn no_color_wins_over_forced_colour() {
    let env = Env::new();
    let forced = fails(
        env.chalk()
            .env("CLICOLOR_FORCE", "1")
            .args(["tenants", "list"]),
        3,
    );
    assert!(forced.stderr.contains("\x1b["), "{:?}", forced.stderr);
    let plain = fails(
        env.chalk()
            .env("CLICOLOR_FORCE", "1")
            .env("NO_COLOR", "1")
            .args(["tenants", "list"]),
        3,
    );
    assert!(!plain.stderr.contains('\x1b'), "{:?}", plain.stderr);
    assert!(
        plain.stderr.starts_with("error: UNAUTHORIZED"),
        "{}",
        plain.stderr
    );
}
