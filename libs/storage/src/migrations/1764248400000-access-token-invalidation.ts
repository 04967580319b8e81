import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Announces every deletion of access tokens (logout, logout everywhere, a new login on a known
 * device, a device's cascade, plain SQL) on the schema's access-token channel, in the deleting
 * transaction, so the services' token caches forget them the moment the deletion commits
 * (see access-token-changes.ts for the channel and the payload).
 */
export class AccessTokenInvalidation1764248400000 implements MigrationInterface {
  name = 'AccessTokenInvalidation1764248400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // The channel is named after the table's schema, like projectionChannel(schema).
    await queryRunner.query(`
      CREATE FUNCTION access_tokens_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        channel text := CASE WHEN TG_TABLE_SCHEMA = 'public' THEN 'mx_access_tokens' ELSE 'mx_access_tokens_' || TG_TABLE_SCHEMA END;
        hashes text[];
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          PERFORM pg_notify(channel, '*');
          RETURN NULL;
        END IF;
        -- Up to 100 hashes (6,500 bytes) fit in one notification; a larger deletion clears every cache.
        SELECT array_agg(encode(token_hash, 'hex')) INTO hashes FROM (SELECT token_hash FROM deleted_tokens LIMIT 101) AS some_deleted;
        IF hashes IS NULL THEN
          RETURN NULL;
        ELSIF cardinality(hashes) > 100 THEN
          PERFORM pg_notify(channel, '*');
        ELSE
          PERFORM pg_notify(channel, array_to_string(hashes, ','));
        END IF;
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER access_tokens_deleted AFTER DELETE ON access_tokens
      REFERENCING OLD TABLE AS deleted_tokens FOR EACH STATEMENT EXECUTE FUNCTION access_tokens_deleted()`);
    await queryRunner.query(`
      CREATE TRIGGER access_tokens_truncated AFTER TRUNCATE ON access_tokens
      FOR EACH STATEMENT EXECUTE FUNCTION access_tokens_deleted()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER access_tokens_truncated ON access_tokens`);
    await queryRunner.query(`DROP TRIGGER access_tokens_deleted ON access_tokens`);
    await queryRunner.query(`DROP FUNCTION access_tokens_deleted()`);
  }
}
