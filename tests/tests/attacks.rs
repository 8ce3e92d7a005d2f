//! Account-substitution attacks from the sealevel-attacks catalogue that apply to perp-amm. Each
//! test fails if its defence is removed: the attack must be rejected and change nothing.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::system_instruction;
use keel_tests::fixture::{E6, E9, PerpFixture, default_params};
use keel_tests::{TestContext, User, anchor, assert_code, ix, perp};
use perp_amm::constants::{LP_MINT_SEED, MARKET_SEED, POOL_SEED, POSITION_SEED, VAULT_SEED};
use perp_amm::errors::PerpError;
use perp_amm::instructions::*;
use perp_amm::state::{OracleKind, PRICE_UPDATE_V2_DISCRIMINATOR, PYTH_RECEIVER_ID};
use solana_signer::Signer;

async fn pool_with_trader() -> (TestContext, PerpFixture, User, User) {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(100_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 50_000 * E6).await.unwrap();
    let trader = t.user(10_000 * E6).await;
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 100 * E6)
        .await
        .unwrap();
    (t, f, lp, trader)
}

#[tokio::test]
async fn duplicate_mutable_accounts_are_refused() {
    let (mut t, f, lp, trader) = pool_with_trader().await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    let watched = [f.pool, f.vault, lp.quote, lp_acct, trader.quote];
    let before = t.snapshot(&watched).await;
    // one token account as both the quote source and the LP destination
    let dup = ix::deposit(
        &lp.key(),
        &f.pool,
        &lp_acct,
        &lp_acct,
        &f.oracles(),
        DepositArgs {
            amount: 100 * E6,
            min_shares: 0,
        },
    );
    assert_code(
        t.send(&[dup], &[&lp.kp]).await,
        anchor(AnchorError::ConstraintDuplicateMutableAccount),
    );
    // a liquidator naming the vault as its reward account
    f.set_price(&mut t, 0, 91.0, 0.0).await;
    let m = &f.markets[0];
    let liq = ix::liquidate(
        &lp.key(),
        &f.pool,
        &m.key,
        &trader.key(),
        &m.oracle,
        &f.vault,
        &trader.quote,
        None,
    );
    assert_code(
        t.send(&[liq], &[&lp.kp]).await,
        anchor(AnchorError::ConstraintDuplicateMutableAccount),
    );
    assert_eq!(before, t.snapshot(&watched).await);
}

#[tokio::test]
async fn accounts_of_another_type_are_refused() {
    let (mut t, f, lp, trader) = pool_with_trader().await;
    let m = &f.markets[0];
    let lp_acct = f.lp_account(&mut t, &lp).await;
    let before = t.snapshot(&[f.pool, f.vault, lp.quote]).await;
    // the market account where the pool is expected (same owner, other discriminator)
    let mut bad = ix::deposit(
        &lp.key(),
        &f.pool,
        &lp.quote,
        &lp_acct,
        &f.oracles(),
        DepositArgs {
            amount: 100 * E6,
            min_shares: 0,
        },
    );
    bad.accounts[1].pubkey = m.key;
    assert_code(
        t.send(&[bad], &[&lp.kp]).await,
        anchor(AnchorError::AccountDiscriminatorMismatch),
    );
    // a push-oracle account where the market is expected
    assert_code(
        t.send(&[ix::update_funding(&f.pool, &m.oracle, &m.oracle)], &[])
            .await,
        anchor(AnchorError::AccountDiscriminatorMismatch),
    );
    // the trader's position where a market is expected
    let pos = f.position(0, &trader.key());
    assert_code(
        t.send(&[ix::update_funding(&f.pool, &pos, &m.oracle)], &[])
            .await,
        anchor(AnchorError::AccountDiscriminatorMismatch),
    );
    assert_eq!(before, t.snapshot(&[f.pool, f.vault, lp.quote]).await);
}

#[tokio::test]
async fn pdas_of_another_pool_or_user_are_refused() {
    let (mut t, f, _lp, trader) = pool_with_trader().await;
    let m = &f.markets[0];
    let thief = t.user(1_000 * E6).await;
    let victim_pos = f.position(0, &trader.key());
    let watched = [f.pool, f.vault, victim_pos, trader.quote, thief.quote];
    let before = t.snapshot(&watched).await;

    // the thief signs but names the victim's position: the PDA seeds bind the signer
    let mut steal = ix::remove_collateral(
        &thief.key(),
        &f.pool,
        &m.key,
        &m.oracle,
        &thief.quote,
        50 * E6,
    );
    steal.accounts[3].pubkey = victim_pos;
    assert_code(
        t.send(&[steal], &[&thief.kp]).await,
        anchor(AnchorError::ConstraintSeeds),
    );
    let mut close = ix::close_position(
        &thief.key(),
        &f.pool,
        &m.key,
        &m.oracle,
        &thief.quote,
        0,
        None,
    );
    close.accounts[3].pubkey = victim_pos;
    assert_code(
        t.send(&[close], &[&thief.kp]).await,
        anchor(AnchorError::ConstraintSeeds),
    );
    // liquidating the victim's position while naming the thief as its owner
    f.set_price(&mut t, 0, 91.0, 0.0).await;
    let mint = t.quote_mint;
    let thief_reward = t.create_token_account(&mint, &thief.key()).await;
    let mut liq = ix::liquidate(
        &thief.key(),
        &f.pool,
        &m.key,
        &thief.key(),
        &m.oracle,
        &thief_reward,
        &thief.quote,
        None,
    );
    liq.accounts[3].pubkey = victim_pos;
    assert_code(
        t.send(&[liq], &[&thief.kp]).await,
        anchor(AnchorError::ConstraintSeeds),
    );
    f.set_price(&mut t, 0, 100.0, 0.0).await;

    // a second pool on the same mint, with its own market and oracle
    let admin = t.admin.insecure_clone();
    let mint = t.quote_mint;
    let args = InitPoolArgs {
        pool_id: 1,
        lp_fee_share_bps: 8_000,
        target_default_prob_e9: E9 / 100,
        min_deposit: 10 * E6,
        oracle_authority: t.oracle_authority.pubkey(),
        requests: keel::client::presets::request_params(),
    };
    t.send(&[ix::init_pool(&admin.pubkey(), &mint, args)], &[&admin])
        .await
        .unwrap();
    let pool_b = ix::pool_pda(&mint, 1);
    let auth = t.oracle_authority.insecure_clone();
    let feed_b = [0xbb; 32];
    t.send(
        &[ix::init_push_oracle(&auth.pubkey(), &pool_b, feed_b, -6)],
        &[&auth],
    )
    .await
    .unwrap();
    let oracle_b = ix::push_oracle_pda(&pool_b, &feed_b);
    let now = t.now;
    t.send(
        &[ix::update_push_oracle(
            &auth.pubkey(),
            &pool_b,
            &oracle_b,
            PushPriceArgs {
                price: 100_000_000,
                conf: 0,
                publish_time: now,
            },
        )],
        &[&auth],
    )
    .await
    .unwrap();
    let market_args = AddMarketArgs {
        symbol: [0; 16],
        base_decimals: 6,
        oracle_kind: OracleKind::Push,
        feed_id: feed_b,
        params: default_params(),
    };
    t.send(
        &[ix::add_market(
            &admin.pubkey(),
            &pool_b,
            0,
            &oracle_b,
            market_args,
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let market_b = ix::market_pda(&pool_b, 0);

    // pool A with pool B's market
    let open = ix::open_position(
        &thief.key(),
        &f.pool,
        &market_b,
        &oracle_b,
        &thief.quote,
        OpenPositionArgs {
            size: E6 as i64,
            collateral: 100 * E6,
            price_limit_e9: u64::MAX,
        },
        None,
    );
    assert_code(
        t.send(&[open], &[&thief.kp]).await,
        perp(PerpError::WrongPool),
    );
    // pool A's market fed pool B's oracle (same owner and type, other pool)
    let open = ix::open_position(
        &thief.key(),
        &f.pool,
        &m.key,
        &oracle_b,
        &thief.quote,
        OpenPositionArgs {
            size: E6 as i64,
            collateral: 100 * E6,
            price_limit_e9: u64::MAX,
        },
        None,
    );
    assert_code(
        t.send(&[open], &[&thief.kp]).await,
        perp(PerpError::WrongOracle),
    );
    // adding a market to pool A that reads pool B's push oracle
    let args = AddMarketArgs {
        symbol: [0; 16],
        base_decimals: 6,
        oracle_kind: OracleKind::Push,
        feed_id: feed_b,
        params: default_params(),
    };
    assert_code(
        t.send(
            &[ix::add_market(&admin.pubkey(), &f.pool, 1, &oracle_b, args)],
            &[&admin],
        )
        .await,
        perp(PerpError::WrongOracle),
    );
    assert_eq!(before, t.snapshot(&watched).await);
}

#[tokio::test]
async fn bumps_are_canonical_and_never_taken_from_callers() {
    // No instruction accepts a bump argument; every PDA is found with its canonical bump at
    // init and that bump is stored. A non-canonical PDA cannot be created or passed off.
    let (mut t, f, _lp, trader) = pool_with_trader().await;
    let mint = t.quote_mint;
    let pool = t.pool(&f.pool).await;
    let find = |seeds: &[&[u8]]| Pubkey::find_program_address(seeds, &perp_amm::ID);
    assert_eq!(
        (f.pool, pool.bump),
        find(&[POOL_SEED, mint.as_ref(), &0u64.to_le_bytes()])
    );
    assert_eq!(
        (f.vault, pool.vault_bump),
        find(&[VAULT_SEED, f.pool.as_ref()])
    );
    assert_eq!(
        (f.lp_mint, pool.lp_mint_bump),
        find(&[LP_MINT_SEED, f.pool.as_ref()])
    );
    let market = t.market(&f.markets[0].key).await;
    assert_eq!(
        (f.markets[0].key, market.bump),
        find(&[MARKET_SEED, f.pool.as_ref(), &[0]])
    );
    let pos_key = f.position(0, &trader.key());
    let pos = t.position(&pos_key).await.unwrap();
    assert_eq!(
        (pos_key, pos.bump),
        find(&[
            POSITION_SEED,
            f.markets[0].key.as_ref(),
            trader.key().as_ref()
        ])
    );
    // an address derived with a lower bump is not the position: the seeds constraint refuses it
    let lower = (0..pos.bump).rev().find_map(|b| {
        Pubkey::create_program_address(
            &[
                POSITION_SEED,
                f.markets[0].key.as_ref(),
                trader.key().as_ref(),
                &[b],
            ],
            &perp_amm::ID,
        )
        .ok()
    });
    if let Some(lower) = lower {
        let m = &f.markets[0];
        let mut add =
            ix::add_collateral(&trader.key(), &f.pool, &m.key, &m.oracle, &trader.quote, E6);
        add.accounts[3].pubkey = lower;
        assert!(t.send(&[add], &[&trader.kp]).await.is_err());
    }
}

#[tokio::test]
async fn fake_token_program_is_refused() {
    let (mut t, f, lp, _trader) = pool_with_trader().await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    let before = t.snapshot(&[f.pool, f.vault, lp.quote, lp_acct]).await;
    let mut bad = ix::deposit(
        &lp.key(),
        &f.pool,
        &lp.quote,
        &lp_acct,
        &f.oracles(),
        DepositArgs {
            amount: 100 * E6,
            min_shares: 0,
        },
    );
    bad.accounts[6].pubkey = anchor_lang::system_program::ID;
    assert_code(
        t.send(&[bad], &[&lp.kp]).await,
        anchor(AnchorError::InvalidProgramId),
    );
    assert_eq!(
        before,
        t.snapshot(&[f.pool, f.vault, lp.quote, lp_acct]).await
    );
}

/// A Pyth `PriceUpdateV2` account's data (Borsh layout of the receiver program).
fn price_update(
    feed_id: [u8; 32],
    price: i64,
    conf: u64,
    expo: i32,
    publish_time: i64,
    full: bool,
) -> Vec<u8> {
    let mut d = PRICE_UPDATE_V2_DISCRIMINATOR.to_vec();
    d.extend_from_slice(&[3u8; 32]); // write authority
    if full {
        d.push(1);
    } else {
        d.extend_from_slice(&[0, 5]); // Partial { num_signatures: 5 }
    }
    d.extend_from_slice(&feed_id);
    d.extend_from_slice(&price.to_le_bytes());
    d.extend_from_slice(&conf.to_le_bytes());
    d.extend_from_slice(&expo.to_le_bytes());
    d.extend_from_slice(&publish_time.to_le_bytes());
    d.extend_from_slice(&publish_time.to_le_bytes()); // prev publish time
    d.extend_from_slice(&price.to_le_bytes()); // ema price
    d.extend_from_slice(&conf.to_le_bytes()); // ema conf
    d.extend_from_slice(&1u64.to_le_bytes()); // posted slot
    d
}

#[tokio::test]
async fn pyth_updates_are_checked_for_owner_feed_and_verification() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[]).await;
    let admin = t.admin.insecure_clone();
    let feed_id = [0x42; 32];
    let pyth = Pubkey::new_unique();
    // BTC at 65,000.12345678 with 8 decimals, as Pyth publishes it
    let now = t.now;
    let data = price_update(feed_id, 6_500_012_345_678, 2_000_000_000, -8, now, true);
    let args = |feed_id| AddMarketArgs {
        symbol: [0; 16],
        base_decimals: 8,
        oracle_kind: OracleKind::Pyth,
        feed_id,
        params: default_params(),
    };

    // an impostor: the same bytes in an account owned by another program
    t.set_account(&pyth, &Pubkey::new_unique(), data.clone());
    assert_code(
        t.send(
            &[ix::add_market(
                &admin.pubkey(),
                &f.pool,
                0,
                &pyth,
                args(feed_id),
            )],
            &[&admin],
        )
        .await,
        perp(PerpError::WrongOracle),
    );
    // partially verified updates are refused
    t.set_account(
        &pyth,
        &PYTH_RECEIVER_ID,
        price_update(feed_id, 6_500_012_345_678, 2_000_000_000, -8, now, false),
    );
    assert_code(
        t.send(
            &[ix::add_market(
                &admin.pubkey(),
                &f.pool,
                0,
                &pyth,
                args(feed_id),
            )],
            &[&admin],
        )
        .await,
        perp(PerpError::WrongOracle),
    );
    // the real thing, but for another feed
    t.set_account(&pyth, &PYTH_RECEIVER_ID, data.clone());
    assert_code(
        t.send(
            &[ix::add_market(
                &admin.pubkey(),
                &f.pool,
                0,
                &pyth,
                args([0x43; 32]),
            )],
            &[&admin],
        )
        .await,
        perp(PerpError::WrongOracle),
    );
    // the real thing
    t.send(
        &[ix::add_market(
            &admin.pubkey(),
            &f.pool,
            0,
            &pyth,
            args(feed_id),
        )],
        &[&admin],
    )
    .await
    .unwrap();

    // trade on it: 0.01 BTC (1e6 satoshi) at 65,000 = 650 notional
    let lp = t.user(100_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    let deposit = ix::deposit(
        &lp.key(),
        &f.pool,
        &lp.quote,
        &lp_acct,
        &[pyth],
        DepositArgs {
            amount: 50_000 * E6,
            min_shares: 0,
        },
    );
    t.send(&[deposit], &[&lp.kp]).await.unwrap();
    let trader = t.user(1_000 * E6).await;
    let market = ix::market_pda(&f.pool, 0);
    let open = |size| {
        ix::open_position(
            &trader.key(),
            &f.pool,
            &market,
            &pyth,
            &trader.quote,
            OpenPositionArgs {
                size,
                collateral: 100 * E6,
                price_limit_e9: u64::MAX,
            },
            None,
        )
    };
    t.send(&[open(1_000_000)], &[&trader.kp]).await.unwrap();
    let pos = t
        .position(&ix::position_pda(&market, &trader.key()))
        .await
        .unwrap();
    // 0.01 BTC × 65,000.12345678 = 650.0012345678 quote = 650,001,234.5678 native, rounded up
    assert_eq!(pos.entry_notional, 650_001_235);

    // the account later swapped for an impostor (same key, other owner) is refused
    let watched = [f.pool, f.vault, trader.quote];
    let before = t.snapshot(&watched).await;
    t.set_account(&pyth, &Pubkey::new_unique(), data);
    let m = ix::increase_position(
        &trader.key(),
        &f.pool,
        &market,
        &pyth,
        &trader.quote,
        IncreasePositionArgs {
            size: 1_000_000,
            collateral: 0,
            price_limit_e9: u64::MAX,
        },
        None,
    );
    assert_code(
        t.send(&[m], &[&trader.kp]).await,
        perp(PerpError::WrongOracle),
    );
    assert_eq!(before, t.snapshot(&watched).await);
}

#[tokio::test]
async fn closed_positions_cannot_be_reused_or_revived() {
    let (mut t, f, _lp, trader) = pool_with_trader().await;
    let m = &f.markets[0];
    let pos_key = f.position(0, &trader.key());
    // closing and reviving in one transaction (refunding the rent) is refused whole
    let rent = t
        .ctx
        .banks_client
        .get_account(pos_key)
        .await
        .unwrap()
        .unwrap()
        .lamports;
    let watched = [f.pool, f.vault, pos_key, trader.quote];
    let before = t.snapshot(&watched).await;
    let revive = [
        ix::close_position(
            &trader.key(),
            &f.pool,
            &m.key,
            &m.oracle,
            &trader.quote,
            0,
            None,
        ),
        system_instruction::transfer(&trader.key(), &pos_key, rent),
        ix::add_collateral(&trader.key(), &f.pool, &m.key, &m.oracle, &trader.quote, E6),
    ];
    assert_code(
        t.send(&revive, &[&trader.kp]).await,
        anchor(AnchorError::AccountOwnedByWrongProgram),
    );
    assert_eq!(
        before,
        t.snapshot(&watched).await,
        "the whole transaction reverted"
    );

    // closed for real, the position cannot be used again
    f.close(&mut t, &trader, 0, true).await.unwrap();
    assert!(t.position(&pos_key).await.is_none());
    let before = t.snapshot(&[f.pool, f.vault, trader.quote]).await;
    assert_code(
        f.add_collateral(&mut t, &trader, 0, E6).await,
        anchor(AnchorError::AccountNotInitialized),
    );
    assert_code(
        f.decrease(&mut t, &trader, 0, E6, true).await,
        anchor(AnchorError::AccountNotInitialized),
    );
    assert_eq!(before, t.snapshot(&[f.pool, f.vault, trader.quote]).await);
    // and opening again starts a fresh position
    f.open(&mut t, &trader, 0, E6 as i64, 50 * E6)
        .await
        .unwrap();
    assert_eq!(t.position(&pos_key).await.unwrap().size, E6 as i64);
}
