// Checks that a `data.mdb` file looks like an LMDB environment before the native binding maps it.
//
// lmdb-js does not report a damaged file as an error: a garbage or truncated `data.mdb` makes the
// process die with SIGSEGV, SIGBUS or an assertion, which an operator sees as a native crash with
// no hint that the data directory is at fault. Reading the two meta pages ourselves catches the
// common damage (junk written over the file, a partial copy, the wrong file) and turns it into an
// error that names the file. Damage deep inside the B-tree with intact meta pages is not detected
// here; LMDB keeps no page checksums to detect it with.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

// The on-disk layout of lmdb-js's LMDB (the `mdb.master3` line, 64-bit): every page starts with a
// 24-byte header (page number, txn id, pad, flags, lower/upper bounds); pages 0 and 1 are meta
// pages whose MDB_meta starts right after it. `lmdb-file.test.ts` checks these offsets against a
// store lmdb-js has just written, so an upgrade that changes the format fails a test, not a user.
const META_OFFSET = 24;
const MAGIC = 0xbeefc0de;
export const LMDB_DATA_VERSION = 2;
const PAGE_FLAGS_OFFSET = 18;
const P_META = 0x08;
// Within MDB_meta: magic u32, version u32, address u64, mapsize u64, then two MDB_db records of
// 48 bytes (the first one's leading u32 holds the page size), then last page number and txn id.
const PAGE_SIZE_OFFSET = META_OFFSET + 24;
const LAST_PAGE_OFFSET = META_OFFSET + 120;
const TXN_ID_OFFSET = META_OFFSET + 128;
const META_END = TXN_ID_OFFSET + 8;

interface MetaPage {
  pageSize: number;
  lastPage: bigint;
  txnId: bigint;
}

/**
 * Returns why `file` is not a usable LMDB data file, or undefined when it looks sound (or is
 * empty, which LMDB initialises). Throws only for I/O errors (ENOENT, EACCES, …).
 */
export function lmdbFileProblem(file: string): string | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return undefined;
    const first = readMeta(fd, 0);
    if (typeof first === 'string') return `meta page 0: ${first}`;
    if (size < 2 * first.pageSize) return `the file is ${size} bytes, shorter than its two meta pages`;
    const second = readMeta(fd, first.pageSize);
    if (typeof second === 'string') return `meta page 1: ${second}`;
    if (second.pageSize !== first.pageSize) return 'the meta pages disagree on the page size';
    // LMDB uses the meta page with the higher transaction id; every page it points to must exist.
    const current = second.txnId > first.txnId ? second : first;
    const needed = (current.lastPage + 1n) * BigInt(first.pageSize);
    if (BigInt(size) < needed) return `the file is ${size} bytes but its last page ends at byte ${needed} (truncated)`;
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function readMeta(fd: number, position: number): MetaPage | string {
  const page = Buffer.alloc(META_END);
  const read = readSync(fd, page, 0, META_END, position);
  if (read < META_END) return 'too short';
  if (page.readUInt32LE(META_OFFSET) !== MAGIC) return 'no LMDB magic number';
  const version = page.readUInt32LE(META_OFFSET + 4);
  if (version !== LMDB_DATA_VERSION) return `LMDB data version ${version}, expected ${LMDB_DATA_VERSION}`;
  if ((page.readUInt16LE(PAGE_FLAGS_OFFSET) & P_META) === 0) return 'not flagged as a meta page';
  const pageSize = page.readUInt32LE(PAGE_SIZE_OFFSET);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return `implausible page size ${pageSize}`;
  return {
    pageSize,
    lastPage: page.readBigUInt64LE(LAST_PAGE_OFFSET),
    txnId: page.readBigUInt64LE(TXN_ID_OFFSET),
  };
}
