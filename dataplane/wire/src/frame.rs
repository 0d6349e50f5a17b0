//! Frame header: 2-byte big-endian length before each ISO 8583 message.
