//! The risk model: σ and R published in pieces, committed after validation, and every bad
//! update refused with its own error and nothing changed.

use anchor_lang::prelude::Pubkey;
use keel::risk::{cholesky_certificate, corr_full_from_upper, corr_upper_e9};
use keel_tests::fixture::{E9, PerpFixture, loose_limits};
use keel_tests::{TestContext, TxError, assert_code, ix, perp};
use perp_amm::errors::PerpError;
use perp_amm::instructions::{InitRiskModelArgs, RiskLimits};
use perp_amm::state::RiskModel;
use solana_keypair::Keypair;
use solana_signer::Signer;

struct RiskWorld {
    t: TestContext,
    f: PerpFixture,
    publisher: Keypair,
    model: Pubkey,
}

/// Three markets (the article's BTC/ETH pair plus an FX market) and a risk model whose
/// publisher may move σ by 20 % and ρ by 0.1 per commit. These tests check each commit's own
/// validation, so the pool authority lifts the default interval and window (their own tests:
/// `imbalance::chained_commits_cannot_walk_the_risk_model`, `risk_bounds_bad_inputs_change_nothing`).
async fn world() -> RiskWorld {
    let mut t = TestContext::new().await;
    let mut f = PerpFixture::new(&mut t, &[100.0, 2_000.0, 1.1]).await;
    let publisher = f.init_risk_model(&mut t, loose_limits()).await;
    let admin = t.admin.insecure_clone();
    let unbounded = perp_amm::instructions::RiskBoundsArgs {
        min_commit_interval_secs: 0,
        window_secs: 0,
        max_sigma_window_bps: 0,
        max_corr_window_e9: 0,
        sigma_min_e9: [0; 32],
        sigma_max_e9: [0; 32],
    };
    t.send(
        &[ix::set_risk_bounds(&admin.pubkey(), &f.pool, unbounded)],
        &[&admin],
    )
    .await
    .unwrap();
    let model = ix::risk_model_pda(&f.pool);
    RiskWorld {
        t,
        f,
        publisher,
        model,
    }
}

fn init_args(publisher: &Keypair) -> InitRiskModelArgs {
    InitRiskModelArgs {
        risk_authority: publisher.pubkey(),
        max_sigma_step_bps: 2_000,
        max_corr_step_e9: 100_000_000,
        psd_tolerance_e9: 1_000,
        limits: loose_limits(),
    }
}

/// σ (1e9) and R's off-diagonal (ρ01, ρ02, ρ12) for the three markets.
const SIGMA: [u64; 3] = [40_000_000, 50_000_000, 5_000_000];
const RHO: [f64; 3] = [0.89, 0.1, -0.05];

fn full(rho: [f64; 3]) -> Vec<f64> {
    vec![
        1.0, rho[0], rho[1], //
        rho[0], 1.0, rho[2], //
        rho[1], rho[2], 1.0,
    ]
}

impl RiskWorld {
    async fn stage(&mut self, sigma: &[u64], upper: &[i32], lower: &[i32]) {
        let writes =
            ix::stage_risk_writes(&self.publisher.pubkey(), &self.f.pool, sigma, upper, lower)
                .unwrap();
        let publisher = self.publisher.insecure_clone();
        for w in writes {
            self.t.send(&[w], &[&publisher]).await.unwrap();
        }
    }

    /// Stage σ and ρ with their own certificate.
    async fn stage_model(&mut self, sigma: &[u64], rho: [f64; 3]) {
        let upper = corr_upper_e9(&full(rho), 3);
        let lower = cholesky_certificate(&corr_full_from_upper(&upper, 3), 3).unwrap();
        self.stage(sigma, &upper, &lower).await;
    }

    async fn commit(&mut self, as_of: i64) -> Result<(), TxError> {
        let publisher = self.publisher.insecure_clone();
        self.t
            .send(
                &[ix::commit_risk(&publisher.pubkey(), &self.f.pool, as_of)],
                &[&publisher],
            )
            .await
    }

    async fn model(&mut self) -> RiskModel {
        let data = self.t.account_data(&self.model).await.unwrap();
        bytemuck::pod_read_unaligned(&data[8..8 + core::mem::size_of::<RiskModel>()])
    }

    /// A commit that must fail with `code` and leave the model as it was.
    async fn commit_rejected(&mut self, as_of: i64, code: PerpError) {
        let keys = [self.model, self.f.pool];
        let before = self.t.snapshot(&keys).await;
        let r = self.commit(as_of).await;
        assert_code(r, perp(code));
        assert!(
            before == self.t.snapshot(&keys).await,
            "a rejected commit changed state"
        );
    }
}

#[tokio::test]
async fn publish_and_update() {
    let mut w = world().await;
    let now = w.t.now;
    assert_eq!(
        w.model().await.market_count,
        0,
        "no parameters before a commit"
    );
    w.stage_model(&SIGMA, RHO).await;
    w.commit(now - 60).await.unwrap();
    let m = w.model().await;
    assert_eq!(
        (m.market_count, m.as_of, m.committed_at),
        (3, now - 60, now)
    );
    let (sigma, corr) = m.covered();
    assert_eq!(sigma, &SIGMA[..]);
    assert_eq!(corr, &[890_000_000, 100_000_000, -50_000_000][..]);

    // a bounded move a day later: σ +20 %, ρ01 −0.1
    w.t.advance(86_400);
    let sigma = [48_000_000, 50_000_000, 5_000_000];
    w.stage_model(&sigma, [0.79, 0.1, -0.05]).await;
    w.commit(now + 86_000).await.unwrap();
    let m = w.model().await;
    assert_eq!(m.covered().0, &sigma[..]);
    assert_eq!(m.covered().1[0], 790_000_000);

    // a fourth market joins: its σ and ρ are new (unbounded), the first three still are bounded
    w.f.add_market(&mut w.t, 50.0, keel_tests::fixture::default_params())
        .await;
    let four = |rho01: f64| {
        let full = [
            1.0, rho01, 0.1, 0.3, //
            rho01, 1.0, -0.05, 0.2, //
            0.1, -0.05, 1.0, -0.4, //
            0.3, 0.2, -0.4, 1.0,
        ];
        let upper = corr_upper_e9(&full, 4);
        let lower = cholesky_certificate(&corr_full_from_upper(&upper, 4), 4).unwrap();
        (upper, lower)
    };
    let sigma4 = [48_000_000, 50_000_000, 5_000_000, 90_000_000];
    let (upper, lower) = four(0.60); // ρ01 0.79 → 0.60: past the 0.1 step
    w.stage(&sigma4, &upper, &lower).await;
    w.commit_rejected(now + 86_300, PerpError::RiskStepTooLarge)
        .await;
    let (upper, lower) = four(0.75);
    w.stage(&sigma4, &upper, &lower).await;
    w.commit(now + 86_300).await.unwrap();
    let m = w.model().await;
    assert_eq!(m.market_count, 4);
    assert_eq!(m.covered().0, &sigma4[..]);
    assert_eq!(m.covered().1, &upper[..]);
}

#[tokio::test]
async fn bad_updates_are_refused() {
    let mut w = world().await;
    let now = w.t.now;

    // σ out of range: zero, and above 500 %
    w.stage_model(&[0, 50_000_000, 5_000_000], RHO).await;
    w.commit_rejected(now, PerpError::RiskSigma).await;
    w.stage_model(&[40_000_000, 5 * E9 + 1, 5_000_000], RHO)
        .await;
    w.commit_rejected(now, PerpError::RiskSigma).await;

    // |ρ| > 1 (the certificate cannot be right either; the range is checked first)
    let mut upper = corr_upper_e9(&full(RHO), 3);
    let lower = cholesky_certificate(&corr_full_from_upper(&upper, 3), 3).unwrap();
    upper[0] = 1_000_000_001;
    w.stage(&SIGMA, &upper, &lower).await;
    w.commit_rejected(now, PerpError::RiskCorrelation).await;

    // not positive semi-definite: ρ = (0.9, −0.9, 0.9), with the certificate of a valid R
    let bad = corr_upper_e9(&full([0.9, -0.9, 0.9]), 3);
    w.stage(&SIGMA, &bad, &lower).await;
    w.commit_rejected(now, PerpError::RiskNotPositiveSemidefinite)
        .await;
    // a valid R with a certificate that does not factor it
    let good = corr_upper_e9(&full([0.5, 0.1, -0.05]), 3);
    w.stage(&SIGMA, &good, &lower).await;
    w.commit_rejected(now, PerpError::RiskNotPositiveSemidefinite)
        .await;

    // data time in the future, then a good first commit, then one that is not newer
    w.stage_model(&SIGMA, RHO).await;
    w.commit_rejected(now + 1, PerpError::RiskStale).await;
    w.commit(now - 60).await.unwrap();
    w.commit_rejected(now - 60, PerpError::RiskStale).await;

    // steps beyond the model's bounds: σ +25 %, ρ −0.2
    w.stage_model(&[50_000_000, 50_000_000, 5_000_000], RHO)
        .await;
    w.commit_rejected(now, PerpError::RiskStepTooLarge).await;
    w.stage_model(&SIGMA, [0.69, 0.1, -0.05]).await;
    w.commit_rejected(now, PerpError::RiskStepTooLarge).await;
    assert_eq!(w.model().await.as_of, now - 60, "the first commit stands");
}

#[tokio::test]
async fn only_the_publisher_writes_and_within_the_staging_area() {
    let mut w = world().await;
    let intruder = Keypair::new();
    let pool = w.f.pool;
    let keys = [w.model];
    let before = w.t.snapshot(&keys).await;
    let r =
        w.t.send(
            &[ix::stage_risk(&intruder.pubkey(), &pool, 0, vec![1; 8])],
            &[&intruder],
        )
        .await;
    assert_code(r, perp(PerpError::NotRiskAuthority));
    let r =
        w.t.send(
            &[ix::commit_risk(&intruder.pubkey(), &pool, 1)],
            &[&intruder],
        )
        .await;
    assert_code(r, perp(PerpError::NotRiskAuthority));
    let publisher = w.publisher.insecure_clone();
    let size = core::mem::size_of::<perp_amm::state::StagedRisk>() as u32;
    for (offset, len) in [(size - 4, 8), (u32::MAX - 2, 8)] {
        let r =
            w.t.send(
                &[ix::stage_risk(
                    &publisher.pubkey(),
                    &pool,
                    offset,
                    vec![1; len],
                )],
                &[&publisher],
            )
            .await;
        assert_code(r, perp(PerpError::RiskStageOutOfRange));
    }
    let r =
        w.t.send(
            &[ix::stage_risk(&publisher.pubkey(), &pool, 0, vec![])],
            &[&publisher],
        )
        .await;
    assert_code(r, perp(PerpError::ZeroAmount));
    assert!(before == w.t.snapshot(&keys).await);
}

#[tokio::test]
async fn init_risk_model_bad_inputs() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let admin = t.admin.insecure_clone();
    let intruder = Keypair::new();
    t.airdrop(&intruder.pubkey(), 1_000_000_000).await;
    let publisher = Keypair::new();
    let r = t
        .send(
            &[ix::init_risk_model(
                &intruder.pubkey(),
                &f.pool,
                init_args(&publisher),
            )],
            &[&intruder],
        )
        .await;
    assert_code(r, perp(PerpError::Unauthorized));
    for bad in [
        InitRiskModelArgs {
            max_sigma_step_bps: 0,
            ..init_args(&publisher)
        },
        InitRiskModelArgs {
            max_corr_step_e9: 0,
            ..init_args(&publisher)
        },
        InitRiskModelArgs {
            psd_tolerance_e9: 1_000_001,
            ..init_args(&publisher)
        },
        InitRiskModelArgs {
            limits: RiskLimits {
                max_imbalance_bps: 0,
                ..loose_limits()
            },
            ..init_args(&publisher)
        },
        InitRiskModelArgs {
            limits: RiskLimits {
                premium_mode: 2,
                ..loose_limits()
            },
            ..init_args(&publisher)
        },
        InitRiskModelArgs {
            limits: RiskLimits {
                premium_horizon_secs: 3_599,
                ..loose_limits()
            },
            ..init_args(&publisher)
        },
    ] {
        let r = t
            .send(
                &[ix::init_risk_model(&admin.pubkey(), &f.pool, bad)],
                &[&admin],
            )
            .await;
        assert_code(r, perp(PerpError::InvalidParameter));
    }
    assert!(t.account_data(&ix::risk_model_pda(&f.pool)).await.is_none());
    assert_eq!(t.pool(&f.pool).await.risk.model, Pubkey::default());
}

/// The risk keeper's path end to end: `keel risk estimate` over `date,close` files, its
/// integers staged and committed through the client, and the model holding exactly them.
#[tokio::test]
async fn the_keepers_estimate_is_published_as_computed() {
    use keel::{commands::risk::EstimateArgs, commands::risk::run_estimate, risk::Join};
    let dir = std::env::temp_dir().join(format!("keel-publish-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        ("BTC", "100,104,101,107,103,110,108,115"),
        ("ETH", "20,21,20.1,21.6,20.5,22.3,21.5,23.4"),
        ("EUR", "1.10,1.101,1.103,1.100,1.104,1.102,1.099,1.101"),
    ];
    for (name, closes) in files {
        let mut text = String::from("date,close\n");
        for (d, c) in closes.split(',').enumerate() {
            text.push_str(&format!("2024-01-{:02},{c}\n", d + 2));
        }
        std::fs::write(dir.join(format!("{name}.csv")), text).unwrap();
    }
    let report = run_estimate(&EstimateArgs {
        prices: dir.clone(),
        markets: files.iter().map(|(n, _)| n.to_string()).collect(),
        from: None,
        to: None,
        interval: 1,
        join: Join::Common,
    })
    .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(report.psd_certified);
    assert!(
        report.estimate.corr[1] > 0.9,
        "BTC and ETH move together here"
    );

    let mut w = world().await;
    let publisher = w.publisher.insecure_clone();
    let now = w.t.now;
    w.f.publish_risk(
        &mut w.t,
        &publisher,
        &report.sigma_e9,
        &report.corr_upper_e9,
        now,
    )
    .await
    .unwrap();
    let m = w.model().await;
    assert_eq!(m.covered().0, &report.sigma_e9[..]);
    assert_eq!(m.covered().1, &report.corr_upper_e9[..]);
    assert_eq!(m.as_of, now);
}
