//! The math-kernel costing: each keel-math kernel (and solmath 0.2.0's counterpart, where there
//! is one) run through the math-bench program on its SBF build, in a litesvm of its own.

use keel_math::Fix;
use math_bench::Kernel as K;
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::harness::{E9, Instruction, key};

/// A kernel's name and its CU over the inputs: keel-math's, then solmath's (empty if none).
pub type KernelRow = (String, Vec<u64>, Vec<u64>);

/// Calls of one kernel: each with its arguments.
type Calls = Vec<(K, Vec<i128>)>;

/// Per-kernel CU: each kernel's transaction minus a no-op carrying the same arguments.
pub fn kernels(so: &[u8]) -> Vec<KernelRow> {
    let mut k = KernelBench::new(so);
    transcendental(&mut k);
    pricing(&mut k);
    market_hours(&mut k);
    primitives(&mut k);
    imbalance(&mut k);
    k.rows
}

struct KernelBench {
    svm: litesvm::LiteSVM,
    payer: Keypair,
    rows: Vec<KernelRow>,
}

impl KernelBench {
    fn new(so: &[u8]) -> Self {
        let mut svm = litesvm::LiteSVM::new();
        svm.add_program(math_bench::ID, so)
            .expect("load math_bench.so");
        let payer = key(&mut 200);
        svm.airdrop(&payer.pubkey(), 1_000 * E9).unwrap();
        KernelBench {
            svm,
            payer,
            rows: vec![],
        }
    }

    /// One call's CU: the kernel's transaction minus a no-op's with the same arguments.
    fn run(&mut self, kernel: K, args: Vec<i128>) -> u64 {
        let mut cu = [0u64; 2];
        for (slot, k) in [(0, K::Noop), (1, kernel)] {
            let ix = Instruction {
                program_id: math_bench::ID,
                accounts: anchor_lang::ToAccountMetas::to_account_metas(
                    &math_bench::accounts::Run {},
                    None,
                ),
                data: anchor_lang::InstructionData::data(&math_bench::instruction::Run {
                    kernel: k,
                    args: args.clone(),
                }),
            };
            let tx = Transaction::new(
                &[&self.payer],
                Message::new(&[ix], Some(&self.payer.pubkey())),
                self.svm.latest_blockhash(),
            );
            let meta = self
                .svm
                .send_transaction(tx)
                .unwrap_or_else(|e| panic!("{kernel:?} {args:?}: {:?} {:?}", e.err, e.meta.logs));
            self.svm.expire_blockhash();
            cu[slot] = meta.compute_units_consumed;
        }
        cu[1] - cu[0]
    }

    /// A table row: keel-math's calls, then solmath's.
    fn row(&mut self, name: &str, ours: Calls, theirs: Calls) {
        let a: Vec<u64> = ours.into_iter().map(|(k, v)| self.run(k, v)).collect();
        let b: Vec<u64> = theirs.into_iter().map(|(k, v)| self.run(k, v)).collect();
        self.rows.push((name.to_string(), a, b));
    }

    /// A one-argument kernel over `xs`: ours with `arg(x)`, solmath's with x at 1e12.
    fn unary(&mut self, name: &str, (ours, theirs): (K, K), xs: &[&str], arg: fn(&str) -> i128) {
        self.row(
            name,
            xs.iter().map(|x| (ours, vec![arg(x)])).collect(),
            xs.iter()
                .map(|x| (theirs, vec![e12(x.parse().unwrap())]))
                .collect(),
        );
    }
}

/// A decimal as keel-math's fixed-point bits.
fn f(v: &str) -> i128 {
    v.parse::<Fix>().unwrap().to_bits()
}

/// A number at solmath's 1e12 scale.
fn e12(v: f64) -> i128 {
    (v * 1e12).round() as i128
}

/// A probability as keel-math's `Prob` bits.
fn prob(v: &str) -> i128 {
    v.parse::<keel_math::Prob>().unwrap().to_bits() as i128
}

/// exp, ln, pow, sqrt, norm_cdf, norm_inv and bs_delta, each against solmath's.
fn transcendental(k: &mut KernelBench) {
    k.unary(
        "exp",
        (K::Exp, K::SolExp),
        &["-10", "-1", "0.5", "3", "20"],
        f,
    );
    let ls = ["0.000001", "0.01", "0.9", "1.5", "1000"];
    k.unary("ln", (K::Ln, K::SolLn), &ls, f);
    let ps = [
        ("0.01", "0.5"),
        ("1.5", "2.5"),
        ("1000", "0.37"),
        ("0.8", "4"),
    ];
    k.row(
        "pow",
        ps.iter().map(|(x, y)| (K::Pow, vec![f(x), f(y)])).collect(),
        ps.iter()
            .map(|(x, y)| {
                (
                    K::SolPow,
                    vec![e12(x.parse().unwrap()), e12(y.parse().unwrap())],
                )
            })
            .collect(),
    );
    let ss = ["0.000001", "2", "12345.678", "1000000000"];
    k.unary("sqrt", (K::Sqrt, K::SolSqrt), &ss, f);
    let cs = ["-6", "-1", "0.25", "2.5"];
    k.unary("norm_cdf", (K::NormCdf, K::SolNormCdf), &cs, f);
    let qs = ["0.000000001", "0.01", "0.3", "0.9"];
    k.unary("norm_inv", (K::NormInv, K::SolNormInv), &qs, prob);
    bs_delta(k);
}

fn bs_delta(k: &mut KernelBench) {
    let bs = [
        ("100", "100", "0.8", "0.25"),
        ("80", "100", "0.8", "0.5"),
        ("130", "100", "0.5", "0.0821917808"),
    ];
    let theirs = |(s, strike, v, t): &(&str, &str, &str, &str)| {
        let e = |x: &str| e12(x.parse().unwrap());
        (K::SolBsDelta, vec![e(s), e(strike), e(v), e(t)])
    };
    k.row(
        "bs_delta",
        bs.iter()
            .map(|(s, strike, v, t)| (K::BsDelta, vec![f(s), f(strike), f(v), f(t)]))
            .collect(),
        bs.iter().map(theirs).collect(),
    );
}

/// D8X's q and the weighted pool's out_given_in (no solmath counterpart).
fn pricing(k: &mut KernelBench) {
    k.row(
        "d8x q",
        vec![
            (
                K::D8xQ,
                vec![f("11"), f("1100"), f("100"), f("100"), f("0.05")],
            ),
            (
                K::D8xQ,
                vec![f("-5"), f("-500"), f("100"), f("100"), f("0.05")],
            ),
        ],
        vec![],
    );
    // the insurance values a fill's charge is the difference of (it evaluates two)
    k.row(
        "insurance value, a market's book (lognormal)",
        vec![
            (K::LognormalBookValue, vec![f("1100"), f("100"), f("0.05")]),
            (K::LognormalBookValue, vec![f("-500"), f("100"), f("0.05")]),
            (
                K::LognormalBookValue,
                vec![f("30000"), f("1000"), f("0.05")],
            ),
        ],
        vec![],
    );
    k.row(
        "insurance value, the pool's book (Gaussian)",
        vec![
            (K::GaussianBookValue, vec![f("2000"), f("900")]),
            (K::GaussianBookValue, vec![f("10000"), f("4930")]),
            (K::GaussianBookValue, vec![f("5000000"), f("100")]),
        ],
        vec![],
    );
    k.row(
        "weighted out_given_in",
        vec![(
            K::WeightedOut,
            vec![
                1_000_000_000_000,
                f("0.8"),
                1_000_000_000_000,
                f("0.2"),
                10_000_000_000,
            ],
        )],
        vec![],
    );
}

/// Market hours (issue #20): a schedule check, as every fill on a scheduled market makes twice
/// (now, and the print's time) and LP valuation once per schedule; and the gap allowance a
/// closed market's mark adds.
fn market_hours(k: &mut KernelBench) {
    // Friday 2026-12-04 15:00 UTC (winter) and Wednesday 2026-07-15 12:00 UTC (summer)
    let (winter, summer) = (1_796_396_400, 1_784_116_800);
    k.row(
        "schedule check, FX week (New York)",
        vec![
            (K::MarketOpen, vec![1, winter]),
            (K::MarketOpen, vec![1, summer]),
        ],
        vec![],
    );
    k.row(
        "schedule check, CME days (5 sessions)",
        vec![
            (K::MarketOpen, vec![5, winter]),
            (K::MarketOpen, vec![5, summer]),
        ],
        vec![],
    );
    // a holiday on Tuesday 2026-12-08 from 12:00 UTC for two days; Saturday noon and the
    // holiday's second hour closed; 11:30 on the Tuesday in the hour before it
    let (start, end) = (1_796_731_200, 1_796_731_200 + 172_800);
    k.row(
        "closed since, FX (weekend; a holiday)",
        vec![
            (K::ClosedSince, vec![1_796_472_000, start, end]),
            (K::ClosedSince, vec![start + 3_600, start, end]),
        ],
        vec![],
    );
    k.row(
        "long close within the hour, FX (a holiday; Friday)",
        vec![
            (K::LongCloseAhead, vec![start - 1_800, start, end]),
            (K::LongCloseAhead, vec![1_796_419_800, start, end]),
        ],
        vec![],
    );
    k.row(
        "gap allowance, 3σ over 2 days",
        vec![(K::GapAllowance, vec![108_000_000, 5_500_000, 300, 172_800])],
        vec![],
    );
}

/// Profiling primitives (operands > 2^64 so the u128 paths do full work).
fn primitives(k: &mut KernelBench) {
    k.row(
        "mul_q64 (256-bit product)",
        vec![(K::MulQ64, vec![f("12345.678"), f("-9.87654321")])],
        vec![],
    );
    k.row(
        "u128 multiply",
        vec![(K::MulU128, vec![f("12345.678"), f("9.87654321")])],
        vec![],
    );
    k.row(
        "harness: reading one argument",
        vec![(K::ArgOnly, vec![f("2.5")])],
        vec![],
    );
    k.row(
        "64x64 high word, 32-bit limbs",
        vec![(
            K::MulHiLimbs,
            vec![0x9e37_79b9_7f4a_7c15, 0xbf58_476d_1ce4_e5b9],
        )],
        vec![],
    );
}

/// The Imbalance Score at 8, 16 and 32 markets, in fixed point and in the program's integer form.
fn imbalance(k: &mut KernelBench) {
    for n in [8usize, 16, 32] {
        let mut args = vec![n as i128];
        args.extend(
            (0..n).map(|i| Fix::from_num(1_000_000 * (i as i64 % 5 - 2) + 12_345).to_bits()),
        );
        k.row(
            &format!("imbalance score n={n}"),
            vec![(K::Imbalance, args)],
            vec![],
        );
        // the program's exact integer form: K in 10^-3 USD, up to ±$2M of one-day σ
        let mut args = vec![n as i128];
        args.extend((0..n).map(|i| 1_000_000_000 * (i as i128 % 5 - 2) + 12_345));
        k.row(
            &format!("imbalance score n={n}, integer book"),
            vec![(K::ImbalanceBook, args)],
            vec![],
        );
    }
}
