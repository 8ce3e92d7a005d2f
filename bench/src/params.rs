//! The parameters the bench runs with: the client's presets (the ones the program tests use), so
//! the figures cost the configuration the tests check.

use collateral_pool::state::CrpParams;
use perp_amm::state::MarketParams;

use crate::harness::E9;

/// Every market's parameters (`add_market` and the n = 1 `update_market`): the reference market
/// with a 0.01 % half-spread, so that the spread's arithmetic is costed too.
pub fn market_params() -> MarketParams {
    MarketParams {
        half_spread_e9: E9 / 10_000,
        ..keel::client::presets::reference_market_params()
    }
}

/// The collateral pool's parameters: strike 100, the push oracle's opening price.
pub fn crp_params() -> CrpParams {
    keel::client::presets::crp_params(100.0)
}
