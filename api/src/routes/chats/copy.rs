//! Writing an upload's sealed blocks to `message_blocks` with one binary COPY, streamed as
//! they arrive (the format is written by hand: ciphertext needs no text escaping this way).

use relivchats_domain::blocks::SealedBlock;
use uuid::Uuid;

use crate::error::ApiResult;

/// Bytes of COPY data sent to Postgres at once.
const COPY_CHUNK: usize = 1 << 20;

/// PostgreSQL's binary COPY signature, flags and (empty) header extension.
const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// One `message_blocks` row in binary COPY format (no text escaping of the ciphertext).
fn copy_block_row(out: &mut Vec<u8>, chat_id: Uuid, block: &SealedBlock) {
    let h = &block.header;
    out.extend_from_slice(&7i16.to_be_bytes());
    out.extend_from_slice(&16i32.to_be_bytes());
    out.extend_from_slice(chat_id.as_bytes());
    for v in [h.block_no, h.first_seq, h.message_count] {
        out.extend_from_slice(&4i32.to_be_bytes());
        out.extend_from_slice(&v.to_be_bytes());
    }
    for ts in [h.first_ts, h.last_ts] {
        out.extend_from_slice(&8i32.to_be_bytes());
        let micros = ts.and_utc().timestamp_micros() - PG_EPOCH_OFFSET_MICROS;
        out.extend_from_slice(&micros.to_be_bytes());
    }
    // A block is far below 2 GiB (it holds at most a few MB of compressed text).
    out.extend_from_slice(&(block.ciphertext.len() as i32).to_be_bytes());
    out.extend_from_slice(&block.ciphertext);
}

/// Streams `first` and the blocks arriving on `rx` into `message_blocks` with one binary COPY,
/// inside `tx`. Returns the number of blocks written.
pub(super) async fn copy_blocks(
    tx: &mut sqlx::PgConnection,
    chat_id: Uuid,
    first: SealedBlock,
    rx: &mut tokio::sync::mpsc::Receiver<SealedBlock>,
) -> ApiResult<usize> {
    let mut copy = tx
        .copy_in_raw(
            "COPY message_blocks (chat_id, block_no, first_seq, message_count, first_ts, last_ts, ciphertext) FROM STDIN (FORMAT binary)",
        )
        .await?;
    let mut buf = Vec::with_capacity(COPY_CHUNK + 512 * 1024);
    buf.extend_from_slice(COPY_BINARY_HEADER);
    copy_block_row(&mut buf, chat_id, &first);
    let mut written = 1;
    while let Some(block) = rx.recv().await {
        copy_block_row(&mut buf, chat_id, &block);
        written += 1;
        if buf.len() >= COPY_CHUNK {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(buf.as_slice()).await?;
    copy.finish().await?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use relivchats_domain::blocks::BlockHeader;

    /// The bytes PostgreSQL's binary COPY expects for one row (checked against the format's
    /// documentation; the integration tests check it against a real server).
    #[test]
    fn binary_copy_row_layout() {
        let chat = Uuid::from_u128(1);
        let ts = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 1)
            .unwrap();
        let block = SealedBlock {
            header: BlockHeader {
                block_no: 2,
                first_seq: 3,
                message_count: 4,
                first_ts: ts,
                last_ts: ts,
            },
            ciphertext: vec![0xAB; 5],
        };
        let mut out = Vec::new();
        copy_block_row(&mut out, chat, &block);
        assert_eq!(&out[..2], &7i16.to_be_bytes());
        assert_eq!(&out[2..6], &16i32.to_be_bytes());
        assert_eq!(&out[6..22], chat.as_bytes());
        assert_eq!(&out[22..30], &[0, 0, 0, 4, 0, 0, 0, 2]);
        assert_eq!(&out[46..50], &8i32.to_be_bytes());
        assert_eq!(
            &out[50..58],
            &1_000_000i64.to_be_bytes(),
            "one second after 2000"
        );
        assert_eq!(&out[70..74], &5i32.to_be_bytes());
        assert_eq!(out.len(), 79);
        assert_eq!(COPY_BINARY_HEADER.len(), 19);
    }
}
