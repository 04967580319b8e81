import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Companion mode: the checkpoint of `ops companion-bootstrap`. One row per room or local user
 * whose snapshot the broker acknowledged, so an interrupted run resumes where it stopped (the
 * snapshot events of a finished item are never appended again unless the operator restarts).
 * Operational state, not part of the projection (a replay neither needs nor rebuilds it).
 */
export class CompanionBootstrapProgress1764255600000 implements MigrationInterface {
  name = 'CompanionBootstrapProgress1764255600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE companion_bootstrap_progress (
        item_kind text NOT NULL CHECK (item_kind IN ('room', 'user')),
        item_id text NOT NULL,
        events_appended integer NOT NULL CHECK (events_appended >= 0),
        completed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (item_kind, item_id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE companion_bootstrap_progress`);
  }
}
