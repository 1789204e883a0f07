//! Wider vector instructions where the CPU has them, chosen at run time.
//!
//! The matcher's inner loops keep their sums in [`LANES`](crate::screen::search) explicit
//! lanes so the compiler vectorises them; built for baseline x86-64 that means 4-wide SSE2.
//! [`avx2_when_available!`] compiles a function a second time with AVX2 enabled (8 wide) and
//! picks that copy when the CPU reports AVX2. FMA is left off on purpose: every lane does the
//! same additions and multiplications in the same order either way, so both copies return
//! bit-identical results and a decision never depends on the machine.

/// Defines `fn name(args) -> ret { body }` twice — as is, and with AVX2 enabled — and calls
/// the AVX2 copy when the CPU has it. Helpers the body calls should be `#[inline(always)]`
/// so they are compiled into the AVX2 copy too.
macro_rules! avx2_when_available {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[inline(always)]
            fn body($($arg: $ty),*) -> $ret $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

pub(crate) use avx2_when_available;
