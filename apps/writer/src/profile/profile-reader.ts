import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Reads profiles from the projection (the writer's own view for checks and for GETs). */
@Injectable()
export class ProfileReader {
  constructor(private readonly dataSource: DataSource) {}

  async userExists(userId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query('SELECT 1 FROM accounts WHERE user_id = $1', [userId]);
    return rows.length > 0;
  }

  /** Every set field of the user's profile. */
  async profile(userId: string): Promise<Map<string, unknown>> {
    const rows: { field: string; value: unknown }[] = await this.dataSource.query(
      'SELECT field, value FROM profile_fields WHERE user_id = $1 AND is_set ORDER BY field',
      [userId],
    );
    return new Map(rows.map((row) => [row.field, row.value]));
  }

  async rejectionReason(eventId: string): Promise<string | undefined> {
    const rows: { reason: string }[] = await this.dataSource.query('SELECT reason FROM rejected_events WHERE event_id = $1', [eventId]);
    return rows[0]?.reason;
  }
}
