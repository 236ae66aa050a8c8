//! Query strings (`evhttp_parse_query`, `evhttp_parse_query_str`,
//! `_with_flags`): `a=b&c=d` into a [`Headers`] map, values
//! percent-decoded with `+` as a space.
//!
//! libevent's rules: pairs are split at `&`, each at its first `=`; a
//! pair without `=` or with an empty key (`&&` included) fails the whole
//! query, unless [`QueryFlags::NONCONFORMANT`] (then a key without `=`
//! gets an empty value and an empty key is skipped). Keys are kept as
//! sent, values decoded. An empty query is no pair. On failure libevent
//! clears the map; here the map is left as it was — a query is checked
//! whole before anything is added, and the room for it is reserved
//! first, so an allocation failure changes nothing either.

use crate::error::{Error, Result};
use crate::flags::flag_set;
use crate::mem;

use super::encode::decode_into;
use super::headers::Headers;
use super::uri::{Uri, UriFlags};

flag_set! {
    /// How [`parse_query_str_with_flags`] reads a query
    /// (`EVHTTP_URI_QUERY_*`).
    #[doc(alias = "EVHTTP_URI_QUERY_NONCONFORMANT")]
    pub struct QueryFlags: u32 {
        /// A key without `=` gets an empty value; an empty key is
        /// skipped (`EVHTTP_URI_QUERY_NONCONFORMANT`).
        const NONCONFORMANT = 1 << 0;
        /// A repeated key keeps its last value only
        /// (`EVHTTP_URI_QUERY_LAST_VAL`).
        const LAST_VAL = 1 << 1;
    }
}

/// Adds the pairs of query string `query` to `headers`
/// (`evhttp_parse_query_str`).
///
/// # Errors
/// [`Error::InvalidArgument`] for a pair without `=` or an empty key;
/// [`Error::Alloc`]. Either way `headers` is unchanged.
///
/// # Examples
/// ```
/// use rvent::{Headers, http::parse_query_str};
/// let mut h = Headers::new();
/// parse_query_str("q=rust+evhttp&page=%32", &mut h)?;
/// assert_eq!(h.find_str("q"), Some("rust evhttp"));
/// assert_eq!(h.find_str("page"), Some("2"));
/// assert!(parse_query_str("a=1&b", &mut h).is_err());
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evhttp_parse_query_str")]
pub fn parse_query_str(query: &str, headers: &mut Headers) -> Result<()> {
    parse_query_str_with_flags(query, headers, QueryFlags::empty())
}

/// [`parse_query_str`] under `flags`
/// (`evhttp_parse_query_str_flags`).
///
/// # Errors
/// As [`parse_query_str`].
///
/// # Examples
/// ```
/// use rvent::Headers;
/// use rvent::http::{QueryFlags, parse_query_str_with_flags};
///
/// let mut h = Headers::new();
/// parse_query_str_with_flags("a=1&flag&a=2", &mut h, QueryFlags::NONCONFORMANT | QueryFlags::LAST_VAL)?;
/// assert_eq!(h.find_str("flag"), Some("")); // no `=`: an empty value
/// assert_eq!(h.find_all("a").count(), 1);
/// assert_eq!(h.find_str("a"), Some("2")); // the last one
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evhttp_parse_query_str_flags")]
pub fn parse_query_str_with_flags(
    query: &str,
    headers: &mut Headers,
    flags: QueryFlags,
) -> Result<()> {
    let q = query.as_bytes();
    if q.is_empty() {
        return Ok(());
    }
    let nonconformant = flags.contains(QueryFlags::NONCONFORMANT);
    // Check every pair and measure before adding any.
    let (mut fields, mut bytes) = (0usize, 0usize);
    for pair in q.split(|&b| b == b'&') {
        let (key, value) = split_pair(pair);
        if key.is_empty() || value.is_none() {
            if !nonconformant {
                return Err(Error::InvalidArgument("query pair without a key or '='"));
            }
            if key.is_empty() {
                continue;
            }
        }
        fields += 1;
        bytes = bytes.saturating_add(pair.len());
    }
    headers.reserve(fields, bytes)?;
    let mut value_buf = mem::vec();
    let longest = q.split(|&b| b == b'&').map(<[u8]>::len).max().unwrap_or(0);
    mem::reserve(&mut value_buf, longest)?;
    for pair in q.split(|&b| b == b'&') {
        let (key, value) = split_pair(pair);
        if key.is_empty() {
            continue;
        }
        value_buf.clear();
        // Room is reserved: decoding never grows it.
        decode_into(value.unwrap_or_default(), true, &mut value_buf)?;
        if flags.contains(QueryFlags::LAST_VAL) {
            while headers.remove(key) {}
        }
        // Room is reserved: this push cannot fail.
        headers.push(key, &value_buf)?;
    }
    Ok(())
}

/// A pair's key and its value (`None` without `=`).
fn split_pair(pair: &[u8]) -> (&[u8], Option<&[u8]>) {
    match pair.iter().position(|&b| b == b'=') {
        Some(i) => (&pair[..i], Some(&pair[i + 1..])),
        None => (pair, None),
    }
}

/// Adds the pairs of the query of URI `uri` to `headers`
/// (`evhttp_parse_query`): `uri` is parsed leniently (as a request
/// target may be); no query is no pair.
///
/// # Errors
/// [`Error::InvalidArgument`] if `uri` does not parse or its query is
/// malformed; [`Error::Alloc`]. Either way `headers` is unchanged.
///
/// # Examples
/// ```
/// use rvent::Headers;
/// use rvent::http::parse_query;
///
/// let mut h = Headers::new();
/// parse_query("http://example.com/search?q=event+loop&n=10", &mut h)?;
/// assert_eq!(h.find_str("q"), Some("event loop"));
/// parse_query("/no-query", &mut h)?; // adds nothing
/// assert_eq!(h.len(), 2);
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evhttp_parse_query")]
pub fn parse_query(uri: &str, headers: &mut Headers) -> Result<()> {
    let u = Uri::parse_with_flags(uri, UriFlags::NONCONFORMANT)?;
    match u.query() {
        Some(q) => parse_query_str(q, headers),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(h: &Headers) -> Vec<(String, String)> {
        h.iter()
            .map(|(k, v)| {
                (
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn libevent_parse_query_cases() {
        let mut h = Headers::new();
        parse_query("http://www.test.com/?q=test", &mut h).unwrap();
        assert_eq!(pairs(&h), [("q".into(), "test".into())]);
        h.clear();
        parse_query("http://www.test.com/?q=test&foo=bar", &mut h).unwrap();
        assert_eq!(h.len(), 2);
        h.clear();
        parse_query("http://www.test.com/?q=test+foo", &mut h).unwrap();
        assert_eq!(h.find_str("q"), Some("test foo"));
        h.clear();
        parse_query("http://www.test.com/?q=test%0Afoo", &mut h).unwrap();
        assert_eq!(h.find_str("q"), Some("test\nfoo"));
        h.clear();
        parse_query("http://www.test.com/?q=test%0Dfoo", &mut h).unwrap();
        assert_eq!(h.find_str("q"), Some("test\rfoo"));
        h.clear();
        parse_query("http://www.test.com/?q=test&&q2", &mut h).unwrap_err();
        assert!(h.is_empty());
        parse_query("http://www.test.com/?q=test+this", &mut h).unwrap();
        assert_eq!(h.find_str("q"), Some("test this"));
        h.clear();
        parse_query("http://www.test.com/?q=test&q2=foo", &mut h).unwrap();
        assert_eq!(h.find_str("q2"), Some("foo"));
        h.clear();
        parse_query("http://www.test.com/?q&q2=foo", &mut h).unwrap_err();
        parse_query("http://www.test.com/?q=foo&q2", &mut h).unwrap_err();
        parse_query("http://www.test.com/?q=foo&q2&q3=x", &mut h).unwrap_err();
        parse_query("http://www.test.com/?q=&q2=&q3=", &mut h).unwrap();
        assert_eq!(h.len(), 3);
        h.clear();
        parse_query("http://www.test.com/?", &mut h).unwrap();
        parse_query("http://www.test.com/", &mut h).unwrap();
        assert!(h.is_empty());
    }

    #[test]
    fn query_str_flags() {
        let mut h = Headers::new();
        h.add("keep", "me").unwrap();
        parse_query_str("q=1&=x", &mut h).unwrap_err();
        parse_query_str("q=1&flag", &mut h).unwrap_err();
        assert_eq!(pairs(&h), [("keep".into(), "me".into())], "unchanged");
        parse_query_str_with_flags("q=1&flag&=x&&", &mut h, QueryFlags::NONCONFORMANT).unwrap();
        assert_eq!(h.find_str("flag"), Some(""));
        assert_eq!(h.len(), 3);
        let mut h = Headers::new();
        parse_query_str_with_flags("a=1&b=2&a=3", &mut h, QueryFlags::LAST_VAL).unwrap();
        assert_eq!(h.find_all("a").count(), 1);
        assert_eq!(h.find_str("a"), Some("3"));
        let mut h = Headers::new();
        parse_query_str("a%20b=c%20d", &mut h).unwrap();
        assert_eq!(h.find_str("a%20b"), Some("c d"), "keys stay as sent");
    }
}
