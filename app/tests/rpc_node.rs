//! The RPC transport against a running node (`tests/e2e/run.sh` starts one and runs these with
//! `--ignored`, giving its URL and a funded key in `KEEL_NODE_URL` and `KEEL_NODE_KEYPAIR`).
//! Ignored in the plain test run: there is no node there.

use std::time::{Duration, Instant};

use keel::transport::Transport;
use keel::transport::rpc::Rpc;
use solana_keypair::Keypair;
use solana_rpc_client::rpc_client::RpcClient;
use solana_signer::Signer;

fn node() -> (String, std::path::PathBuf) {
    let url = std::env::var("KEEL_NODE_URL").expect("KEEL_NODE_URL: the node's RPC URL");
    let keypair = std::env::var("KEEL_NODE_KEYPAIR").expect("KEEL_NODE_KEYPAIR: a funded key");
    (url, keypair.into())
}

/// A transaction signed over a blockhash the node has let expire is refused by the node
/// (`BlockhashNotFound`), and the transport signs it again over a fresh one and lands it: two
/// sends, the transfer made once.
#[test]
#[ignore = "needs a node: tests/e2e/run.sh"]
fn an_expired_blockhash_is_replaced_and_the_transaction_resent() {
    let (url, keypair) = node();
    let mut rpc = Rpc::connect(Some(&url), Some(&keypair)).unwrap();
    let client = RpcClient::new(url);
    let payer = rpc.payer().pubkey();
    let stale = client.get_latest_blockhash().unwrap();
    // 150 blocks later the node no longer knows it
    let deadline = Instant::now() + Duration::from_secs(180);
    while client
        .is_blockhash_valid(&stale, client.commitment())
        .unwrap()
    {
        assert!(
            Instant::now() < deadline,
            "the blockhash did not expire in 180 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let to = Keypair::new().pubkey();
    let ix = anchor_lang::solana_program::system_instruction::transfer(&payer, &to, 1_000_000);
    let sent = rpc.send_counting(&[ix], &[], Some(stale)).unwrap();
    assert_eq!(sent.sends, 2, "the expired send, then the fresh one");
    assert_eq!(client.get_balance(&to).unwrap(), 1_000_000);
}
