import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stored sync filters (kept verbatim, so unknown keys round-trip exactly), and an index to find a
 * user's membership in a room as of any log position (who was visible when a sync token was made).
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
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX room_events_member_history`);
    await queryRunner.query(`DROP TABLE filters`);
  }
}
