import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnvironmentVariables } from '@mx/config';
import { CLASS_SOURCE, README, environmentRows, environmentTable, readmeWithTable } from '../tools/environment-table.mjs';

// The README's configuration table is generated from the configuration class (its validation
// rules, defaults and doc comments): `node test/tools/environment-table.mjs --write`.

const source = readFileSync(CLASS_SOURCE, 'utf8');

describe('the README’s configuration table', () => {
  it('documents every variable the services validate', () => {
    const { rows, problems } = environmentRows(EnvironmentVariables, source);
    expect(problems).toEqual([]);
    expect(rows.map(([variable]) => variable)).toContain('MX_REGISTRATION_MODE');
  });

  it('is the one the configuration class generates', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme).toBe(readmeWithTable(readme, environmentTable(environmentRows(EnvironmentVariables, source).rows)));
  });

  it('notices a variable without a doc comment, and a @default tag beside a default the class holds', () => {
    const undocumented = source.replace('  /** listen address */\n', '');
    expect(environmentRows(EnvironmentVariables, undocumented).problems).toEqual(['MX_HTTP_HOST has no doc comment']);
    const contradicted = source.replace('/** PostgreSQL host */', '/**\n   * PostgreSQL host\n   * @default localhost\n   */');
    expect(environmentRows(EnvironmentVariables, contradicted).problems).toEqual([
      'MX_DATABASE_HOST holds a default and has a @default tag',
    ]);
  });

  it('gives defaults as the class holds them, and the @default tag where it holds none', () => {
    const defaults = Object.fromEntries(environmentRows(EnvironmentVariables, source).rows.map(([variable, value]) => [variable, value]));
    expect(defaults).toMatchObject({
      MX_SERVER_NAME: '`localhost`',
      MX_DATABASE_PASSWORD: 'empty',
      MX_KAFKA_SASL_MECHANISM: 'unset',
      MX_SYNC_FILTER_CACHE_BYTES: '`33554432` (32 MiB)',
      MX_HTTP_PORT: 'writer 8101, sync-api 8102, projector 8103',
      MX_MSC4429_STABLE: '`false`',
    });
  });
});
