import { Type } from 'class-transformer';
import { IsBoolean, IsObject, IsString, MaxLength, ValidateNested } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { OptionalField } from '@mx/http';

export class AuthenticationDataDto {
  @ApiProperty()
  @IsString()
  type!: string;

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  session?: string;

  @ApiPropertyOptional()
  /** For `m.login.registration_token`. */
  @OptionalField()
  @IsString()
  token?: string;
}

/** Body of `POST /register` (spec: registration.yaml). */
export class RegisterRequestDto {
  @ApiPropertyOptional()
  @OptionalField()
  @IsObject()
  @ValidateNested()
  @Type(() => AuthenticationDataDto)
  auth?: AuthenticationDataDto;

  @ApiPropertyOptional()
  @OptionalField()
  @IsString()
  @MaxLength(255)
  username?: string;

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

  @ApiPropertyOptional()
  @OptionalField()
  @IsBoolean()
  inhibit_login?: boolean;

  @ApiPropertyOptional()
  @OptionalField()
  @IsBoolean()
  refresh_token?: boolean;
}
