import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Companion mode: a membership observed from the homeserver (Application Service feed) keeps the
 * `origin_server_ts` of its member event, so that of two facts about one (room, user) arriving out
 * of room order the later one stays current (see @mx/companion `supersedes`). Null for memberships
 * the project's own rooms produced (standalone mode).
 */
export class ObservedMemberships1764252000000 implements MigrationInterface {
  name = 'ObservedMemberships1764252000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE memberships ADD COLUMN origin_server_ts bigint`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE memberships DROP COLUMN origin_server_ts`);
  }
}
