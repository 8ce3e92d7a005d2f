//! `keel calc`: every kernel of keel-math, evaluated exactly as the programs evaluate it.
//!
//! Inputs are decimals, converted to the kernels' fixed-point types by correct rounding; outputs
//! are the exact decimal expansion of the fixed-point result (plus a short form for people).

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use keel_math::d8x::{Exposure, capital_target, quote};
use keel_math::imbalance::{CORR_SCALE, exposure_norm, imbalance_score, upper_len, validate_full};
use keel_math::weighted::{fee_amount, in_given_out, invariant, out_given_in, spot_price};
use keel_math::{Fix, MathError, Prob};
use serde_json::{Value, json};

#[derive(Args, Debug)]
pub struct CalcArgs {
    #[command(subcommand)]
    pub kernel: Kernel,
}

#[derive(Subcommand, Debug)]
pub enum Kernel {
    /// e^x
    Exp {
        #[arg(allow_hyphen_values = true)]
        x: String,
    },
    /// Natural logarithm, x > 0
    Ln {
        #[arg(allow_hyphen_values = true)]
        x: String,
    },
    /// x^y for x ≥ 0 (also the pool-favouring bounds pow_down ≤ exact ≤ pow_up)
    Pow {
        #[arg(allow_hyphen_values = true)]
        x: String,
        #[arg(allow_hyphen_values = true)]
        y: String,
    },
    /// Square root, x ≥ 0 (rounded down)
    Sqrt {
        #[arg(allow_hyphen_values = true)]
        x: String,
    },
    /// Standard normal CDF Φ(x) (and 1 − Φ(x) with its own relative precision)
    NormCdf {
        #[arg(allow_hyphen_values = true)]
        x: String,
    },
    /// Standard normal density φ(x)
    NormPdf {
        #[arg(allow_hyphen_values = true)]
        x: String,
    },
    /// Inverse normal CDF Φ⁻¹(p), 0 < p < 1
    NormInv {
        #[arg(allow_hyphen_values = true)]
        p: String,
    },
    /// Black–Scholes call delta Φ(d1) with zero rate
    BsDelta(BsArgs),
    /// A trade's charge: the change of the book's insurance value (what the program charges)
    /// beside D8X's digital-option premium, q and execution price
    Premium(PremiumArgs),
    /// D8X pool-capital target M* for a target default probability
    CapitalTarget(CapitalTargetArgs),
    /// Weighted-pool (GMMM) swap: out-given-in or in-given-out, spot price and invariant
    Swap(SwapArgs),
    /// Ostium Imbalance Score √(Kᵀ R K) and ||K||, K_i = B_i·σ_i
    Imbalance(ImbalanceArgs),
    /// One EMA step: α·sample + (1 − α)·previous
    Ema(EmaArgs),
}

#[derive(Args, Debug)]
pub struct BsArgs {
    /// Spot price S > 0
    #[arg(long, allow_hyphen_values = true)]
    spot: String,
    /// Strike K > 0
    #[arg(long, allow_hyphen_values = true)]
    strike: String,
    /// Annualised volatility σ ≥ 0
    #[arg(long, allow_hyphen_values = true)]
    sigma: String,
    /// Time to expiry in years (or use --days)
    #[arg(
        long,
        allow_hyphen_values = true,
        conflicts_with = "days",
        required_unless_present = "days"
    )]
    t: Option<String>,
    /// Time to expiry in days of 365
    #[arg(long, allow_hyphen_values = true)]
    days: Option<String>,
}

#[derive(Args, Debug)]
pub struct PremiumArgs {
    /// Trade size k in base units (> 0 buys, < 0 sells)
    #[arg(long, allow_hyphen_values = true)]
    k: String,
    /// Traders' net position K in base units before the trade (> 0: traders net long)
    #[arg(long, allow_hyphen_values = true)]
    exposure: String,
    /// Traders' locked-in value L in quote units (Σ entry notionals)
    #[arg(long, allow_hyphen_values = true)]
    locked: String,
    /// Pool capital M at risk for this market, quote units
    #[arg(long, allow_hyphen_values = true)]
    capital: String,
    /// Oracle price s
    #[arg(long, allow_hyphen_values = true)]
    price: String,
    /// Stdev of the log return over the pricing horizon
    #[arg(long, allow_hyphen_values = true)]
    sigma: String,
    /// Minimal half-spread β
    #[arg(long, allow_hyphen_values = true, default_value = "0")]
    half_spread: String,
}

#[derive(Args, Debug)]
pub struct CapitalTargetArgs {
    /// Traders' net position K in base units
    #[arg(long, allow_hyphen_values = true)]
    exposure: String,
    /// Traders' locked-in value L in quote units
    #[arg(long, allow_hyphen_values = true)]
    locked: String,
    /// Oracle price s
    #[arg(long, allow_hyphen_values = true)]
    price: String,
    /// Stdev of the log return over the pricing horizon
    #[arg(long, allow_hyphen_values = true)]
    sigma: String,
    /// Target default probability, 0 < q* < 0.5
    #[arg(long, allow_hyphen_values = true)]
    target: String,
}

#[derive(Args, Debug)]
pub struct SwapArgs {
    /// Balance of the token going in (decimal, in whole tokens)
    #[arg(long, allow_hyphen_values = true)]
    balance_in: String,
    /// Weight of the token going in, 0 < w ≤ 1
    #[arg(long, allow_hyphen_values = true)]
    weight_in: String,
    /// Balance of the token coming out
    #[arg(long, allow_hyphen_values = true)]
    balance_out: String,
    /// Weight of the token coming out, 0 < w ≤ 1
    #[arg(long, allow_hyphen_values = true)]
    weight_out: String,
    /// Amount going in (gives the amount out)
    #[arg(
        long,
        allow_hyphen_values = true,
        conflicts_with = "amount_out",
        required_unless_present = "amount_out"
    )]
    amount_in: Option<String>,
    /// Amount coming out (gives the amount in)
    #[arg(long, allow_hyphen_values = true)]
    amount_out: Option<String>,
    /// Swap fee rate on the amount in, 0 ≤ f < 1
    #[arg(long, allow_hyphen_values = true, default_value = "0")]
    fee: String,
    /// Decimals of the tokens' native units (amounts are rounded to these)
    #[arg(long, default_value_t = 9)]
    decimals: u32,
}

#[derive(Args, Debug)]
pub struct ImbalanceArgs {
    /// Net imbalance per market B_i = long OI − short OI (comma-separated, any unit)
    #[arg(
        long,
        allow_hyphen_values = true,
        value_delimiter = ',',
        required = true
    )]
    b: Vec<String>,
    /// Volatility per market σ_i (comma-separated, ≥ 0)
    #[arg(
        long,
        allow_hyphen_values = true,
        value_delimiter = ',',
        required = true
    )]
    sigma: Vec<String>,
    /// Correlations: the full n×n matrix row by row, or its strict upper triangle (comma-separated)
    #[arg(long, allow_hyphen_values = true, value_delimiter = ',')]
    corr: Vec<String>,
}

#[derive(Args, Debug)]
pub struct EmaArgs {
    /// Previous EMA value
    #[arg(long, allow_hyphen_values = true)]
    prev: String,
    /// New sample
    #[arg(long, allow_hyphen_values = true)]
    sample: String,
    /// Smoothing factor α ∈ [0, 1]
    #[arg(long, allow_hyphen_values = true)]
    alpha: String,
}

/// Parse a decimal into I64F64 (correctly rounded), naming the argument on failure.
fn fx(name: &str, s: &str) -> Result<Fix> {
    s.trim()
        .parse::<Fix>()
        .map_err(|e| anyhow!("{name}: '{s}' is not a decimal number in range ±9.2e18 ({e})"))
}

fn prob(name: &str, s: &str) -> Result<Prob> {
    s.trim()
        .parse::<Prob>()
        .map_err(|_| anyhow!("{name}: '{s}' is not a probability (a decimal in [0, 1])"))
}

/// A math error with the kernel's own explanation of its domain.
fn math(err: MathError, context: &str) -> anyhow::Error {
    match err {
        MathError::Domain => anyhow!("{context}"),
        MathError::Overflow => anyhow!("result out of range: {context}"),
        MathError::DivisionByZero => anyhow!("division by zero: {context}"),
        MathError::Dimension => anyhow!("dimension mismatch: {context}"),
    }
}

/// A short human form of an exact decimal: 15 significant digits, scientific when small.
pub fn short(exact: &str) -> String {
    match exact.parse::<f64>() {
        Ok(v) if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e15) => format!("{v:.14e}"),
        Ok(v) => {
            let digits = 15 - (v.abs().log10().floor() as i32 + 1).max(0);
            format!("{v:.*}", digits.max(0) as usize)
        }
        Err(_) => exact.to_owned(),
    }
}

/// Result of one evaluation: ordered (name, exact value) pairs plus notes.
pub struct Output {
    pub kernel: &'static str,
    pub inputs: Vec<(String, String)>,
    pub results: Vec<(String, String)>,
    pub notes: Vec<String>,
}

impl Output {
    fn new(kernel: &'static str) -> Self {
        Output {
            kernel,
            inputs: vec![],
            results: vec![],
            notes: vec![],
        }
    }
    fn input(mut self, name: &str, v: impl ToString) -> Self {
        self.inputs.push((name.into(), v.to_string()));
        self
    }
    fn result(mut self, name: &str, v: impl ToString) -> Self {
        self.results.push((name.into(), v.to_string()));
        self
    }
    fn note(mut self, n: impl Into<String>) -> Self {
        self.notes.push(n.into());
        self
    }

    pub fn to_json(&self) -> Value {
        let obj = |pairs: &[(String, String)]| {
            Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        };
        json!({ "kernel": self.kernel, "inputs": obj(&self.inputs), "results": obj(&self.results), "notes": self.notes })
    }

    pub fn to_text(&self) -> String {
        let width = self.results.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut s = String::new();
        for (k, v) in &self.results {
            let human = short(v);
            let significant = v
                .trim_start_matches(['-', '0', '.'])
                .chars()
                .filter(char::is_ascii_digit)
                .count();
            if human == *v || significant <= 15 {
                s += &format!("{k:>width$}  {v}\n");
            } else {
                s += &format!("{k:>width$}  {human}   (exact: {v})\n");
            }
        }
        for n in &self.notes {
            s += &format!("note: {n}\n");
        }
        s
    }
}

/// Evaluate one kernel.
pub fn run(args: &CalcArgs) -> Result<Output> {
    Ok(match &args.kernel {
        Kernel::Exp { x } => {
            let v = fx("x", x)?;
            let r = keel_math::exp(v)
                .map_err(|e| math(e, "exp(x) must stay below 2^63, i.e. x ≤ 43.668"))?;
            Output::new("exp").input("x", v).result("exp(x)", r)
        }
        Kernel::Ln { x } => {
            let v = fx("x", x)?;
            let r = keel_math::ln(v).map_err(|e| math(e, "ln is defined for x > 0"))?;
            Output::new("ln").input("x", v).result("ln(x)", r)
        }
        Kernel::Pow { x, y } => {
            let (a, b) = (fx("x", x)?, fx("y", y)?);
            let ctx = "pow needs x ≥ 0 (and y ≥ 0 when x = 0) and a result below 2^63";
            let r = keel_math::pow(a, b).map_err(|e| math(e, ctx))?;
            Output::new("pow")
                .input("x", a)
                .input("y", b)
                .result("x^y", r)
                .result(
                    "pow_down",
                    keel_math::pow_down(a, b).map_err(|e| math(e, ctx))?,
                )
                .result("pow_up", keel_math::pow_up(a, b).map_err(|e| math(e, ctx))?)
        }
        Kernel::Sqrt { x } => {
            let v = fx("x", x)?;
            let r = keel_math::sqrt(v).map_err(|e| math(e, "sqrt is defined for x ≥ 0"))?;
            Output::new("sqrt").input("x", v).result("sqrt(x)", r)
        }
        Kernel::NormCdf { x } => {
            let v = fx("x", x)?;
            Output::new("norm-cdf")
                .input("x", v)
                .result("Phi(x)", keel_math::norm_cdf(v)?)
                .result("1-Phi(x)", keel_math::norm_sf(v)?)
        }
        Kernel::NormPdf { x } => {
            let v = fx("x", x)?;
            Output::new("norm-pdf")
                .input("x", v)
                .result("phi(x)", keel_math::norm_pdf(v)?)
        }
        Kernel::NormInv { p } => {
            let v = prob("p", p)?;
            let r = keel_math::norm_inv(v)
                .map_err(|e| math(e, "the inverse normal CDF needs 0 < p < 1"))?;
            Output::new("norm-inv").input("p", v).result("x", r)
        }
        Kernel::BsDelta(a) => bs_delta(a)?,
        Kernel::Premium(a) => premium(a)?,
        Kernel::CapitalTarget(a) => {
            let (k, l, s, sig) = (
                fx("exposure", &a.exposure)?,
                fx("locked", &a.locked)?,
                fx("price", &a.price)?,
                fx("sigma", &a.sigma)?,
            );
            positive("price", s)?;
            positive("sigma", sig)?;
            let target = prob("target", &a.target)?;
            let m = capital_target(k, l, s, sig, target)
                .map_err(|e| math(e, "the target default probability must lie in (0, 0.5)"))?;
            Output::new("capital-target")
                .input("exposure", k)
                .input("locked", l)
                .input("price", s)
                .input("sigma", sig)
                .input("target", target)
                .result("M*", m)
                .result("distance_to_default", keel_math::norm_inv(target)?)
        }
        Kernel::Swap(a) => swap(a)?,
        Kernel::Imbalance(a) => imbalance(a)?,
        Kernel::Ema(a) => {
            let (p, s, al) = (
                fx("prev", &a.prev)?,
                fx("sample", &a.sample)?,
                fx("alpha", &a.alpha)?,
            );
            let r =
                keel_math::ema_update(p, s, al).map_err(|e| math(e, "alpha must lie in [0, 1]"))?;
            Output::new("ema")
                .input("prev", p)
                .input("sample", s)
                .input("alpha", al)
                .result("ema", r)
        }
    })
}

fn positive(name: &str, v: Fix) -> Result<()> {
    if v <= Fix::ZERO {
        bail!("{name} must be positive (got {v})");
    }
    Ok(())
}

fn bs_delta(a: &BsArgs) -> Result<Output> {
    let (s, k, sig) = (
        fx("spot", &a.spot)?,
        fx("strike", &a.strike)?,
        fx("sigma", &a.sigma)?,
    );
    positive("spot", s)?;
    positive("strike", k)?;
    if sig.is_negative() {
        bail!("sigma must not be negative (got {sig})");
    }
    let t = match (&a.t, &a.days) {
        (Some(t), _) => fx("t", t)?,
        (None, Some(d)) => fx("days", d)? / Fix::from_num(365),
        (None, None) => unreachable!("clap requires one of --t/--days"),
    };
    if t.is_negative() {
        bail!("time to expiry must not be negative (got {t})");
    }
    let delta = keel_math::call_delta(s, k, sig, t)?;
    let mut out = Output::new("bs-delta")
        .input("spot", s)
        .input("strike", k)
        .input("sigma", sig)
        .input("t_years", t);
    if let Ok(d1) = keel_math::d1(s, k, sig, t) {
        out = out.result("d1", d1);
    } else {
        out = out.note("σ√T = 0: the delta is its limit (1 above the strike, 0 below, 1/2 at it)");
    }
    Ok(out.result("delta", delta))
}

fn premium(a: &PremiumArgs) -> Result<Output> {
    let size = fx("k", &a.k)?;
    let exposure = Exposure {
        net_position: fx("exposure", &a.exposure)?,
        locked_value: fx("locked", &a.locked)?,
        capital: fx("capital", &a.capital)?,
    };
    let (s, sig, beta) = (
        fx("price", &a.price)?,
        fx("sigma", &a.sigma)?,
        fx("half-spread", &a.half_spread)?,
    );
    if size == Fix::ZERO {
        bail!("k: the trade size must not be zero");
    }
    positive("price", s)?;
    positive("sigma", sig)?;
    if beta.is_negative() {
        bail!("half-spread must not be negative (got {beta})");
    }
    if exposure.capital.is_negative() {
        bail!("capital must not be negative (got {})", exposure.capital);
    }
    let q = quote(&exposure, size, s, sig, beta)
        .map_err(|e| math(e, "inputs out of the pricing domain"))?;
    let mut out = Output::new("premium")
        .input("k", size)
        .input("exposure", exposure.net_position)
        .input("locked", exposure.locked_value)
        .input("capital", exposure.capital)
        .input("price", s)
        .input("sigma", sig)
        .input("half_spread", beta);
    let mut premium_total = Fix::ZERO;
    for (name, leg) in [("flatten", q.flattening), ("trade", Some(q.main))] {
        let Some(leg) = leg else { continue };
        let kind = match (leg.premium_sign as i64 * leg.size.signum().to_num::<i64>()).signum() {
            1 => "premium",
            -1 => "rebate",
            _ => "flat",
        };
        let prefix = if q.flattening.is_some() {
            format!("{name}.")
        } else {
            String::new()
        };
        out = out
            .result(&format!("{prefix}size"), leg.size)
            .result(&format!("{prefix}q"), leg.q)
            .result(&format!("{prefix}kind"), kind)
            .result(&format!("{prefix}price"), leg.price)
            .result(&format!("{prefix}premium"), leg.premium);
        premium_total += leg.premium;
    }
    out = out
        .result("average_price", q.average_price)
        .result("premium_total", premium_total);
    // the program's charge: V(after) − V(before) of the book's insurance value, headroom
    // H = M + L − K·s (the capital less the book's unrealised PnL)
    let book = |k: Fix| {
        k.checked_mul(s)
            .ok_or_else(|| anyhow::anyhow!("K·s overflows"))
    };
    let headroom = exposure.capital + exposure.locked_value - book(exposure.net_position)?;
    let value = |k: Fix| -> Result<Fix> {
        Ok(
            keel_math::insurance::lognormal_book_value(book(k)?, headroom, sig)
                .map_err(|e| math(e, "inputs out of the pricing domain"))?
                .value,
        )
    };
    let (before, after) = (
        value(exposure.net_position)?,
        value(exposure.net_position + size)?,
    );
    out = out
        .result("insurance_before", before)
        .result("insurance_after", after)
        .result("charge", after - before)
        .note(
            "the program charges `charge`, V(after) − V(before) (a rebate at most the position's \
             own premiums); the D8X digital premium above is for comparison",
        );
    if q.flattening.is_some() {
        out = out.note(
            "the trade crosses k* = −K: split into the part that flattens the pool and the rest",
        );
    }
    Ok(out)
}

/// A decimal amount in whole tokens → native units (rounded down), for `decimals` places.
fn native(name: &str, s: &str, decimals: u32) -> Result<u64> {
    let v = fx(name, s)?;
    if v.is_negative() {
        bail!("{name} must not be negative (got {v})");
    }
    let scale = 10u128.checked_pow(decimals).context("too many decimals")?;
    let units = keel_math::wide::mul_div_u128(
        v.to_bits() as u128,
        scale,
        1 << 64,
        keel_math::Rounding::Down,
    )
    .map_err(|_| anyhow!("{name}: {v} with {decimals} decimals does not fit a u64 amount"))?;
    u64::try_from(units)
        .map_err(|_| anyhow!("{name}: {v} with {decimals} decimals does not fit a u64 amount"))
}

fn tokens(units: u64, decimals: u32) -> String {
    if decimals == 0 {
        return units.to_string();
    }
    let scale = 10u64.pow(decimals);
    format!(
        "{}.{:0width$}",
        units / scale,
        units % scale,
        width = decimals as usize
    )
}

fn swap(a: &SwapArgs) -> Result<Output> {
    if a.decimals > 18 {
        bail!("decimals must be at most 18");
    }
    let d = a.decimals;
    let (bi, bo) = (
        native("balance-in", &a.balance_in, d)?,
        native("balance-out", &a.balance_out, d)?,
    );
    let (wi, wo) = (
        fx("weight-in", &a.weight_in)?,
        fx("weight-out", &a.weight_out)?,
    );
    for (name, w) in [("weight-in", wi), ("weight-out", wo)] {
        if w <= Fix::ZERO || w > Fix::ONE {
            bail!("{name} must lie in (0, 1] (got {w})");
        }
    }
    if bi == 0 || bo == 0 {
        bail!("balances must be positive");
    }
    let fee_rate = fx("fee", &a.fee)?;
    let ctx = "swap outside the pool's range";
    let mut out = Output::new("swap")
        .input("balance_in", tokens(bi, d))
        .input("weight_in", wi)
        .input("balance_out", tokens(bo, d))
        .input("weight_out", wo)
        .input("fee", fee_rate)
        .input("decimals", d);
    if let Some(amount) = &a.amount_in {
        let gross = native("amount-in", amount, d)?;
        let fee =
            fee_amount(gross, fee_rate).map_err(|e| math(e, "the fee rate must lie in [0, 1)"))?;
        let got = out_given_in(bi, wi, bo, wo, gross - fee).map_err(|e| math(e, ctx))?;
        out = out
            .input("amount_in", tokens(gross, d))
            .result("fee", tokens(fee, d))
            .result("amount_out", tokens(got, d));
    } else if let Some(amount) = &a.amount_out {
        let want = native("amount-out", amount, d)?;
        if want >= bo {
            bail!(
                "amount-out must be below the balance out ({})",
                tokens(bo, d)
            );
        }
        let net = in_given_out(bi, wi, bo, wo, want).map_err(|e| math(e, ctx))?;
        // gross·(1 − f) ≥ net: gross = ceil(net/(1 − f))
        let keep = Fix::ONE - fee_rate;
        if keep <= Fix::ZERO || fee_rate.is_negative() {
            bail!("the fee rate must lie in [0, 1)");
        }
        let gross = keel_math::wide::mul_div_u128(
            net as u128,
            1 << 64,
            keep.to_bits() as u128,
            keel_math::Rounding::Up,
        )
        .ok()
        .and_then(|g| u64::try_from(g).ok())
        .context("amount in does not fit a u64")?;
        out = out
            .input("amount_out", tokens(want, d))
            .result("amount_in", tokens(gross, d))
            .result("fee", tokens(gross - net, d));
    }
    out = out.result("spot_price", spot_price(bi, wi, bo, wo)?);
    if let Ok(v) = invariant(&[bi, bo], &[wi, wo]) {
        out = out.result("invariant_native", v);
    }
    Ok(out
        .note("spot_price is in tokens in per token out: (B_in/w_in)/(B_out/w_out)")
        .note("amounts out round down and amounts in round up: in the pool's favour"))
}

fn imbalance(a: &ImbalanceArgs) -> Result<Output> {
    let n = a.b.len();
    if a.sigma.len() != n {
        bail!("--b has {n} values but --sigma has {}", a.sigma.len());
    }
    let b: Vec<Fix> = a.b.iter().map(|v| fx("b", v)).collect::<Result<_>>()?;
    let sigma: Vec<Fix> = a
        .sigma
        .iter()
        .map(|v| fx("sigma", v))
        .collect::<Result<_>>()?;
    if let Some(s) = sigma.iter().find(|s| s.is_negative()) {
        bail!("volatilities must not be negative (got {s})");
    }
    if n > keel_math::imbalance::MAX_ASSETS {
        bail!("at most {} markets", keel_math::imbalance::MAX_ASSETS);
    }
    let scaled: Vec<i64> = a
        .corr
        .iter()
        .map(|v| {
            let r = fx("corr", v)?;
            if r.abs() > Fix::ONE {
                bail!("correlations must satisfy |ρ| ≤ 1 (got {r})");
            }
            Ok((r * Fix::from_num(CORR_SCALE)).round().to_num::<i64>())
        })
        .collect::<Result<_>>()?;
    let upper: Vec<i32> = if scaled.len() == n * n && n > 1 {
        validate_full(&scaled, n).map_err(|_| {
            anyhow!("the correlation matrix must be symmetric with a unit diagonal and |ρ| ≤ 1")
        })?;
        (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .map(|(i, j)| scaled[i * n + j] as i32)
            .collect()
    } else if scaled.len() == upper_len(n) {
        if scaled.iter().any(|r| r.abs() > CORR_SCALE) {
            bail!("correlations must satisfy |ρ| ≤ 1");
        }
        scaled.iter().map(|&r| r as i32).collect()
    } else {
        bail!(
            "--corr needs {} values (the upper triangle) or {} (the full matrix) for {n} markets, got {}",
            upper_len(n),
            n * n,
            scaled.len()
        );
    };
    let is = imbalance_score(&b, &sigma, &upper).map_err(|e| {
        math(
            e,
            "the correlation matrix is not positive semi-definite (Kᵀ R K < 0)",
        )
    })?;
    let norm = exposure_norm(&b, &sigma)?;
    let mut out = Output::new("imbalance");
    for i in 0..n {
        out = out
            .input(&format!("b[{i}]"), b[i])
            .input(&format!("sigma[{i}]"), sigma[i]);
    }
    Ok(out.result("IS", is).result("||K||", norm).result(
        "IS/||K||",
        if norm > Fix::ZERO {
            is / norm
        } else {
            Fix::ZERO
        },
    ))
}
