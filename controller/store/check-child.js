// The store check's child process (check.ts starts it): opens the LMDB environment at argv[2]
// read-only and reads every entry of every database, decoding each value as the server would.
// Damage the native code does not survive (SIGSEGV, SIGBUS, an LMDB assertion's abort) kills this
// process, not the server, and check.ts turns its death into a refusal naming the file.
//
// Plain JavaScript on purpose: it runs with no TypeScript loader, which would cost more start-up
// time than the walk of a typical store, and it imports nothing but lmdb.
//
// It writes one JSON line on stdout: {"ok":true,"databases":{name:entries},"identity":…} or
// {"ok":false,"problem":"…"}.
import { open } from 'lmdb';

const path = process.argv[2];
let root;
try {
  root = open({ path, readOnly: true, maxDbs: 64 });
  /** @type {Record<string, number>} */
  const databases = {};
  // The main database holds the name of every named database (and no data of ours).
  const names = [];
  for (const key of root.getKeys()) {
    if (typeof key !== 'string') throw new Error(`the main database holds a key that is no database name (${JSON.stringify(key)})`);
    names.push(key);
  }
  let identity;
  for (const name of names) {
    const db = root.openDB({ name });
    const expected = db.getStats().entryCount;
    let walked = 0;
    try {
      for (const { key, value } of db.getRange()) {
        // A damaged branch page can send the cursor round in a circle: stop at the recorded count.
        if (++walked > expected) throw new Error(`holds more entries than the ${expected} it records`);
        if (name === 'meta' && key === 'identity') identity = value;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // LMDB's own errors name pages; a decoder's error quotes the value it read, which may be a
      // secret (the signing keys' database holds private keys), so only its position is told.
      const what = /^MDB_|^holds more/.test(message) ? message : `entry ${walked + 1} cannot be decoded`;
      throw new Error(`database ${name}: ${what}`);
    }
    if (walked !== expected) throw new Error(`database ${name} records ${expected} entries but ${walked} could be read`);
    databases[name] = walked;
  }
  process.stdout.write(JSON.stringify({ ok: true, databases, identity }) + '\n');
} catch (error) {
  process.stdout.write(JSON.stringify({ ok: false, problem: error instanceof Error ? error.message : String(error) }) + '\n');
} finally {
  await root?.close();
}
