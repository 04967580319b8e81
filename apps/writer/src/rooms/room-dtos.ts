import { IsArray, IsBoolean, IsIn, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

/** Body of `POST /createRoom` (spec create_room.yaml). */
export class CreateRoomDto {
  @IsOptional()
  @IsIn(['public', 'private'])
  visibility?: 'public' | 'private';

  @IsOptional()
  @IsIn(['public_chat', 'private_chat', 'trusted_private_chat'])
  preset?: 'public_chat' | 'private_chat' | 'trusted_private_chat';

  @IsOptional()
  @IsString()
  @MaxLength(255)
  name?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  topic?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  room_alias_name?: string;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  invite?: string[];

  @IsOptional()
  @IsString()
  room_version?: string;

  @IsOptional()
  @IsBoolean()
  is_direct?: boolean;

  @IsOptional()
  @IsObject()
  creation_content?: Record<string, unknown>;
}

/** Body of invite, kick, ban and unban. */
export class TargetUserDto {
  @IsString()
  user_id!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  reason?: string;
}

/** Optional body of join and leave. */
export class ReasonDto {
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  reason?: string;
}
