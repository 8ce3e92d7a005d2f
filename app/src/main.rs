use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = keel::Cli::parse();
    // the programs' `msg!` logs print to stdout when they run natively (solana-msg on the host):
    // commands that drive the embedded runtime return their output, so stdout stays quiet
    // until it is printed
    let gag = gag::Gag::stdout().ok();
    let result = keel::run(&cli);
    drop(gag);
    match result {
        Ok(text) => {
            print!("{text}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            if cli.json {
                println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
            }
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
