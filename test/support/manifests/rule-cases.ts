// What the schemas cannot say: rules about one file's place and sealed values, and rules across
// the repository's objects.
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { ProblemCode } from '../../../controller/manifests/codes.ts';
import type { Problem } from '../../../controller/manifests/model.ts';
import { edit, type Case } from './cases.ts';
import { loadManifest } from '../../../controller/manifests/load.ts';
import { checkRules } from '../../../controller/manifests/rules.ts';
import { billingYaml, INVOICES_API_YAML, makeSealingKey, planYaml, settingsYaml, spaYaml, toFiles, userYaml } from './repo.ts';

const at = (path: string, line: number, column: number, code: ProblemCode, message: string): Problem => ({ path, line, column, code, message });
const APP = 'apps/billing.yaml';
const SEALED = 'spec.credentials.secrets[0].sealed';
const JWT_APP = 'apps/reports.yaml';
const KEYS = 'spec.credentials.jwks.keys';
/** The public key apps/reports.yaml lists (RFC 7517 appendix A.1's example key). */
const REPORTS_POINT = 'x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, y: x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0';

/** RFC 8037 appendix A.6's X25519 public key, and its RFC 7638 thumbprint worked out independently. */
const RFC8037_X25519 = 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo';
const RFC8037_X25519_THUMBPRINT = createHash('sha256').update(`{"crv":"X25519","kty":"OKP","x":"${RFC8037_X25519}"}`).digest('base64url');

function rsaModulus(bits: number): string {
  return String(generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' }).n);
}

function ecPoint(curve: 'P-256' | 'P-384'): string {
  const { x, y } = generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ format: 'jwk' });
  return `x: ${x!}, y: ${y!}`;
}

function okpX(type: 'ed25519' | 'x25519'): string {
  return String((type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('x25519')).publicKey.export({ format: 'jwk' }).x);
}

/** A sealed value with its protected header rewritten: the checks read the header, not the rest. */
async function withHeader(sealed: Promise<string>, change: (header: Record<string, unknown>) => Record<string, unknown>): Promise<string> {
  const [header = '', ...rest] = (await sealed).split('.');
  const changed = change(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>);
  return [Buffer.from(JSON.stringify(changed)).toString('base64url'), ...rest].join('.');
}

const HTTP_OFF_LOOPBACK = 'uses http on a host that is not a loopback IP, so the code would cross the network in the clear: use https, or http://127.0.0.1 or http://[::1] for a native app on the same device (RFC 8252 section 7.3)';
const WILDCARD = 'holds a wildcard (*): redirect URIs are compared exactly, never as patterns (RFC 9700 section 4.1.3), so list each URI in full';

export const FILE_RULE_CASES: Case[] = [
  {
    title: 'a name that differs from the file name (and a sealed secret bound to the old name)',
    change: async (key) => ({ [APP]: edit(await billingYaml(key), '  name: billing', '  name: billing2') }),
    expected: [
      at(APP, 4, 9, 'rules.name-mismatch', 'metadata.name: "billing2" differs from the file name billing.yaml: an object\'s name is its file\'s base name'),
      at(APP, 15, 17, 'rules.sealed-binding', `${SEALED}: sealed for Application/billing, not Application/billing2: seal it again for this app`),
    ],
  },
  {
    title: 'URLs a browser reads otherwise than a reviewer: a redirect URI, the issuer, an audience (RFC 9700 section 4.1.3)',
    change: async (key) => {
      const uris = [
        'https://billing.example.com@evil.example/cb',
        'https://user:secret@billing.example.com/cb',
        'https:///cb',
        'https://2130706433/cb',
        'https://billing%2eexample.com/cb',
        'https://billing.example.com/a/../../cb',
        'https://billing.example.com:99999/cb',
        'https://billing.example.com:0443/cb',
        // Fine: a port and a query, IPv6 loopback.
        'https://billing.example.com:8443/cb?x=1',
        'http://[::1]:8080/cb',
      ];
      return {
        [APP]: edit(await billingYaml(key), '  plan: gold\n', `  plan: gold\n  redirectUris:\n${uris.map((uri) => `    - ${uri}\n`).join('')}`),
        'mergekey.yaml': edit(settingsYaml(key), 'issuer: https://auth.example.com', 'issuer: https://auth.example.com@evil.example'),
        'apis/invoices.yaml': edit(INVOICES_API_YAML, 'audience: https://api.example.com/invoices', 'audience: https://api.example.com/./invoices'),
      };
    },
    expected: [
      at('apis/invoices.yaml', 7, 13, 'rules.url-ambiguous', 'spec.audience: "https://api.example.com/./invoices" has the path "/./invoices", which a browser reads as "/invoices": write "/invoices"'),
      at(APP, 14, 7, 'rules.url-ambiguous', 'spec.redirectUris[0]: "https://billing.example.com@evil.example/cb" holds credentials or a user name before the host ("billing.example.com@"), which hide the real host from a reader: remove them'),
      at(APP, 15, 7, 'rules.url-ambiguous', 'spec.redirectUris[1]: "https://user:secret@billing.example.com/cb" holds credentials or a user name before the host ("user:secret@"), which hide the real host from a reader: remove them'),
      at(APP, 16, 7, 'rules.url-ambiguous', 'spec.redirectUris[2]: "https:///cb" has no host after // (a browser would take the first path segment as the host)'),
      at(APP, 17, 7, 'rules.url-ambiguous', 'spec.redirectUris[3]: "https://2130706433/cb" names the host "2130706433", which a browser reads as "127.0.0.1": write "127.0.0.1"'),
      at(APP, 18, 7, 'rules.url-ambiguous', 'spec.redirectUris[4]: "https://billing%2eexample.com/cb" names the host "billing%2eexample.com", which a browser reads as "billing.example.com": write "billing.example.com"'),
      at(APP, 19, 7, 'rules.url-ambiguous', 'spec.redirectUris[5]: "https://billing.example.com/a/../../cb" has the path "/a/../../cb", which a browser reads as "/cb": write "/cb"'),
      at(APP, 20, 7, 'rules.url-ambiguous', 'spec.redirectUris[6]: "https://billing.example.com:99999/cb" is not a URL a browser can open (a port above 65535, a character not allowed in a host...)'),
      at(APP, 21, 7, 'rules.url-ambiguous', 'spec.redirectUris[7]: "https://billing.example.com:0443/cb" writes the port as "0443": write 443'),
      at('mergekey.yaml', 6, 11, 'rules.url-ambiguous', 'spec.issuer: "https://auth.example.com@evil.example" holds credentials or a user name before the host ("auth.example.com@"), which hide the real host from a reader: remove them'),
    ],
  },
  {
    title: 'redirect URIs the authorization endpoint must not send a code to: http off loopback, localhost, wildcards (RFC 8252 sections 7.3 and 8.3, RFC 9700 section 4.1.3)',
    change: async (key) => {
      const uris = [
        'http://localhost:8080/cb',
        'http://app.localhost/cb?x=1',
        'http://billing.example.com/cb',
        'http://127.0.0.2/cb',
        'http://[::2]/cb',
        'https://*.example.com/cb',
        'https://billing.example.com/cb/*',
        // Fine: http on the loopback IP literals, with or without a port.
        'http://127.0.0.1/cb',
        'http://127.0.0.1:51004/cb',
        'http://[::1]/cb',
      ];
      return { [APP]: edit(await billingYaml(key), '  plan: gold\n', `  plan: gold\n  redirectUris:\n${uris.map((uri) => `    - ${uri}\n`).join('')}`) };
    },
    expected: [
      at(APP, 14, 7, 'rules.redirect-uri', 'spec.redirectUris[0]: "http://localhost:8080/cb" names "localhost", which a resolver may send elsewhere (RFC 8252 section 8.3: NOT RECOMMENDED): use the loopback IP literal, http://127.0.0.1:8080/cb'),
      at(APP, 15, 7, 'rules.redirect-uri', 'spec.redirectUris[1]: "http://app.localhost/cb?x=1" names "app.localhost", which a resolver may send elsewhere (RFC 8252 section 8.3: NOT RECOMMENDED): use the loopback IP literal, http://127.0.0.1/cb?x=1'),
      at(APP, 16, 7, 'rules.redirect-uri', `spec.redirectUris[2]: "http://billing.example.com/cb" ${HTTP_OFF_LOOPBACK}`),
      at(APP, 17, 7, 'rules.redirect-uri', `spec.redirectUris[3]: "http://127.0.0.2/cb" ${HTTP_OFF_LOOPBACK}`),
      at(APP, 18, 7, 'rules.redirect-uri', `spec.redirectUris[4]: "http://[::2]/cb" ${HTTP_OFF_LOOPBACK}`),
      at(APP, 19, 7, 'rules.redirect-uri', `spec.redirectUris[5]: "https://*.example.com/cb" ${WILDCARD}`),
      at(APP, 20, 7, 'rules.redirect-uri', `spec.redirectUris[6]: "https://billing.example.com/cb/*" ${WILDCARD}`),
    ],
  },
  {
    title: 'the authorization_code grant without a redirect URI',
    change: (_key, repo) => ({ 'apps/spa.yaml': edit(spaYaml(), '  redirectUris:\n    - https://spa.example.com/callback\n    - http://127.0.0.1/callback\n', ''), 'apps/reports.yaml': edit(repo['apps/reports.yaml'], '  clientId: mk_reports_0001\n', '  clientId: mk_reports_0001\n  grantTypes: [client_credentials, authorization_code]\n  redirectUris: []\n') }),
    expected: [
      at('apps/reports.yaml', 9, 36, 'rules.redirect-uri-missing', 'spec.grantTypes[1]: authorization_code sends the user back to a registered redirect URI, and this application lists none: add spec.redirectUris'),
      at('apps/spa.yaml', 10, 16, 'rules.redirect-uri-missing', 'spec.grantTypes[0]: authorization_code sends the user back to a registered redirect URI, and this application lists none: add spec.redirectUris'),
    ],
  },
  {
    title: 'a public client with grants that no PKCE verifier protects',
    change: () => ({ 'apps/spa.yaml': edit(spaYaml(), 'grantTypes: [authorization_code, refresh_token]', 'grantTypes: [client_credentials, authorization_code, password]') }),
    expected: [
      at('apps/spa.yaml', 10, 16, 'rules.public-client-grant', 'spec.grantTypes[0]: a public client (tokenEndpointAuthMethod none) has no secret to prove who asks, so it may use only authorization_code and refresh_token (with PKCE), not client_credentials'),
      at('apps/spa.yaml', 10, 56, 'rules.public-client-grant', 'spec.grantTypes[2]: a public client (tokenEndpointAuthMethod none) has no secret to prove who asks, so it may use only authorization_code and refresh_token (with PKCE), not password'),
    ],
  },
  {
    title: 'token lifetimes past a day (access) or a year (refresh), up to what the duration form allows',
    change: () => ({
      'plans/gold.yaml': `${planYaml('gold')}  accessTokenTtl: 25h\n  refreshTokenTtl: 999999999d\n`,
      'plans/standard.yaml': `${planYaml('standard')}  accessTokenTtl: 86400s\n  refreshTokenTtl: 366d\n`,
    }),
    expected: [
      at('plans/gold.yaml', 7, 19, 'schema.range', 'spec.accessTokenTtl: must be at most 24h (86400 seconds), not 25h'),
      at('plans/gold.yaml', 8, 20, 'schema.range', 'spec.refreshTokenTtl: must be at most 366d (31622400 seconds), not 999999999d'),
    ],
  },
  {
    title: 'settings not named mergekey',
    change: () => ({ 'mergekey.yaml': edit(settingsYaml(), 'name: mergekey', 'name: settings') }),
    expected: [at('mergekey.yaml', 4, 9, 'rules.name-mismatch', 'metadata.name: the settings in mergekey.yaml are named mergekey, not "settings"')],
  },
  {
    title: 'a Plan in apps/',
    change: () => ({ 'apps/silver.yaml': planYaml('silver') }),
    expected: [at('apps/silver.yaml', 2, 7, 'rules.kind-folder', 'kind: Plan belongs in plans/, not in apps/')],
  },
  {
    title: 'an Application as mergekey.yaml',
    change: async (key) => ({ 'mergekey.yaml': edit(await billingYaml(key), 'name: billing', 'name: mergekey') }),
    expected: [
      at('mergekey.yaml', 2, 7, 'rules.kind-folder', 'kind: Application belongs in apps/, not in mergekey.yaml'),
      at('mergekey.yaml', 15, 17, 'rules.sealed-binding', `${SEALED}: sealed for Application/billing, not Application/mergekey: seal it again for this app`),
    ],
  },
  {
    title: 'a .yml file',
    change: () => ({ 'plans/silver.yml': planYaml('silver') }),
    expected: [at('plans/silver.yml', 1, 1, 'file.extension', 'manifests end in .yaml, not .yml: rename it to silver.yaml')],
  },
  {
    title: 'a manifest in a subfolder',
    change: () => ({ 'users/staff/carol.yaml': userYaml('carol', 'carol-gh') }),
    expected: [at('users/staff/carol.yaml', 1, 1, 'file.location', 'manifests sit directly in users/, not in a subfolder: move it to users/carol.yaml')],
  },
  {
    title: 'a sealed value whose header is not JSON',
    change: async (key) => {
      const [, ...rest] = (await key.seal('Application/billing')).split('.');
      return { [APP]: await billingYaml(key, [Buffer.from('not json').toString('base64url'), ...rest].join('.')) };
    },
    expected: [at(APP, 15, 17, 'rules.sealed-malformed', `${SEALED}: not a sealed value Mergekey can open: its protected header is not base64url-encoded JSON; seal the secret again with \`mergekey seal\``)],
  },
  {
    title: 'a sealed value that names no key',
    change: async (key) => ({ [APP]: await billingYaml(key, await key.seal('Application/billing', { header: { kid: undefined } })) }),
    expected: [at(APP, 15, 17, 'rules.sealed-malformed', `${SEALED}: not a sealed value Mergekey can open: its header names no key (kid); seal the secret again with \`mergekey seal\``)],
  },
  {
    title: 'a sealed value with a truncated authentication tag',
    change: async (key) => ({ [APP]: await billingYaml(key, (await key.seal('Application/billing')).slice(0, -4)) }),
    expected: [at(APP, 15, 17, 'rules.sealed-malformed', `${SEALED}: not a sealed value Mergekey can open: its authentication tag is not 16 bytes; seal the secret again with \`mergekey seal\``)],
  },
  {
    title: 'a sealed value made with another algorithm',
    change: async (key) => ({ [APP]: await billingYaml(key, await key.seal('Application/billing', { header: { alg: 'ECDH-ES+A128KW', enc: 'A128GCM' } })) }),
    expected: [at(APP, 15, 17, 'rules.sealed-algorithm', `${SEALED}: sealed with alg ECDH-ES+A128KW and enc A128GCM; only ECDH-ES+A256KW with A256GCM is accepted: seal it again with \`mergekey seal\``)],
  },
  {
    title: 'a compressed sealed value',
    change: async (key) => ({ [APP]: await billingYaml(key, await withHeader(key.seal('Application/billing'), (header) => ({ ...header, zip: 'DEF' }))) }),
    expected: [at(APP, 15, 17, 'rules.sealed-zip', `${SEALED}: compressed sealed values (zip) are refused: seal the secret again with \`mergekey seal\``)],
  },
  {
    title: "a client secret copied from another app's manifest",
    change: async (key) => ({ [APP]: await billingYaml(key, await key.seal('Application/reports')) }),
    expected: [at(APP, 15, 17, 'rules.sealed-binding', `${SEALED}: sealed for Application/reports, not Application/billing: seal it again for this app`)],
  },
  {
    title: "a password copied from another user's manifest",
    change: async (key) => ({ 'users/alice.yaml': `${userYaml('alice', 'alice-gh')}  password:\n    sealed: ${await key.seal('User/bob')}\n` }),
    expected: [at('users/alice.yaml', 8, 13, 'rules.sealed-binding', 'spec.password.sealed: sealed for User/bob, not User/alice: seal it again for this user')],
  },
  {
    title: 'public keys the token endpoint could not verify with',
    change: (_key, repo) => {
      const keys = [
        `{ n: ${rsaModulus(1024)}, kty: RSA, e: AQAB, kid: k1 }`,
        `{ crv: P-384, kty: EC, ${ecPoint('P-384')}, kid: k2 }`,
        `{ use: enc, kty: EC, crv: P-256, ${ecPoint('P-256')}, kid: k3 }`,
        `{ alg: RS256, kty: EC, crv: P-256, ${ecPoint('P-256')}, kid: k4 }`,
        `{ kty: EC, crv: P-256, x: ${'A'.repeat(43)}, y: ${'A'.repeat(43)}, kid: k5 }`,
        `{ crv: X25519, kty: OKP, x: ${okpX('x25519')}, kid: k6 }`,
        `{ alg: ES256, kty: OKP, crv: Ed25519, x: ${okpX('ed25519')}, kid: k7 }`,
        `{ kid: k1, kty: RSA, n: ${rsaModulus(2048)}, e: AQAB, alg: PS256, use: sig }`,
        `{ kty: OKP, crv: Ed25519, x: ${okpX('ed25519')}, alg: EdDSA, kid: k9 }`,
        `{ e: AQ, kty: RSA, n: ${rsaModulus(2048)}, kid: k10 }`,
      ];
      return { [JWT_APP]: edit(repo[JWT_APP], `        - { kty: EC, crv: P-256, ${REPORTS_POINT} }\n`, keys.map((key) => `        - ${key}\n`).join('')) };
    },
    expected: [
      at(JWT_APP, 13, 16, 'rules.client-key-weak', `${KEYS}[0].n: the RSA key has 1024 bits; RS256 and PS256 keys have at least 2048 (RFC 7518 section 3.3): make a new key pair of 2048 bits or more`),
      at(JWT_APP, 14, 18, 'rules.client-key-unusable', `${KEYS}[1].crv: an EC key on P-384 cannot sign a client assertion the token endpoint accepts (RS256, PS256, ES256, EdDSA): use P-256`),
      at(JWT_APP, 15, 18, 'rules.client-key-unusable', `${KEYS}[2].use: use "enc" marks an encryption key; a key for private_key_jwt signs, so its use is sig (or leave use out)`),
      at(JWT_APP, 16, 18, 'rules.client-key-unusable', `${KEYS}[3].alg: alg "RS256" does not fit an EC P-256 key: use ES256 (or leave alg out)`),
      at(JWT_APP, 17, 11, 'rules.client-key-unusable', `${KEYS}[4]: not a usable public key: x and y are not a point on P-256; export the public key again from its private key`),
      at(JWT_APP, 18, 18, 'rules.client-key-unusable', `${KEYS}[5].crv: an OKP key on X25519 cannot sign a client assertion the token endpoint accepts (RS256, PS256, ES256, EdDSA): use Ed25519`),
      at(JWT_APP, 19, 18, 'rules.client-key-unusable', `${KEYS}[6].alg: alg "ES256" does not fit an OKP Ed25519 key: use EdDSA (or leave alg out)`),
      at(JWT_APP, 20, 18, 'rules.client-key-kid', `${KEYS}[7].kid: kid "k1" is already used by keys[0]: give every key its own kid`),
      at(JWT_APP, 22, 16, 'rules.client-key-weak', `${KEYS}[9].e: the RSA public exponent is 1; it must be odd and at least 65537 (FIPS 186-5), and is 65537 (AQAB) in practice: make a new key pair`),
    ],
  },
  {
    title: 'two keys of one type that the token endpoint cannot tell apart, for want of a kid',
    change: (_key, repo) => {
      const keys = [`{ kty: OKP, crv: Ed25519, x: ${okpX('ed25519')}, kid: current }`, `{ kty: OKP, crv: Ed25519, x: ${okpX('ed25519')} }`];
      return { [JWT_APP]: edit(repo[JWT_APP], `        - { kty: EC, crv: P-256, ${REPORTS_POINT} }\n`, keys.map((key) => `        - ${key}\n`).join('')) };
    },
    expected: [
      at(JWT_APP, 14, 11, 'rules.client-key-kid', `${KEYS}[1]: this key and keys[0] are of one type and not both have a kid, so the token endpoint cannot tell which one an assertion is for: give each a kid`),
    ],
  },
  {
    title: 'private key material in a public key, and a symmetric key',
    change: (_key, repo) => {
      const { d } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
      const keys = [`{ kty: EC, crv: P-256, ${REPORTS_POINT}, d: ${d!} }`, `{ kty: oct, k: ${'A'.repeat(43)} }`];
      return { [JWT_APP]: edit(repo[JWT_APP], `        - { kty: EC, crv: P-256, ${REPORTS_POINT} }\n`, keys.map((key) => `        - ${key}\n`).join('')) };
    },
    expected: [
      at(JWT_APP, 13, 130, 'schema.private-key', `${KEYS}[0]: "d" is private key material: git history keeps it for good, so treat the key as leaked, make a new key pair and list only its public half`),
      at(JWT_APP, 14, 18, 'schema.value', `${KEYS}[1].kty: "oct" must be one of RSA, EC, OKP`),
      at(JWT_APP, 14, 23, 'schema.private-key', `${KEYS}[1]: "k" is private key material: git history keeps it for good, so treat the key as leaked, make a new key pair and list only its public half`),
    ],
  },
  {
    title: 'a sealing key the CLI could not seal to: not X25519, or not the key its kid names',
    change: () => ({ 'mergekey.yaml': `${settingsYaml()}  sealingKey: { kty: EC, crv: P-256, ${REPORTS_POINT} }\n` }),
    expected: [at('mergekey.yaml', 8, 22, 'rules.sealing-key-unusable', 'spec.sealingKey.kty: the sealing key is an X25519 key (kty OKP), not EC: put the key `mergekey keys public` prints on the controller here')],
  },
  {
    title: 'a sealing key under another key\'s kid',
    change: () => ({ 'mergekey.yaml': `${settingsYaml()}  sealingKey: { kty: OKP, crv: X25519, x: ${RFC8037_X25519}, kid: not-the-thumbprint, use: enc }\n` }),
    expected: [
      at('mergekey.yaml', 8, 93, 'rules.sealing-key-unusable', `spec.sealingKey.kid: kid "not-the-thumbprint" is not this key's RFC 7638 thumbprint ${RFC8037_X25519_THUMBPRINT}, so sealed values would name another key: put the key \`mergekey keys public\` prints on the controller here`),
    ],
  },
  {
    title: 'the private half of the sealing key in mergekey.yaml',
    change: () => {
      const { x, d } = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
      return { 'mergekey.yaml': `${settingsYaml()}  sealingKey: { d: ${d!}, kty: OKP, crv: X25519, x: ${x!} }\n` };
    },
    expected: [at('mergekey.yaml', 8, 17, 'schema.private-key', 'spec.sealingKey: "d" is private key material: git history keeps it for good, so treat the key as leaked, make a new key pair and list only its public half')],
  },
];

export const REPOSITORY_RULE_CASES: Case[] = [
  {
    title: 'a secret sealed with a key other than the sealing key in mergekey.yaml',
    change: async (key) => ({ [APP]: await billingYaml(key, await (await otherKey).seal('Application/billing')) }),
    expected: async (key) => [
      at(APP, 15, 17, 'rules.sealing-key-mismatch', `${SEALED}: sealed for key "${(await otherKey).kid}", but the sealing key in mergekey.yaml is "${key.kid}": seal it again with \`mergekey seal\``),
    ],
  },
  {
    title: 'no mergekey.yaml',
    change: () => ({ 'mergekey.yaml': null }),
    expected: [at('mergekey.yaml', 1, 1, 'rules.settings-missing', 'the repository has no mergekey.yaml: create one with `mergekey init`')],
  },
  {
    // validateRepository cannot meet this (Settings outside mergekey.yaml is refused on its own),
    // but checkRules may be given any set, e.g. by a reconciler merging old and new objects.
    title: 'two Settings objects handed to checkRules',
    change: () => ({}),
    run: (_key, repo) => {
      const [settings, plan] = toFiles({ 'mergekey.yaml': repo['mergekey.yaml']!, 'plans/standard.yaml': repo['plans/standard.yaml']! }).map((file) => loadManifest(file).object!);
      return checkRules([settings!, { ...settings!, path: 'old/mergekey.yaml' }, plan!]);
    },
    expected: [
      at('mergekey.yaml', 2, 7, 'rules.settings-duplicate', 'kind: a repository holds one Settings object, in mergekey.yaml; also found in old/mergekey.yaml'),
      at('old/mergekey.yaml', 2, 7, 'rules.settings-duplicate', 'kind: a repository holds one Settings object, in mergekey.yaml; also found in mergekey.yaml'),
    ],
  },
  {
    title: 'two applications with the same clientId, in different case',
    change: async (key) => {
      let copy = edit(await billingYaml(key, await key.seal('Application/billing-copy')), 'name: billing', 'name: billing-copy');
      copy = edit(copy, 'clientId: mk_billing_0001', 'clientId: MK_Billing_0001');
      return { 'apps/billing-copy.yaml': copy };
    },
    expected: [
      at('apps/billing-copy.yaml', 9, 13, 'rules.duplicate-client-id', 'spec.clientId: "MK_Billing_0001" is also the clientId of apps/billing.yaml (client ids are compared ignoring case)'),
      at(APP, 9, 13, 'rules.duplicate-client-id', 'spec.clientId: "mk_billing_0001" is also the clientId of apps/billing-copy.yaml (client ids are compared ignoring case)'),
    ],
  },
  {
    title: "a clientId that is a user's name",
    change: (_key, repo) => ({
      'users/mk-reports-0001.yaml': userYaml('mk-reports-0001', 'someone'),
      'apps/reports.yaml': edit(repo['apps/reports.yaml'], 'clientId: mk_reports_0001', 'clientId: MK-Reports-0001'),
    }),
    expected: [at('apps/reports.yaml', 8, 13, 'rules.client-id-user', 'spec.clientId: "MK-Reports-0001" is the name of a User (users/mk-reports-0001.yaml): a client id must differ from every user name')],
  },
  {
    title: 'a scope no Api publishes',
    change: async (key) => ({ [APP]: edit(await billingYaml(key), '[invoices:read, open]', '[invoices:read, invoices:delete]') }),
    expected: [at(APP, 10, 27, 'rules.unknown-scope', 'spec.scopes[1]: no Api publishes the scope "invoices:delete": use open, openid, profile, email or a scope an Api in apis/ publishes')],
  },
  {
    title: 'a scope published by two Apis, and one published twice by the same Api',
    change: (_key, repo) => ({
      'apis/ledger.yaml': edit(
        edit(repo['apis/invoices.yaml'], 'name: invoices\n', 'name: ledger\n'),
        '    - name: invoices:write\n      description: Create invoices.\n',
        '    - name: ledger:read\n      description: Read the ledger.\n    - name: ledger:read\n      description: Read it again.\n',
      ),
    }),
    expected: [
      at('apis/invoices.yaml', 9, 13, 'rules.duplicate-scope', 'spec.scopes[0].name: scope "invoices:read" is also published by apis/ledger.yaml: a scope belongs to one Api'),
      at('apis/ledger.yaml', 9, 13, 'rules.duplicate-scope', 'spec.scopes[0].name: scope "invoices:read" is also published by apis/invoices.yaml: a scope belongs to one Api'),
      at('apis/ledger.yaml', 13, 13, 'rules.duplicate-scope', 'spec.scopes[2].name: scope "ledger:read" is already published at spec.scopes[1]'),
    ],
  },
  {
    title: 'an Api that publishes open',
    change: (_key, repo) => ({ 'apis/invoices.yaml': edit(repo['apis/invoices.yaml'], 'name: invoices:write', 'name: open') }),
    expected: [at('apis/invoices.yaml', 11, 13, 'rules.reserved-scope', 'spec.scopes[1].name: open is a scope of the authorization server itself, which any application may list; an Api cannot publish it')],
  },
  {
    title: 'an Api that publishes an OpenID Connect scope',
    change: (_key, repo) => ({ 'apis/invoices.yaml': edit(repo['apis/invoices.yaml'], 'name: invoices:write', 'name: openid') }),
    expected: [at('apis/invoices.yaml', 11, 13, 'rules.reserved-scope', 'spec.scopes[1].name: openid is a scope of the authorization server itself, which any application may list; an Api cannot publish it')],
  },
  {
    title: 'nothing for public and confidential clients signing people in, with openid, profile and email, and consent skipped by a first-party app',
    change: async (key) => ({
      'apps/spa.yaml': `${spaYaml()}  consent: skip\n`,
      'apps/web.yaml': `${edit(edit(spaYaml('web', 'mk_web_0001'), 'tokenEndpointAuthMethod: none', 'tokenEndpointAuthMethod: client_secret_post'), '[authorization_code, refresh_token]', '[authorization_code, client_credentials]')}  credentials:\n    secrets:\n      - sealed: ${await key.seal('Application/web')}\n`,
      'mergekey.yaml': `${settingsYaml(key)}  firstPartyApps: [spa]\n`,
    }),
    expected: [],
  },
  {
    title: 'consent skipped by an application mergekey.yaml does not list as first-party',
    change: (key) => ({
      'apps/spa.yaml': `${spaYaml()}  consent: skip\n`,
      'apps/spa2.yaml': `${spaYaml('spa2', 'mk_spa_0002')}  consent: skip\n`,
      'mergekey.yaml': `${settingsYaml(key)}  firstPartyApps: [spa, billing]\n`,
    }),
    expected: [
      at('apps/spa2.yaml', 15, 12, 'rules.consent-not-first-party', 'spec.consent: only first-party applications skip consent, and mergekey.yaml\'s spec.firstPartyApps does not list "spa2": a publisher adds it there, or remove consent'),
    ],
  },
  {
    title: 'a plan that does not exist',
    change: async (key) => ({ [APP]: edit(await billingYaml(key), 'plan: gold', 'plan: platinum') }),
    expected: [at(APP, 12, 9, 'rules.unknown-plan', 'spec.plan: plan "platinum" does not exist: add plans/platinum.yaml or name an existing plan')],
  },
  {
    title: 'a default plan that does not exist',
    change: (key) => ({ 'mergekey.yaml': edit(settingsYaml(key), 'defaultPlan: standard', 'defaultPlan: basic') }),
    expected: [at('mergekey.yaml', 7, 16, 'rules.unknown-plan', 'spec.defaultPlan: plan "basic" does not exist: add plans/basic.yaml or name an existing plan')],
  },
  {
    title: 'an owner who is not a User',
    change: async (key) => ({ [APP]: edit(await billingYaml(key), 'owners: [alice, bob]', 'owners: [alice, carol]') }),
    expected: [at(APP, 8, 19, 'rules.unknown-owner', 'spec.owners[1]: "carol" is not a User: add users/carol.yaml or fix the name')],
  },
  {
    title: 'two users with the same GitHub login, in different case',
    change: () => ({ 'users/bob.yaml': userYaml('bob', 'Alice-GH') }),
    expected: [
      at('users/alice.yaml', 6, 16, 'rules.duplicate-github-login', 'spec.githubLogin: "alice-gh" is also the githubLogin of users/bob.yaml (GitHub logins ignore case)'),
      at('users/bob.yaml', 6, 16, 'rules.duplicate-github-login', 'spec.githubLogin: "Alice-GH" is also the githubLogin of users/alice.yaml (GitHub logins ignore case)'),
    ],
  },
  {
    title: 'nothing more than its own problem for a broken User that apps name as owner',
    change: () => ({ 'users/alice.yaml': `${userYaml('alice', 'alice-gh')}  roles: []\n` }),
    expected: [at('users/alice.yaml', 7, 3, 'schema.size', 'spec.roles: must list at least 1 item')],
  },
  {
    title: 'nothing more than its own problems for a broken Api whose scopes apps hold',
    change: (_key, repo) => ({ 'apis/invoices.yaml': edit(repo['apis/invoices.yaml'], '  audience: https://api.example.com/invoices\n', '') }),
    expected: [at('apis/invoices.yaml', 5, 1, 'schema.required', 'spec: missing required field "audience"')],
  },
  {
    title: 'nothing more than its own problem for a broken Plan that apps use',
    change: () => ({ 'plans/gold.yaml': `${planYaml('gold')}  accessTokenTtl: soon\n` }),
    expected: [at('plans/gold.yaml', 7, 19, 'schema.pattern', 'spec.accessTokenTtl: "soon" is not allowed: write a whole number followed by s, m, h or d, such as 15m, 12h or 30d')],
  },
];

/** A second sealing key, as if the controller's key had been replaced. */
const otherKey = makeSealingKey();
