//! Where the money state plugs into the lcore: the reserve check before a
//! request is forwarded, and the outcome once the issuer (or the stand-in)
//! has answered. The reserve-accounts work supplies the real implementation;
//! until then [`AlwaysAllow`] approves everything and records nothing.

use super::rules::Family;
use crate::ParticipantIdx;

/// A money-moving request as the reserve check sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyRequest {
    pub acquirer: ParticipantIdx,
    pub issuer: ParticipantIdx,
    pub family: Family,
    /// Field 4, minor units.
    pub amount: u64,
    /// Field 49, ISO 4217 numeric (0 when absent).
    pub currency: u16,
}

/// The reserve check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Forward to the issuer.
    Allow,
    /// Answer the acquirer with this field 39 without reaching the issuer
    /// (`51` insufficient reserve, `61` over a limit, `96` cannot record).
    Decline([u8; 2]),
}

/// The lcore's hooks into the money state. Called on the lcore, so an
/// implementation must not block or allocate.
pub trait MoneyHooks: Send {
    /// Before forwarding `req`.
    fn check(&mut self, req: &MoneyRequest) -> Verdict;
    /// Once the request's outcome is known (`response_code` = field 39 the
    /// acquirer gets: the issuer's, or the stand-in's `91`).
    fn outcome(&mut self, req: &MoneyRequest, response_code: [u8; 2]);
}

/// Approves everything, records nothing (until reserve accounts exist).
#[derive(Debug, Default, Clone, Copy)]
pub struct AlwaysAllow;

impl MoneyHooks for AlwaysAllow {
    fn check(&mut self, _req: &MoneyRequest) -> Verdict {
        Verdict::Allow
    }
    fn outcome(&mut self, _req: &MoneyRequest, _response_code: [u8; 2]) {}
}
