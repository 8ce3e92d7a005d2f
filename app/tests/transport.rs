//! The embedded transport: a bank in the process with both programs, driven synchronously
//! through the client's builders and decoders.

use anchor_lang::prelude::Pubkey;
use keel::client::{decode, perp, token};
use keel::transport::{Embedded, Transport, TxError};
use perp_amm::errors::PerpError;
use perp_amm::instructions::InitPoolArgs;
use solana_keypair::Keypair;
use solana_signer::Signer;

const START: i64 = 1_767_225_600;

fn create_mint(chain: &mut Embedded, authority: &Pubkey) -> Pubkey {
    let mint = Keypair::new();
    let payer = chain.payer().pubkey();
    let ixs = token::create_mint_ixs(&payer, &mint.pubkey(), authority, 6, token::mint_rent());
    chain.send(&ixs, &[&mint]).unwrap();
    mint.pubkey()
}

#[test]
fn embedded_runtime_runs_the_programs_and_decodes_their_accounts() {
    let mut chain = Embedded::start(START).unwrap();
    assert_eq!(chain.unix_time().unwrap(), START);
    let admin = Keypair::new();
    chain.airdrop(&admin.pubkey(), 10_000_000_000).unwrap();
    let mint = create_mint(&mut chain, &admin.pubkey());
    let args = |lp_fee_share_bps| InitPoolArgs {
        pool_id: 7,
        lp_fee_share_bps,
        target_default_prob_e9: 10_000_000,
        min_deposit: 10_000_000,
        oracle_authority: admin.pubkey(),
        requests: keel::client::presets::request_params(),
    };
    let pool = perp::pool_pda(&mint, 7);

    // bad input: a clear code, and nothing created
    let bad = chain.send(
        &[perp::init_pool(&admin.pubkey(), &mint, args(10_001))],
        &[&admin],
    );
    assert_eq!(
        bad,
        Err(TxError::Custom(6000 + PerpError::InvalidParameter as u32))
    );
    assert!(chain.account_data(&pool).unwrap().is_none());

    chain
        .send(
            &[perp::init_pool(&admin.pubkey(), &mint, args(8_000))],
            &[&admin],
        )
        .unwrap();
    let data = chain.account_data(&pool).unwrap().expect("pool created");
    let decoded = decode::perp_pool(&data).unwrap();
    assert_eq!(decoded.quote_mint, mint);
    assert_eq!(decoded.authority, admin.pubkey());
    assert_eq!(decoded.pool_id, 7);
    assert_eq!(decoded.vault, perp::vault_pda(&pool));
    // the wrong decoder says what the account is not
    let err = match decode::crp_pool(&data) {
        Ok(_) => panic!("a perp pool decoded as a collateral pool"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("not a collateral pool"), "{err}");

    // the clock moves when the sandbox says so
    chain.set_time(START + 86_400);
    assert_eq!(chain.unix_time().unwrap(), START + 86_400);
}
