//! Finds the public key in a pinned X.509 certificate, so the server's CertificateVerify can be
//! checked against the key of exactly the certificate the operator pinned.
//!
//! A deliberately small DER walk instead of a full X.509 parser: the certificate has already
//! matched the pin (its SHA-256 is the one the operator approved), so nothing in it is
//! evaluated except the path `Certificate.tbsCertificate.subjectPublicKeyInfo`. Every length is
//! bounds-checked; any surprise is "no supported key".

/// DER tags met on the way.
const SEQUENCE: u8 = 0x30;
const OBJECT_IDENTIFIER: u8 = 0x06;
const BIT_STRING: u8 = 0x03;
/// `[0] EXPLICIT Version`, present in every v3 certificate.
const VERSION_TAG: u8 = 0xa0;

/// `id-ecPublicKey` (1.2.840.10045.2.1), content bytes.
const ID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `prime256v1` / secp256r1 (1.2.840.10045.3.1.7), content bytes.
const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Length of an uncompressed SEC1 P-256 point (`04 || X || Y`).
pub(super) const P256_POINT_LEN: usize = 65;

/// The uncompressed SEC1 point of the certificate's key when it is an ECDSA P-256 key (what
/// `clawlet gateway run` generates), else `None`.
pub(super) fn p256_public_key(cert_der: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = expect(cert_der, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION_TAG) {
        rest = element(rest)?.2;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        rest = element(rest)?.2;
    }
    let (spki, _) = expect(rest, SEQUENCE)?;
    let (algorithm, spki_rest) = expect(spki, SEQUENCE)?;
    let (key_type, params) = expect(algorithm, OBJECT_IDENTIFIER)?;
    let (curve, _) = expect(params, OBJECT_IDENTIFIER)?;
    if key_type != ID_EC_PUBLIC_KEY || curve != PRIME256V1 {
        return None;
    }
    let (bits, _) = expect(spki_rest, BIT_STRING)?;
    // A BIT STRING starts with its count of unused bits, 0 for a key.
    match bits.split_first() {
        Some((0, point)) if point.len() == P256_POINT_LEN => Some(point),
        _ => None,
    }
}

/// The content of the next element if it has `tag`, and what follows it.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, content, rest) = element(input)?;
    (found == tag).then_some((content, rest))
}

/// Splits one DER element off `input`: (tag, content, rest). Definite lengths only, at most
/// four length bytes (a certificate is far smaller than 4 GiB).
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, after_tag) = input.split_first()?;
    let (&first, mut after_len) = after_tag.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = after_len.get(..count)?;
        after_len = after_len.get(count..)?;
        bytes.iter().try_fold(0usize, |acc, b| {
            acc.checked_mul(256)?.checked_add(usize::from(*b))
        })?
    };
    let content = after_len.get(..len)?;
    let rest = after_len.get(len..)?;
    Some((tag, content, rest))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn element_rejects_truncated_and_indefinite_lengths() {
        assert_eq!(element(&[0x30, 0x02, 0x01]), None);
        assert_eq!(element(&[0x30, 0x80, 0x00, 0x00]), None);
        assert_eq!(element(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(element(&[0x30]), None);
        let (tag, content, rest) = element(&[0x04, 0x81, 0x01, 0xaa, 0xbb]).unwrap();
        assert_eq!((tag, content, rest), (0x04, &[0xaa][..], &[0xbb][..]));
    }

    #[test]
    fn garbage_has_no_key() {
        assert_eq!(p256_public_key(b""), None);
        assert_eq!(p256_public_key(&[0x30, 0x03, 0x30, 0x01, 0x00]), None);
    }
}
