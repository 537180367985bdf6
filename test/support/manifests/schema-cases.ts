// Shape problems found by the schemas, each worded for a person and placed on its node.
import type { ProblemCode } from '../../../controller/manifests/codes.ts';
import type { Problem } from '../../../controller/manifests/model.ts';
import { bytes, edit, type Case } from './cases.ts';
import { billingYaml, planYaml, settingsYaml, spaYaml, userYaml } from './repo.ts';

const at = (path: string, line: number, column: number, code: ProblemCode, message: string): Problem => ({ path, line, column, code, message });
const APP = 'apps/billing.yaml';
const app = (line: number, column: number, code: ProblemCode, message: string): Problem => at(APP, line, column, code, message);

/** The billing app with one edit. */
const billing = (from: string, to: string): Case['change'] => async (key) => ({ [APP]: edit(await billingYaml(key), from, to) });

export const SCHEMA_CASES: Case[] = [
  {
    title: 'a YAML 1.1 boolean where a word is expected (state: yes), refused before the schema',
    change: billing('  clientId: mk_billing_0001\n', '  clientId: mk_billing_0001\n  state: yes\n'),
    expected: [app(10, 10, 'yaml.ambiguous', 'yes is the string "yes" in YAML 1.2 but a boolean in YAML 1.1: quote it, "yes", if the text is meant')],
  },
  {
    title: 'a number with a leading zero, which YAML 1.1 reads as octal, refused before the schema',
    change: billing('  clientId: mk_billing_0001', '  clientId: 01234567'),
    expected: [app(9, 13, 'yaml.number-form', 'the number 01234567 is not written as a plain whole number, a form YAML 1.1 tools, YAML 1.2 and reviewers can each read differently: write digits only (like 600), or quote the value if it is text')],
  },
  {
    title: 'a number as a description',
    change: billing('  description: Sends invoices.', '  description: 123'),
    expected: [app(7, 16, 'schema.type', 'spec.description: must be a string, but 123 reads as a number: write it in quotes, "123"')],
  },
  {
    title: 'a boolean as a display name',
    change: billing('  displayName: Billing', '  displayName: true'),
    expected: [app(6, 16, 'schema.type', 'spec.displayName: must be a string, but true reads as a boolean: write it in quotes, "true"')],
  },
  {
    title: 'an empty value',
    change: billing('  description: Sends invoices.', '  description:'),
    expected: [app(7, 3, 'schema.type', 'spec.description: must be a string, but it is empty')],
  },
  {
    title: 'a string where a whole number is expected',
    change: () => ({ 'plans/gold.yaml': `${planYaml('gold')}  tokenRequestsPerMinute: "600"\n` }),
    expected: [at('plans/gold.yaml', 7, 27, 'schema.type', 'spec.tokenRequestsPerMinute: must be a whole number, not the string "600": write it without quotes')],
  },
  {
    title: 'a fraction where a whole number is expected',
    change: () => ({ 'plans/gold.yaml': `${planYaml('gold')}  tokenRequestsPerMinute: 1.5\n` }),
    expected: [at('plans/gold.yaml', 7, 27, 'yaml.number-form', 'the number 1.5 is not written as a plain whole number, a form YAML 1.1 tools, YAML 1.2 and reviewers can each read differently: write digits only (like 600), or quote the value if it is text')],
  },
  {
    title: 'a mistyped field name, with a guess',
    change: billing('  clientId: mk_billing_0001', '  clientID: mk_billing_0001'),
    expected: [
      app(5, 1, 'schema.required', 'spec: missing required field "clientId"'),
      app(9, 3, 'schema.unknown-field', 'unknown field "clientID" in spec (did you mean "clientId"?)'),
    ],
  },
  {
    title: 'an unknown field at the top',
    change: async (key) => ({ [APP]: `${await billingYaml(key)}status: approved\n` }),
    expected: [app(17, 1, 'schema.unknown-field', 'unknown field "status"')],
  },
  {
    title: 'a missing required field',
    change: billing('  description: Sends invoices.\n', ''),
    expected: [app(5, 1, 'schema.required', 'spec: missing required field "description"')],
  },
  {
    title: 'a manifest without kind',
    change: billing('kind: Application\n', ''),
    expected: [app(1, 1, 'schema.kind', 'missing required field "kind": one of Settings, Application, Api, Plan, User')],
  },
  {
    title: 'an unknown kind',
    change: billing('kind: Application', 'kind: application'),
    expected: [app(2, 7, 'schema.kind', 'kind: unknown kind "application": use one of Settings, Application, Api, Plan, User')],
  },
  {
    title: 'a list instead of a mapping',
    change: () => ({ [APP]: '- apiVersion: mergekey/v1\n' }),
    expected: [app(1, 1, 'schema.type', 'a manifest is a mapping with apiVersion, kind, metadata and spec, not a list')],
  },
  {
    title: 'another apiVersion',
    change: billing('apiVersion: mergekey/v1', 'apiVersion: v1'),
    expected: [app(1, 13, 'schema.value', 'apiVersion: must be mergekey/v1, not "v1"')],
  },
  {
    title: 'a scope in capitals, and a scope listed twice',
    change: billing('  scopes: [invoices:read, open]', '  scopes: [Invoices:Read, open, open]'),
    expected: [
      app(10, 12, 'schema.pattern', `spec.scopes[0]: "Invoices:Read" is not allowed: use lowercase ASCII letters, digits, '.', '_', ':', '/' and '-', starting with a letter or digit`),
      app(10, 33, 'schema.duplicate-item', 'spec.scopes[2]: "open" is already listed at spec.scopes[1]'),
    ],
  },
  {
    title: 'a grant type Mergekey does not offer',
    change: billing('  grantTypes: [client_credentials, refresh_token]', '  grantTypes: [implicit]'),
    expected: [app(11, 16, 'schema.value', 'spec.grantTypes[0]: "implicit" must be one of client_credentials, password, refresh_token, authorization_code')],
  },
  {
    title: 'a public client with a client secret (tokenEndpointAuthMethod none holds no credentials)',
    change: async (key) => ({
      'apps/spa.yaml': `${spaYaml()}  credentials:
    secrets:
      - sealed: ${await key.seal('Application/spa')}
`,
    }),
    expected: [at('apps/spa.yaml', 15, 3, 'schema.not-allowed', 'spec: field "credentials" is not allowed when tokenEndpointAuthMethod is none')],
  },
  {
    title: 'a confidential client without credentials, whether its method is written or the default',
    change: async (key) => ({
      [APP]: `${(await billingYaml(key)).split('  credentials:')[0]!}`,
      'apps/web.yaml': edit(spaYaml('web', 'mk_web_0001'), 'tokenEndpointAuthMethod: none', 'tokenEndpointAuthMethod: client_secret_post'),
    }),
    expected: [
      app(5, 1, 'schema.required', 'spec: missing required field "credentials" (required when tokenEndpointAuthMethod is neither private_key_jwt nor none)'),
      at('apps/web.yaml', 5, 1, 'schema.required', 'spec: missing required field "credentials" (required when tokenEndpointAuthMethod is neither private_key_jwt nor none)'),
    ],
  },
  {
    title: 'a consent other than skip, and an application named twice as first-party',
    change: (key) => ({
      'apps/spa.yaml': `${spaYaml()}  consent: ask
`,
      'mergekey.yaml': `${settingsYaml(key)}  firstPartyApps: [spa, Billing, spa]
`,
    }),
    expected: [
      at('apps/spa.yaml', 15, 12, 'schema.value', 'spec.consent: "ask" must be one of skip'),
      at('mergekey.yaml', 9, 25, 'schema.pattern', `spec.firstPartyApps[1]: "Billing" is not allowed: use a lowercase DNS label: 3 to 63 of a-z, 0-9 and '-', starting and ending with a letter or digit`),
      at('mergekey.yaml', 9, 34, 'schema.duplicate-item', 'spec.firstPartyApps[2]: "spa" is already listed at spec.firstPartyApps[0]'),
    ],
  },
  {
    title: "a portal account that is not a GitHub login",
    change: (key) => ({
      'mergekey.yaml': `${settingsYaml(key)}  portalGitHubLogin: mergekey bot
`,
    }),
    expected: [
      at('mergekey.yaml', 9, 22, 'schema.pattern', `spec.portalGitHubLogin: "mergekey bot" is not allowed: use a GitHub login: ASCII letters, digits and '-', starting with a letter or digit, with [bot] after a GitHub App's name`),
    ],
  },
  {
    title: 'client secrets with private_key_jwt',
    change: billing('  credentials:\n', '  tokenEndpointAuthMethod: private_key_jwt\n  credentials:\n'),
    expected: [
      app(14, 3, 'schema.required', 'spec.credentials: missing required field "jwks" (required when tokenEndpointAuthMethod is private_key_jwt)'),
      app(15, 5, 'schema.not-allowed', 'spec.credentials: field "secrets" is not allowed when tokenEndpointAuthMethod is private_key_jwt'),
    ],
  },
  {
    title: 'an empty credentials mapping',
    change: async (key) => ({ [APP]: `${(await billingYaml(key)).split('  credentials:')[0]!}  credentials: {}\n` }),
    expected: [
      app(13, 3, 'schema.required', 'spec.credentials: missing required field "secrets" (required when tokenEndpointAuthMethod is neither private_key_jwt nor none)'),
      app(13, 3, 'schema.size', 'spec.credentials: must hold at least 1 field'),
    ],
  },
  {
    title: 'a list or a mapping of more than 1,000 entries, before the schema (whose checks of a long list cost its square)',
    change: billing('  plan: gold\n', `  plan: gold\n  redirectUris: [${Array.from({ length: 1001 }, (_, i) => `s${i}`).join(', ')}]\n  extra:\n${Array.from({ length: 1200 }, (_, i) => `    k${i}: 1\n`).join('')}`),
    expected: [
      app(13, 3, 'schema.size', 'spec.redirectUris: holds 1001 entries; no list or mapping in a manifest may hold more than 1000 (the file is not checked further)'),
      app(14, 3, 'schema.size', 'spec.extra: holds 1200 entries; no list or mapping in a manifest may hold more than 1000 (the file is not checked further)'),
    ],
  },
  {
    title: 'numbers past 2^53 and past any float, reported as written (not as parsed)',
    change: () => ({ 'plans/gold.yaml': `${planYaml('gold')}  tokenRequestsPerMinute: 9007199254740993\n`, 'plans/standard.yaml': `${planYaml('standard')}  tokenRequestsPerMinute: 99999999999999999999999\n` }),
    expected: [
      at('plans/gold.yaml', 7, 27, 'schema.range', 'spec.tokenRequestsPerMinute: must be at most 1000000, not 9007199254740993'),
      at('plans/standard.yaml', 7, 27, 'schema.range', 'spec.tokenRequestsPerMinute: must be at most 1000000, not 99999999999999999999999'),
    ],
  },
  {
    title: 'a redirect URI with a fragment',
    change: billing('  plan: gold\n', '  plan: gold\n  redirectUris: ["https://billing.example.com/cb#top"]\n'),
    expected: [app(13, 18, 'schema.pattern', 'spec.redirectUris[0]: "https://billing.example.com/cb#top" is not allowed: use an absolute http:// or https:// URI, without a fragment (#) or spaces')],
  },
  {
    title: 'a date where a date-time is expected',
    change: billing('expiresAt: 2030-01-01T00:00:00Z', 'expiresAt: 2030-01-01'),
    expected: [app(16, 20, 'schema.format', 'spec.credentials.secrets[0].expiresAt: "2030-01-01" is not an RFC 3339 date-time such as 2030-01-01T00:00:00Z')],
  },
  {
    title: 'an audience that is not a URI',
    change: (_key, repo) => ({ 'apis/invoices.yaml': edit(repo['apis/invoices.yaml'], 'audience: https://api.example.com/invoices', 'audience: invoices') }),
    expected: [at('apis/invoices.yaml', 7, 13, 'schema.format', 'spec.audience: "invoices" is not an absolute URI')],
  },
  {
    title: 'an email address without a domain, and an unknown role',
    change: () => ({ 'users/alice.yaml': `${userYaml('alice', 'alice-gh')}  email: alice\n  roles: [admin]\n` }),
    expected: [
      at('users/alice.yaml', 7, 10, 'schema.format', 'spec.email: "alice" is not an email address'),
      at('users/alice.yaml', 8, 11, 'schema.value', 'spec.roles[0]: "admin" must be one of developer, publisher'),
    ],
  },
  {
    title: 'no owners',
    change: billing('  owners: [alice, bob]', '  owners: []'),
    expected: [app(8, 3, 'schema.size', 'spec.owners: must list at least 1 item')],
  },
  {
    title: 'a description over 2000 characters',
    change: billing('  description: Sends invoices.', `  description: ${'x'.repeat(2001)}`),
    expected: [app(7, 16, 'schema.size', 'spec.description: must be at most 2000 characters long (it has 2001)')],
  },
  {
    title: 'a client id under 8 characters',
    change: billing('  clientId: mk_billing_0001', '  clientId: mk_1'),
    expected: [app(9, 13, 'schema.size', 'spec.clientId: must be at least 8 characters long')],
  },
  {
    title: 'durations in words, and a rate of zero',
    change: () => ({ 'plans/gold.yaml': `${planYaml('gold')}  accessTokenTtl: 15 minutes\n  refreshTokenTtl: 0d\n  tokenRequestsPerMinute: 0\n` }),
    expected: [
      at('plans/gold.yaml', 7, 19, 'schema.pattern', 'spec.accessTokenTtl: "15 minutes" is not allowed: write a whole number followed by s, m, h or d, such as 15m, 12h or 30d'),
      at('plans/gold.yaml', 8, 20, 'schema.pattern', 'spec.refreshTokenTtl: "0d" is not allowed: write a whole number followed by s, m, h or d, such as 15m, 12h or 30d'),
      at('plans/gold.yaml', 9, 27, 'schema.range', 'spec.tokenRequestsPerMinute: must be at least 1, not 0'),
    ],
  },
  {
    title: 'an issuer with a query, and a sealing key without its public part',
    change: () => ({ 'mergekey.yaml': edit(settingsYaml(), 'issuer: https://auth.example.com', 'issuer: https://auth.example.com/?tenant=1') + '  sealingKey: { kty: OKP, crv: X25519 }\n' }),
    expected: [
      at('mergekey.yaml', 6, 11, 'schema.pattern', 'spec.issuer: "https://auth.example.com/?tenant=1" is not allowed: use an http:// or https:// URL without a query (?) or fragment (#)'),
      at('mergekey.yaml', 8, 3, 'schema.required', 'spec.sealingKey: missing required field "x" (required when kty is OKP)'),
    ],
  },
  {
    title: 'a plaintext where a sealed value belongs, described and never repeated (it may be the secret itself)',
    change: async (key) => ({
      [APP]: await billingYaml(key, 'hunter2'),
      'users/carol.yaml': `${userYaml('carol', 'carol-gh')}  password:\n    sealed: 123456\n`,
      'users/dave.yaml': `${userYaml('dave', 'dave-gh')}  password:\n    sealed: [correct, horse]\n`,
    }),
    expected: [
      app(15, 17, 'schema.pattern', 'spec.credentials.secrets[0].sealed: the value (7 characters, not repeated here: it may be a secret) is not allowed: expected a compact JWE (five base64url parts joined by dots), as `mergekey seal` prints it'),
      at('users/carol.yaml', 8, 13, 'schema.type', 'spec.password.sealed: must be a string, not a whole number: the value is not repeated here, as it may be a secret'),
      at('users/dave.yaml', 8, 5, 'schema.type', 'spec.password.sealed: must be a string, not a list: the value is not repeated here, as it may be a secret'),
    ],
  },
  {
    title: 'the same problem in a CRLF file, which the full parser reads',
    change: async (key) => ({ [APP]: bytes(edit(await billingYaml(key), '  clientId: mk_billing_0001\n', '  clientId: mk_billing_0001\n  state: on\n').replaceAll('\n', '\r\n')) }),
    expected: [app(10, 10, 'yaml.ambiguous', 'on is the string "on" in YAML 1.2 but a boolean in YAML 1.1: quote it, "on", if the text is meant')],
  },
];
