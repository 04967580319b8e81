import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stored sync filters (kept verbatim, so unknown keys round-trip exactly); an index to find a
 * user's membership in a room as of any log position (who was visible when a sync token was made);
 * and the projection's epoch, a random name of this projection that sync tokens carry, so a token
 * from another projection (rebuilt, or over recreated topics) is recognised.
 */
export class FiltersAndMemberHistory1764241200000 implements MigrationInterface {
  name = 'FiltersAndMemberHistory1764241200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE filters (
        user_id text NOT NULL,
        filter_id text NOT NULL,
        definition text NOT NULL,
        created_ts bigint NOT NULL,
        PRIMARY KEY (user_id, filter_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX room_events_member_history ON room_events (room_id, state_key, log_offset) WHERE type = 'm.room.member'`,
    );
    await queryRunner.query(`
      CREATE TABLE projection_meta (
        id integer PRIMARY KEY CHECK (id = 1),
        epoch text NOT NULL
      )`);
    await queryRunner.query(
      `INSERT INTO projection_meta (id, epoch) VALUES (1, substr(md5(random()::text || clock_timestamp()::text), 1, 12))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE projection_meta`);
    await queryRunner.query(`DROP INDEX room_events_member_history`);
    await queryRunner.query(`DROP TABLE filters`);
  }
}
