import { Type } from 'class-transformer';
import { IsBoolean, IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';

export class AuthenticationDataDto {
  @IsString()
  type!: string;

  @IsOptional()
  @IsString()
  session?: string;

  /** For `m.login.registration_token`. */
  @IsOptional()
  @IsString()
  token?: string;
}

/** Body of `POST /register` (spec: registration.yaml). */
export class RegisterRequestDto {
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => AuthenticationDataDto)
  auth?: AuthenticationDataDto;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  username?: string;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  password?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  device_id?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  initial_device_display_name?: string;

  @IsOptional()
  @IsBoolean()
  inhibit_login?: boolean;

  @IsOptional()
  @IsBoolean()
  refresh_token?: boolean;
}
