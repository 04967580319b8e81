import { IsArray, IsBoolean, IsIn, IsObject, IsString, MaxLength } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { OptionalField } from '@mx/http';

/** Body of `POST /createRoom` (spec create_room.yaml). */
export class CreateRoomDto {
  @ApiPropertyOptional({ enum: ['public', 'private'] })
  @OptionalField()
  @IsIn(['public', 'private'])
  visibility?: 'public' | 'private';

  @ApiPropertyOptional({ enum: ['public_chat', 'private_chat', 'trusted_private_chat'] })
  @OptionalField()
  @IsIn(['public_chat', 'private_chat', 'trusted_private_chat'])
  preset?: 'public_chat' | 'private_chat' | 'trusted_private_chat';

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  @MaxLength(255)
  name?: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  @MaxLength(255)
  topic?: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  @MaxLength(255)
  room_alias_name?: string;

  @ApiPropertyOptional({ type: [String], description: 'User IDs to invite (at most MX_CREATE_ROOM_MAX_INVITES)' })
  @OptionalField()
  @IsArray()
  @IsString({ each: true })
  invite?: string[];

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  room_version?: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsBoolean()
  is_direct?: boolean;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @OptionalField()
  @IsObject()
  creation_content?: Record<string, unknown>;
}

/** Body of invite, kick, ban and unban. */
export class TargetUserDto {
  @ApiProperty()
  @IsString()
  user_id!: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  @MaxLength(1024)
  reason?: string;
}

/** Optional body of join and leave. */
export class ReasonDto {
  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  @MaxLength(1024)
  reason?: string;
}
