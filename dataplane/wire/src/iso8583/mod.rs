//! ISO 8583:1987 messages: field specs, zero-copy decode, encode, response building.
