use anchor_lang::prelude::*;

use crate::errors::PerpError;
use crate::state::{Pool, RequestParams};

#[derive(Accounts)]
pub struct SetRequestParams<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
}

/// Change the request settings. Requests already placed keep the expiry and withdrawal delay
/// they were placed with.
pub fn handle_set_request_params(
    ctx: Context<SetRequestParams>,
    params: RequestParams,
) -> Result<()> {
    ctx.accounts.pool.load_mut()?.set_request_params(&params)
}
