import { ValidateIf } from 'class-validator';

/**
 * An optional request field: absent is fine, anything present (`null` included) must pass the
 * field's validators. class-validator's `@IsOptional()` also lets `null` through, which the
 * handlers, typed `field?: string`, would then trip over (a 500 for `{"username": null}`).
 */
export function OptionalField(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
