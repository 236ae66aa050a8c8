//! A bufferevent's two buffers through its handle
//! (`bufferevent_get_input` / `_output`, `bufferevent_write` / `_read`
//! and their `_buffer` forms). Every access through the API marks the
//! bufferevent for servicing, so what a callback or a timer writes goes
//! out before the loop next polls.

use super::handle::Bufferevent;
use super::pair;
use super::rec::Kind;
use super::table::BevHost;
use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::error::{Error, Result};

/// A bufferevent's input and output at once, from
/// [`Bufferevent::buffers`].
#[derive(Debug)]
pub struct Buffers<'a> {
    /// What was read and not yet consumed (`bufferevent_get_input`).
    pub input: &'a mut Evbuffer,
    /// What waits to be written (`bufferevent_get_output`).
    pub output: &'a mut Evbuffer,
}

impl Bufferevent {
    /// The input buffer (`bufferevent_get_input`). Draining it below the
    /// read high watermark resumes reading.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"ping")?;
    /// let input = b.input(&mut base)?;
    /// assert_eq!(input.len(), 4);
    /// input.drain(4)?;
    /// assert_eq!(b.input_len(&base)?, 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_input")]
    pub fn input<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Evbuffer> {
        Ok(&mut self.touch(base)?.input)
    }

    /// The output buffer (`bufferevent_get_output`); what is added goes
    /// out before the loop next polls.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// bev.output(&mut base)?.add(b"queued")?; // no socket yet: it waits
    /// assert_eq!(bev.output_len(&base)?, 6);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_output")]
    pub fn output<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Evbuffer> {
        Ok(&mut self.touch(base)?.output)
    }

    /// Both buffers at once, named so they cannot be swapped: an echo is
    /// `b.output.add_buffer(b.input)`.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Buffers, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, _b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// let Buffers { input, output } = a.buffers(&mut base)?;
    /// assert!(input.is_empty());
    /// output.add(b"x")?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_input")]
    #[doc(alias = "bufferevent_get_output")]
    pub fn buffers<X: BevHost>(self, base: &mut EventBase<X>) -> Result<Buffers<'_>> {
        let r = self.touch(base)?;
        Ok(Buffers {
            input: &mut r.input,
            output: &mut r.output,
        })
    }

    /// The buffers of two bufferevents of one base at once: the proxy's
    /// move of what one side read into what the other writes, with no
    /// copy (libevent's `evbuffer_add_buffer(bufferevent_get_output(b),
    /// bufferevent_get_input(a))`). Both are marked for servicing, as by
    /// [`buffers`](Self::buffers).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `a` and `b` are one bufferevent (use
    /// [`buffers`](Self::buffers)); [`Error::StaleBufferevent`] if either
    /// is freed or of another base.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, _) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// let (b, _) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// a.input(&mut base)?.add(b"relayed")?;
    /// let (from, to) = Bufferevent::buffers_of_two(&mut base, a, b)?;
    /// to.output.add_buffer(from.input)?;
    /// assert_eq!(b.output_len(&base)?, 7);
    /// assert_eq!(a.input_len(&base)?, 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_buffer")]
    pub fn buffers_of_two<X: BevHost>(
        base: &mut EventBase<X>,
        a: Bufferevent,
        b: Bufferevent,
    ) -> Result<(Buffers<'_>, Buffers<'_>)> {
        if a == b {
            return Err(Error::InvalidArgument(
                "buffers_of_two: one bufferevent twice",
            ));
        }
        if a.base != base.id || b.base != base.id {
            return Err(Error::StaleBufferevent);
        }
        let [ra, rb] = base
            .ext
            .bevs_mut()
            .touch_two(a, b)
            .ok_or(Error::StaleBufferevent)?;
        Ok((
            Buffers {
                input: &mut ra.input,
                output: &mut ra.output,
            },
            Buffers {
                input: &mut rb.input,
                output: &mut rb.output,
            },
        ))
    }

    /// Bytes waiting in the input buffer.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// assert_eq!(b.input_len(&base)?, 0);
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"abc")?;
    /// assert_eq!(b.input_len(&base)?, 3);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_get_length")]
    pub fn input_len<X: BevHost>(self, base: &EventBase<X>) -> Result<usize> {
        Ok(self.rec(base)?.input.len())
    }

    /// Bytes waiting in the output buffer.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, _b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// a.write(&mut base, b"abc")?; // `_b` is not reading: it stays in `a`
    /// assert_eq!(a.output_len(&base)?, 3);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_get_length")]
    pub fn output_len<X: BevHost>(self, base: &EventBase<X>) -> Result<usize> {
        Ok(self.rec(base)?.output.len())
    }

    /// Appends `data` to the output (`bufferevent_write`). A pair member
    /// hands it to a reading partner at once, as libevent does (the
    /// callbacks it causes run from the loop).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; the output's errors ([`Error::Alloc`]),
    /// also when the chain the copy needs would pass the base's budget
    /// ([`Config::set_max_memory`](crate::Config::set_max_memory)); nothing
    /// is written then.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"hello")?;
    /// let mut got = [0u8; 8];
    /// assert_eq!(b.read(&mut base, &mut got)?, 5);
    /// assert_eq!(&got[..5], b"hello");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_write")]
    pub fn write<X: BevHost>(self, base: &mut EventBase<X>, data: &[u8]) -> Result<()> {
        let r = self.touch_output(base)?;
        r.output.add(data)?;
        if let Kind::Pair(_) = r.kind {
            pair::output_added(base, self);
        }
        Ok(())
    }

    /// Moves all of `src` to the output without copying
    /// (`bufferevent_write_buffer`); a pair member hands it on at once,
    /// as [`write`](Self::write).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; the output's errors.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Evbuffer, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// let mut msg = Evbuffer::new();
    /// msg.add(b"moved, not copied")?;
    /// bev.write_buffer(&mut base, &mut msg)?;
    /// assert!(msg.is_empty());
    /// assert_eq!(bev.output_len(&base)?, 17);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_write_buffer")]
    pub fn write_buffer<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        src: &mut Evbuffer,
    ) -> Result<()> {
        let r = self.touch_output(base)?;
        r.output.add_buffer(src)?;
        if let Kind::Pair(_) = r.kind {
            pair::output_added(base, self);
        }
        Ok(())
    }

    /// Copies and drains up to `out.len()` bytes of input
    /// (`bufferevent_read`); returns how many (0 when empty).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"abcdef")?;
    /// let mut got = [0u8; 4];
    /// assert_eq!(b.read(&mut base, &mut got)?, 4);
    /// assert_eq!(&got, b"abcd");
    /// assert_eq!(b.read(&mut base, &mut got)?, 2); // the rest
    /// assert_eq!(b.read(&mut base, &mut got)?, 0); // empty
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_read")]
    pub fn read<X: BevHost>(self, base: &mut EventBase<X>, out: &mut [u8]) -> Result<usize> {
        // A frozen front reads nothing (libevent's bufferevent_read_failed).
        Ok(self.touch(base)?.input.remove(out).unwrap_or(0))
    }

    /// Moves the whole input to `dst` (`bufferevent_read_buffer`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; `dst`'s errors.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, Evbuffer, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"line\n")?;
    /// let mut all = Evbuffer::new();
    /// b.read_buffer(&mut base, &mut all)?;
    /// assert_eq!(all.len(), 5);
    /// assert_eq!(b.input_len(&base)?, 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_read_buffer")]
    pub fn read_buffer<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        dst: &mut Evbuffer,
    ) -> Result<()> {
        dst.add_buffer(&mut self.touch(base)?.input)
    }
}
