//! `keel crp …`: the commands on a crp, a collateral rebalancing pool (`--crp ADDRESS`; the
//! on-chain program keeps its deployed name `collateral_pool`). `crp status` reads its balances,
//! weight, delta and loan-to-value; `crp lend`, `crp borrow`, `crp swap` and, after settlement,
//! `crp redeem` send. Like
//! [`crate::commands::perp`], each takes any [`Transport`].

use anchor_lang::prelude::Pubkey;
use anyhow::ensure;
use clap::{Args, Subcommand, ValueEnum};
use collateral_pool::instructions::{BorrowArgs, LendArgs, SwapArgs};
use collateral_pool::state::status as crp_status;
use serde::Serialize;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::client::crp as cix;
use crate::client::fetch::payout_account;
use crate::client::fetch::{crp_pool, token_balance_before};
use crate::client::token::associated_token_address;
use crate::transport::{Transport, TxError};

/// `keel crp …`: the commands on a collateral rebalancing pool.
#[derive(Subcommand, Debug, Clone)]
pub enum CrpCommand {
    /// A crp's dashboard: status, balances, weight against delta, loan-to-value
    Status(CrpArg),
    /// Lenders: lend riskless tokens to a crp for lender claims
    Lend(LendCmd),
    /// Borrowers: post risky collateral (joining at the pool's proportions) and borrow
    Borrow(BorrowCmd),
    /// Trade against a crp's weighted market maker
    Swap(SwapCmd),
    /// After settlement: burn lender or residual claims for their share of the pool
    Redeem(RedeemCmd),
}

#[derive(Args, Debug, Clone)]
pub struct CrpArg {
    /// The crp's (collateral rebalancing pool's) address
    #[arg(long)]
    pub crp: Pubkey,
}

/// Token accounts (each defaults to the signer's associated token account; one the command pays
/// into is created if missing).
#[derive(Args, Debug, Clone, Default)]
pub struct CrpAccounts {
    #[arg(long)]
    pub risky_account: Option<Pubkey>,
    #[arg(long)]
    pub riskless_account: Option<Pubkey>,
    /// Lender claims (lend) or residual claims (borrow); the claims burnt (redeem)
    #[arg(long)]
    pub claims_account: Option<Pubkey>,
}

#[derive(Args, Debug, Clone)]
pub struct LendCmd {
    #[command(flatten)]
    pub pool: CrpArg,
    #[command(flatten)]
    pub accounts: CrpAccounts,
    /// Riskless tokens to lend, whole units
    #[arg(long)]
    pub amount: f64,
    /// Fewest lender claims accepted (native units)
    #[arg(long, default_value_t = 0)]
    pub min_claims: u64,
}

#[derive(Args, Debug, Clone)]
pub struct BorrowCmd {
    #[command(flatten)]
    pub pool: CrpArg,
    #[command(flatten)]
    pub accounts: CrpAccounts,
    /// Risky tokens posted as collateral, whole units
    #[arg(long)]
    pub collateral: f64,
    /// Riskless tokens borrowed, whole units
    #[arg(long)]
    pub loan: f64,
    /// Most riskless added alongside the collateral, whole units (default: no bound)
    #[arg(long)]
    pub max_riskless_leg: Option<f64>,
    /// Fewest residual claims accepted (native units)
    #[arg(long, default_value_t = 0)]
    pub min_residual: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Side {
    Risky,
    Riskless,
}

#[derive(Args, Debug, Clone)]
pub struct SwapCmd {
    #[command(flatten)]
    pub pool: CrpArg,
    #[command(flatten)]
    pub accounts: CrpAccounts,
    /// The token paid in
    #[arg(long, value_enum)]
    pub sell: Side,
    /// Whole units paid in (or, with --exact-out, received)
    #[arg(long)]
    pub amount: f64,
    /// `--amount` is what comes out
    #[arg(long)]
    pub exact_out: bool,
    /// Fewest out (exact in) or most in (exact out), native units (default: none)
    #[arg(long)]
    pub limit: Option<u64>,
}

/// Whose claims a redemption burns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Claims {
    /// Lender claims: riskless at par with interest (and risky after a settlement in kind)
    Lender,
    /// Borrowers' residual claims: what is left of the pool once lenders are paid
    Residual,
}

#[derive(Args, Debug, Clone)]
pub struct RedeemCmd {
    #[command(flatten)]
    pub pool: CrpArg,
    #[command(flatten)]
    pub accounts: CrpAccounts,
    /// Which claims to burn
    #[arg(long, value_enum)]
    pub claims: Claims,
    /// Claims to burn, native units (default: all the claims account holds)
    #[arg(long)]
    pub amount: Option<u64>,
}

/// A crp's dashboard.
#[derive(Debug, Serialize)]
pub struct CrpStatus {
    pub pool: String,
    pub status: String,
    pub expiry: i64,
    pub strike: f64,
    pub risky_balance: f64,
    pub riskless_balance: f64,
    /// The weight now, and where its ramp ends (`target_weight` at `ramp_end`).
    pub risky_weight: f64,
    pub target_weight: f64,
    pub ramp_end: i64,
    pub last_delta: f64,
    pub debt_face: f64,
    /// Lender claims outstanding, and what lenders are owed at expiry (unlent cash plus debt).
    pub lender_claims: f64,
    pub lenders_owed: f64,
    pub reserve: f64,
    pub unlent_cash: f64,
    /// Debt at face over the pool's value at `price`, %.
    pub ltv_pct: Option<f64>,
    pub conversion_ltv_pct: f64,
    pub price: Option<f64>,
}

impl CrpStatus {
    pub fn to_text(&self) -> String {
        format!(
            "collateral pool {} ({}), expiry {}, strike {:.4}\n\
             balances: risky {:.6}, riskless {:.6}; weight {:.4} → {:.4} at {} (delta {:.4})\n\
             debt {:.6} at face, {:.6} lender claims owed {:.6}, reserve {:.6}, unlent cash {:.6}\n\
             price {}  LTV {} (converts at {:.1} %)\n",
            self.pool,
            self.status,
            self.expiry,
            self.strike,
            self.risky_balance,
            self.riskless_balance,
            self.risky_weight,
            self.target_weight,
            self.ramp_end,
            self.last_delta,
            self.debt_face,
            self.lender_claims,
            self.lenders_owed,
            self.reserve,
            self.unlent_cash,
            self.price.map_or("-".into(), |p| format!("{p:.4}")),
            self.ltv_pct.map_or("-".into(), |l| format!("{l:.2} %")),
            self.conversion_ltv_pct,
        )
    }
}

/// What a lend, borrow or swap moved, in native units (+ in to the signer, − out).
#[derive(Debug, Serialize)]
pub struct CrpReport {
    pub action: String,
    pub risky: i128,
    pub riskless: i128,
    pub claims: i128,
}

impl CrpReport {
    pub fn to_text(&self) -> String {
        format!(
            "{}: risky {:+}, riskless {:+}, claims {:+} (native units)\n",
            self.action, self.risky, self.riskless, self.claims
        )
    }
}

fn native(v: f64, decimals: u8, what: &str) -> anyhow::Result<u64> {
    ensure!(v.is_finite() && v >= 0.0, "{what} must be a number ≥ 0");
    let n = (v * 10f64.powi(decimals as i32)).round();
    ensure!(n < u64::MAX as f64, "{what} {v} is too large");
    Ok(n as u64)
}

fn failed(what: &str, e: TxError) -> anyhow::Error {
    crate::client::errors::failed(&collateral_pool::ID, what, &e)
}

fn status_name(s: u8) -> &'static str {
    match s {
        crp_status::ACTIVE => "active",
        crp_status::CONVERTING => "converting (flight to quality)",
        crp_status::CONVERTED => "converted",
        crp_status::SETTLING => "settling",
        crp_status::SETTLED => "settled",
        _ => "unknown",
    }
}

/// `keel crp status`.
pub fn status(t: &mut dyn Transport, key: &Pubkey) -> anyhow::Result<CrpStatus> {
    let (p, _) = crp_pool(t, key)?;
    let risky_unit = 10f64.powi(p.risky_decimals as i32);
    let riskless_unit = 10f64.powi(p.riskless_decimals as i32);
    // the oracle's latest print (push or Pyth), read by the program's own reader, whole
    // riskless per whole risky
    let price = t
        .account(&p.oracle)?
        .and_then(|raw| collateral_pool::oracle::latest_print(&p, &raw.view(&p.oracle)))
        .map(|(mid, _)| mid.to_num::<f64>() * risky_unit / riskless_unit);
    let risky = p.risky_balance as f64 / risky_unit;
    let riskless = p.riskless_balance as f64 / riskless_unit;
    let debt = p.debt_face as f64 / riskless_unit;
    let ltv = price
        .map(|px| risky * px + riskless)
        .filter(|v| *v > 0.0)
        .map(|v| debt / v * 100.0);
    Ok(CrpStatus {
        pool: key.to_string(),
        status: status_name(p.status).into(),
        expiry: p.expiry,
        strike: p.params.strike_e9 as f64 / 1e9,
        risky_balance: risky,
        riskless_balance: riskless,
        risky_weight: p.weight_at(t.unix_time()?)?.to_num::<f64>(),
        target_weight: p.target_weight.fix().to_num::<f64>(),
        ramp_end: p.ramp_end_ts,
        last_delta: p.last_delta.fix().to_num::<f64>(),
        debt_face: debt,
        lender_claims: p.lender_claims as f64 / riskless_unit,
        lenders_owed: (p.loan_cash + p.debt_face) as f64 / riskless_unit,
        reserve: p.reserve as f64 / riskless_unit,
        unlent_cash: p.loan_cash as f64 / riskless_unit,
        ltv_pct: ltv,
        conversion_ltv_pct: p.params.conversion_ltv_bps as f64 / 100.0,
        price,
    })
}

/// A token account of the signer's that a command touches: the one given, or the signer's
/// associated account. One the command pays into is created first when it is the associated
/// account and missing (`create`).
struct Touched {
    account: Pubkey,
    create: Option<Instruction>,
}

impl Touched {
    /// An account the command pays from (it must exist).
    fn paying(given: Option<Pubkey>, owner: &Pubkey, mint: &Pubkey) -> Self {
        Touched {
            account: given.unwrap_or_else(|| associated_token_address(owner, mint)),
            create: None,
        }
    }

    /// An account the command pays into.
    fn paid(
        t: &mut dyn Transport,
        given: Option<Pubkey>,
        owner: &Pubkey,
        mint: &Pubkey,
    ) -> anyhow::Result<Self> {
        let (account, create) = payout_account(t, given, owner, mint)?;
        Ok(Touched { account, create })
    }

    fn balance(&self, t: &mut dyn Transport, before: bool) -> anyhow::Result<i128> {
        let created = before && self.create.is_some();
        Ok(token_balance_before(t, &self.account, created)? as i128)
    }
}

/// Send `ix`, led by the creates of the accounts it pays into, and report how the signer's
/// risky, riskless and claims accounts moved (0 for those it does not touch).
fn send_and_measure(
    t: &mut dyn Transport,
    signer: &Keypair,
    what: &str,
    ix: Instruction,
    [risky, riskless, claims]: [Option<&Touched>; 3],
) -> anyhow::Result<CrpReport> {
    let touched = [risky, riskless, claims];
    let measure = |t: &mut dyn Transport, before: bool| -> anyhow::Result<[i128; 3]> {
        let mut out = [0; 3];
        for (o, a) in out.iter_mut().zip(touched) {
            if let Some(a) = a {
                *o = a.balance(t, before)?;
            }
        }
        Ok(out)
    };
    let before = measure(t, true)?;
    let ixs: Vec<Instruction> = touched
        .iter()
        .flatten()
        .filter_map(|a| a.create.clone())
        .chain([ix])
        .collect();
    t.send(&ixs, &[signer]).map_err(|e| failed(what, e))?;
    let after = measure(t, false)?;
    Ok(CrpReport {
        action: what.into(),
        risky: after[0] - before[0],
        riskless: after[1] - before[1],
        claims: after[2] - before[2],
    })
}

/// `keel crp lend`: riskless in, lender claims out (to the associated account unless given,
/// created if missing).
pub fn lend(t: &mut dyn Transport, signer: &Keypair, c: &LendCmd) -> anyhow::Result<CrpReport> {
    let (p, k) = crp_pool(t, &c.pool.crp)?;
    let owner = signer.pubkey();
    let a = &c.accounts;
    let riskless = Touched::paying(a.riskless_account, &owner, &k.riskless_mint);
    let claims = Touched::paid(t, a.claims_account, &owner, &k.lender_mint)?;
    let args = LendArgs {
        amount: native(c.amount, p.riskless_decimals, "amount")?,
        min_claims: c.min_claims,
    };
    let ix = cix::lend(&owner, &k, &riskless.account, &claims.account, args);
    send_and_measure(
        t,
        signer,
        "lend",
        ix,
        [None, Some(&riskless), Some(&claims)],
    )
}

/// `keel crp borrow`: risky collateral in, the loan (less the riskless leg) and residual claims
/// out (each to the associated account unless given, created if missing).
pub fn borrow(t: &mut dyn Transport, signer: &Keypair, c: &BorrowCmd) -> anyhow::Result<CrpReport> {
    let (p, k) = crp_pool(t, &c.pool.crp)?;
    let owner = signer.pubkey();
    let a = &c.accounts;
    let risky = Touched::paying(a.risky_account, &owner, &k.risky_mint);
    let riskless = Touched::paid(t, a.riskless_account, &owner, &k.riskless_mint)?;
    let residual = Touched::paid(t, a.claims_account, &owner, &k.residual_mint)?;
    let args = BorrowArgs {
        collateral: native(c.collateral, p.risky_decimals, "collateral")?,
        loan: native(c.loan, p.riskless_decimals, "loan")?,
        max_riskless_leg: match c.max_riskless_leg {
            Some(v) => native(v, p.riskless_decimals, "max riskless leg")?,
            None => u64::MAX,
        },
        min_residual: c.min_residual,
    };
    let accounts = (&risky.account, &riskless.account, &residual.account);
    let ix = cix::borrow(&owner, &k, accounts, args);
    let touched = [Some(&risky), Some(&riskless), Some(&residual)];
    send_and_measure(t, signer, "borrow", ix, touched)
}

/// `keel crp swap`: one token in, the other out (to the associated account unless given,
/// created if missing).
pub fn swap(t: &mut dyn Transport, signer: &Keypair, c: &SwapCmd) -> anyhow::Result<CrpReport> {
    let (p, k) = crp_pool(t, &c.pool.crp)?;
    let owner = signer.pubkey();
    let a = &c.accounts;
    let risky_in = c.sell == Side::Risky;
    let (risky, riskless) = if risky_in {
        (
            Touched::paying(a.risky_account, &owner, &k.risky_mint),
            Touched::paid(t, a.riskless_account, &owner, &k.riskless_mint)?,
        )
    } else {
        (
            Touched::paid(t, a.risky_account, &owner, &k.risky_mint)?,
            Touched::paying(a.riskless_account, &owner, &k.riskless_mint),
        )
    };
    // the amount is in the token paid in for exact in, in the token received for exact out
    let amount_is_risky = risky_in != c.exact_out;
    let decimals = if amount_is_risky {
        p.risky_decimals
    } else {
        p.riskless_decimals
    };
    let args = SwapArgs {
        risky_in,
        exact_in: !c.exact_out,
        amount: native(c.amount, decimals, "amount")?,
        limit: c.limit.unwrap_or(if c.exact_out { u64::MAX } else { 0 }),
    };
    let ix = cix::swap(&owner, &k, &risky.account, &riskless.account, args);
    // a swap does not touch claims
    send_and_measure(t, signer, "swap", ix, [Some(&risky), Some(&riskless), None])
}

/// `keel crp redeem`: after settlement, claims in, their pro-rata share of the pool out (risky
/// and riskless, each to the associated account unless given, created if missing).
pub fn redeem(t: &mut dyn Transport, signer: &Keypair, c: &RedeemCmd) -> anyhow::Result<CrpReport> {
    let (p, k) = crp_pool(t, &c.pool.crp)?;
    ensure!(
        p.status == crp_status::SETTLED,
        "the crp is {}: claims are redeemed after settlement (a keeper settles it at expiry, {})",
        status_name(p.status),
        p.expiry
    );
    let owner = signer.pubkey();
    let a = &c.accounts;
    let claims_mint = match c.claims {
        Claims::Lender => k.lender_mint,
        Claims::Residual => k.residual_mint,
    };
    let claims = Touched::paying(a.claims_account, &owner, &claims_mint);
    let amount = match c.amount {
        Some(n) => n,
        None => crate::client::fetch::token_balance(t, &claims.account)?,
    };
    ensure!(amount > 0, "no claims to redeem in {}", claims.account);
    let risky = Touched::paid(t, a.risky_account, &owner, &k.risky_mint)?;
    let riskless = Touched::paid(t, a.riskless_account, &owner, &k.riskless_mint)?;
    let accounts = (&claims.account, &risky.account, &riskless.account);
    let (ix, what) = match c.claims {
        Claims::Lender => (
            cix::redeem_lender(&owner, &k, accounts, amount),
            "redeem lender claims",
        ),
        Claims::Residual => (
            cix::redeem_borrower(&owner, &k, accounts, amount),
            "redeem residual claims",
        ),
    };
    send_and_measure(
        t,
        signer,
        what,
        ix,
        [Some(&risky), Some(&riskless), Some(&claims)],
    )
}
