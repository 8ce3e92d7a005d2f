//! What reading an oracle needs of an account: its address, owner and data. On chain that is an
//! `AccountInfo`; off chain ([`AccountView`]) it is bytes fetched from a node, so the keeper and
//! the app's quotes run the programs' own readers without faking runtime types.

use core::ops::Deref;

use anchor_lang::prelude::{AccountInfo, Pubkey, UncheckedAccount};

use crate::OnchainError;

pub trait AccountRead {
    fn key(&self) -> &Pubkey;
    fn owner(&self) -> &Pubkey;
    fn data(&self) -> Result<impl Deref<Target = [u8]>, OnchainError>;
}

impl AccountRead for AccountInfo<'_> {
    #[inline(always)]
    fn key(&self) -> &Pubkey {
        self.key
    }
    #[inline(always)]
    fn owner(&self) -> &Pubkey {
        self.owner
    }
    #[inline(always)]
    fn data(&self) -> Result<impl Deref<Target = [u8]>, OnchainError> {
        self.try_borrow_data()
            .map(|d| core::cell::Ref::map(d, |d| &**d))
            .map_err(|_| OnchainError::AccountBorrowFailed)
    }
}

impl AccountRead for UncheckedAccount<'_> {
    #[inline(always)]
    fn key(&self) -> &Pubkey {
        let info: &AccountInfo = self;
        info.key
    }
    #[inline(always)]
    fn owner(&self) -> &Pubkey {
        let info: &AccountInfo = self;
        info.owner
    }
    #[inline(always)]
    fn data(&self) -> Result<impl Deref<Target = [u8]>, OnchainError> {
        let info: &AccountInfo = self;
        AccountRead::data(info)
    }
}

/// An account as plain data (fetched from a node, or a copy in a test).
#[derive(Clone, Copy, Debug)]
pub struct AccountView<'a> {
    pub key: &'a Pubkey,
    pub owner: &'a Pubkey,
    pub data: &'a [u8],
}

impl AccountRead for AccountView<'_> {
    fn key(&self) -> &Pubkey {
        self.key
    }
    fn owner(&self) -> &Pubkey {
        self.owner
    }
    fn data(&self) -> Result<impl Deref<Target = [u8]>, OnchainError> {
        Ok(self.data)
    }
}
