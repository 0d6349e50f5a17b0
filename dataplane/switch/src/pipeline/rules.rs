//! ISO 8583 rules the switch applies: which MTIs are requests, responses or
//! network management, which fields a request must carry, which requests
//! move money and which timeouts owe the issuer a reversal.

use wire::iso8583::FieldSet;

/// The transaction families the switch routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// 01xx authorisation: places a hold.
    Authorisation,
    /// 020x financial request: moves money at once.
    Financial,
    /// 022x completion advice: turns a hold into a position.
    Completion,
    /// 040x reversal request.
    Reversal,
    /// 042x reversal advice.
    ReversalAdvice,
}

/// What an MTI means to the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// From an acquirer, to route to an issuer.
    Request(Family),
    /// From an issuer, to match and return to the acquirer.
    Response(Family),
    /// 0800: answered by the switch itself.
    NetworkRequest,
    /// 0810: a participant answering our echo; nothing to do.
    NetworkResponse,
    /// Anything else (0300 file actions, 0600, private classes, ...).
    Unsupported,
}

impl MessageKind {
    /// Classifies a four-digit ASCII MTI (version digit 0 = ISO 8583:1987;
    /// repeat origins `xxx1` join their first transmission).
    pub fn of(mti: [u8; 4]) -> MessageKind {
        if mti[0] != b'0' || !matches!(mti[3], b'0' | b'1') {
            return MessageKind::Unsupported;
        }
        let family = match (mti[1], mti[2]) {
            (b'1', b'0' | b'1') => Family::Authorisation,
            (b'2', b'0' | b'1') => Family::Financial,
            (b'2', b'2' | b'3') => Family::Completion,
            (b'4', b'0' | b'1') => Family::Reversal,
            (b'4', b'2' | b'3') => Family::ReversalAdvice,
            (b'8', b'0') => return MessageKind::NetworkRequest,
            (b'8', b'1') => return MessageKind::NetworkResponse,
            _ => return MessageKind::Unsupported,
        };
        match mti[2] {
            b'0' | b'2' => MessageKind::Request(family),
            _ => MessageKind::Response(family),
        }
    }
}

impl Family {
    /// Fields every request of this family must carry besides the PAN (2)
    /// or the receiving institution (100): processing code, amount,
    /// transmission date/time, STAN, and the terminal for card-present
    /// families. Reversals also identify what they reverse (90).
    pub fn required(self) -> FieldSet {
        match self {
            Family::Authorisation | Family::Financial => FieldSet::of(&[3, 4, 7, 11, 41]),
            Family::Completion => FieldSet::of(&[3, 4, 7, 11]),
            Family::Reversal | Family::ReversalAdvice => FieldSet::of(&[3, 4, 7, 11]),
        }
    }

    /// Whether a timeout on this request leaves money possibly moved at the
    /// issuer, so the switch must send a 0420 until the issuer confirms.
    pub fn reverse_on_timeout(self) -> bool {
        matches!(self, Family::Financial | Family::Authorisation)
    }
}

/// Field 70 network management codes.
pub mod network {
    pub const SIGN_ON: &[u8] = b"001";
    pub const SIGN_OFF: &[u8] = b"002";
    pub const ECHO: &[u8] = b"301";
}

/// Field 39 values the switch itself produces.
pub mod code {
    pub const APPROVED: &[u8; 2] = b"00";
    pub const NO_SUCH_ISSUER: &[u8; 2] = b"15";
    pub const FORMAT_ERROR: &[u8; 2] = b"30";
    pub const INSUFFICIENT_FUNDS: &[u8; 2] = b"51";
    pub const EXCEEDS_LIMIT: &[u8; 2] = b"61";
    pub const SECURITY_VIOLATION: &[u8; 2] = b"63";
    pub const ISSUER_UNAVAILABLE: &[u8; 2] = b"91";
    pub const SYSTEM_MALFUNCTION: &[u8; 2] = b"96";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_responses_and_repeats_are_told_apart() {
        use Family::*;
        assert_eq!(MessageKind::of(*b"0200"), MessageKind::Request(Financial));
        assert_eq!(MessageKind::of(*b"0201"), MessageKind::Request(Financial));
        assert_eq!(MessageKind::of(*b"0210"), MessageKind::Response(Financial));
        assert_eq!(
            MessageKind::of(*b"0100"),
            MessageKind::Request(Authorisation)
        );
        assert_eq!(
            MessageKind::of(*b"0110"),
            MessageKind::Response(Authorisation)
        );
        assert_eq!(MessageKind::of(*b"0220"), MessageKind::Request(Completion));
        assert_eq!(MessageKind::of(*b"0230"), MessageKind::Response(Completion));
        assert_eq!(MessageKind::of(*b"0400"), MessageKind::Request(Reversal));
        assert_eq!(
            MessageKind::of(*b"0421"),
            MessageKind::Request(ReversalAdvice)
        );
        assert_eq!(
            MessageKind::of(*b"0430"),
            MessageKind::Response(ReversalAdvice)
        );
        assert_eq!(MessageKind::of(*b"0800"), MessageKind::NetworkRequest);
        assert_eq!(MessageKind::of(*b"0810"), MessageKind::NetworkResponse);
        assert_eq!(MessageKind::of(*b"0600"), MessageKind::Unsupported);
        assert_eq!(
            MessageKind::of(*b"1200"),
            MessageKind::Unsupported,
            "ISO 8583:1993 is not ours"
        );
        assert_eq!(MessageKind::of(*b"0202"), MessageKind::Unsupported);
    }

    #[test]
    fn money_moving_timeouts_are_reversed() {
        assert!(Family::Financial.reverse_on_timeout());
        assert!(Family::Authorisation.reverse_on_timeout());
        assert!(!Family::Reversal.reverse_on_timeout());
        assert!(!Family::Completion.reverse_on_timeout());
    }
}
