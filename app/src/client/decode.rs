//! Account decoders for both programs: each checks the discriminator and reads the account as
//! the program lays it out (zero-copy accounts byte for byte, Borsh accounts through Anchor).

use anchor_lang::{AccountDeserialize, Discriminator};
use collateral_pool::state::CrpPool;
use perp_amm::state::{Market, Pool, Position, RiskModel};

fn zero_copy<T: bytemuck::Pod + Discriminator>(data: &[u8], what: &str) -> anyhow::Result<T> {
    let size = core::mem::size_of::<T>();
    anyhow::ensure!(
        data.len() >= 8 + size && &data[..8] == T::DISCRIMINATOR,
        "not a {what} account"
    );
    Ok(bytemuck::pod_read_unaligned(&data[8..8 + size]))
}

/// A perp pool (zero-copy).
pub fn perp_pool(data: &[u8]) -> anyhow::Result<Pool> {
    zero_copy(data, "perp pool")
}

/// A collateral rebalancing pool (zero-copy).
pub fn crp_pool(data: &[u8]) -> anyhow::Result<CrpPool> {
    zero_copy(data, "collateral pool")
}

pub fn market(data: &[u8]) -> anyhow::Result<Market> {
    Market::try_deserialize(&mut &data[..]).map_err(|e| anyhow::anyhow!("not a market: {e}"))
}

pub fn market_change(data: &[u8]) -> anyhow::Result<perp_amm::state::MarketChange> {
    perp_amm::state::MarketChange::try_deserialize(&mut &data[..])
        .map_err(|e| anyhow::anyhow!("not a market change: {e}"))
}

pub fn position(data: &[u8]) -> anyhow::Result<Position> {
    Position::try_deserialize(&mut &data[..]).map_err(|e| anyhow::anyhow!("not a position: {e}"))
}

/// A pool's market-hours calendar (zero-copy, ~5 KB: boxed).
pub fn calendar(data: &[u8]) -> anyhow::Result<Box<perp_amm::state::Calendar>> {
    zero_copy(data, "calendar").map(Box::new)
}

/// A pool's risk model (zero-copy, ~7 KB: boxed).
pub fn risk_model(data: &[u8]) -> anyhow::Result<Box<RiskModel>> {
    zero_copy(data, "risk model").map(Box::new)
}

/// A market's symbol, as text (the account pads it with zeros).
pub fn symbol(market: &Market) -> String {
    String::from_utf8_lossy(&market.symbol)
        .trim_end_matches('\0')
        .to_string()
}

/// A pending request (Borsh).
pub fn request(data: &[u8]) -> anyhow::Result<perp_amm::state::Request> {
    perp_amm::state::Request::try_deserialize(&mut &data[..])
        .map_err(|e| anyhow::anyhow!("not a request account: {e}"))
}

/// The Anchor events of type `E` in a transaction's log messages (`Program data:` lines).
pub fn events<E>(logs: &[String]) -> Vec<E>
where
    E: anchor_lang::Event + anchor_lang::AnchorDeserialize,
{
    use base64::Engine;
    logs.iter()
        .filter_map(|line| line.strip_prefix("Program data: "))
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter(|bytes| bytes.len() >= 8 && &bytes[..8] == E::DISCRIMINATOR)
        .filter_map(|bytes| E::deserialize(&mut &bytes[8..]).ok())
        .collect()
}
