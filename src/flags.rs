//! A tiny bit-set macro for libevent's flag words (`EV_*`, `EVLOOP_*`,
//! `EV_FEATURE_*`, `EVENT_BASE_FLAG_*`).
//!
//! Hand-written instead of the `bitflags` crate: four small types need only
//! `|`, `&`, `contains` and a readable `Debug`.

macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        pub struct $name:ident: $repr:ty {
            $( $(#[$fmeta:meta])* const $flag:ident = $value:expr; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name($repr);

        impl $name {
            $( $(#[$fmeta])* pub const $flag: $name = $name($value); )*

            /// The empty set.
            pub const fn empty() -> Self {
                $name(0)
            }

            /// Every flag defined for this set (libevent's "all events"
            /// masks, without spelling out bits).
            pub const fn all() -> Self {
                $name(0 $(| $value)*)
            }

            /// The raw bits, with libevent's values.
            pub const fn bits(self) -> $repr {
                self.0
            }

            /// Builds a set from raw bits; unknown bits are kept.
            pub const fn from_bits_retain(bits: $repr) -> Self {
                $name(bits)
            }

            /// True when no flag is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// True when every flag of `other` is set in `self`.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// True when `self` and `other` share at least one flag.
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// `self` without the flags of `other`.
            pub const fn difference(self, other: Self) -> Self {
                $name(self.0 & !other.0)
            }

            /// Every flag of `self` or `other`.
            pub const fn union(self, other: Self) -> Self {
                $name(self.0 | other.0)
            }

            /// Flags set in both.
            pub const fn intersection(self, other: Self) -> Self {
                $name(self.0 & other.0)
            }
        }

        impl std::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                $name(self.0 | rhs.0)
            }
        }

        impl std::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl std::ops::BitAnd for $name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                $name(self.0 & rhs.0)
            }
        }

        impl std::ops::Sub for $name {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                $name(self.0 & !rhs.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut first = true;
                let mut rest = self.0;
                $(
                    if $value != 0 && self.0 & $value == $value {
                        if !first {
                            f.write_str(" | ")?;
                        }
                        f.write_str(stringify!($flag))?;
                        first = false;
                        rest &= !$value;
                    }
                )*
                if rest != 0 {
                    if !first {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{:#x}", rest)?;
                    first = false;
                }
                if first {
                    f.write_str("(empty)")?;
                }
                Ok(())
            }
        }
    };
}

pub(crate) use flag_set;
