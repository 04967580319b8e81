import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Companion mode: profile writes the homeserver may hold while the log may not. A row is written
 * before a profile change goes to the homeserver and removed once the log acknowledged it; a row
 * left behind (the log failed, the writer died in between) is due for repair: a writer reads the
 * homeserver's current value and appends it. Operational state, not part of the projection.
 */
export class CompanionProfileRepairs1764259200000 implements MigrationInterface {
  name = 'CompanionProfileRepairs1764259200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE companion_profile_repairs (
        user_id text NOT NULL,
        field text NOT NULL,
        write_id text NOT NULL,
        due_ts bigint NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, field)
      )`);
    await queryRunner.query(`CREATE INDEX companion_profile_repairs_due ON companion_profile_repairs (due_ts)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE companion_profile_repairs`);
  }
}
