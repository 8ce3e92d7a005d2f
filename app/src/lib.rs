//! The Keel app: command-line client, calculator and studies for the Keel protocol suite, in
//! layers, each importing only those above it in this list: `transport` (how a chain is
//! reached), `client` (instruction builders, PDAs, decoders, quotes, presets, token helpers,
//! account fetching), `risk` (σ/R estimation, pure), `commands` (one file per command family),
//! `studies`, and `sandbox` (the replay; a leaf nothing else imports). The command line itself is
//! the binary's (`main.rs`). `python3 app/scripts/layers.py` checks the order.

pub mod transport;

pub mod client;

pub mod risk;

pub mod commands;

pub mod studies;

#[cfg(feature = "embedded")]
pub mod sandbox;

use clap::{Parser, Subcommand};

use commands::{calc, risk as risk_cmd};
#[cfg(feature = "embedded")]
use commands::{crp as chain_crp, keeper, migrate, oracle, perp as chain};
use studies::{crp as study_crp, imbalance as study, stress};

/// Keel: a Solana perp AMM with a digital-option premium and a multi-asset risk model, and an
/// ALEX-style collateral rebalancing pool.
#[derive(Parser, Debug)]
#[command(name = "keel", version, about, long_about = None)]
pub struct Cli {
    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// Cluster RPC URL for the commands that act on a pool (default: the Solana CLI's config,
    /// then http://127.0.0.1:8899)
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Signer keypair file (default: the Solana CLI's config, then ~/.config/solana/id.json)
    #[arg(long, global = true)]
    pub keypair: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Evaluate a math kernel exactly as the programs do (fixed-point, no floats)
    Calc(calc::CalcArgs),
    /// The risk keeper: σ and correlations from price files, as the risk model stores them
    Risk(risk_cmd::RiskArgs),
    /// Studies on real price data, with figures and tables
    Study(studies::StudyArgs),
    /// The pool's book against history (worst day, VaR, expected shortfall) and shocks
    Stress(stress::StressArgs),
    /// The whole protocol on the embedded runtime: two years of daily prices, agents, keepers,
    /// a report with figures and the event log (no validator needed)
    #[cfg(feature = "embedded")]
    Sandbox(sandbox::SandboxArgs),
    /// A perp pool's dashboard: balances, pool value, Imbalance Score, markets
    #[cfg(feature = "embedded")]
    Status(chain::PoolArg),
    /// What a trade would get now: price, premium or rebate, fees, resulting Imbalance Score
    #[cfg(feature = "embedded")]
    Quote(chain::QuoteArgs),
    /// Oracle authorities: write prices to a pool's push oracles
    #[cfg(feature = "embedded")]
    Oracle {
        #[command(subcommand)]
        command: OracleCommand,
    },
    /// Liquidity providers: deposit and withdraw
    #[cfg(feature = "embedded")]
    Lp {
        #[command(subcommand)]
        command: chain::LpCommand,
    },
    /// Traders: open, increase, decrease and close positions (quoted first, slippage-bounded)
    #[cfg(feature = "embedded")]
    Trade {
        #[command(subcommand)]
        command: chain::TradeCommand,
    },
    /// A collateral pool's dashboard: status, balances, weight against delta, loan-to-value
    #[cfg(feature = "embedded")]
    CrpStatus(chain_crp::CrpArg),
    /// Lenders: lend riskless tokens to a collateral pool for lender claims
    #[cfg(feature = "embedded")]
    Lend(chain_crp::LendCmd),
    /// Borrowers: post risky collateral (joining at the pool's proportions) and borrow
    #[cfg(feature = "embedded")]
    Borrow(chain_crp::BorrowCmd),
    /// Trade against a collateral pool's weighted market maker
    #[cfg(feature = "embedded")]
    Swap(chain_crp::SwapCmd),
    /// Operators: after `anchor deploy`, create the quote token, pool, markets, risk model (and
    /// its first publication) and collateral pools a cluster's configuration file describes
    #[cfg(feature = "embedded")]
    Migrate(migrate::MigrateArgs),
    /// Keepers: funding, risk publishing, Imbalance Score, liquidations and collateral-pool
    /// chores, in rounds
    #[cfg(feature = "embedded")]
    Keeper {
        #[command(subcommand)]
        command: KeeperCommand,
    },
}

#[cfg(feature = "embedded")]
#[derive(Subcommand, Debug)]
pub enum OracleCommand {
    /// Write SYMBOL=PRICE to each named market's push oracle, stamped now, in one transaction
    Push(oracle::OraclePushArgs),
}

#[cfg(feature = "embedded")]
#[derive(Subcommand, Debug)]
pub enum KeeperCommand {
    /// Run rounds every --interval seconds (each round is printed to stderr as it ends)
    Run(keeper::KeeperArgs),
}

/// Run a parsed command line; returns what to print.
pub fn run(cli: &Cli) -> anyhow::Result<String> {
    match &cli.command {
        Command::Risk(args) => match &args.command {
            risk_cmd::RiskCommand::Estimate(e) => {
                render(cli.json, &risk_cmd::run_estimate(e)?, |r| r.to_text())
            }
            #[cfg(feature = "embedded")]
            risk_cmd::RiskCommand::Publish(p) => {
                let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
                let signer = transport::Transport::payer(&t).insecure_clone();
                render(
                    cli.json,
                    &risk_cmd::publish_from_prices(&mut t, &signer, p)?,
                    |r| r.to_text(),
                )
            }
        },
        Command::Study(args) => match &args.study {
            studies::Study::Imbalance(a) => {
                render(cli.json, &study::run_imbalance(a)?, |r| r.to_text())
            }
            studies::Study::Crp(a) => render(cli.json, &study_crp::run_crp(a)?, |r| r.to_text()),
        },
        Command::Stress(args) => render(cli.json, &stress::run_stress(args)?, |r| r.to_text()),
        #[cfg(feature = "embedded")]
        Command::Status(pool) => {
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            render(cli.json, &chain::status(&mut t, &pool.pool)?, |r| {
                r.to_text()
            })
        }
        #[cfg(feature = "embedded")]
        Command::Quote(args) => {
            use solana_signer::Signer;
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            let signer = transport::Transport::payer(&t).pubkey();
            render(cli.json, &chain::quote(&mut t, &signer, args)?, |r| {
                r.to_text()
            })
        }
        #[cfg(feature = "embedded")]
        Command::Oracle {
            command: OracleCommand::Push(args),
        } => {
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            let signer = transport::Transport::payer(&t).insecure_clone();
            render(
                cli.json,
                &oracle::oracle_push(&mut t, &signer, args)?,
                |r| r.to_text(),
            )
        }
        #[cfg(feature = "embedded")]
        Command::Lp { command } => {
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            let signer = transport::Transport::payer(&t).insecure_clone();
            render(cli.json, &chain::lp(&mut t, &signer, command)?, |r| {
                r.to_text()
            })
        }
        #[cfg(feature = "embedded")]
        Command::Trade { command } => {
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            let signer = transport::Transport::payer(&t).insecure_clone();
            let (kind, order) = match command {
                chain::TradeCommand::Open(o) => ("open", o),
                chain::TradeCommand::Increase(o) => ("increase", o),
                chain::TradeCommand::Decrease(o) => ("decrease", o),
                chain::TradeCommand::Close(o) => ("close", o),
            };
            render(
                cli.json,
                &chain::trade(&mut t, &signer, kind, order)?,
                |r| r.to_text(),
            )
        }
        #[cfg(feature = "embedded")]
        Command::CrpStatus(a) => {
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            render(cli.json, &chain_crp::status(&mut t, &a.crp)?, |r| {
                r.to_text()
            })
        }
        #[cfg(feature = "embedded")]
        Command::Lend(c) => {
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            let signer = transport::Transport::payer(&t).insecure_clone();
            render(cli.json, &chain_crp::lend(&mut t, &signer, c)?, |r| {
                r.to_text()
            })
        }
        #[cfg(feature = "embedded")]
        Command::Borrow(c) => {
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            let signer = transport::Transport::payer(&t).insecure_clone();
            render(cli.json, &chain_crp::borrow(&mut t, &signer, c)?, |r| {
                r.to_text()
            })
        }
        #[cfg(feature = "embedded")]
        Command::Swap(c) => {
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            let signer = transport::Transport::payer(&t).insecure_clone();
            render(cli.json, &chain_crp::swap(&mut t, &signer, c)?, |r| {
                r.to_text()
            })
        }
        #[cfg(feature = "embedded")]
        Command::Keeper {
            command: KeeperCommand::Run(args),
        } => {
            let mut t = transport::Rpc::connect(cli.url.as_deref(), cli.keypair.as_deref())?;
            let signer = transport::Transport::payer(&t).insecure_clone();
            let rounds = keeper::run(&mut t, &signer, args, |r| eprint!("{}", r.to_text()))?;
            render(cli.json, &rounds, |r| format!("{} rounds\n", r.len()))
        }
        #[cfg(feature = "embedded")]
        Command::Migrate(args) => {
            // --url wins, then the file's url, then the Solana CLI's
            let config = migrate::Config::read(&args.config)?;
            let url = cli.url.clone().or(config.url.clone());
            let mut t = transport::Rpc::connect(url.as_deref(), cli.keypair.as_deref())?;
            let operator = transport::Transport::payer(&t).insecure_clone();
            render(
                cli.json,
                &migrate::run_migrate(&mut t, &operator, args)?,
                |r| r.to_text(),
            )
        }
        #[cfg(feature = "embedded")]
        Command::Sandbox(args) => render(cli.json, &sandbox::run_sandbox(args)?, |r| r.to_text()),
        Command::Calc(args) => {
            let out = calc::run(args)?;
            render(cli.json, &out.to_json(), |_| out.to_text())
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
