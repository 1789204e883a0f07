//! The one place where vncpilot's exit codes are decided: a verdict's (pass 0, fail 1, error 2)
//! and, for commands that talk to a VNC server, the connection errors scripts can react to
//! (authentication 3, unreachable or silent server 4).

use crate::report::Status;
use crate::rfb::RfbError;

/// Pass 0, fail 1, error 2 (`vncpilot run`, `check`, `replay --find`).
pub fn exit_code(status: Status) -> u8 {
    match status {
        Status::Pass => 0,
        Status::Fail => 1,
        Status::Error => 2,
    }
}

/// The exit code of a command that failed with `err` from the VNC connection: authentication
/// problems (3) and unreachable or silent servers (4) are told apart; anything else is an error
/// (2) like everywhere in vncpilot.
pub fn connection_exit_code(err: &RfbError) -> u8 {
    match err {
        RfbError::AuthFailed(_) | RfbError::PasswordRequired => 3,
        RfbError::Connect { .. }
        | RfbError::ConnectTimeout(_)
        | RfbError::Closed(_)
        | RfbError::Stalled(..)
        | RfbError::Refused(_) => 4,
        _ => exit_code(Status::Error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_and_connection_errors() {
        assert_eq!(exit_code(Status::Pass), 0);
        assert_eq!(exit_code(Status::Fail), 1);
        assert_eq!(exit_code(Status::Error), 2);
        assert_eq!(connection_exit_code(&RfbError::PasswordRequired), 3);
        assert_eq!(connection_exit_code(&RfbError::Refused("x".into())), 4);
    }
}
