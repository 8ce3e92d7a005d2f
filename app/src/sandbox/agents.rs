//! Agent traders with simple strategies. Each agent trades a few markets, looks at the replay's
//! past closes only, and wants to be long, short or flat; the sandbox turns a change of mind
//! into a close and an open at the agent's leverage.

use rand::Rng;

use crate::sandbox::world::Actor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Long after a rise over `lookback` days, short after a fall.
    Trend { lookback: usize },
    /// The opposite: fade the last `lookback` days' move.
    Contrarian { lookback: usize },
    /// Flips a coin now and then.
    Noise { flip_percent: u32 },
}

impl Strategy {
    pub fn name(&self) -> String {
        match self {
            Strategy::Trend { lookback } => format!("trend-{lookback}d"),
            Strategy::Contrarian { lookback } => format!("contrarian-{lookback}d"),
            Strategy::Noise { .. } => "noise".into(),
        }
    }
}

pub struct Agent {
    pub actor: Actor,
    pub strategy: Strategy,
    /// Market indices traded.
    pub markets: Vec<usize>,
    /// Notional per position, whole quote tokens.
    pub notional: f64,
    pub leverage: f64,
    /// Trades every `period` days (on its own phase).
    pub period: usize,
    /// The side the agent holds per traded market: +1, −1 or 0 (kept in step with the chain).
    pub sides: Vec<i8>,
}

impl Agent {
    /// The side wanted on `markets[k]` after day `t` of `history` (closes per day).
    pub fn wanted(
        &self,
        k: usize,
        history: &[[f64; 10]],
        t: usize,
        rng: &mut impl Rng,
    ) -> Option<i8> {
        if !(t + k).is_multiple_of(self.period) {
            return None;
        }
        let m = self.markets[k];
        let change = |lookback: usize| -> Option<f64> {
            (t >= lookback).then(|| history[t][m] / history[t - lookback][m] - 1.0)
        };
        match self.strategy {
            Strategy::Trend { lookback } => change(lookback).map(|c| if c > 0.0 { 1 } else { -1 }),
            Strategy::Contrarian { lookback } => {
                change(lookback).map(|c| if c > 0.0 { -1 } else { 1 })
            }
            Strategy::Noise { flip_percent } => {
                let current = self.sides[k];
                if current == 0 || rng.random_range(0..100) < flip_percent {
                    Some(if rng.random_bool(0.5) { 1 } else { -1 })
                } else {
                    Some(current)
                }
            }
        }
    }
}

/// The default cast: four trend followers, three contrarians and three noise traders at
/// leverage from 3x to 15x, each on four markets. `funded(name)` makes the chain account.
pub fn cast(
    mut funded: impl FnMut(&str) -> anyhow::Result<Actor>,
    markets: usize,
) -> anyhow::Result<Vec<Agent>> {
    let specs: [(Strategy, f64, f64, usize); 10] = [
        (Strategy::Trend { lookback: 20 }, 250_000.0, 5.0, 3),
        (Strategy::Trend { lookback: 10 }, 150_000.0, 10.0, 2),
        (Strategy::Trend { lookback: 40 }, 300_000.0, 3.0, 5),
        (Strategy::Trend { lookback: 5 }, 100_000.0, 15.0, 1),
        (Strategy::Contrarian { lookback: 5 }, 200_000.0, 8.0, 2),
        (Strategy::Contrarian { lookback: 3 }, 100_000.0, 12.0, 1),
        (Strategy::Contrarian { lookback: 15 }, 250_000.0, 4.0, 4),
        (Strategy::Noise { flip_percent: 20 }, 80_000.0, 15.0, 1),
        (Strategy::Noise { flip_percent: 10 }, 120_000.0, 12.0, 3),
        (Strategy::Noise { flip_percent: 30 }, 60_000.0, 6.0, 2),
    ];
    specs
        .iter()
        .enumerate()
        .map(|(i, &(strategy, notional, leverage, period))| {
            let name = format!("{}#{i}", strategy.name());
            let traded: Vec<usize> = (0..4).map(|k| (i + 3 * k) % markets).collect();
            Ok(Agent {
                actor: funded(&name)?,
                strategy,
                sides: vec![0; traded.len()],
                markets: traded,
                notional,
                leverage,
                period,
            })
        })
        .collect()
}

/// The arbitrageur D8X expects: it takes the side that reduces a market's skew when doing so
/// is paid or free, and leaves when leaving is. Each day, in every market: with no position,
/// when the book's net open interest is worth more than 1 % of LP capital, it quotes an open of
/// half the skew (at most `max_notional`, 5x) against it, and opens if the quote charges no
/// premium; holding one, it quotes its close and closes when that is refunded or free (the skew
/// turned its way), or after `max_days` whatever it costs. Its fills are logged under its name,
/// so the report shows what rebates paid it.
pub struct RebateHunter {
    pub actor: Actor,
    /// Per market: the day it opened, while it holds a position.
    pub opened: Vec<Option<usize>>,
    pub max_notional: f64,
    pub max_days: usize,
}

impl RebateHunter {
    pub const NAME: &'static str = "rebate-hunter";

    pub fn new(actor: Actor, markets: usize) -> Self {
        RebateHunter {
            actor,
            opened: vec![None; markets],
            max_notional: 1_000_000.0,
            max_days: 20,
        }
    }
}
