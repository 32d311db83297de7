//! `chalk-server`: parses settings and runs the server. Everything else is in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = chalk_server::settings::Settings::parse();
    match chalk_server::startup::run(settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("chalk-server: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
