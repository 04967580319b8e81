import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The room projection: rooms, every accepted room event with its log position (the per-room
 * stream), the current state, membership edges indexed both ways (so "who shares a joined room
 * with X" is an indexed join), and room aliases (owned by the writer, like accounts).
 */
export class RoomsAndMemberships1764237600000 implements MigrationInterface {
  name = 'RoomsAndMemberships1764237600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE rooms (
        room_id text PRIMARY KEY,
        creator text NOT NULL,
        room_version text NOT NULL,
        created_ts bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE room_events (
        event_id text PRIMARY KEY,
        room_id text NOT NULL,
        type text NOT NULL,
        state_key text NOT NULL,
        sender text NOT NULL,
        origin_server_ts bigint NOT NULL,
        content jsonb NOT NULL,
        log_partition integer NOT NULL,
        log_offset bigint NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX room_events_stream ON room_events (room_id, log_offset)`);
    await queryRunner.query(`
      CREATE TABLE room_state (
        room_id text NOT NULL,
        type text NOT NULL,
        state_key text NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (room_id, type, state_key)
      )`);
    await queryRunner.query(`
      CREATE TABLE memberships (
        room_id text NOT NULL,
        user_id text NOT NULL,
        membership text NOT NULL,
        event_id text NOT NULL,
        log_partition integer NOT NULL,
        log_offset bigint NOT NULL,
        forgotten boolean NOT NULL DEFAULT false,
        PRIMARY KEY (room_id, user_id)
      )`);
    await queryRunner.query(`CREATE INDEX memberships_by_user ON memberships (user_id, membership)`);
    await queryRunner.query(`CREATE INDEX memberships_by_room ON memberships (room_id, membership)`);
    await queryRunner.query(`
      CREATE TABLE room_aliases (
        alias text PRIMARY KEY,
        room_id text NOT NULL,
        created_ts bigint NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['room_aliases', 'memberships', 'room_state', 'room_events', 'rooms'])
      await queryRunner.query(`DROP TABLE ${table}`);
  }
}
