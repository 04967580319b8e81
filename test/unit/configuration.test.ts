import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadAppConfig } from '@mx/config';

describe('loadAppConfig', () => {
  it('applies defaults and structures the configuration', () => {
    const config = loadAppConfig({ MX_KAFKA_BROKERS: 'a:1,b:2', MX_TOPIC_PREFIX: 'test' }, { httpPort: 1234 });
    expect(config.http.port).toBe(1234);
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.topics.profile).toBe('test.profile.v1');
    expect(config.topics.membership).toBe('test.membership.v1');
    expect(config.projector.groupId).toBe('test.projector');
    expect(config.database.port).toBe(5432);
  });

  it('converts numbers and booleans from strings', () => {
    const config = loadAppConfig({ MX_HTTP_PORT: '9000', MX_KAFKA_SSL: 'true', MX_DATABASE_POOL_SIZE: '3' }, { httpPort: 1 });
    expect(config.http.port).toBe(9000);
    expect(config.kafka.ssl).toBe(true);
    expect(config.database.poolSize).toBe(3);
  });

  it('lists every bad value at once', () => {
    try {
      loadAppConfig({ MX_HTTP_PORT: 'eighty', MX_DATABASE_SSLMODE: 'sometimes', MX_KAFKA_SASL_USERNAME: 'u' }, { httpPort: 1 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigValidationError);
      const problems = (error as ConfigValidationError).problems.join('\n');
      expect(problems).toContain('MX_HTTP_PORT');
      expect(problems).toContain('MX_DATABASE_SSLMODE');
      expect(problems).toContain('MX_KAFKA_SASL_MECHANISM');
    }
  });
});

describe('build configuration', () => {
  it('gives SWC the same path aliases as TypeScript', () => {
    const tsconfig = JSON.parse(readFileSync('tsconfig.base.json', 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };
    const swcrc = JSON.parse(readFileSync('.swcrc', 'utf8')) as { jsc: { paths: Record<string, string[]> } };
    const normalize = (paths: Record<string, string[]>) =>
      Object.fromEntries(Object.entries(paths).map(([alias, [target]]) => [alias, target?.replace(/^\.\//, '')]));
    expect(normalize(swcrc.jsc.paths)).toEqual(normalize(tsconfig.compilerOptions.paths));
  });
});
