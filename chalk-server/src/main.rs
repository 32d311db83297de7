//! `chalk-server`: parses settings and runs the server (or a command). Everything else is
//! in the library.

use chalk_server::app::settings::{Command, Settings};
use clap::Parser;

/// mimalloc, also as the process's `malloc` (its `override` feature, so SQLite's statement
/// journals and page buffers use it too): a request allocates and frees many small blocks,
/// where glibc's allocator took a fifth of the server's time on the join row; with mimalloc
/// the row serves ~1.2× as many (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = Settings::parse();
    let result = match &settings.command {
        Some(Command::MigrateStore(args)) => {
            chalk_server::app::migrate_store::run(&args.from, &args.to).await
        }
        Some(Command::Backup(args)) => {
            return exit(chalk_server::app::backup::backup(&settings, args).await);
        }
        Some(Command::Restore(args)) => {
            return exit(chalk_server::app::backup::restore(&settings, args).await);
        }
        None => chalk_server::app::startup::run(settings).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("chalk-server: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The backup commands' documented exit codes (see `app/backup.rs`).
fn exit(result: Result<(), chalk_server::app::backup::Failure>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("chalk-server: {}", failure.message);
            std::process::ExitCode::from(failure.code)
        }
    }
}
