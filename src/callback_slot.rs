//! Running a callback taken out of the record that keeps it.
//!
//! Bufferevents and listeners keep their callbacks in their records and
//! run them with `&mut EventBase`, so a callback can reach its own record:
//! set a new callback, clear it, or free the whole thing. The callback is
//! taken out of its `Option` while it runs, and put back afterwards only
//! if nothing was set or cleared meanwhile; a replaced one is dropped when
//! it returns.
//!
//! "Taken out" and "cleared" both leave `None`, so a record tells them
//! apart with one bit per callback in a [`Running`] byte, not with a third
//! state in each slot: an `Option` of a boxed closure is one fat pointer
//! (its niche is the null pointer), a three-state slot would be a word
//! more per callback per connection.
//!
//! A callback that panics is dropped by the unwind; its bit stays set, so
//! the slot reads as empty until something is set again. What else
//! recovers from the panic is the owner's business (see the module docs
//! of `bufferevent` and `listener`).

/// One "taken out and running" bit per callback of a record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Running(u8);

impl Running {
    /// Takes the callback of `slot` (bit `bit`) out to run it.
    #[inline]
    pub(crate) fn take<F>(&mut self, bit: u8, slot: &mut Option<F>) -> Option<F> {
        let f = slot.take()?;
        self.0 |= bit;
        Some(f)
    }

    /// Puts a callback back after it ran, unless its slot was set or
    /// cleared meanwhile: then `f` is handed back, to be dropped.
    #[inline]
    pub(crate) fn put_back<F>(&mut self, bit: u8, slot: &mut Option<F>, f: F) -> Option<F> {
        if self.0 & bit == 0 {
            return Some(f);
        }
        self.0 &= !bit;
        *slot = Some(f);
        None
    }

    /// Sets (`Some`) or clears (`None`) the callback; one that is out
    /// running stays out and is dropped when it returns. Returns the
    /// callback that was in the slot.
    #[inline]
    pub(crate) fn replace<F>(&mut self, bit: u8, slot: &mut Option<F>, f: Option<F>) -> Option<F> {
        self.0 &= !bit;
        std::mem::replace(slot, f)
    }

    /// The callback of bit `bit` is out running (or was lost to a panic
    /// while it ran).
    #[inline]
    pub(crate) fn is_out(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

#[cfg(test)]
mod tests {
    use super::Running;

    #[test]
    fn a_callback_set_or_cleared_while_running_wins_over_put_back() {
        let mut run = Running::default();
        let mut s = None;
        assert!(run.take(1, &mut s).is_none());
        assert!(run.replace(1, &mut s, Some(1)).is_none());
        assert_eq!(run.take(1, &mut s), Some(1));
        assert!(run.is_out(1));
        assert!(run.take(1, &mut s).is_none(), "no second run while out");
        assert_eq!(run.put_back(1, &mut s, 1), None);
        assert_eq!(s, Some(1));
        assert!(!run.is_out(1));

        assert_eq!(run.take(1, &mut s), Some(1));
        assert_eq!(run.replace(1, &mut s, Some(2)), None);
        assert_eq!(run.put_back(1, &mut s, 1), Some(1), "the new one stays");
        assert_eq!(run.take(1, &mut s), Some(2));
        assert_eq!(run.replace(1, &mut s, None), None);
        assert_eq!(run.put_back(1, &mut s, 2), Some(2), "the clear stays");
        assert_eq!(s, None);
    }

    #[test]
    fn bits_are_independent() {
        let mut run = Running::default();
        let (mut a, mut b) = (Some('a'), Some('b'));
        let fa = run.take(1, &mut a).unwrap();
        assert!(run.is_out(1) && !run.is_out(2));
        let fb = run.take(2, &mut b).unwrap();
        assert_eq!(run.put_back(1, &mut a, fa), None);
        assert!(!run.is_out(1) && run.is_out(2));
        assert_eq!(run.put_back(2, &mut b, fb), None);
        assert_eq!((a, b), (Some('a'), Some('b')));
    }

    #[test]
    fn an_optional_boxed_closure_is_one_fat_pointer() {
        type Cb = Box<dyn FnMut(u32)>;
        assert_eq!(std::mem::size_of::<Option<Cb>>(), std::mem::size_of::<Cb>());
    }
}
