import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Accounts, devices and tokens (owned by the writer), and the profile projection (owned by the projector). */
export class InitialSchema1764230400000 implements MigrationInterface {
  name = 'InitialSchema1764230400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE accounts (
        user_id text PRIMARY KEY,
        password_hash text,
        created_ts bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE devices (
        user_id text NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
        device_id text NOT NULL,
        display_name text,
        created_ts bigint NOT NULL,
        PRIMARY KEY (user_id, device_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE access_tokens (
        token_hash bytea PRIMARY KEY,
        user_id text NOT NULL,
        device_id text NOT NULL,
        created_ts bigint NOT NULL,
        FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id)`);
    await queryRunner.query(`
      CREATE TABLE profile_fields (
        user_id text NOT NULL,
        field text NOT NULL,
        value jsonb,
        is_set boolean NOT NULL,
        log_partition integer NOT NULL,
        log_offset bigint NOT NULL,
        updated_ts bigint NOT NULL,
        PRIMARY KEY (user_id, field),
        CHECK (is_set OR value IS NULL)
      )`);
    await queryRunner.query(`CREATE INDEX profile_fields_position ON profile_fields (log_partition, log_offset)`);
    await queryRunner.query(`
      CREATE TABLE projection_positions (
        topic text NOT NULL,
        log_partition integer NOT NULL,
        next_offset bigint NOT NULL,
        PRIMARY KEY (topic, log_partition)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE projection_positions`);
    await queryRunner.query(`DROP TABLE profile_fields`);
    await queryRunner.query(`DROP TABLE access_tokens`);
    await queryRunner.query(`DROP TABLE devices`);
    await queryRunner.query(`DROP TABLE accounts`);
  }
}
