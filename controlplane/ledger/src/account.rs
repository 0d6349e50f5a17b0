//! A reserve account and its arithmetic.
//!
//! `available = reserve_balance + net_debit_cap − net_position − holds`.
//! `net_position` is positive when the participant owes the scheme (it has
//! paid out more than it received this cycle) and negative when it is owed.
//! All amounts are minor units of the account's currency, kept as `i128` so
//! that no realistic sequence of `u64` amounts can overflow the sums.

/// A limit value meaning "no limit".
pub const UNLIMITED: u64 = u64::MAX;

/// One participant's money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReserveAccount {
    /// Money deposited with the scheme (settlements move it too).
    pub reserve_balance: i128,
    /// How far the position may go beyond the reserve.
    pub net_debit_cap: u64,
    /// Positive: owes; negative: is owed. Settlement moves it to zero.
    pub net_position: i128,
    /// Approved authorisations not yet completed, released or expired.
    pub holds: i128,
    /// Largest single debit, [`UNLIMITED`] by default.
    pub per_transaction_limit: u64,
    /// Largest sum of debits in one business day, [`UNLIMITED`] by default.
    pub daily_limit: u64,
    /// Debits counted against `daily_limit` since the business day began.
    pub daily_used: u128,
}

impl Default for ReserveAccount {
    fn default() -> Self {
        ReserveAccount {
            reserve_balance: 0,
            net_debit_cap: 0,
            net_position: 0,
            holds: 0,
            per_transaction_limit: UNLIMITED,
            daily_limit: UNLIMITED,
            daily_used: 0,
        }
    }
}

/// Why a debit is refused, with the field 39 the acquirer gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// The amount exceeds the available funds: 39=`51`.
    Insufficient { available: i128, amount: u64 },
    /// The amount exceeds the per-transaction limit: 39=`61`.
    OverTransactionLimit { limit: u64, amount: u64 },
    /// The amount would take the day's debits over the daily limit: 39=`61`.
    OverDailyLimit { remaining: u128, amount: u64 },
}

impl Shortfall {
    /// Field 39 for the decline.
    pub fn response_code(&self) -> [u8; 2] {
        match self {
            Shortfall::Insufficient { .. } => *b"51",
            Shortfall::OverTransactionLimit { .. } | Shortfall::OverDailyLimit { .. } => *b"61",
        }
    }
}

impl ReserveAccount {
    /// What the participant can still spend, before limits.
    pub fn available(&self) -> i128 {
        self.reserve_balance + i128::from(self.net_debit_cap) - self.net_position - self.holds
    }

    /// What the daily limit still allows today.
    pub fn daily_remaining(&self) -> u128 {
        u128::from(self.daily_limit).saturating_sub(self.daily_used)
    }

    /// The largest debit the account allows now: the smaller of the
    /// available funds and the daily remainder, never below zero. The
    /// escrow refiller hands out at most this much.
    pub fn spendable(&self) -> u128 {
        let available = u128::try_from(self.available().max(0)).unwrap_or(0);
        available.min(self.daily_remaining())
    }

    /// Whether a debit of `amount` may go ahead. Limits are checked first:
    /// a participant over its limit is told so (61) even when it also lacks
    /// funds, because raising funds would not help it.
    pub fn check_debit(&self, amount: u64) -> Result<(), Shortfall> {
        if amount > self.per_transaction_limit {
            return Err(Shortfall::OverTransactionLimit {
                limit: self.per_transaction_limit,
                amount,
            });
        }
        let remaining = self.daily_remaining();
        if u128::from(amount) > remaining {
            return Err(Shortfall::OverDailyLimit { remaining, amount });
        }
        let available = self.available();
        if i128::from(amount) > available {
            return Err(Shortfall::Insufficient { available, amount });
        }
        Ok(())
    }

    /// The response code the lcores answer when their escrow cannot cover a
    /// debit: `61` when the daily limit is what binds, else `51`.
    pub fn binding_code(&self) -> [u8; 2] {
        let available = u128::try_from(self.available().max(0)).unwrap_or(0);
        if self.daily_remaining() < available {
            *b"61"
        } else {
            *b"51"
        }
    }
}
