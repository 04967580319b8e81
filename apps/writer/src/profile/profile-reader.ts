import { Injectable } from '@nestjs/common';
import { accounts, Database, profileFields } from '@mx/storage';

/** Reads profiles from the projection (the writer's own view for checks and for GETs). */
@Injectable()
export class ProfileReader {
  constructor(private readonly db: Database) {}

  userExists(userId: string): Promise<boolean> {
    return accounts.exists(this.db, userId);
  }

  /** Every set field of the user's profile. */
  profile(userId: string): Promise<Map<string, unknown>> {
    return profileFields.profileOf(this.db, userId);
  }
}
