//! The crp commands (`crp status`, `crp lend`, `crp borrow`, `crp swap`, `crp redeem`) through the embedded
//! transport: what they report is what moved on chain, bad input fails with the program's error
//! name and changes nothing, and a first-time user holding only SOL and the tokens it pays in
//! needs no other account.

use anchor_lang::prelude::Pubkey;
use collateral_pool::instructions::InitCrpPoolArgs;
use keel::client::crp::{self as cix, PoolKeys};
use keel::client::dates::noon;
use keel::client::presets::{crp_params, default_markets};
use keel::client::token::{associated_token_address, create_ata_idempotent};
use keel::commands::crp::{
    self, BorrowCmd, Claims, CrpAccounts, CrpArg, LendCmd, RedeemCmd, Side, SwapCmd,
};
use keel::sandbox::limits;
use keel::sandbox::world::{Actor, USD, World};
use keel::transport::Transport;
use perp_amm::state::OracleKind;
use solana_keypair::Keypair;
use solana_signer::Signer;

const BTC: u64 = 100_000_000;

struct Setup {
    world: World,
    keys: PoolKeys,
    lender: Actor,
    lender_claims: Pubkey,
    borrower: Actor,
    borrower_risky: Pubkey,
    borrower_residual: Pubkey,
}

fn setup() -> Setup {
    let presets = default_markets();
    let prices: Vec<f64> = presets.iter().map(|m| m.price).collect();
    let now = noon("2024-01-02").unwrap();
    let mut world = World::new(now, &presets, &prices, limits(1_000)).unwrap();
    let risky = world.create_mint(8).unwrap();
    let expiry = now + 90 * 86_400;
    let operator = world.operator().pubkey();
    let keys = PoolKeys::new(
        risky,
        world.quote_mint,
        expiry,
        &operator,
        world.markets[0].oracle,
    );
    let mut feed_id = [0u8; 32];
    feed_id[..8].copy_from_slice(b"BTC-PERP");
    let args = InitCrpPoolArgs {
        expiry,
        params: crp_params(65_000.0),
        keeper: Pubkey::new_unique(),
        oracle_kind: OracleKind::Push,
        feed_id,
        oracle_pool: world.pool,
    };
    let operator = world.operator().pubkey();
    world
        .chain
        .send(&[cix::init_pool(&operator, &keys, args)], &[])
        .unwrap();
    let lender = world.actor("lender", 500_000 * USD).unwrap();
    let lender_claims = world
        .token_account(&keys.lender_mint, &lender.key())
        .unwrap();
    let borrower = world.actor("borrower", 200_000 * USD).unwrap();
    let borrower_risky = world.token_account(&risky, &borrower.key()).unwrap();
    world.mint_to(&risky, &borrower_risky, 10 * BTC).unwrap();
    let borrower_residual = world
        .token_account(&keys.residual_mint, &borrower.key())
        .unwrap();
    Setup {
        world,
        keys,
        lender,
        lender_claims,
        borrower,
        borrower_risky,
        borrower_residual,
    }
}

fn lend(s: &mut Setup, amount: f64, claims: Pubkey) -> anyhow::Result<crp::CrpReport> {
    let cmd = LendCmd {
        pool: CrpArg { crp: s.keys.pool },
        accounts: CrpAccounts {
            risky_account: None,
            riskless_account: Some(s.lender.quote),
            claims_account: Some(claims),
        },
        amount,
        min_claims: 0,
    };
    crp::lend(&mut s.world.chain, &s.lender.kp, &cmd)
}

fn borrower_accounts(s: &Setup) -> CrpAccounts {
    CrpAccounts {
        risky_account: Some(s.borrower_risky),
        riskless_account: Some(s.borrower.quote),
        claims_account: Some(s.borrower_residual),
    }
}

fn borrow(s: &mut Setup, collateral: f64, loan: f64) -> anyhow::Result<crp::CrpReport> {
    let cmd = BorrowCmd {
        pool: CrpArg { crp: s.keys.pool },
        accounts: borrower_accounts(s),
        collateral,
        loan,
        max_riskless_leg: None,
        min_residual: 0,
    };
    crp::borrow(&mut s.world.chain, &s.borrower.kp, &cmd)
}

fn swap(
    s: &mut Setup,
    sell: Side,
    amount: f64,
    limit: Option<u64>,
) -> anyhow::Result<crp::CrpReport> {
    let cmd = SwapCmd {
        pool: CrpArg { crp: s.keys.pool },
        accounts: borrower_accounts(s),
        sell,
        amount,
        exact_out: false,
        limit,
    };
    crp::swap(&mut s.world.chain, &s.borrower.kp, &cmd)
}

fn snapshot(s: &mut Setup) -> Vec<Option<Vec<u8>>> {
    let k = s.keys;
    [
        k.pool,
        k.risky_vault,
        k.riskless_vault,
        k.lender_mint,
        k.residual_mint,
        s.lender.quote,
        s.lender_claims,
        s.borrower.quote,
        s.borrower_risky,
        s.borrower_residual,
    ]
    .iter()
    .map(|key| s.world.chain.account_data(key).unwrap())
    .collect()
}

#[test]
fn a_lender_and_a_borrower_use_the_pool() {
    let mut s = setup();
    let st = crp::status(&mut s.world.chain, &s.keys.pool).unwrap();
    assert_eq!(st.status, "active");
    assert_eq!(st.strike, 65_000.0);
    assert_eq!(st.price, Some(65_000.0));
    assert!(
        (st.risky_weight - 0.579).abs() < 0.01,
        "{}",
        st.risky_weight
    );

    let claims = s.lender_claims;
    let r = lend(&mut s, 300_000.0, claims).unwrap();
    assert_eq!(r.riskless, -300_000 * USD as i128);
    // the first lender of an empty pool: one claim per unit (the cash earns when it is lent)
    assert_eq!(r.claims, 300_000 * USD as i128);

    let r = borrow(&mut s, 2.0, 60_000.0).unwrap();
    assert_eq!(r.risky, -2 * BTC as i128);
    assert!(r.claims > 0);
    let st = crp::status(&mut s.world.chain, &s.keys.pool).unwrap();
    assert_eq!(st.risky_balance, 2.0);
    assert!(st.debt_face > 60_000.0);
    let ltv = st.ltv_pct.unwrap();
    assert!(ltv > 20.0 && ltv < 50.0, "LTV {ltv}");
    assert!(st.to_text().contains("LTV"));

    // the pool trades inside the oracle's band: 1,000 in would lift its price 2 %
    let far = swap(&mut s, Side::Riskless, 1_000.0, None).unwrap_err();
    assert!(format!("{far:#}").contains("PriceOffOracle"), "{far:#}");
    let r = swap(&mut s, Side::Riskless, 50.0, None).unwrap();
    assert_eq!(r.riskless, -50 * USD as i128);
    assert!(
        r.risky > 0 && r.risky < 50 * BTC as i128 / 65_000,
        "{}",
        r.risky
    );
}

#[test]
fn bad_input_fails_clearly_and_changes_nothing() {
    let mut s = setup();
    let claims = s.lender_claims;
    lend(&mut s, 100_000.0, claims).unwrap();
    let before = snapshot(&mut s);
    let msg = |r: anyhow::Result<crp::CrpReport>| format!("{:#}", r.unwrap_err());

    assert!(msg(lend(&mut s, 0.0, claims)).contains("ZeroAmount"));
    // a second quote-token account of the lender's is not a claims account
    let (mint, owner) = (s.world.quote_mint, s.lender.key());
    let wrong = s.world.token_account(&mint, &owner).unwrap();
    let e = msg(lend(&mut s, 10.0, wrong));
    assert!(e.contains("lend refused by the program: WrongMint"), "{e}");
    // a loan above half of what the collateral adds
    let e = msg(borrow(&mut s, 1.0, 80_000.0));
    assert!(e.contains("LoanToValue"), "{e}");
    // more than the pool has to lend
    let e = msg(borrow(&mut s, 10.0, 150_000.0));
    assert!(e.contains("InsufficientLiquidity"), "{e}");
    assert!(msg(borrow(&mut s, -1.0, 10.0)).contains("≥ 0"));
    // nothing to trade against before the first borrower joins
    let e = msg(swap(&mut s, Side::Riskless, 100.0, None));
    assert!(e.contains("swap refused by the program: WrongState"), "{e}");
    // a perp pool is not a collateral pool
    let perp = s.world.pool;
    let e = format!("{:#}", crp::status(&mut s.world.chain, &perp).unwrap_err());
    assert!(e.contains("not a collateral pool"), "{e}");
    assert_eq!(snapshot(&mut s), before, "nothing changed");
}

/// A first-time user: a new key with 1 SOL and, per `(mint, amount)`, that many native units in
/// its associated account; no other token account.
fn newcomer(world: &mut World, holdings: &[(Pubkey, u64)]) -> Keypair {
    let kp = Keypair::new();
    world.chain.airdrop(&kp.pubkey(), 1_000_000_000).unwrap();
    let operator = world.operator().pubkey();
    for &(mint, amount) in holdings {
        world
            .chain
            .send(
                &[create_ata_idempotent(&operator, &kp.pubkey(), &mint)],
                &[],
            )
            .unwrap();
        let ata = associated_token_address(&kp.pubkey(), &mint);
        world.mint_to(&mint, &ata, amount).unwrap();
    }
    kp
}

fn ata(owner: &Keypair, mint: &Pubkey) -> Pubkey {
    associated_token_address(&owner.pubkey(), mint)
}

fn balance(s: &mut Setup, account: &Pubkey) -> Option<u64> {
    s.world
        .chain
        .account(account)
        .unwrap()
        .map(|_| s.world.balance(account).unwrap())
}

#[test]
fn first_time_users_lend_borrow_and_swap_without_making_token_accounts() {
    let mut s = setup();
    let k = s.keys;
    let crp_arg = CrpArg { crp: k.pool };

    // a lender with quote tokens only: the first lend creates the claims account
    let lender = newcomer(&mut s.world, &[(k.riskless_mint, 400_000 * USD)]);
    let claims = ata(&lender, &k.lender_mint);
    assert_eq!(balance(&mut s, &claims), None);
    let lend = |amount| LendCmd {
        pool: crp_arg.clone(),
        accounts: CrpAccounts::default(),
        amount,
        min_claims: 0,
    };
    let first = crp::lend(&mut s.world.chain, &lender, &lend(300_000.0)).unwrap();
    assert_eq!(first.riskless, -300_000 * USD as i128);
    assert_eq!(first.claims, 300_000 * USD as i128);
    assert_eq!(balance(&mut s, &claims), Some(first.claims as u64));
    // again, with the account there
    let second = crp::lend(&mut s.world.chain, &lender, &lend(100_000.0)).unwrap();
    assert_eq!(second.riskless, -100_000 * USD as i128);
    assert_eq!(
        balance(&mut s, &claims),
        Some((first.claims + second.claims) as u64)
    );
    let lender_riskless = ata(&lender, &k.riskless_mint);
    assert_eq!(balance(&mut s, &lender_riskless), Some(0));

    // a borrower with BTC only: the loan exceeds the riskless leg at the money (weight ≈ 0.58
    // puts the leg near 0.73 of the collateral's value), so it receives riskless tokens and
    // residual claims, into accounts the borrow creates
    let borrower = newcomer(&mut s.world, &[(k.risky_mint, 5 * BTC)]);
    let (riskless, residual) = (
        ata(&borrower, &k.riskless_mint),
        ata(&borrower, &k.residual_mint),
    );
    let borrow = |collateral, loan| BorrowCmd {
        pool: crp_arg.clone(),
        accounts: CrpAccounts::default(),
        collateral,
        loan,
        max_riskless_leg: None,
        min_residual: 0,
    };
    let b1 = crp::borrow(&mut s.world.chain, &borrower, &borrow(2.0, 100_000.0)).unwrap();
    assert_eq!(b1.risky, -2 * BTC as i128);
    assert!(b1.riskless > 0, "{}", b1.riskless);
    assert!(b1.claims > 0);
    assert_eq!(balance(&mut s, &riskless), Some(b1.riskless as u64));
    assert_eq!(balance(&mut s, &residual), Some(b1.claims as u64));
    let b2 = crp::borrow(&mut s.world.chain, &borrower, &borrow(1.0, 50_000.0)).unwrap();
    assert_eq!(b2.risky, -(BTC as i128));
    assert_eq!(
        balance(&mut s, &residual),
        Some((b1.claims + b2.claims) as u64)
    );
    assert_eq!(
        balance(&mut s, &ata(&borrower, &k.risky_mint)),
        Some(2 * BTC)
    );

    // a trader with quote tokens only buys BTC into an account the swap creates
    let trader = newcomer(&mut s.world, &[(k.riskless_mint, 10_000 * USD)]);
    let btc = ata(&trader, &k.risky_mint);
    let buy = SwapCmd {
        pool: crp_arg.clone(),
        accounts: CrpAccounts::default(),
        sell: Side::Riskless,
        amount: 50.0,
        exact_out: false,
        limit: None,
    };
    let r = crp::swap(&mut s.world.chain, &trader, &buy).unwrap();
    assert_eq!(r.riskless, -50 * USD as i128);
    assert!(r.risky > 0 && r.claims == 0);
    assert_eq!(balance(&mut s, &btc), Some(r.risky as u64));
    let r2 = crp::swap(&mut s.world.chain, &trader, &buy).unwrap();
    assert_eq!(balance(&mut s, &btc), Some((r.risky + r2.risky) as u64));
}

/// After expiry a keeper settles; then a lender and a borrower, neither holding the accounts a
/// redemption pays into, burn every claim for their share: the lender gets par and interest,
/// the borrower the residual, the vaults end empty of what was theirs. Before settlement, and
/// with no claims, the command refuses and nothing moves.
#[test]
fn after_settlement_lenders_and_borrowers_redeem_into_accounts_the_command_creates() {
    let mut s = setup();
    let k = s.keys;
    let crp_arg = CrpArg { crp: k.pool };
    let lender = newcomer(&mut s.world, &[(k.riskless_mint, 300_000 * USD)]);
    let lend = LendCmd {
        pool: crp_arg.clone(),
        accounts: CrpAccounts::default(),
        amount: 300_000.0,
        min_claims: 0,
    };
    let lent = crp::lend(&mut s.world.chain, &lender, &lend).unwrap();
    // the borrower's collateral joins at the pool's proportions: its riskless leg (≈ 94,000 for
    // 2 BTC at weight 0.58) is paid out of the loan and the borrower's own riskless; the debt
    // stays below that leg, so settlement pays lenders from the pool's riskless side at once
    let borrower = newcomer(
        &mut s.world,
        &[(k.risky_mint, 3 * BTC), (k.riskless_mint, 50_000 * USD)],
    );
    let borrow = BorrowCmd {
        pool: crp_arg.clone(),
        accounts: CrpAccounts::default(),
        collateral: 2.0,
        loan: 60_000.0,
        max_riskless_leg: None,
        min_residual: 0,
    };
    let borrowed = crp::borrow(&mut s.world.chain, &borrower, &borrow).unwrap();
    let redeem = |claims| RedeemCmd {
        pool: crp_arg.clone(),
        accounts: CrpAccounts::default(),
        claims,
        amount: None,
    };
    // before expiry: refused by the command, nothing sent
    let before = snapshot(&mut s);
    let e = crp::redeem(&mut s.world.chain, &lender, &redeem(Claims::Lender)).unwrap_err();
    assert!(format!("{e:#}").contains("the crp is active"), "{e:#}");
    assert_eq!(snapshot(&mut s), before);

    let (p, _) = keel::client::fetch::crp_pool(&mut s.world.chain, &k.pool).unwrap();
    s.world.set_time(p.expiry + 60);
    let prices: Vec<f64> = default_markets().iter().map(|m| m.price).collect();
    s.world.push_prices(&prices).unwrap();
    let keeper = s.world.operator();
    s.world
        .chain
        .send(&[cix::settle(&keeper.pubkey(), &k)], &[])
        .unwrap();
    let st = crp::status(&mut s.world.chain, &k.pool).unwrap();
    assert_eq!(st.status, "settled");

    // the lender: every claim burnt, par and the interest on the lent cash back, in an account
    // its lend emptied and a risky account the redemption creates (paid only after a
    // settlement in kind: zero here)
    assert_eq!(balance(&mut s, &ata(&lender, &k.risky_mint)), None);
    let r = crp::redeem(&mut s.world.chain, &lender, &redeem(Claims::Lender)).unwrap();
    assert_eq!(r.claims, -lent.claims);
    assert!(r.riskless >= 300_000 * USD as i128, "{}", r.riskless);
    assert!(r.riskless < 303_000 * USD as i128, "{}", r.riskless);
    assert_eq!(r.risky, 0);
    assert_eq!(balance(&mut s, &ata(&lender, &k.risky_mint)), Some(0));

    // the borrower: every residual claim for what is left of the pool once lenders are paid,
    // BTC (weight ≈ 0.58 at the strike) and riskless
    let r = crp::redeem(&mut s.world.chain, &borrower, &redeem(Claims::Residual)).unwrap();
    assert_eq!(r.claims, -borrowed.claims);
    assert!(r.risky > 0 && r.riskless >= 0, "{r:?}");
    let st = crp::status(&mut s.world.chain, &k.pool).unwrap();
    assert_eq!(st.lender_claims, 0.0);
    // nothing left to redeem: said plainly, nothing sent
    let e = crp::redeem(&mut s.world.chain, &borrower, &redeem(Claims::Residual)).unwrap_err();
    assert!(format!("{e:#}").contains("no claims to redeem"), "{e:#}");
}
