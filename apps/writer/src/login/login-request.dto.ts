import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';

export class UserIdentifierDto {
  @IsString()
  type!: string;

  @IsOptional()
  @IsString()
  user?: string;
}

/** Body of `POST /login` (spec login.yaml). */
export class LoginRequestDto {
  @IsString()
  type!: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => UserIdentifierDto)
  identifier?: UserIdentifierDto;

  /** Deprecated in favour of `identifier`, still accepted. */
  @IsOptional()
  @IsString()
  user?: string;

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
}
