import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Records the projector could not decode (unknown schema version, corrupt bytes), with the reason
 * and the raw bytes, written in the same transaction that moves past them: the partition keeps
 * going and nothing is skipped silently.
 */
export class DeadLetters1764244800000 implements MigrationInterface {
  name = 'DeadLetters1764244800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE dead_letters (
        topic text NOT NULL,
        log_partition integer NOT NULL,
        log_offset bigint NOT NULL,
        reason text NOT NULL,
        payload bytea,
        recorded_ts bigint NOT NULL,
        PRIMARY KEY (topic, log_partition, log_offset)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE dead_letters`);
  }
}
