//! The `keel` binary: the command line (its enums go straight to the typed command functions of
//! the library) and the one place that connects to a cluster.

use clap::{Parser, Subcommand};
use keel::commands::calc;
use keel::commands::risk::{self, RiskCommand};
use keel::studies::{self, Study};
#[cfg(feature = "embedded")]
use keel::{
    commands::{crp, keeper, migrate, oracle, perp},
    sandbox,
    transport::{ClusterArgs, connect},
};

/// Keel: a Solana perp AMM with a digital-option premium and a multi-asset risk model, and an
/// ALEX-style collateral rebalancing pool.
#[derive(Parser, Debug)]
#[command(name = "keel", version, about, long_about = None)]
struct Cli {
    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate a math kernel exactly as the programs do (fixed-point, no floats)
    Calc(calc::CalcArgs),
    /// The risk keeper: σ and correlations from price files, as the risk model stores them
    Risk(risk::RiskArgs),
    /// Studies on real price data, with figures and tables
    Study(studies::StudyArgs),
    /// The pool's book against history (worst day, VaR, expected shortfall) and shocks
    Stress(studies::stress::StressArgs),
    /// The whole protocol on the embedded runtime: two years of calendar days (FX, gold and oil
    /// keeping their hours), agents, keepers, a report with figures and the event log (no
    /// validator needed)
    #[cfg(feature = "embedded")]
    Sandbox(sandbox::SandboxArgs),
    /// A perp pool's dashboard: balances, pool value, Imbalance Score, markets
    #[cfg(feature = "embedded")]
    Status {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        args: perp::PoolArg,
    },
    /// What a trade would get now: price, premium or rebate, fees, resulting Imbalance Score
    #[cfg(feature = "embedded")]
    Quote {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        args: perp::QuoteArgs,
    },
    /// Oracle authorities: write prices to a pool's push oracles
    #[cfg(feature = "embedded")]
    Oracle {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(subcommand)]
        command: OracleCommand,
    },
    /// Liquidity providers: deposit and withdraw
    #[cfg(feature = "embedded")]
    Lp {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(subcommand)]
        command: perp::LpCommand,
    },
    /// Traders and LPs: list and cancel pending requests
    #[cfg(feature = "embedded")]
    Orders {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(subcommand)]
        command: perp::OrdersCommand,
    },
    /// Traders: request opens, increases, decreases and closes (quoted first,
    /// slippage-bounded), limit, take-profit and stop-loss orders, for keepers to execute
    #[cfg(feature = "embedded")]
    Trade {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(subcommand)]
        command: perp::TradeCommand,
    },
    /// Collateral rebalancing pools (crp): status, lend, borrow, swap, redeem
    #[cfg(feature = "embedded")]
    Crp {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(subcommand)]
        command: crp::CrpCommand,
    },
    /// Operators: after `anchor deploy`, create the quote token, pool, markets, risk model (and
    /// its first publication) and crps a cluster's configuration file describes
    #[cfg(feature = "embedded")]
    Migrate {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        args: migrate::MigrateArgs,
    },
    /// Keepers: funding (open markets), announced market and premium changes, risk publishing,
    /// Imbalance Score, requests, liquidations, cuts before a long close, auto-deleveraging and
    /// crp chores, in rounds
    #[cfg(feature = "embedded")]
    Keeper {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(subcommand)]
        command: KeeperCommand,
    },
}

#[cfg(feature = "embedded")]
#[derive(Subcommand, Debug)]
enum OracleCommand {
    /// Write SYMBOL=PRICE to each named market's push oracle, stamped now, in one transaction
    Push(oracle::OraclePushArgs),
}

#[cfg(feature = "embedded")]
#[derive(Subcommand, Debug)]
enum KeeperCommand {
    /// Run rounds every --interval seconds (each round is printed to stderr as it ends)
    Run(keeper::KeeperArgs),
}

/// Run a parsed command line; returns what to print.
fn run(cli: &Cli) -> anyhow::Result<String> {
    let json = cli.json;
    match &cli.command {
        Command::Calc(args) => {
            let out = calc::run(args)?;
            render(json, &out.to_json(), |_| out.to_text())
        }
        Command::Risk(args) => match &args.command {
            RiskCommand::Estimate(e) => render(json, &risk::run_estimate(e)?, |r| r.to_text()),
            #[cfg(feature = "embedded")]
            RiskCommand::Publish { cluster, args } => {
                let (mut t, signer) = connect(cluster)?;
                let p = risk::publish_from_prices(&mut t, &signer, args)?;
                render(json, &p, |r| r.to_text())
            }
            #[cfg(feature = "embedded")]
            RiskCommand::Bounds { cluster, args } => {
                let (mut t, signer) = connect(cluster)?;
                let b = risk::set_bounds(&mut t, &signer, args)?;
                render(json, &b, |r| r.to_text())
            }
        },
        Command::Study(args) => match &args.study {
            Study::Imbalance(a) => render(json, &studies::imbalance::run_imbalance(a)?, |r| {
                r.to_text()
            }),
            Study::Crp(a) => render(json, &studies::crp::run_crp(a)?, |r| r.to_text()),
            Study::Premium(a) => render(json, &studies::premium::run_premium(a)?, |r| r.to_text()),
        },
        Command::Stress(args) => render(json, &studies::stress::run_stress(args)?, |r| r.to_text()),
        #[cfg(feature = "embedded")]
        Command::Sandbox(args) => render(json, &sandbox::run_sandbox(args)?, |r| r.to_text()),
        #[cfg(feature = "embedded")]
        Command::Status { cluster, args } => {
            let (mut t, _) = connect(cluster)?;
            render(json, &perp::status(&mut t, &args.pool)?, |r| r.to_text())
        }
        #[cfg(feature = "embedded")]
        Command::Quote { cluster, args } => {
            use solana_signer::Signer;
            let (mut t, signer) = connect(cluster)?;
            let q = perp::quote(&mut t, &signer.pubkey(), args)?;
            render(json, &q, |r| r.to_text())
        }
        #[cfg(feature = "embedded")]
        Command::Oracle {
            cluster,
            command: OracleCommand::Push(args),
        } => {
            let (mut t, signer) = connect(cluster)?;
            let r = oracle::oracle_push(&mut t, &signer, args)?;
            render(json, &r, |r| r.to_text())
        }
        #[cfg(feature = "embedded")]
        Command::Lp { cluster, command } => {
            let (mut t, signer) = connect(cluster)?;
            render(json, &perp::lp(&mut t, &signer, command)?, |r| r.to_text())
        }
        #[cfg(feature = "embedded")]
        Command::Orders { cluster, command } => {
            let (mut t, signer) = connect(cluster)?;
            match command {
                perp::OrdersCommand::List(a) => {
                    let r = perp::orders_list(&mut t, &solana_signer::Signer::pubkey(&signer), a)?;
                    render(json, &r, |r| r.to_text())
                }
                perp::OrdersCommand::Cancel(a) => {
                    let r = perp::orders_cancel(&mut t, &signer, a)?;
                    render(json, &r, |r| r.clone())
                }
            }
        }
        #[cfg(feature = "embedded")]
        Command::Trade { cluster, command } => {
            let (mut t, signer) = connect(cluster)?;
            let (kind, order) = command.kind_and_order();
            let r = perp::trade(&mut t, &signer, kind, order)?;
            render(json, &r, |r| r.to_text())
        }
        #[cfg(feature = "embedded")]
        Command::Crp { cluster, command } => {
            let (mut t, signer) = connect(cluster)?;
            match command {
                crp::CrpCommand::Status(a) => {
                    render(json, &crp::status(&mut t, &a.crp)?, |r| r.to_text())
                }
                crp::CrpCommand::Lend(c) => {
                    render(json, &crp::lend(&mut t, &signer, c)?, |r| r.to_text())
                }
                crp::CrpCommand::Borrow(c) => {
                    render(json, &crp::borrow(&mut t, &signer, c)?, |r| r.to_text())
                }
                crp::CrpCommand::Swap(c) => {
                    render(json, &crp::swap(&mut t, &signer, c)?, |r| r.to_text())
                }
                crp::CrpCommand::Redeem(c) => {
                    render(json, &crp::redeem(&mut t, &signer, c)?, |r| r.to_text())
                }
            }
        }
        #[cfg(feature = "embedded")]
        Command::Migrate { cluster, args } => {
            // --url wins, then the file's url, then the Solana CLI's
            let config = migrate::Config::read(&args.config)?;
            let cluster = ClusterArgs {
                url: cluster.url.clone().or(config.url.clone()),
                keypair: cluster.keypair.clone(),
            };
            let (mut t, operator) = connect(&cluster)?;
            let r = migrate::run_migrate(&mut t, &operator, args)?;
            render(json, &r, |r| r.to_text())
        }
        #[cfg(feature = "embedded")]
        Command::Keeper {
            cluster,
            command: KeeperCommand::Run(args),
        } => {
            let (mut t, signer) = connect(cluster)?;
            let rounds = keeper::run(&mut t, &signer, args, |r| eprint!("{}", r.to_text()))?;
            render(json, &rounds, |r| format!("{} rounds\n", r.len()))
        }
    }
}

/// A report as pretty JSON (`--json`) or as its text.
fn render<T: serde::Serialize>(
    json: bool,
    report: &T,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<String> {
    Ok(if json {
        serde_json::to_string_pretty(report)? + "\n"
    } else {
        text(report)
    })
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // the programs' `msg!` logs print to stdout when they run natively (solana-msg on the host):
    // commands that drive the embedded runtime return their output, so stdout stays quiet
    // until it is printed
    let gag = gag::Gag::stdout().ok();
    let result = run(&cli);
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
