//! `keel study premium` (issue #19): D8X's Figure 1 with the closed form checked by Monte Carlo,
//! the crossing trade split at k*, and the portfolio hedge split at the IS-minimising size.

use keel::studies::premium::{PremiumArgs, run_premium};

#[test]
fn the_premium_study_checks_its_closed_form_and_writes_its_files() {
    let out = std::env::temp_dir().join(format!("keel-study-premium-{}", std::process::id()));
    let args = PremiumArgs {
        out: out.clone(),
        sigma: 0.05,
        max_ratio: 60.0,
        // the study's defaults: fewer paths leave the far tail's rare defaults too few hits for
        // their standard error to mean much
        paths: 200_000,
        seed: 2024,
    };
    let s = run_premium(&args).unwrap();
    assert_eq!(s.figure.len(), 120);
    // the closed form within 4 standard errors of the simulation at every one of the 120 points
    assert!(s.worst_z < 4.0, "worst |z| {}", s.worst_z);
    for p in &s.figure {
        // per unit of notional the insurance value is within [0, 1], and Keel's price of the
        // last unit is a probability
        assert!(p.exact >= 0.0 && p.exact <= 1.0, "{p:?}");
        assert!((0.0..=1.0).contains(&p.marginal), "{p:?}");
    }
    // the crossing trade: a new position is charged max(charge, 0), never rebated
    for r in &s.crossing {
        assert_eq!(r.new_position, r.charge.max(0.0));
    }
    // the hedge: D8X's split pays a rebate up to the minimum, then charges beyond it; at twice
    // the minimum IS is back where it started and the insurance charge is nil
    let first = &s.hedge[0];
    assert!(first.digital < 0.0 && first.charge < 0.0, "{first:?}");
    let last = s.hedge.last().unwrap();
    assert!((last.share_of_minimum - 2.0).abs() < 1e-9);
    assert!(last.charge.abs() < 1e-6, "{last:?}");
    assert!(last.digital > 0.0, "{last:?}");
    for f in ["figure1.svg", "premium.md"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(!text.is_empty(), "{f}");
    }
}
