//! Tests against real servers started by the tests themselves (TigerVNC Xvnc, hand-written
//! misbehaving RFB servers on loopback, headless Chromium), no guest.
//!
//! One test binary per kind of part, so the suite links a few binaries instead of one per
//! file; each file below is a module, sharing tests/common.

#[path = "../common/mod.rs"]
mod common;

mod author_browser;
mod docs_examples;
mod matrix_xvnc;
mod pause_browser;
mod pointer_macro_xvnc;
mod record_session;
mod refs_maintain;
mod report_browser;
mod rfb_bad_servers;
mod rfb_vnc_rs_oracle;
mod rfb_xvnc;
mod run_failure;
mod status_site_browser;
