import { Type } from 'class-transformer';
import { IsObject, IsString, MaxLength, ValidateNested } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { OptionalField } from '@mx/http';

export class UserIdentifierDto {
  @ApiProperty()
  @IsString()
  type!: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  user?: string;
}

/** Body of `POST /login` (spec login.yaml). */
export class LoginRequestDto {
  @ApiProperty()
  @IsString()
  type!: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsObject()
  @ValidateNested()
  @Type(() => UserIdentifierDto)
  identifier?: UserIdentifierDto;

  /** Deprecated in favour of `identifier`, still accepted. */
  @ApiPropertyOptional({ deprecated: true })
  @OptionalField()
  @IsString()
  user?: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  @MaxLength(512)
  password?: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  @MaxLength(255)
  device_id?: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  @MaxLength(255)
  initial_device_display_name?: string;
}
