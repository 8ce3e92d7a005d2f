//! The math-kernel costing: each keel-math kernel (and solmath's counterpart) run through the
//! math-bench program on its SBF build.

use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::harness::{E9, Instruction, key};

/// A kernel's name and its CU over the inputs: keel-math's, then solmath's (empty if none).
pub type KernelRow = (String, Vec<u64>, Vec<u64>);

/// Per-kernel CU: each kernel's transaction minus a no-op carrying the same arguments.
pub fn kernels(so: &[u8]) -> Vec<KernelRow> {
    use keel_math::Fix;
    use math_bench::Kernel as K;
    let mut svm = litesvm::LiteSVM::new();
    svm.add_program(math_bench::ID, so)
        .expect("load math_bench.so");
    let payer = key(&mut 200);
    svm.airdrop(&payer.pubkey(), 1_000 * E9).unwrap();
    let mut run = |kernel: K, args: Vec<i128>| -> u64 {
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
                &[&payer],
                Message::new(&[ix], Some(&payer.pubkey())),
                svm.latest_blockhash(),
            );
            let meta = svm
                .send_transaction(tx)
                .unwrap_or_else(|e| panic!("{kernel:?} {args:?}: {:?} {:?}", e.err, e.meta.logs));
            svm.expire_blockhash();
            cu[slot] = meta.compute_units_consumed;
        }
        cu[1] - cu[0]
    };
    let f = |v: &str| v.parse::<Fix>().unwrap().to_bits();
    let e12 = |v: f64| (v * 1e12).round() as i128;
    let prob = |v: &str| v.parse::<keel_math::Prob>().unwrap().to_bits() as i128;
    let mut rows = vec![];
    let mut row = |name: &str, ours: Vec<(K, Vec<i128>)>, theirs: Vec<(K, Vec<i128>)>| {
        let a: Vec<u64> = ours.into_iter().map(|(k, v)| run(k, v)).collect();
        let b: Vec<u64> = theirs.into_iter().map(|(k, v)| run(k, v)).collect();
        rows.push((name.to_string(), a, b));
    };
    let xs = ["-10", "-1", "0.5", "3", "20"];
    row(
        "exp",
        xs.iter().map(|x| (K::Exp, vec![f(x)])).collect(),
        xs.iter()
            .map(|x| (K::SolExp, vec![e12(x.parse().unwrap())]))
            .collect(),
    );
    let ls = ["0.000001", "0.01", "0.9", "1.5", "1000"];
    row(
        "ln",
        ls.iter().map(|x| (K::Ln, vec![f(x)])).collect(),
        ls.iter()
            .map(|x| (K::SolLn, vec![e12(x.parse().unwrap())]))
            .collect(),
    );
    let ps = [
        ("0.01", "0.5"),
        ("1.5", "2.5"),
        ("1000", "0.37"),
        ("0.8", "4"),
    ];
    row(
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
    row(
        "sqrt",
        ss.iter().map(|x| (K::Sqrt, vec![f(x)])).collect(),
        ss.iter()
            .map(|x| (K::SolSqrt, vec![e12(x.parse().unwrap())]))
            .collect(),
    );
    let cs = ["-6", "-1", "0.25", "2.5"];
    row(
        "norm_cdf",
        cs.iter().map(|x| (K::NormCdf, vec![f(x)])).collect(),
        cs.iter()
            .map(|x| (K::SolNormCdf, vec![e12(x.parse().unwrap())]))
            .collect(),
    );
    let qs = ["0.000000001", "0.01", "0.3", "0.9"];
    row(
        "norm_inv",
        qs.iter().map(|p| (K::NormInv, vec![prob(p)])).collect(),
        qs.iter()
            .map(|p| (K::SolNormInv, vec![e12(p.parse().unwrap())]))
            .collect(),
    );
    let bs = [
        ("100", "100", "0.8", "0.25"),
        ("80", "100", "0.8", "0.5"),
        ("130", "100", "0.5", "0.0821917808"),
    ];
    row(
        "bs_delta",
        bs.iter()
            .map(|(s, k, v, t)| (K::BsDelta, vec![f(s), f(k), f(v), f(t)]))
            .collect(),
        bs.iter()
            .map(|(s, k, v, t)| {
                (
                    K::SolBsDelta,
                    vec![
                        e12(s.parse().unwrap()),
                        e12(k.parse().unwrap()),
                        e12(v.parse().unwrap()),
                        e12(t.parse().unwrap()),
                    ],
                )
            })
            .collect(),
    );
    row(
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
    row(
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
    // profiling primitives (operands > 2^64 so the u128 paths do full work)
    row(
        "mul_q64 (256-bit product)",
        vec![(K::MulQ64, vec![f("12345.678"), f("-9.87654321")])],
        vec![],
    );
    row(
        "u128 multiply",
        vec![(K::MulU128, vec![f("12345.678"), f("9.87654321")])],
        vec![],
    );
    row(
        "harness: reading one argument",
        vec![(K::ArgOnly, vec![f("2.5")])],
        vec![],
    );
    row(
        "64x64 high word, 32-bit limbs",
        vec![(
            K::MulHiLimbs,
            vec![0x9e37_79b9_7f4a_7c15, 0xbf58_476d_1ce4_e5b9],
        )],
        vec![],
    );
    for n in [8usize, 16, 32] {
        let mut args = vec![n as i128];
        args.extend(
            (0..n).map(|i| Fix::from_num(1_000_000 * (i as i64 % 5 - 2) + 12_345).to_bits()),
        );
        row(
            &format!("imbalance score n={n}"),
            vec![(K::Imbalance, args)],
            vec![],
        );
        // the program's exact integer form: K in 10^-3 USD, up to ±$2M of one-day σ
        let mut args = vec![n as i128];
        args.extend((0..n).map(|i| 1_000_000_000 * (i as i128 % 5 - 2) + 12_345));
        row(
            &format!("imbalance score n={n}, integer book"),
            vec![(K::ImbalanceBook, args)],
            vec![],
        );
    }
    rows
}
