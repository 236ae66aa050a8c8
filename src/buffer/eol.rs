//! What ends a line ([`EolStyle`], libevent's `enum evbuffer_eol_style`):
//! shared by [`Evbuffer::search_eol`](crate::buffer::Evbuffer::search_eol)
//! and the line readers built on it.

/// What ends a line (libevent's `enum evbuffer_eol_style`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EolStyle {
    /// Any run of CR and LF bytes, in any order and number. A CR and an
    /// LF that arrive in separate reads count as two line ends.
    #[doc(alias = "EVBUFFER_EOL_ANY")]
    Any,
    /// An LF, optionally preceded by a CR; a lone CR is data.
    #[doc(alias = "EVBUFFER_EOL_CRLF")]
    Crlf,
    /// Exactly CR LF.
    #[doc(alias = "EVBUFFER_EOL_CRLF_STRICT")]
    CrlfStrict,
    /// A single LF.
    #[doc(alias = "EVBUFFER_EOL_LF")]
    Lf,
    /// A single NUL byte.
    #[doc(alias = "EVBUFFER_EOL_NUL")]
    Nul,
}

impl EolStyle {
    /// Bytes at the end of an incomplete buffer that may still be the start
    /// of this style's end-of-line marker (a CR waiting for its LF).
    pub(super) fn pending(self) -> usize {
        match self {
            EolStyle::Crlf | EolStyle::CrlfStrict => 1,
            EolStyle::Any | EolStyle::Lf | EolStyle::Nul => 0,
        }
    }
}
