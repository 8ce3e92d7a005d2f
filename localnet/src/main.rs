//! `keel-localnet`: a local Solana node for Keel. It runs surfpool's node (litesvm behind a
//! JSON-RPC and websocket server) offline on localhost, loads the programs' SBF builds from
//! `target/deploy` at their ids as upgradeable programs, funds the given keys (by default the
//! Solana CLI's keypair, which `keel` signs with, made when missing), prints one
//! `ready` line and serves until Ctrl-C (or SIGTERM), when it stops the node and exits.
//!
//! `surfnet_timeTravel` (the node's cheatcode) moves its clock, for keeper and expiry tests;
//! `--slot-ms` shortens its slots (and so a blockhash's life) for the blockhash-expiry test.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use solana_pubkey::Pubkey;
use surfpool_core::runloops::start_local_surfnet_runloop;
use surfpool_core::surfnet::locker::SurfnetSvmLocker;
use surfpool_core::surfnet::svm::{SurfnetSvm, SurfnetSvmConfig};
use surfpool_types::{RpcConfig, SimnetCommand, SimnetConfig, SimnetEvent, SurfpoolConfig};

/// The programs and their ids (`declare_id!` in each program; `Anchor.toml`).
const PROGRAMS: [(&str, &str); 2] = [
    (
        "perp_amm.so",
        "Bp9uMgxgYB2v1aqAQYSMcJ7QZrvZ5upSqr8wX66SWMgB",
    ),
    (
        "collateral_pool.so",
        "bXv4uMUhqQfsLUnsGSVk7omFfjCL8SoMEhwMYon7b2U",
    ),
];

const USAGE: &str = "keel-localnet [--port 8899] [--ws-port 8900] [--deploy target/deploy] \
                     [--fund PUBKEY]... [--sol 1000] [--slot-ms 400]\n\
                     (without --fund: the Solana CLI's keypair, ~/.config/solana/id.json, made \
                     when missing)";

struct Args {
    port: u16,
    ws_port: u16,
    deploy: PathBuf,
    fund: Vec<Pubkey>,
    sol: u64,
    slot_ms: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        port: 8899,
        ws_port: 8900,
        deploy: PathBuf::from("target/deploy"),
        fund: vec![],
        sol: 1_000,
        slot_ms: 400,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--port" => a.port = value()?.parse().context("--port")?,
            "--ws-port" => a.ws_port = value()?.parse().context("--ws-port")?,
            "--deploy" => a.deploy = PathBuf::from(value()?),
            "--fund" => a.fund.push(Pubkey::from_str(&value()?).context("--fund")?),
            "--sol" => a.sol = value()?.parse().context("--sol")?,
            "--slot-ms" => {
                a.slot_ms = value()?.parse().context("--slot-ms")?;
                // a zero slot time spins the node and refuses time travel
                anyhow::ensure!(a.slot_ms > 0, "--slot-ms must be at least 1");
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(a)
}

/// The Solana CLI's keypair file: its config's `keypair_path`, else `~/.config/solana/id.json`
/// (where `keel` looks too).
fn cli_keypair_path() -> PathBuf {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let config = std::fs::read_to_string(home.join(".config/solana/cli/config.yml"));
    config
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let v = l.trim().strip_prefix("keypair_path:")?.trim();
                Some(PathBuf::from(v.trim_matches(|c| c == '\'' || c == '"')))
            })
        })
        .unwrap_or_else(|| home.join(".config/solana/id.json"))
}

/// The CLI's key, made (and said) when there is none yet: a first user of a fresh machine.
fn cli_key() -> anyhow::Result<Pubkey> {
    use solana_signer::Signer;
    let path = cli_keypair_path();
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let kp = solana_keypair::Keypair::new();
        solana_keypair::write_keypair_file(&kp, &path)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        eprintln!("made a new keypair {} at {}", kp.pubkey(), path.display());
    }
    let kp = solana_keypair::read_keypair_file(&path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    Ok(kp.pubkey())
}

fn main() -> anyhow::Result<()> {
    let mut args = args()?;
    if args.fund.is_empty() {
        args.fund.push(cli_key()?);
    }
    let programs: Vec<(Pubkey, Vec<u8>)> = PROGRAMS
        .iter()
        .map(|(file, id)| {
            let path = args.deploy.join(file);
            let elf = std::fs::read(&path)
                .with_context(|| format!("{}: build the programs first", path.display()))?;
            Ok((Pubkey::from_str(id)?, elf))
        })
        .collect::<anyhow::Result<_>>()?;
    let (svm, events, geyser) = SurfnetSvm::new(SurfnetSvmConfig::default())
        .map_err(|e| anyhow::anyhow!("the node's SVM: {e:?}"))?;
    let locker = SurfnetSvmLocker::new(svm);
    let config = SurfpoolConfig {
        simnets: vec![SimnetConfig {
            // no mainnet fetches: every account is local, and no remote to fetch from
            offline_mode: true,
            remote_rpc_url: None,
            // a blockhash lives 150 slots: 60 s at mainnet's 400 ms, 15 s at 100 ms
            slot_time: args.slot_ms,
            // the per-instruction profiles feed surfpool's studio, which this node does not run
            instruction_profiling_enabled: false,
            airdrop_addresses: args.fund.clone(),
            airdrop_token_amount: args.sol * 1_000_000_000,
            ..Default::default()
        }],
        rpc: RpcConfig {
            bind_host: "127.0.0.1".into(),
            bind_port: args.port,
            ws_port: args.ws_port,
            ..Default::default()
        },
        ..Default::default()
    };
    let (commands, commands_rx) = crossbeam_channel::unbounded();
    let runloop = {
        let locker = SurfnetSvmLocker(locker.0.clone());
        let commands = commands.clone();
        std::thread::Builder::new().name("surfnet".into()).spawn(
            move || -> Result<(), String> {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                rt.block_on(start_local_surfnet_runloop(
                    locker,
                    config,
                    commands,
                    commands_rx,
                    geyser,
                ))
                .map_err(|e| e.to_string())
            },
        )?
    };
    // the node is up once its RPC server is bound
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match events.recv_timeout(left) {
            Ok(SimnetEvent::CoreStarted(_)) => break,
            Ok(SimnetEvent::Aborted(why)) => bail!("the node aborted: {why}"),
            Ok(_) => {}
            Err(_) => bail!(
                "the node did not start within 60 s (is port {} free?)",
                args.port
            ),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    for (id, elf) in &programs {
        rt.block_on(locker.write_program(*id, None, 0, elf, &None))
            .map_err(|e| anyhow::anyhow!("loading {id}: {e:?}"))?;
    }
    println!(
        "ready: rpc http://127.0.0.1:{} ws ws://127.0.0.1:{} programs {} funded {} ({} SOL each)",
        args.port,
        args.ws_port,
        programs.len(),
        args.fund
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        args.sol
    );
    // keep draining the node's events (its channel is unbounded), until Ctrl-C or SIGTERM
    let drain = std::thread::spawn(move || while events.recv().is_ok() {});
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    })?;
    let _ = commands.send(SimnetCommand::Terminate(None));
    let _ = runloop.join();
    drop(drain);
    println!("stopped");
    Ok(())
}
