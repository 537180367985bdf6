import { describe, expect, it } from 'vitest';
import { ConfigError, configurationTable, parseDuration, resolveServeConfig, SERVE_OPTIONS } from './defaults.ts';

describe('configurationTable', () => {
  it('lists every option of mergekey serve with its flag, environment variable and default', () => {
    const table = configurationTable();
    for (const option of SERVE_OPTIONS) {
      const row = table.split('\n').find((line) => line.startsWith(`| \`--${option.flag}`));
      expect(row, `row for --${option.flag}`).toBeDefined();
      expect(row).toContain(`\`${option.env}\``);
      if ('default' in option) expect(row).toContain(`\`${option.default}\``);
    }
    expect(table.split('\n').filter((l) => l.startsWith('| `--'))).toHaveLength(SERVE_OPTIONS.length);
  });

  it('gives every option an environment variable of the MERGEKEY_ family, none twice', () => {
    const envs = SERVE_OPTIONS.map((o) => o.env);
    expect(new Set(envs).size).toBe(envs.length);
    for (const env of envs) expect(env).toMatch(/^MERGEKEY_[A-Z_]+$/);
  });
});

describe('resolveServeConfig', () => {
  it('takes a flag over the environment and the environment over the default', () => {
    const env = { MERGEKEY_REPO: '/srv/manifests', MERGEKEY_PORT: '9000', MERGEKEY_BRANCH: 'prod' };
    const config = resolveServeConfig({ port: '9100' }, env);
    expect(config).toMatchObject({
      repo: '/srv/manifests',
      branch: 'prod',
      port: 9100,
      host: '127.0.0.1',
      poll: 30_000,
      allowMassDeactivation: false,
      webhookSecretFile: undefined,
    });
  });

  it('reads booleans from the environment', () => {
    const config = resolveServeConfig({ repo: 'r' }, { MERGEKEY_ALLOW_MASS_DEACTIVATION: 'true' });
    expect(config.allowMassDeactivation).toBe(true);
  });

  it('names the option and where the bad value came from', () => {
    expect(() => resolveServeConfig({ repo: 'r' }, { MERGEKEY_POLL: 'often' })).toThrow(
      new ConfigError("MERGEKEY_POLL: expected a duration such as 500ms, 30s, 5m or 1h (or 0), got 'often'"),
    );
    expect(() => resolveServeConfig({ repo: 'r', port: '70000' }, {})).toThrow(/--port: expected a port number/);
    expect(() => resolveServeConfig({}, {})).toThrow('--repo is required (or set MERGEKEY_REPO)');
  });

  it('keeps runtime state in LMDB unless --state (or MERGEKEY_STATE) names a PostgreSQL', () => {
    expect(resolveServeConfig({ repo: 'r' }, {})).toMatchObject({ state: 'lmdb', migrate: false });
    const env = { MERGEKEY_STATE: 'postgres://mk:pw@db:5432/mk', MERGEKEY_MIGRATE: 'true' };
    expect(resolveServeConfig({ repo: 'r' }, env)).toMatchObject({ state: 'postgres://mk:pw@db:5432/mk', migrate: true });
    expect(resolveServeConfig({ repo: 'r', state: 'lmdb' }, { MERGEKEY_STATE: env.MERGEKEY_STATE }).state).toBe('lmdb');
  });

  it('refuses a --state that is neither lmdb nor a postgres URL without echoing its password', () => {
    const refused = (state: string) => {
      try {
        resolveServeConfig({ repo: 'r', state }, {});
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`--state ${state} was accepted`);
    };
    expect(refused('mysql://mk:s3cr@t@db/mk')).toBe(
      '--state: expected lmdb or a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL, got mysql://mk:***@db/mk',
    );
    expect(refused('pg')).toBe('--state: expected lmdb or a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL, got pg');
    // libpq's URIs may carry the password as a parameter too.
    expect(refused('mysql://mk@db/mk?sslmode=require&password=s3cret&sslpassword=s3cret')).toBe(
      '--state: expected lmdb or a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL, got mysql://mk@db/mk?sslmode=require&password=***&sslpassword=***',
    );
    expect(() => resolveServeConfig({ repo: 'r', migrate: true }, {})).toThrow(
      new ConfigError('--migrate migrates a shared PostgreSQL: give --state postgres://… (the embedded store upgrades itself)'),
    );
  });

  it('parses durations', () => {
    expect([parseDuration('0'), parseDuration('500ms'), parseDuration('30s'), parseDuration('2m'), parseDuration('1h')])
      .toEqual([0, 500, 30_000, 120_000, 3_600_000]);
    expect(parseDuration('30')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
  });
});
