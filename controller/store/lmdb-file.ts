// Checks that a `data.mdb` file looks like an LMDB environment before the native binding maps it.
//
// lmdb-js does not report a damaged file as an error: a garbage or truncated `data.mdb` makes the
// process die with SIGSEGV, SIGBUS or an assertion, which an operator sees as a native crash with
// no hint that the data directory is at fault. Reading the two meta pages ourselves catches the
// common damage (junk written over the file, a partial copy, the wrong file) and turns it into an
// error that names the file. `lmdbTreeProblem` then walks every page the current meta page
// reaches — the free-page list, the main database, each named database, overflow pages — and
// checks each page's header and node layout (store/check.ts runs it before the check child).
// A read check through lmdb-js cannot see the free-page list's pages, whose damage only shows when
// a later write reuses a page. What this cannot see is damage that keeps every page well-formed (a
// changed byte inside a value, a wrong page number in a free-list entry); LMDB keeps no checksums.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

// The on-disk layout of lmdb-js's LMDB (the `mdb.master3` line, 64-bit): every page starts with a
// 24-byte header (page number, txn id, pad, flags, lower/upper bounds); pages 0 and 1 are meta
// pages whose MDB_meta starts right after it. `lmdb-file.test.ts` checks these offsets against a
// store lmdb-js has just written, so an upgrade that changes the format fails a test, not a user.
const META_OFFSET = 24;
const MAGIC = 0xbeefc0de;
export const LMDB_DATA_VERSION = 2;
const PAGE_FLAGS_OFFSET = 18;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_OVERFLOW = 0x04;
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

// Pages of the tree layout (lmdb-js's `mdb.master3`, 64-bit), after the 24-byte header: u16
// offsets to the page's nodes, counted from the end of the header like the bounds themselves (the
// lower bound is twice the number of nodes), then free space, then the nodes up to the page's end.
// A node: u16 lo, u16 hi, u16 flags, u16 key size, the key, then the data (leaf: lo|hi<<16 bytes, or
// with F_BIGDATA the number of its first overflow page; branch: lo|hi<<16|flags<<32 is the child).
// An overflow page keeps its page count where a tree page keeps its bounds.
const HEADER = 24;
const LOWER_OFFSET = 20;
const UPPER_OFFSET = 22;
const NODE_HEADER = 8;
const F_BIGDATA = 0x01;
const F_SUBDATA = 0x02;
/** An MDB_db record: flags u16 at 4, depth u16 at 6, entry count u64 at 32, root page u64 at 40. */
const DB_RECORD = 48;
const FREE_DB_ROOT_OFFSET = META_OFFSET + 24 + 40;
const MAIN_DB_OFFSET = META_OFFSET + 24 + DB_RECORD;
const NO_PAGE = 0xffffffffffffffffn;
const MAX_DEPTH = 64;

export interface TreeWalk {
  /** Every page the current meta page reaches, with the tree it belongs to ("(free list)", "(main)", a database's name). */
  pages: Map<number, string>;
  /** Entries per named database. */
  entries: Map<string, number>;
}

/**
 * Walks every tree of the LMDB data file `file` from its current meta page, reading pages with
 * plain file reads (a damaged page cannot crash this). Returns why the file is not sound, or the
 * walk. Call it after `lmdbFileProblem` found the meta pages sound. Throws only for I/O errors.
 */
export function lmdbTreeProblem(file: string): string | TreeWalk {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const first = readMeta(fd, 0);
    const second = typeof first === 'string' ? first : readMeta(fd, first.pageSize);
    if (typeof first === 'string' || typeof second === 'string') return 'the meta pages are damaged';
    const metaAt = second.txnId > first.txnId ? first.pageSize : 0;
    const meta = Buffer.alloc(MAIN_DB_OFFSET + DB_RECORD);
    readSync(fd, meta, 0, meta.length, metaAt);
    const walker = new Walker(fd, first.pageSize, Math.min(Number(metaAt === 0 ? first.lastPage : second.lastPage), Math.floor(size / first.pageSize) - 1));
    // The free list's entries are not read: lmdb-js's LMDB edits them in place as it reuses pages,
    // in a layout that is not the documented one. Its pages are checked like any other.
    walker.tree('(free list)', meta.readBigUInt64LE(FREE_DB_ROOT_OFFSET), () => undefined);
    const entries = new Map<string, number>();
    const named: [string, Buffer][] = [];
    walker.tree('(main)', meta.readBigUInt64LE(MAIN_DB_OFFSET + 40), (data, key, flags) => {
      if ((flags & F_SUBDATA) === 0) return undefined;
      if (data.length !== DB_RECORD) return `the record of database ${JSON.stringify(key.toString('utf8'))} is ${data.length} bytes`;
      named.push([key.toString('utf8').replace(/\0$/, ''), data]);
      return undefined;
    });
    for (const [name, record] of named) {
      if (walker.problem !== undefined) break;
      const before = walker.leaves;
      walker.tree(name, record.readBigUInt64LE(40), () => undefined);
      const expected = Number(record.readBigUInt64LE(32));
      entries.set(name, walker.leaves - before);
      if (walker.problem === undefined && walker.leaves - before !== expected) {
        walker.problem = `database ${name} records ${expected} entries but its pages hold ${walker.leaves - before}`;
      }
    }
    if (walker.problem !== undefined) return walker.problem;
    return { pages: walker.pages, entries };
  } finally {
    closeSync(fd);
  }
}

class Walker {
  readonly pages = new Map<number, string>();
  problem: string | undefined;
  /** Leaf nodes seen so far, all trees together. */
  leaves = 0;
  private readonly page: Buffer;

  constructor(
    private readonly fd: number,
    private readonly pageSize: number,
    readonly lastPage: number,
  ) {
    this.page = Buffer.alloc(pageSize);
  }

  /** Walks the tree rooted at `root`, calling `leaf` with each leaf node's data; stops at the first problem. */
  tree(name: string, root: bigint, leaf: (data: Buffer, key: Buffer, flags: number) => string | undefined): void {
    if (root !== NO_PAGE) this.visit(name, root, 0, leaf);
  }

  private visit(name: string, number: bigint, depth: number, leaf: (data: Buffer, key: Buffer, flags: number) => string | undefined): void {
    const where = `page ${number} (${name === '(main)' ? 'the main database' : name === '(free list)' ? 'the free list' : `database ${name}`})`;
    const fail = (what: string) => void (this.problem ??= `${where}: ${what}`);
    if (this.problem !== undefined) return;
    if (depth > MAX_DEPTH) return fail('the tree is deeper than LMDB ever makes one (a loop?)');
    if (number < 2n || number > BigInt(this.lastPage)) return fail(`is outside the file's pages 2 to ${this.lastPage}`);
    const n = Number(number);
    if (this.pages.has(n)) return fail(`is reached twice (also from ${this.pages.get(n)})`);
    this.pages.set(n, name);
    // A private copy: the walk recurses, and the shared buffer is overwritten below.
    const page = Buffer.from(this.read(n));
    if (page.readBigUInt64LE(0) !== number) return fail(`its header says page ${page.readBigUInt64LE(0)}`);
    const flags = page.readUInt16LE(PAGE_FLAGS_OFFSET);
    const kind = flags & (P_BRANCH | P_LEAF | P_OVERFLOW | P_META);
    if (kind !== P_BRANCH && kind !== P_LEAF) return fail(`is not a branch or leaf page (flags 0x${flags.toString(16)})`);
    if ((flags & ~(P_BRANCH | P_LEAF | 0x10 | 0x8000)) !== 0) return fail(`has flags 0x${flags.toString(16)} this check does not know`);
    const lower = page.readUInt16LE(LOWER_OFFSET);
    const upper = page.readUInt16LE(UPPER_OFFSET);
    const count = lower >> 1;
    if ((lower & 1) !== 0 || lower > upper || HEADER + upper > this.pageSize) return fail(`its bounds ${lower}..${upper} do not fit the page`);
    if (kind === P_BRANCH && count === 0) return fail('is a branch page with no children');
    for (let i = 0; i < count && this.problem === undefined; i++) {
      const at = HEADER + page.readUInt16LE(HEADER + 2 * i);
      if (at < HEADER + upper || at + NODE_HEADER > this.pageSize) return fail(`node ${i} starts outside the page's node area`);
      const lo = page.readUInt16LE(at);
      const hi = page.readUInt16LE(at + 2);
      const nodeFlags = page.readUInt16LE(at + 4);
      const keySize = page.readUInt16LE(at + 6);
      const dataAt = at + NODE_HEADER + keySize;
      if (dataAt > this.pageSize) return fail(`node ${i}'s key runs past the page`);
      const key = page.subarray(at + NODE_HEADER, dataAt);
      if (kind === P_BRANCH) {
        this.visit(name, BigInt(lo) + (BigInt(hi) << 16n) + (BigInt(nodeFlags) << 32n), depth + 1, leaf);
        continue;
      }
      this.leaves++;
      const size = lo + hi * 0x10000;
      let data: Buffer;
      if ((nodeFlags & F_BIGDATA) !== 0) {
        if (dataAt + 8 > this.pageSize) return fail(`node ${i}'s overflow page number runs past the page`);
        const problem = this.overflow(page.readBigUInt64LE(dataAt), size, name);
        if (problem !== undefined) return fail(`node ${i}: ${problem}`);
        // Only the main database's data is read (a named database's record); values are the child's.
        data = name === '(main)' ? this.readOverflow(page.readBigUInt64LE(dataAt), size) : Buffer.alloc(0);
      } else {
        if (dataAt + size > this.pageSize) return fail(`node ${i}'s data (${size} bytes) runs past the page`);
        data = page.subarray(dataAt, dataAt + size);
      }
      const problem = leaf(data, key, nodeFlags);
      if (problem !== undefined) return fail(problem);
    }
  }

  private overflow(number: bigint, size: number, name: string): string | undefined {
    if (number < 2n || number > BigInt(this.lastPage)) return `its overflow page ${number} is outside the file's pages`;
    const n = Number(number);
    const page = this.read(n);
    if (page.readBigUInt64LE(0) !== number) return `overflow page ${number}'s header says page ${page.readBigUInt64LE(0)}`;
    if ((page.readUInt16LE(PAGE_FLAGS_OFFSET) & P_OVERFLOW) === 0) return `page ${number} is not an overflow page`;
    const pages = page.readUInt32LE(LOWER_OFFSET);
    if (pages < 1 || n + pages - 1 > this.lastPage) return `overflow page ${number} claims ${pages} pages`;
    if (size > pages * this.pageSize - HEADER) return `its ${size} bytes do not fit its ${pages} overflow pages`;
    for (let p = n; p < n + pages; p++) {
      if (this.pages.has(p)) return `overflow page ${p} is reached twice (also from ${this.pages.get(p)})`;
      this.pages.set(p, name);
    }
    return undefined;
  }

  private readOverflow(number: bigint, size: number): Buffer {
    const data = Buffer.alloc(size);
    readSync(this.fd, data, 0, size, Number(number) * this.pageSize + HEADER);
    return data;
  }

  private read(n: number): Buffer {
    const read = readSync(this.fd, this.page, 0, this.pageSize, n * this.pageSize);
    if (read < this.pageSize) this.page.fill(0, read);
    return this.page;
  }
}
