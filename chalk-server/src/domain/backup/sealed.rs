//! The sealed backup file: a short plaintext header, then AEAD segments (AES-256-GCM in the
//! STREAM construction of `aead::stream`), so a database of any size is sealed and opened a
//! fixed-size chunk at a time.
//!
//! ```text
//! header (24 bytes, the associated data of every segment):
//!   "CHALKBAK"            magic
//!   u8                    format version
//!   [u8; 8]               key fingerprint (which key sealed it; not the key)
//!   [u8; 7]               random nonce prefix, new for each file
//! segments, each: u32 big-endian ciphertext length, ciphertext (+ 16-byte tag)
//!   segment 0             the manifest (JSON)
//!   segments 1..          the database, CHUNK bytes each; the last one flagged as last
//! ```
//!
//! Each segment's nonce is the file's prefix, the segment's counter and a last-segment flag
//! (STREAM), so a segment moved, repeated or dropped fails to authenticate, and a file cut
//! at a segment boundary ends on a segment that was not sealed as the last one. The header
//! is authenticated with every segment: a changed fingerprint or version is detected too.
//! The fingerprint is in plaintext so that a file sealed with another key can be named as
//! such (both fingerprints) rather than reported as damaged.

use std::io::{self, Read, Write};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::KeyInit;
use aes_gcm::aead::Payload;
use aes_gcm::aead::stream::{DecryptorBE32, EncryptorBE32};
use rand::Rng;

use super::BackupKey;
use crate::crypto::hex;

pub const MAGIC: &[u8; 8] = b"CHALKBAK";
pub const FORMAT_VERSION: u8 = 1;
/// Plaintext bytes per database segment: memory stays at a few of these whatever the
/// database's size.
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const PREFIX: usize = 7;
pub const HEADER_LEN: usize = MAGIC.len() + 1 + 8 + PREFIX;

/// Why a file could not be opened. Every variant leaves nothing behind.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("not a Chalk backup (no CHALKBAK header)")]
    NotABackup,
    #[error(
        "backup format version {0} is not supported by this server (it reads version {FORMAT_VERSION})"
    )]
    UnsupportedFormat(u8),
    #[error(
        "the backup was sealed with another encryption key: the file's key fingerprint is {file}, \
         CHALK_ENCRYPTION_KEY's is {ours}"
    )]
    OtherKey { file: String, ours: String },
    #[error("the backup is truncated")]
    Truncated,
    #[error("the backup is damaged: {0}")]
    Damaged(&'static str),
    #[error("cannot read the backup: {0}")]
    Io(#[from] io::Error),
}

/// Writes `manifest` and then `database_len` bytes of `database`, sealed, to `out`.
pub fn seal(
    key: &BackupKey,
    manifest: &[u8],
    database: &mut impl Read,
    database_len: u64,
    out: &mut impl Write,
) -> io::Result<()> {
    if manifest.len() > CHUNK {
        return Err(io::Error::other("the manifest is larger than a segment"));
    }
    let prefix: [u8; PREFIX] = rand::rng().random();
    let header = header(key, &prefix);
    out.write_all(&header)?;
    let cipher = Aes256Gcm::new(key.cipher_key().into());
    let mut encryptor = EncryptorBE32::from_aead(cipher, (&prefix).into());
    let sealed = encryptor
        .encrypt_next(Payload {
            msg: manifest,
            aad: &header,
        })
        .map_err(|_| io::Error::other("sealing failed"))?;
    write_frame(out, &sealed)?;
    let mut remaining = database_len;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = usize::try_from(remaining).map_or(CHUNK, |r| r.min(CHUNK));
        database.read_exact(&mut chunk[..n])?;
        remaining -= n as u64;
        let payload = Payload {
            msg: &chunk[..n],
            aad: &header,
        };
        if remaining == 0 {
            let sealed = encryptor
                .encrypt_last(payload)
                .map_err(|_| io::Error::other("sealing failed"))?;
            write_frame(out, &sealed)?;
            return Ok(());
        }
        let sealed = encryptor
            .encrypt_next(payload)
            .map_err(|_| io::Error::other("sealing failed"))?;
        write_frame(out, &sealed)?;
    }
}

fn header(key: &BackupKey, prefix: &[u8; PREFIX]) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(MAGIC);
    header[8] = FORMAT_VERSION;
    header[9..17].copy_from_slice(key.fingerprint_bytes());
    header[17..].copy_from_slice(prefix);
    header
}

fn write_frame(out: &mut impl Write, sealed: &[u8]) -> io::Result<()> {
    let len = u32::try_from(sealed.len()).map_err(io::Error::other)?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(sealed)
}

/// The key fingerprint a file's header names, without opening anything else: what a
/// refusal shows.
pub fn read_fingerprint(input: &mut impl Read) -> Result<String, OpenError> {
    let header = read_header(input)?;
    Ok(hex(&header[9..17]))
}

fn read_header(input: &mut impl Read) -> Result<[u8; HEADER_LEN], OpenError> {
    let mut header = [0u8; HEADER_LEN];
    match input.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(OpenError::NotABackup),
        Err(e) => return Err(e.into()),
    }
    if &header[..8] != MAGIC {
        return Err(OpenError::NotABackup);
    }
    if header[8] != FORMAT_VERSION {
        return Err(OpenError::UnsupportedFormat(header[8]));
    }
    Ok(header)
}

/// Reads a sealed file segment by segment.
pub struct Opener<R> {
    input: R,
    header: [u8; HEADER_LEN],
    decryptor: Option<DecryptorBE32<Aes256Gcm>>,
    /// The segment after the current one, read ahead: only the end of the file tells
    /// which segment must be the last.
    ahead: Option<Vec<u8>>,
}

impl<R: Read> Opener<R> {
    /// Checks the header (a backup, a known version, sealed with `key`) and opens the
    /// manifest segment, returning it.
    pub fn new(key: &BackupKey, mut input: R) -> Result<(Self, Vec<u8>), OpenError> {
        let header = read_header(&mut input)?;
        if &header[9..17] != key.fingerprint_bytes() {
            return Err(OpenError::OtherKey {
                file: hex(&header[9..17]),
                ours: key.fingerprint(),
            });
        }
        let prefix: [u8; PREFIX] = header[17..].try_into().expect("the header's last 7 bytes");
        let cipher = Aes256Gcm::new(key.cipher_key().into());
        let mut opener = Opener {
            input,
            header,
            decryptor: Some(DecryptorBE32::from_aead(cipher, (&prefix).into())),
            ahead: None,
        };
        let manifest = opener.next_segment()?.ok_or(OpenError::Truncated)?;
        if opener.decryptor.is_none() {
            // The manifest was sealed as the last segment: no database follows it.
            return Err(OpenError::Damaged("no database after the manifest"));
        }
        Ok((opener, manifest))
    }

    /// The next segment's plaintext; `None` after the last one.
    pub fn next_segment(&mut self) -> Result<Option<Vec<u8>>, OpenError> {
        if self.decryptor.is_none() {
            return Ok(None);
        }
        let current = match self.ahead.take() {
            Some(segment) => segment,
            None => read_frame(&mut self.input)?.ok_or(OpenError::Truncated)?,
        };
        let payload = Payload {
            msg: &current,
            aad: &self.header,
        };
        let opened = match read_frame(&mut self.input)? {
            Some(next) => {
                self.ahead = Some(next);
                self.decryptor
                    .as_mut()
                    .expect("checked above")
                    .decrypt_next(payload)
            }
            None => self
                .decryptor
                .take()
                .expect("checked above")
                .decrypt_last(payload),
        };
        opened.map(Some).map_err(|_| {
            OpenError::Damaged("a segment does not authenticate (altered, reordered or cut short)")
        })
    }
}

/// One segment's ciphertext; `None` at a clean end of file.
fn read_frame(input: &mut impl Read) -> Result<Option<Vec<u8>>, OpenError> {
    let mut len = [0u8; 4];
    let mut filled = 0;
    while filled < len.len() {
        match input.read(&mut len[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(OpenError::Truncated),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_be_bytes(len) as usize;
    if !(TAG..=CHUNK + TAG).contains(&len) {
        return Err(OpenError::Damaged("a segment has an impossible length"));
    }
    let mut segment = vec![0u8; len];
    match input.read_exact(&mut segment) {
        Ok(()) => Ok(Some(segment)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(OpenError::Truncated),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Sealer;

    fn key() -> BackupKey {
        BackupKey::from_encryption_key(&Sealer::generate_key_base64()).unwrap()
    }

    fn sealed(key: &BackupKey, database: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        seal(
            key,
            b"{\"m\":1}",
            &mut &database[..],
            database.len() as u64,
            &mut out,
        )
        .unwrap();
        out
    }

    fn open_all(key: &BackupKey, file: &[u8]) -> Result<(Vec<u8>, Vec<u8>), OpenError> {
        let (mut opener, manifest) = Opener::new(key, file)?;
        let mut database = Vec::new();
        while let Some(segment) = opener.next_segment()? {
            database.extend_from_slice(&segment);
        }
        Ok((manifest, database))
    }

    #[test]
    fn round_trips_across_segments_without_plaintext() {
        let key = key();
        let database: Vec<u8> = (0..CHUNK * 2 + 123).map(|i| (i % 251) as u8).collect();
        let file = sealed(&key, &database);
        assert!(!file.windows(7).any(|w| w == b"{\"m\":1}"));
        let (manifest, opened) = open_all(&key, &file).unwrap();
        assert_eq!(manifest, b"{\"m\":1}");
        assert_eq!(opened, database);
        // A database of exactly one chunk, and an empty one, also round-trip.
        for len in [CHUNK, 0] {
            let file = sealed(&key, &database[..len]);
            assert_eq!(open_all(&key, &file).unwrap().1, &database[..len]);
        }
    }

    #[test]
    fn truncation_reordering_flips_and_another_key_are_detected() {
        let key = key();
        let database: Vec<u8> = (0..CHUNK * 3).map(|i| (i % 7) as u8).collect();
        let file = sealed(&key, &database);
        let frame = 4 + CHUNK + TAG;
        let manifest_end = HEADER_LEN + 4 + 7 + TAG;
        // Cut inside a segment, and exactly at a segment boundary.
        assert!(matches!(
            open_all(&key, &file[..file.len() - 10]),
            Err(OpenError::Truncated)
        ));
        assert!(matches!(
            open_all(&key, &file[..manifest_end + frame]),
            Err(OpenError::Damaged(_))
        ));
        // Two database segments swapped.
        let mut swapped = file[..manifest_end].to_vec();
        swapped.extend_from_slice(&file[manifest_end + frame..manifest_end + 2 * frame]);
        swapped.extend_from_slice(&file[manifest_end..manifest_end + frame]);
        swapped.extend_from_slice(&file[manifest_end + 2 * frame..]);
        assert!(matches!(
            open_all(&key, &swapped),
            Err(OpenError::Damaged(_))
        ));
        // One flipped bit anywhere after the magic.
        for at in [9, 20, HEADER_LEN + 6, manifest_end + 100, file.len() - 1] {
            let mut flipped = file.clone();
            flipped[at] ^= 0x01;
            assert!(open_all(&key, &flipped).is_err(), "flip at {at}");
        }
        let other = self::key();
        match open_all(&other, &file) {
            Err(OpenError::OtherKey { file: theirs, ours }) => {
                assert_eq!(theirs, key.fingerprint());
                assert_eq!(ours, other.fingerprint());
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        assert!(matches!(
            open_all(&key, b"SQLite format 3\0........"),
            Err(OpenError::NotABackup)
        ));
    }
}
