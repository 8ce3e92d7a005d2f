//! The Keel app: command-line client, calculator and studies for the Keel protocol suite.
//!
//! The modules are layers, listed bottom first; each imports only the layers before it
//! (`python3 app/scripts/layers.py` checks it). The command line itself is the binary's
//! (`main.rs`).

// How a chain is reached: the Transport trait, the embedded runtime, JSON-RPC.
pub mod transport;

// Instruction builders, PDAs, decoders, quotes, presets, token helpers, account fetching.
pub mod client;

// σ/R estimation and PSD certificates: pure, no transport, no command line.
pub mod risk;

// One file per command family, each over any transport.
pub mod commands;

// The studies behind the README's figures (and `keel stress`).
pub mod studies;

// The replay with agents, keepers and a report: a leaf nothing else imports.
#[cfg(feature = "embedded")]
pub mod sandbox;
