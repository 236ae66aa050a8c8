//! The contract of rvent's memory, as constants: the alignment every
//! block of the memory functions has, and whether this build has the
//! memory functions at all.

/// Alignment of every block the memory functions return: 16 bytes, what the
/// C library's `malloc` guarantees on x86-64 (`alignof(max_align_t)`).
pub const MEM_ALIGN: usize = 16;

/// Whether this build has `set_mem_functions` (the `mem-functions` cargo
/// feature) — libevent's `EVENT_SET_MEM_FUNCTIONS_IMPLEMENTED`.
#[doc(alias = "EVENT_SET_MEM_FUNCTIONS_IMPLEMENTED")]
pub const MEM_FUNCTIONS_IMPLEMENTED: bool = cfg!(feature = "mem-functions");
