//! Small facts about network addresses that several layers need (the cloud clients' endpoint
//! rules, the model downloader's redirect policy), kept in a leaf module so that `models`
//! does not depend on `engine`.

use std::net::IpAddr;
use url::Url;

/// Whether the URL's host is this machine (127.0.0.0/8, ::1 or `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<IpAddr>()
                    .is_ok_and(|address| address.is_loopback())
        }
        None => false,
    }
}
