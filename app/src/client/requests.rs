//! Requests over a transport: a free slot for a new one, the pending ones of a pool, the
//! instruction that executes or clears one, and waiting for one to be executed.

use anchor_lang::Discriminator;
use anchor_lang::prelude::Pubkey;
use perp_amm::constants::MAX_REQUESTS_PER_OWNER;
use perp_amm::events::RequestEvent;
use perp_amm::state::{Pool, Request, RequestKind};
use solana_instruction::Instruction;

use crate::client::{decode, perp as ix};
use crate::transport::Transport;

/// The first request slot `owner` has free in `pool`.
pub fn free_slot(t: &mut dyn Transport, pool: &Pubkey, owner: &Pubkey) -> anyhow::Result<u8> {
    for slot in 0..MAX_REQUESTS_PER_OWNER {
        if t.account(&ix::request_pda(pool, owner, slot))?.is_none() {
            return Ok(slot);
        }
    }
    anyhow::bail!(
        "all {MAX_REQUESTS_PER_OWNER} request slots are in use: cancel one (`keel orders cancel`)"
    )
}

/// Every pending request of `pool` (of `owner` when given), oldest first (then by slot).
pub fn pending(
    t: &mut dyn Transport,
    pool: &Pubkey,
    owner: Option<&Pubkey>,
) -> anyhow::Result<Vec<(Pubkey, Request)>> {
    let mut out: Vec<(Pubkey, Request)> = t
        .program_accounts(&perp_amm::ID, Request::DISCRIMINATOR)?
        .into_iter()
        .filter_map(|(key, raw)| decode::request(&raw.data).ok().map(|r| (key, r)))
        .filter(|(_, r)| r.pool == *pool && owner.is_none_or(|o| r.owner == *o))
        .collect();
    out.sort_by_key(|(key, r)| (r.created_ts, r.slot, *key));
    Ok(out)
}

/// The keeper's instruction executing request `key`: a trade against its market's oracle, an LP
/// request against every active market's.
pub fn execute_ix(
    keeper: &Pubkey,
    pool_key: &Pubkey,
    pool: &Pool,
    key: Pubkey,
    r: &Request,
) -> Instruction {
    let rr = ix::RequestRef::of(key, r);
    if r.kind.is_lp() {
        let oracles: Vec<Pubkey> = pool
            .markets
            .iter()
            .filter(|s| s.active == 1)
            .map(|s| s.oracle)
            .collect();
        ix::execute_lp_request(keeper, pool_key, &rr, &oracles)
    } else {
        let oracle = pool
            .markets
            .iter()
            .find(|s| s.market == r.market)
            .map(|s| s.oracle)
            .unwrap_or_default();
        let model = (pool.risk.model != Pubkey::default()).then_some(pool.risk.model);
        ix::execute_order(keeper, pool_key, &rr, &oracle, model)
    }
}

/// What an execution or clear did, from the perp program's return data in a transaction's logs
/// (`Program return:`): a `perp_amm::events::request_outcome` constant and the refusal's error
/// code (0 unless refused). `None` when the transport kept no logs.
pub fn outcome(logs: &[String]) -> Option<(u8, u32)> {
    use base64::Engine;
    let prefix = format!("Program return: {} ", perp_amm::ID);
    let data = logs
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())?;
    (data.len() == 5).then(|| {
        (
            data[0],
            u32::from_le_bytes([data[1], data[2], data[3], data[4]]),
        )
    })
}

/// The request events of a transaction's logs, where a validator kept them (natively run
/// programs do not log events).
pub fn events(logs: &[String]) -> Vec<RequestEvent> {
    decode::events::<RequestEvent>(logs)
}

/// A short name for a request kind.
pub fn kind_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::MarketIncrease => "market increase",
        RequestKind::MarketReduce => "market reduce",
        RequestKind::RemoveCollateral => "remove collateral",
        RequestKind::LimitIncrease => "limit increase",
        RequestKind::TakeProfit => "take-profit",
        RequestKind::StopLoss => "stop-loss",
        RequestKind::Deposit => "deposit",
        RequestKind::Withdraw => "withdraw",
    }
}

/// Wait until request `key` has been executed, refused or cleared (its account is gone),
/// polling every `poll`, for at most `timeout`. Returns whether it went.
pub fn wait_gone(
    t: &mut dyn Transport,
    key: &Pubkey,
    timeout: std::time::Duration,
    poll: std::time::Duration,
) -> anyhow::Result<bool> {
    let start = std::time::Instant::now();
    loop {
        if t.account(key)?.is_none() {
            return Ok(true);
        }
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        std::thread::sleep(poll);
    }
}
