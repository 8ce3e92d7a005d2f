//! The printed output: the math-kernel table, the two instruction tables (instruction,
//! scenario, CU, budget) and the smoke verdict.

use crate::kernel::KernelRow;

/// One measured transaction: its instruction, scenario, CU (None if it failed) and budget.
pub struct Row {
    pub instruction: &'static str,
    pub scenario: String,
    pub cu: Option<u64>,
    pub budget: Option<u64>,
    pub note: String,
}

/// The kernels with a CU budget.
const KERNEL_BUDGETS: [(&str, u64); 6] = [
    ("exp", 700),
    ("ln", 450),
    ("pow", 1_800),
    ("norm_cdf", 700),
    ("imbalance score n=32", 40_000),
    ("imbalance score n=32, integer book", 40_000),
];

/// The kernel table's title and header, printed before the kernels run.
pub fn print_kernel_header() {
    println!(
        "math kernels, CU per call on SBF (same harness and build; min–max over the inputs)\n"
    );
    println!("| kernel | keel-math CU | solmath 0.2.0 CU | budget |");
    println!("|---|---:|---:|---:|");
}

/// The kernel table's rows and the blank line after it.
pub fn print_kernel_rows(rows: &[KernelRow]) {
    for (name, ours, theirs) in rows {
        let budget = KERNEL_BUDGETS
            .iter()
            .find(|(k, _)| k == name)
            .map_or(String::new(), |(_, b)| format!("≤ {b}"));
        println!("| {name} | {} | {} | {budget} |", span(ours), span(theirs));
    }
    println!();
}

/// Both programs' instruction tables.
pub fn print_instruction_tables(perp: &[Row], crp: &[Row]) {
    println!("perp-amm compute units (SBF build, litesvm 0.16, token CPIs through p-token)\n");
    print_rows(perp);
    println!("\ncollateral-pool compute units (same build and harness)\n");
    print_rows(crp);
}

/// The smoke verdict; false (after listing them on stderr) if anything failed.
pub fn print_smoke(failures: &[String]) -> bool {
    if failures.is_empty() {
        println!(
            "\nsmoke: every instruction of both programs ran on the SBF build and the vaults equal the pools' accounting"
        );
        true
    } else {
        eprintln!("\nsmoke FAILED:");
        for f in failures {
            eprintln!("  {f}");
        }
        false
    }
}

fn print_rows(rows: &[Row]) {
    println!("| instruction | scenario | CU | budget | |");
    println!("|---|---|---:|---:|---|");
    for r in rows {
        let cu = r.cu.map_or("–".into(), |c| c.to_string());
        let budget = r.budget.map_or(String::new(), |x| format!("≤ {x}"));
        let verdict = match (r.cu, r.budget) {
            (Some(c), Some(x)) if c <= x => "within",
            (Some(c), Some(_)) if c > 200_000 => "OVER, and over the default 200k limit",
            (Some(_), Some(_)) => "OVER",
            _ => r.note.as_str(),
        };
        println!(
            "| {} | {} | {cu} | {budget} | {verdict} |",
            r.instruction, r.scenario
        );
    }
}

/// min–max of a kernel's CU over its inputs.
fn span(v: &[u64]) -> String {
    match (v.iter().min(), v.iter().max()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "–".into(),
    }
}
