// Fills examples/manifests with well-formed key material: `npx tsx examples/generate-sealed.ts`.
//
// It makes a throwaway X25519 sealing key pair, records the public half in mergekey.yaml, seals a
// fresh random secret into every client secret and password slot (bound to its object, as the
// controller requires), and gives the private_key_jwt application a fresh public signing key.
// The private keys and the secrets only ever live in this process: nothing here can open the
// sealed values, which is the point of an example that is safe to publish. The quickstart reseals
// demo secrets with the controller's own key.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, CompactEncrypt, exportJWK, generateKeyPair, type JWK } from 'jose';
import { parseDocument, type Document, type Scalar } from 'yaml';

const SEALING_ALG = 'ECDH-ES+A256KW';
const SEALING_ENC = 'A256GCM';

export const examplesDir = fileURLToPath(new URL('./manifests/', import.meta.url));

async function main(): Promise<void> {
  const sealing = await generateKeyPair(SEALING_ALG, { crv: 'X25519', extractable: true });
  const publicJwk = await exportJWK(sealing.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const sealingKey = { kty: 'OKP', crv: 'X25519', x: publicJwk.x, kid, use: 'enc', alg: SEALING_ALG };

  const seal = async (bind: string): Promise<string> =>
    new CompactEncrypt(new TextEncoder().encode(randomBytes(32).toString('base64url')))
      .setProtectedHeader({ alg: SEALING_ALG, enc: SEALING_ENC, kid, bind })
      .encrypt(sealing.publicKey);

  await edit('mergekey.yaml', async (doc) => {
    doc.setIn(['spec', 'sealingKey'], sealingKey);
  });
  for (const file of await yamlFiles('users')) {
    await edit(file, async (doc) => {
      if (doc.hasIn(['spec', 'password'])) doc.setIn(['spec', 'password', 'sealed'], plain(doc, await seal(`User/${name(doc)}`)));
    });
  }
  for (const file of await yamlFiles('apps')) {
    await edit(file, async (doc) => {
      const secrets = doc.getIn(['spec', 'credentials', 'secrets']) as { items: unknown[] } | undefined;
      for (let i = 0; i < (secrets?.items.length ?? 0); i++) {
        doc.setIn(['spec', 'credentials', 'secrets', i, 'sealed'], plain(doc, await seal(`Application/${name(doc)}`)));
      }
      if (doc.hasIn(['spec', 'credentials', 'jwks'])) {
        doc.setIn(['spec', 'credentials', 'jwks', 'keys'], [await publicSigningKey()]);
      }
    });
  }
  console.log(`sealed the examples to key ${kid}; its private half is gone`);
}

/** A P-256 signing key for private_key_jwt, of which only the public half is kept. */
async function publicSigningKey(): Promise<JWK> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: await calculateJwkThumbprint(jwk), use: 'sig', alg: 'ES256' };
}

/** A compact JWE needs no quotes; writing it plain keeps the manifests easy to read. */
function plain(doc: Document, value: string): Scalar {
  const node = doc.createNode(value);
  node.type = 'PLAIN';
  return node;
}

function name(doc: Document): string {
  return String(doc.getIn(['metadata', 'name']));
}

async function yamlFiles(folder: string): Promise<string[]> {
  return (await readdir(join(examplesDir, folder))).filter((f) => f.endsWith('.yaml')).map((f) => `${folder}/${f}`);
}

async function edit(file: string, change: (doc: Document) => Promise<void>): Promise<void> {
  const path = join(examplesDir, file);
  const doc = parseDocument(await readFile(path, 'utf8'));
  await change(doc);
  await writeFile(path, doc.toString({ lineWidth: 0, flowCollectionPadding: false }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
