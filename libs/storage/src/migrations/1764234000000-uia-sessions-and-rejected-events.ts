import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * User-Interactive Auth sessions (shared by every writer replica) and the events the projector
 * rejected, so that a replay decides the same way and the writer can tell its client why.
 */
export class UiaSessionsAndRejectedEvents1764234000000 implements MigrationInterface {
  name = 'UiaSessionsAndRejectedEvents1764234000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE uia_sessions (
        session_id text PRIMARY KEY,
        created_ts bigint NOT NULL,
        completed_ts bigint
      )`);
    await queryRunner.query(`CREATE INDEX uia_sessions_created ON uia_sessions (created_ts)`);
    await queryRunner.query(`
      CREATE TABLE rejected_events (
        event_id text PRIMARY KEY,
        topic text NOT NULL,
        log_partition integer NOT NULL,
        log_offset bigint NOT NULL,
        reason text NOT NULL,
        rejected_ts bigint NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE rejected_events`);
    await queryRunner.query(`DROP TABLE uia_sessions`);
  }
}
